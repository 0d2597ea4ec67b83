#include "api/routes.h"

#include <nlohmann/json.hpp>

namespace carrel {
namespace {

using json = nlohmann::ordered_json;

ApiResponse Json(const json& body, int status = 200) {
  return ApiResponse{status, "application/json", body.dump()};
}

json WeekJson(const WeekHours& week) {
  json out = json::object();
  for (int i = 0; i < 7; ++i) {
    out[std::string(WeekdayName(i))] = FormatOpeningPeriod(week[i]);
  }
  return out;
}

StatusOr<ApiResponse> Healthz(Library& library, const ApiRequest&) {
  RETURN_IF_ERROR(WithReadTransaction(library.store(), [](Transaction& tx) {
    return tx.QueryInt("SELECT 1").status();
  }));
  return Json({{"status", "ok"}, {"version", CARREL_VERSION}});
}

StatusOr<ApiResponse> Hours(Library& library, const ApiRequest&) {
  const Calendar& cal = library.calendar();
  const Profile& profile = library.profile();
  Instant now = library.clock().Now();
  Date today = cal.LocalDate(now);
  json closed = json::array();
  for (Date d : profile.closed_dates) {
    if (d >= today) closed.push_back(FormatDate(d));
  }
  json body = {
      {"library", profile.name},
      {"time_zone", profile.time_zone},
      {"now", FormatInstant(now)},
      {"today", FormatDate(today)},
      {"library_open", cal.IsLibraryOpen(now)},
      {"cafe_open", cal.IsCafeOpen(now)},
      {"hours", {{"library", WeekJson(cal.library_hours())}, {"cafe", WeekJson(cal.cafe_hours())}}},
      {"closed_dates", closed},
  };
  auto next = cal.NextLibraryOpening(now);
  body["next_opening"] = next ? json(FormatInstant(*next)) : json(nullptr);
  return Json(body);
}

StatusOr<ApiResponse> Policy(Library& library, const ApiRequest&) {
  const Profile& p = library.profile();
  json history = json::array();
  for (const PolicyEvent& e : p.policy_history) {
    history.push_back({{"event", e.event}, {"date", FormatDate(e.date)}, {"note", e.note}});
  }
  return Json({
      {"library", p.name},
      {"title", p.policy_title},
      {"version", p.policy_version},
      {"text", p.policy_text},
      {"history", history},
      {"statute", {{"citation", p.statute_citation}, {"summary", p.statute_summary}}},
  });
}

}  // namespace

const std::vector<Route>& RouteTable() {
  static const std::vector<Route> routes = {
      {"GET", "/healthz", "health.check", false, Healthz},
      {"GET", "/api/v1/hours", "calendar.hours", false, Hours},
      {"GET", "/api/v1/policy", "policy.current", false, Policy},
  };
  return routes;
}

bool MatchRoute(std::string_view pattern, std::string_view path,
                std::vector<std::string>* params) {
  params->clear();
  size_t pi = 0, si = 0;
  while (pi < pattern.size() && si < path.size()) {
    if (pattern[pi] == '{') {
      size_t close = pattern.find('}', pi);
      size_t end = path.find('/', si);
      if (end == std::string_view::npos) end = path.size();
      if (end == si) return false;  // empty segment
      params->emplace_back(path.substr(si, end - si));
      pi = close + 1;
      si = end;
      continue;
    }
    if (pattern[pi] != path[si]) return false;
    ++pi;
    ++si;
  }
  return pi == pattern.size() && si == path.size();
}

}  // namespace carrel
