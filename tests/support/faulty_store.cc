#include "tests/support/faulty_store.h"

namespace carrel::testing {

class FaultyTransaction : public Transaction {
 public:
  FaultyTransaction(FaultyStore* store, std::unique_ptr<Transaction> inner)
      : store_(store), inner_(std::move(inner)) {}

  Status Exec(std::string_view sql, std::initializer_list<Value> params,
              const RowCallback& on_row) override {
    if (Fails(sql)) return Unavailable("injected fault: the disk is full");
    return inner_->Exec(sql, params, on_row);
  }
  Status Exec(std::string_view sql, const std::vector<Value>& params,
              const RowCallback& on_row) override {
    if (Fails(sql)) return Unavailable("injected fault: the disk is full");
    return inner_->Exec(sql, params, on_row);
  }
  int64_t changes() const override { return inner_->changes(); }
  Status Commit() override { return inner_->Commit(); }

 private:
  bool Fails(std::string_view sql) {
    if (!store_->armed_ || sql.substr(0, store_->fail_prefix_.size()) != store_->fail_prefix_) {
      return false;
    }
    ++store_->failures_;
    return true;
  }
  FaultyStore* store_;
  std::unique_ptr<Transaction> inner_;
};

StatusOr<std::unique_ptr<Transaction>> FaultyStore::Begin(TransactionMode mode) {
  CARREL_ASSIGN_OR_RETURN(auto inner, inner_->Begin(mode));
  return std::unique_ptr<Transaction>(new FaultyTransaction(this, std::move(inner)));
}

}  // namespace carrel::testing
