#pragma once

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

// Test data in MARC 21 (ISO 2709 and MARCXML), written here from the standard's layout and
// sharing no code with the reader under test (src/import/marc.cc reads with YAZ).
namespace carrel::testing {

struct MarcField {
  std::string tag;
  std::string value;                                    // a control field (001-009)
  std::vector<std::pair<char, std::string>> subfields;  // a data field, indicators blank
};

// One bibliographic record: leader, directory, fields. `marc8` marks the record MARC-8
// (leader position 9 blank) rather than UTF-8 ('a'); the bytes are written as given.
inline std::string Iso2709(const std::vector<MarcField>& fields, bool marc8 = false) {
  std::string directory, data;
  for (const MarcField& f : fields) {
    std::string body;
    if (f.subfields.empty()) {
      body = f.value;
    } else {
      body = "  ";
      for (const auto& [code, text] : f.subfields) body += std::string("\x1f") + code + text;
    }
    body += '\x1e';
    char entry[13];
    std::snprintf(entry, sizeof entry, "%3s%04zu%05zu", f.tag.c_str(), body.size(), data.size());
    directory += entry;
    data += body;
  }
  directory += '\x1e';
  size_t base = 24 + directory.size();
  size_t length = base + data.size() + 1;
  char leader[25];
  std::snprintf(leader, sizeof leader, "%05zunam %c22%05zu a 4500", length, marc8 ? ' ' : 'a',
                base);
  return std::string(leader) + directory + data + '\x1d';
}

inline std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '"') {
      out += "&quot;";
    } else {
      out += c;
    }
  }
  return out;
}

inline std::string MarcXml(const std::vector<std::vector<MarcField>>& records) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n";
  for (const auto& fields : records) {
    out += "<record><leader>00000nam a2200000 a 4500</leader>\n";
    for (const MarcField& f : fields) {
      if (f.subfields.empty()) {
        out += "<controlfield tag=\"" + f.tag + "\">" + XmlEscape(f.value) + "</controlfield>\n";
        continue;
      }
      out += "<datafield tag=\"" + f.tag + "\" ind1=\" \" ind2=\" \">";
      for (const auto& [code, text] : f.subfields) {
        out += std::string("<subfield code=\"") + code + "\">" + XmlEscape(text) + "</subfield>";
      }
      out += "</datafield>\n";
    }
    out += "</record>\n";
  }
  return out + "</collection>\n";
}

}  // namespace carrel::testing
