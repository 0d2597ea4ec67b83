#pragma once

// Printable documents of the request workflow: the decline letter and the human-readable
// rendering of a disclosure package. Plain HTML with its own print style, no scripts.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "carrel/clock.h"
#include "carrel/governance.h"
#include "carrel/profile.h"
#include "carrel/requests.h"

namespace carrel {

std::string HtmlEscape(std::string_view text);

// The policy's section on law-enforcement requests (from "4." up to "5."), or the whole text
// when the document has no such section.
std::string PolicyLawEnforcementSection(std::string_view policy_text);

// The letter the Director gives an agent who presented no subpoena or court order: the
// library's name and address, the date, the case reference, the policy's §4 in the version in
// force, and the statute.
std::string DeclineLetterHtml(const Profile& profile, const PolicyVersion& policy,
                              std::string_view reference, Date date, std::string_view addressee);

// The transparency report as a printable page.
std::string TransparencyHtml(const nlohmann::json& report);
// The report as the API gives it (GET /api/v1/transparency), and as TransparencyHtml reads it.
nlohmann::json TransparencyReportJson(const TransparencyReport& report);

// disclosure.html: the same records as disclosure.json, for reading and printing.
std::string DisclosureHtml(const Profile& profile, const nlohmann::json& package);

}  // namespace carrel
