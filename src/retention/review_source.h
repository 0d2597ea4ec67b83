#pragma once

#include "carrel/governance.h"

namespace carrel {

// What the Board may review from retention: the schedule's signed versions (read through
// this, never retention's tables). Stateless: it reads in the transaction it is given.
ReviewSource& RetentionReviewSource();

}  // namespace carrel
