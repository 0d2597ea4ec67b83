#pragma once

#include "carrel/governance.h"

namespace carrel {

// What the Board may review from the request workflow: signed decisions, declines and designee
// appointments (the Board's module reads them through this, never the workflow's tables).
// Stateless: it reads in the transaction it is given.
ReviewSource& RequestsReviewSource();

}  // namespace carrel
