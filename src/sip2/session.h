#pragma once

// One kiosk's conversation: each SIP2 message it sends becomes a call of the kiosk routes
// through the API's dispatcher (ApiServer::Handle), under the session the kiosk opened with its
// login (93), so that the route table decides what a kiosk may do and the core operations audit
// it. The answers say no more than docs/sip2.md lists.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "carrel/library.h"
#include "carrel/server.h"
#include "sip2/message.h"

namespace carrel::sip2 {

class Session {
 public:
  // `peer` is the kiosk's address; `tls`: whether the connection is encrypted.
  Session(ApiServer* api, const Library* library, std::string peer, bool tls);
  ~Session();  // ends the kiosk's API session, and forgets its password
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The answer to one message (given without its carriage return), terminator included.
  std::string Answer(std::string_view line);

  bool logged_in() const { return !token_.empty(); }

 private:
  struct Reply {
    int status = 0;
    nlohmann::json body;
    bool ok() const { return status >= 200 && status < 300; }
    std::string Detail() const;  // a refusal's reason, for the kiosk's screen
  };
  Reply Call(std::string_view method, const std::string& path, const nlohmann::json& body,
             const std::string& idempotency_key = "");
  Reply CallOnce(std::string_view method, const std::string& path, const std::string& body,
                 const std::string& idempotency_key);
  bool LogIn(const std::string& username, const std::string& password);
  void LogOut();
  // The Idempotency-Key of a message that changes something: the kiosk and the message as
  // sent (its date, sequence number and fields), so that a message sent again is done once.
  std::string KeyOf(std::string_view line) const;

  std::string Dispatch(const Message& m, std::string_view line);
  // The answer of the kind `m` asks for, saying no and why.
  std::string Refuse(const Message& m, std::string_view why);
  std::string Now() const;
  std::string Finish(Writer& w, const Message& m) const;

  std::string Login(const Message& m);
  std::string ScStatus(const Message& m);
  std::string PatronStatus(const Message& m);
  std::string PatronInformation(const Message& m);
  std::string Checkout(const Message& m, std::string_view line);
  std::string Checkin(const Message& m, std::string_view line);
  std::string ItemInformation(const Message& m);
  std::string Renew(const Message& m, std::string_view line);
  std::string RenewAll(const Message& m, std::string_view line);
  std::string FeePaid(const Message& m, std::string_view line);
  std::string HoldRequest(const Message& m, std::string_view line);
  std::string EndPatronSession(const Message& m);

  ApiServer* api_;
  const Library* library_;
  std::string peer_;
  bool tls_;
  std::string token_;
  std::string username_, password_;  // to log in again when the session times out
  std::string last_answer_;          // for a resend (97)
};

}  // namespace carrel::sip2
