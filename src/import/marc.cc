#include "import/marc.h"

#include <libxml/xmlreader.h>
#include <yaz/marcdisp.h>
#include <yaz/wrbuf.h>
#include <yaz/yaz-iconv.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>
#include <system_error>

namespace carrel {
namespace {

using nlohmann::json;

// ISBD punctuation that ends a MARC subfield ("War and peace /", "Tolstoy, Leo,").
std::string Clean(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '/' || s.back() == ':' || s.back() == ';' ||
                        s.back() == ',' || s.back() == '=')) {
    s.pop_back();
  }
  size_t b = 0;
  while (b < s.size() && s[b] == ' ') ++b;
  return s.substr(b);
}

// One decoded record (YAZ's MARC-in-JSON) into what carrel takes from it.
Status FromJson(const json& j, MarcRecord* out) {
  *out = MarcRecord{};
  if (!j.is_object() || !j.contains("fields") || !j["fields"].is_array()) {
    return InvalidArgument("no fields");
  }
  std::string author_from;  // the tag the author came from: 100 before 110 before 111
  for (const json& field : j["fields"]) {
    if (!field.is_object() || field.size() != 1) continue;
    const std::string& tag = field.begin().key();
    const json& body = field.begin().value();
    if (!body.is_object() || !body.contains("subfields")) continue;  // a control field
    std::map<char, std::string> sub;
    for (const json& s : body["subfields"]) {
      if (!s.is_object() || s.size() != 1) continue;
      const std::string& code = s.begin().key();
      const json& value = s.begin().value();
      if (code.size() == 1 && value.is_string()) sub.emplace(code[0], value.get<std::string>());
    }
    if (tag == "245" && out->title.empty()) {
      std::string title = Clean(sub['a']);
      std::string rest = Clean(sub['b']);
      out->title = rest.empty() ? title : title + ": " + rest;
    } else if ((tag == "100" || tag == "110" || tag == "111") &&
               (author_from.empty() || tag < author_from)) {
      out->author = Clean(sub['a']);
      author_from = tag;
    } else if (tag == "952") {
      out->items.push_back(std::move(sub));
    }
  }
  return Status::Ok();
}

std::string Ordinal(int64_t n) { return "record " + std::to_string(n); }

// MARC 21 fixes leader positions 10 and 11 at "22": two indicators, and a subfield code of one
// character after each delimiter. YAZ splits a subfield's code from its value by what position
// 11 says and, when that is more than the subfield holds, reads past the subfield's end (found
// by the marc fuzz target), so a record whose leader says otherwise is refused before YAZ
// decodes it.
Status CheckMarc21Leader(std::string_view leader, int64_t number) {
  if (leader.size() == 24 && leader.substr(10, 2) != "22") {
    return InvalidArgument(Ordinal(number) +
                           " is not MARC 21: its leader must hold 22 at positions 10 and 11");
  }
  return Status::Ok();
}

// MARC 21 subfield codes are ASCII letters and digits. YAZ takes any byte above ASCII after a
// delimiter as the start of a code and, in a MARC-8 record, may take the code to run past the
// end of a short subfield; such a record is refused.
Status CheckSubfieldCodes(std::string_view record, int64_t number) {
  for (size_t at = record.find(ISO2709_IDFS);
       at != std::string_view::npos && at + 1 < record.size();
       at = record.find(ISO2709_IDFS, at + 1)) {
    if (static_cast<unsigned char>(record[at + 1]) >= 0x80) {
      return InvalidArgument(Ordinal(number) +
                             " is not MARC 21: a subfield code is not an ASCII letter or digit");
    }
  }
  return Status::Ok();
}

