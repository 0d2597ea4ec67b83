// libFuzzer target: a library's profile (TOML) as an operator could write it, through carrel's
// reading and validation of it (src/profile/profile.cc) and, when it is taken, the calendar
// built from its hours, closed dates and time zone (src/calendar/). Checks, beyond "no crash,
// no leak, no undefined behaviour":
//  - a refusal says where: "FILE:LINE: reason" or "FILE: reason";
//  - a taken profile gives a calendar whose answers keep their promises (the next opening is
//    not before now, a due date is not before the day of the loan).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "carrel/calendar.h"
#include "carrel/profile.h"
#include "fuzz/support/fuzz_support.h"

using carrel::fuzz::Broken;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // The policy document named by the profile is looked for beside the demo profile.
  auto profile = carrel::ParseProfile(text, "fuzz.toml", CARREL_SOURCE_DIR "/profiles/westport");
  if (!profile.ok()) {
    if (profile.status().message().rfind("fuzz.toml", 0) != 0) {
      Broken("profile", "a refusal that does not name the file");
    }
    return 0;
  }
  auto calendar = carrel::Calendar::FromProfile(*profile);
  if (!calendar.ok()) return 0;
  // 2026-12-02T15:00:00Z, and a year either side.
  for (int64_t seconds : {int64_t{1796223600}, int64_t{1764687600}, int64_t{1827759600}}) {
    carrel::Instant t{std::chrono::seconds(seconds)};
    (void)calendar->IsLibraryOpen(t);
    (void)calendar->IsCafeOpen(t);
    auto opening = calendar->NextLibraryOpening(t);
    if (opening && *opening < t) Broken("profile", "the next opening is before now");
    if (calendar->NextLibraryClosing(t) < t) Broken("profile", "the next closing is before now");
    carrel::Date today = calendar->LocalDate(t);
    if (calendar->DueDate(t, 21) < today) Broken("profile", "a due date before the loan");
  }
  return 0;
}
