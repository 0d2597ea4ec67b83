// An HTTP request head as the API reads it, apart from the socket (the listener's and the HTTP
// head fuzz target's).

#ifndef CARREL_API_REQUEST_HEAD_H_
#define CARREL_API_REQUEST_HEAD_H_

#include <boost/beast/http/message.hpp>
#include <string>

#include "carrel/server.h"

namespace carrel {

// Fills `request` from a parsed head: the method, the path (percent-decoded), the query's
// pairs (percent-decoded, '+' a space) and the headers by lower-case name, a repeated header
// joined by ", " (cookies by "; "). Returns "" when the head is taken, else why it is refused.
std::string ReadRequestHead(const boost::beast::http::request_header<>& head, ApiRequest* request);

}  // namespace carrel

#endif  // CARREL_API_REQUEST_HEAD_H_
