#include "requests/render.h"

#include <nlohmann/json.hpp>

namespace carrel {

namespace {

constexpr char kStyle[] =
    "<style>body{font:12pt/1.45 Georgia,serif;max-width:42em;margin:2em auto;color:#111}"
    "h1{font-size:15pt}h2{font-size:13pt;margin-top:1.6em}.addr{margin-bottom:2em}"
    "pre{white-space:pre-wrap;font:inherit}table{border-collapse:collapse;width:100%}"
    "td,th{border:1px solid #999;padding:.25em .4em;text-align:left;font-size:10.5pt}"
    "@media print{body{margin:0}}</style>";

std::string Head(std::string_view title) {
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
         HtmlEscape(title) + "</title>" + kStyle + "</head><body>\n";
}

std::string LibraryBlock(const Profile& profile) {
  std::string out = "<div class=\"addr\"><strong>" + HtmlEscape(profile.name) + "</strong><br>";
  for (const std::string& line : profile.address_lines) out += HtmlEscape(line) + "<br>";
  out += HtmlEscape(profile.phone) + "</div>\n";
  return out;
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string PolicyLawEnforcementSection(std::string_view text) {
  size_t start = text.find("4. Law Enforcement");
  if (start == std::string_view::npos) start = text.find("\n4.");
  if (start == std::string_view::npos) return std::string(text);
  size_t five = text.find("5. ", start);
  if (five == std::string_view::npos) return std::string(text.substr(start));
  // Back up to the start of the line holding "5.".
  size_t line = text.rfind('\n', five);
  size_t end = line == std::string_view::npos || line < start ? five : line;
  std::string section(text.substr(start, end - start));
  while (!section.empty() && (section.back() == ' ' || section.back() == '\n')) section.pop_back();
  return section;
}

std::string DeclineLetterHtml(const Profile& profile, const PolicyVersion& policy,
                              std::string_view reference, Date date, std::string_view addressee) {
  std::string out = Head("Request " + std::string(reference) + ": records not available");
  out += LibraryBlock(profile);
  out += "<p>" + HtmlEscape(FormatDate(date)) + "</p>\n";
  if (!addressee.empty()) out += "<p>To: " + HtmlEscape(addressee) + "</p>\n";
  out += "<p>Re: request " + HtmlEscape(reference) + "</p>\n";
  out += "<h1>The library's confidential records are not available on this request</h1>\n";
  out += "<p>" + HtmlEscape(profile.name) +
         " keeps the records that identify its patrons confidential. Under its " +
         HtmlEscape(policy.title) + " (version of " + HtmlEscape(policy.label) + ") and under " +
         HtmlEscape(profile.statute_citation) +
         ", they are not available without the production of a valid subpoena or court order, "
         "and the library releases them only as the law and its policy allow. No records were "
         "released on this request.</p>\n";
  out += "<h2>The law</h2>\n<p><strong>" + HtmlEscape(profile.statute_citation) + "</strong>: " +
         HtmlEscape(profile.statute_summary) + "</p>\n";
  out += "<h2>The library's policy</h2>\n<pre>" +
         HtmlEscape(PolicyLawEnforcementSection(policy.text.value_or(""))) + "</pre>\n";
  out += "<p style=\"margin-top:3em\">______________________________<br>Library Director, or the "
         "Director's designee appointed in writing</p>\n";
  out += "</body></html>\n";
  return out;
}

std::string DisclosureHtml(const Profile& profile, const nlohmann::json& package) {
  std::string reference = package.value("case", "");
  std::string out = Head("Disclosure for request " + reference);
  out += LibraryBlock(profile);
  out += "<h1>Disclosure for request " + HtmlEscape(reference) + "</h1>\n";
  out += "<p>Prepared " + HtmlEscape(package.value("prepared_at", "")) +
         " under the signed decision number " +
         HtmlEscape(std::to_string(package.value("decision", int64_t{0}))) + " (" +
         HtmlEscape(package.value("outcome", "")) + ", basis " +
         HtmlEscape(package.value("basis", "")) + ", policy version " +
         HtmlEscape(package.value("policy_version", "")) + ").</p>\n";
  const nlohmann::json& records = package["records"];
  if (!records.is_array() || records.empty()) {
    out += "<p><strong>No records</strong> matched the authorized scope.</p>\n";
  } else {
    out += "<table><tr><th>patron</th><th>category</th><th>date</th><th>details</th></tr>\n";
    for (const nlohmann::json& r : records) {
      std::string details;
      for (const auto& [k, v] : r.items()) {
        if (k == "patron" || k == "category" || k == "date") continue;
        if (!details.empty()) details += "; ";
        details += k + ": " + (v.is_string() ? v.get<std::string>() : v.dump());
      }
      out += "<tr><td>" + HtmlEscape(std::to_string(r.value("patron", int64_t{0}))) + "</td><td>" +
             HtmlEscape(r.value("category", "")) + "</td><td>" +
             HtmlEscape(r.value("date", "")) + "</td><td>" + HtmlEscape(details) + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  out += "<h2>Requested and produced</h2>\n<pre>" +
         HtmlEscape(package["requested"].dump(2)) + "\n" + HtmlEscape(package["produced"].dump(2)) +
         "</pre>\n";
  out += "</body></html>\n";
  return out;
}

}  // namespace carrel
