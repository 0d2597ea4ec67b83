#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "carrel/store.h"

namespace carrel::testing {

// Wraps a real store and fails every statement that starts with `fail_prefix` while armed,
// as a disk or constraint failure at exactly that point would.
class FaultyStore : public Store {
 public:
  FaultyStore(std::unique_ptr<Store> inner, std::string fail_prefix)
      : inner_(std::move(inner)), fail_prefix_(std::move(fail_prefix)) {}

  void Arm(bool on) { armed_ = on; }
  int failures() const { return failures_; }

  StatusOr<std::unique_ptr<Transaction>> Begin(TransactionMode mode) override;
  Status Migrate(const std::vector<Migration>& m) override { return inner_->Migrate(m); }
  StatusOr<int> SchemaVersion() override { return inner_->SchemaVersion(); }
  std::string_view engine() const override { return inner_->engine(); }
  StatusOr<std::vector<TableInfo>> Tables() override { return inner_->Tables(); }
  Status Checkpoint() override { return inner_->Checkpoint(); }
  Status BackupTo(const std::filesystem::path& out) override { return inner_->BackupTo(out); }

 private:
  friend class FaultyTransaction;
  std::unique_ptr<Store> inner_;
  std::string fail_prefix_;
  std::atomic<bool> armed_{false};
  std::atomic<int> failures_{0};
};

}  // namespace carrel::testing