// The leader YAZ will take from a MARCXML record: the last text node of the record's first
// element when that element is <leader> (or, for Turbomarc, any name beginning with "l"); ""
// when there is none, and YAZ then supplies a leader of its own. YAZ refuses a leader that is
// not 24 characters.
std::string XmlLeader(xmlNodePtr record) {
  xmlNodePtr first = record->children;
  while (first != nullptr && first->type != XML_ELEMENT_NODE) first = first->next;
  if (first == nullptr || first->name == nullptr || first->name[0] != 'l') return "";
  std::string leader;
  for (xmlNodePtr p = first->children; p != nullptr; p = p->next) {
    if (p->type == XML_TEXT_NODE && p->content != nullptr) {
      leader = reinterpret_cast<const char*>(p->content);
    }
  }
  return leader;
}

// Owns a YAZ MARC handle and decodes its current record.
class Decoder {
 public:
  Decoder() : mt_(yaz_marc_create()), out_(wrbuf_alloc()) {}
  ~Decoder() {
    if (marc8_ != nullptr) yaz_iconv_close(marc8_);
    wrbuf_destroy(out_);
    yaz_marc_destroy(mt_);
  }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  yaz_marc_t handle() { return mt_; }

  // The record YAZ holds now, its text converted from MARC-8 when `marc8`.
  Status Take(bool marc8, int64_t number, MarcRecord* record) {
    if (marc8 && marc8_ == nullptr) marc8_ = yaz_iconv_open("utf-8", "marc8");
    yaz_marc_iconv(mt_, marc8 ? marc8_ : nullptr);
    wrbuf_rewind(out_);
    if (yaz_marc_write_json(mt_, out_) != 0) {
      return InvalidArgument(Ordinal(number) + " could not be decoded as MARC 21");
    }
    json j = json::parse(wrbuf_cstr(out_), nullptr, false);
    if (j.is_discarded() || !FromJson(j, record).ok()) {
      return InvalidArgument(Ordinal(number) + " could not be decoded as MARC 21");
    }
    yaz_marc_reset(mt_);
    return Status::Ok();
  }

 private:
  yaz_marc_t mt_;
  WRBUF out_;
  yaz_iconv_t marc8_ = nullptr;
};

// ISO 2709: each record begins with its length in five digits and ends with a record
// terminator.
class Iso2709Reader : public MarcReader {
 public:
  Iso2709Reader(std::FILE* f, int64_t size) : f_(f) { size_ = size; }
  ~Iso2709Reader() override { std::fclose(f_); }

  StatusOr<bool> Next(MarcRecord* record) override {
    char head[5];
    size_t got = std::fread(head, 1, sizeof head, f_);
    while (got > 0 && (head[0] == '\n' || head[0] == '\r')) {  // line breaks between records
      std::memmove(head, head + 1, --got);
      got += std::fread(head + got, 1, sizeof head - got, f_);
      ++offset_;
    }
    if (got == 0) return false;
    ++number_;
    int length = 0;
    if (got < sizeof head || atoi_n_check(head, 5, &length) != 1 || length < 25) {
      return InvalidArgument(Ordinal(number_) + " does not begin with an ISO 2709 record length");
    }
    buffer_.assign(head, head + 5);
    buffer_.resize(static_cast<size_t>(length));
    if (std::fread(buffer_.data() + 5, 1, buffer_.size() - 5, f_) != buffer_.size() - 5) {
      return InvalidArgument(Ordinal(number_) + " is cut short: the file ends inside it");
    }
    offset_ += length;
    if (buffer_.back() != ISO2709_RS) {
      return InvalidArgument(Ordinal(number_) + " does not end where its length says");
    }
    std::string_view bytes(buffer_.data(), buffer_.size());
    CARREL_RETURN_IF_ERROR(CheckMarc21Leader(bytes.substr(0, 24), number_));
    CARREL_RETURN_IF_ERROR(CheckSubfieldCodes(bytes, number_));
    if (yaz_marc_read_iso2709(decoder_.handle(), buffer_.data(), length) <= 0) {
      return InvalidArgument(Ordinal(number_) + " could not be decoded as MARC 21");
    }
    // Leader position 9: 'a' is Unicode (UTF-8); blank is MARC-8.
    CARREL_RETURN_IF_ERROR(decoder_.Take(buffer_[9] != 'a', number_, record));
    return true;
  }
  int64_t bytes_read() const override { return offset_; }

