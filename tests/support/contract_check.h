#pragma once

// Every HTTP test's server checks each answer against the contract its route declares (the
// schema per status in the route table, which is also the OpenAPI document): a breach fails
// the test that caused it, so the document cannot drift from what the server does.

#include <gtest/gtest.h>

#include "carrel/server.h"

namespace carrel::testing {

inline ServerOptions ContractChecked(ServerOptions options = {}) {
  options.contract_breach = [](std::string_view action, int status, const std::string& what) {
    ADD_FAILURE() << "the answer of " << action << " (" << status
                  << ") breaks the API contract: " << what;
  };
  return options;
}

}  // namespace carrel::testing
