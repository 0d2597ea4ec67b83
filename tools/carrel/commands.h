#pragma once

#include <cstdint>
#include <string>

#include "carrel/status.h"

namespace carrel::cli {

// Prints "carrel: <message>" on one line and returns the failure exit status.
int Fail(const Status& status);

// A new password: typed twice without echo on a terminal, or one line of stdin.
StatusOr<std::string> ReadNewPassword();
// An existing password (for signing): typed once without echo, or one line of stdin.
StatusOr<std::string> ReadPassword(const char* prompt);
// 20 random characters for first-time accounts.

int AuditKey(const std::string& data);
int AuditHead(const std::string& data);
int AuditVerify(const std::string& data, const std::string& from_head, const std::string& vkey,
                const std::string& key_file);
int AuditProve(const std::string& data, int64_t index, int64_t size, const std::string& from_head);
int AuditVerifyProof(const std::string& vkey, const std::string& proof_file);
// Fetches URL's public checkpoint, checks it with VKEY and against the head kept in STORE
// (a rollback or a fork fails with one line), then keeps it.
int AuditWitness(const std::string& url, const std::string& vkey, const std::string& store);

}  // namespace carrel::cli