 private:
  std::FILE* f_;
  int64_t offset_ = 0;
  std::vector<char> buffer_;
  Decoder decoder_;
};

// MARCXML: libxml2's streaming reader; each <record> element is expanded alone and handed to
// YAZ. No network and no external entities.
class MarcXmlReader : public MarcReader {
 public:
  MarcXmlReader(xmlTextReaderPtr reader, int64_t size) : reader_(reader) { size_ = size; }
  ~MarcXmlReader() override { xmlFreeTextReader(reader_); }

  StatusOr<bool> Next(MarcRecord* record) override {
    for (;;) {
      int rc = pending_next_ ? xmlTextReaderNext(reader_) : xmlTextReaderRead(reader_);
      pending_next_ = false;
      if (rc == 0) return false;
      if (rc < 0) {
        return InvalidArgument("the XML is not well formed after " + Ordinal(number_) + " (line " +
                               std::to_string(xmlTextReaderGetParserLineNumber(reader_)) + ")");
      }
      if (xmlTextReaderNodeType(reader_) != XML_READER_TYPE_ELEMENT) continue;
      const xmlChar* name = xmlTextReaderConstLocalName(reader_);
      if (name == nullptr || std::string_view(reinterpret_cast<const char*>(name)) != "record") {
        continue;
      }
      ++number_;
      xmlNodePtr node = xmlTextReaderExpand(reader_);
      pending_next_ = true;
      if (node == nullptr) {
        return InvalidArgument("the XML is not well formed in " + Ordinal(number_) + " (line " +
                               std::to_string(xmlTextReaderGetParserLineNumber(reader_)) + ")");
      }
      CARREL_RETURN_IF_ERROR(CheckMarc21Leader(XmlLeader(node), number_));
      if (yaz_marc_read_xml(decoder_.handle(), node) != 0) {
        return InvalidArgument(Ordinal(number_) + " is not a MARCXML record");
      }
      CARREL_RETURN_IF_ERROR(decoder_.Take(false, number_, record));
      return true;
    }
  }
  int64_t bytes_read() const override {
    long consumed = xmlTextReaderByteConsumed(reader_);
    return consumed > 0 ? consumed : 0;
  }

 private:
  xmlTextReaderPtr reader_;
  bool pending_next_ = false;
  Decoder decoder_;
};

}  // namespace

StatusOr<std::unique_ptr<MarcReader>> MarcReader::Open(const std::filesystem::path& file) {
  const std::string name = file.filename().string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return NotFound(name + " is not a file that can be read");
  }
  auto size = static_cast<int64_t>(std::filesystem::file_size(file, ec));
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) return NotFound(name + " cannot be opened");
  int c;
  while ((c = std::fgetc(f)) == ' ' || c == '\n' || c == '\r' || c == '\t') {
  }
  if (c >= '0' && c <= '9') {
    std::rewind(f);
    return std::unique_ptr<MarcReader>(new Iso2709Reader(f, size));
  }
  std::fclose(f);
  if (c == '<' || c == 0xEF) {  // XML, perhaps after a byte-order mark
    xmlTextReaderPtr reader = xmlReaderForFile(
        file.c_str(), nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (reader == nullptr) return InvalidArgument(name + " cannot be read as XML");
    // libxml2 would print the offending text on standard error: patron data must not go there.
    // Errors are reported by this reader, by record and line only.
    xmlTextReaderSetStructuredErrorHandler(
        reader, [](void*, xmlErrorPtr) {}, nullptr);
    return std::unique_ptr<MarcReader>(new MarcXmlReader(reader, size));
  }
  return InvalidArgument(name + " is neither MARC 21 (ISO 2709) nor MARCXML");
}

}  // namespace carrel
