// The API client commands. Every failure is one line "carrel: <reason>" on stderr and exit 1;
// a problem+json answer from the server is shown by its detail, which never holds PII.

#include "tools/carrel/client.h"

#include <fcntl.h>
#include <httplib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/carrel/client_support.h"
#include "tools/carrel/commands.h"

namespace carrel::cli {
namespace {

constexpr int kTimeoutSeconds = 10;
constexpr char kCredentialsFile[] = "credentials.json";

// ---- small helpers ----------------------------------------------------------------------

std::string Errno(int error) { return std::strerror(error); }

// Text from elsewhere (the server, the terminal) shown on one line: control characters become
// spaces so nothing can break the line or drive the terminal.
std::string OneLine(std::string_view text, size_t max = 400) {
  std::string out;
  for (char c : text.substr(0, max)) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  return out;
}

std::string Dump(const Json& value, int indent = -1) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// The string at `key`, or "" when it is missing or not a string.
std::string StringAt(const Json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The value at `key`, or null when it is missing.
Json At(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? Json() : *it;
}

// A scalar for people: strings as they are, yes/no, "-" for nothing.
std::string Shown(const Json& value) {
  if (value.is_string()) {
    std::string s = value.get<std::string>();
    return s.empty() ? "-" : OneLine(s);
  }
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_null()) return "-";
  return OneLine(Dump(value));
}

// Columns a UTF-8 string takes (code points; good enough for names and titles).
size_t Columns(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string PadTo(std::string s, size_t width) {
  size_t cols = Columns(s);
  if (cols < width) s.append(width - cols, ' ');
  return s;
}

struct Field {
  const char* label;
  const char* key;
};

// Aligned "label: value" lines for the fields of `object` that are present.
void PrintFields(const Json& object, const std::vector<Field>& fields) {
  size_t width = 0;
  for (const Field& f : fields) {
    if (object.contains(f.key)) width = std::max(width, std::strlen(f.label) + 1);
  }
  for (const Field& f : fields) {
    auto it = object.find(f.key);
    if (it == object.end()) continue;
    std::printf("%s %s\n", PadTo(std::string(f.label) + ":", width).c_str(), Shown(*it).c_str());
  }
}

}  // namespace

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = Columns(header[i]);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], Columns(row[i]));
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      out += i + 1 == cells.size() ? cells[i] : PadTo(cells[i], width[i]) + "  ";
    }
    std::printf("%s\n", out.c_str());
  };
  line(header);
  for (const auto& row : rows) line(row);
}

namespace {

const std::vector<Field> kPatronFields = {{"id", "id"},
                                          {"card", "card_barcode"},
                                          {"name", "name"},
                                          {"email", "email"},
                                          {"phone", "phone"},
                                          {"address", "postal_address"},
                                          {"juvenile", "juvenile"},
                                          {"expires", "expires_on"},
                                          {"history kept", "history_opt_in"},
                                          {"last activity", "last_activity_on"}};
const std::vector<Field> kItemFields = {
    {"id", "id"},         {"barcode", "barcode"},         {"title", "title"},
    {"author", "author"}, {"call number", "call_number"}, {"type", "item_type"},
    {"status", "status"}};
const std::vector<Field> kLoanFields = {{"loan", "id"},
                                        {"item id", "item_id"},
                                        {"patron id", "patron_id"},
                                        {"checked out", "checked_out_on"},
                                        {"due", "due_on"},
                                        {"renewals", "renewals"}};

}  // namespace

// Percent-encodes one path segment (a barcode in /items/{barcode}).
std::string PathSegment(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out += {'%', kHex[u >> 4], kHex[u & 0xF]};
    }
  }
  return out;
}

namespace {

// Today's local date plus two years (29 February becomes 28 February).
std::string TwoYearsFromToday() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  using namespace std::chrono;
  year_month_day date{year{local.tm_year + 1900 + 2},
                      month{static_cast<unsigned>(local.tm_mon + 1)},
                      day{static_cast<unsigned>(local.tm_mday)}};
  if (!date.ok()) date = year_month_day_last{date.year(), month_day_last{date.month()}};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

// ---- reading a password or PIN ----------------------------------------------------------

// One prompt without echo on a terminal; otherwise one line of standard input.
StatusOr<std::string> ReadSecret(const char* prompt, const char* what) {
  termios saved{};
  bool terminal = isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (terminal) {
    std::fprintf(stderr, "%s", prompt);
    std::fflush(stderr);
    termios silent = saved;
    silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent);
  }
  std::string secret;
  bool got = static_cast<bool>(std::getline(std::cin, secret));
  if (terminal) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fprintf(stderr, "\n");
  }
  if (!got) return InvalidArgument(std::string("no ") + what + " on standard input");
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  return secret;
}

// ---- the server address -----------------------------------------------------------------

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// ---- the token file ---------------------------------------------------------------------

struct Credentials {
  std::string server;
  std::string token;
  std::string username;  // users only
  std::string role;
};

// Creates each missing directory of `dir` with mode 0700.
Status MakePrivateDirectories(const std::filesystem::path& dir) {
  std::filesystem::path prefix;
  for (const auto& part : dir) {
    prefix /= part;
    struct stat info {};
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST &&
        !(stat(prefix.c_str(), &info) == 0 && S_ISDIR(info.st_mode))) {
      return Unavailable("cannot create the directory " + prefix.string() + ": " + Errno(errno));
    }
  }
  return Status::Ok();
}

Status WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unavailable(Errno(errno));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status SaveCredentials(const Credentials& credentials) {
  CARREL_ASSIGN_OR_RETURN(std::filesystem::path path, CredentialsPath());
  CARREL_RETURN_IF_ERROR(MakePrivateDirectories(path.parent_path()));
  Json file = {{"server", credentials.server}, {"token", credentials.token}};
  if (!credentials.username.empty()) file["username"] = credentials.username;
  file["role"] = credentials.role;
  std::string text = Dump(file, 2) + "\n";
  // Written beside the file and renamed over it: a reader never sees half a file, and the
  // new file is 0600 from its first byte whatever the old one's mode was.
  std::filesystem::path partial = path;
  partial += ".partial";
  unlink(partial.c_str());
  int fd = open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return Unavailable("cannot write the token file " + path.string() + ": " + Errno(errno));
  Status written = WriteAll(fd, text);
  if (written.ok() && fsync(fd) != 0) written = Unavailable(Errno(errno));
  if (close(fd) != 0 && written.ok()) written = Unavailable(Errno(errno));
  if (written.ok() && rename(partial.c_str(), path.c_str()) != 0) {
    written = Unavailable(Errno(errno));
  }
  if (!written.ok()) {
    unlink(partial.c_str());
    return Unavailable("cannot write the token file " + path.string() + ": " + written.message());
  }
  return Status::Ok();
}

StatusOr<Credentials> LoadCredentials() {
  CARREL_ASSIGN_OR_RETURN(std::filesystem::path path, CredentialsPath());
  const std::string name = path.string();
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Unauthenticated("not logged in; run carrel login --server URL");
    if (errno == ELOOP) {
      return PermissionDenied("the token file " + name + " is a symbolic link; refusing to use it");
    }
    return Unavailable("cannot read the token file " + name + ": " + Errno(errno));
  }
  struct stat info {};
  std::string text;
  Status checked = Status::Ok();
  if (fstat(fd, &info) != 0) {
    checked = Unavailable("cannot read the token file " + name + ": " + Errno(errno));
  } else if (!S_ISREG(info.st_mode)) {
    checked = PermissionDenied("the token file " + name + " is not a regular file");
  } else if (info.st_uid != geteuid()) {
    checked = PermissionDenied("the token file " + name +
                               " belongs to another user; refusing to "
                               "use it");
  } else if ((info.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    checked = PermissionDenied("the token file " + name + " has mode " + mode +
                               ", looser than 0600; refusing to use it (chmod 600 it, or log "
                               "in again)");
  } else {
    char buffer[4096];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0 && text.size() < 64 * 1024) {
      text.append(buffer, static_cast<size_t>(n));
    }
    if (n < 0) checked = Unavailable("cannot read the token file " + name + ": " + Errno(errno));
  }
  close(fd);
  CARREL_RETURN_IF_ERROR(checked);
  Json file = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  Credentials credentials{StringAt(file, "server"), StringAt(file, "token"),
                          StringAt(file, "username"), StringAt(file, "role")};
  if (credentials.server.empty() || credentials.token.empty()) {
    return DataLoss("the token file " + name + " is damaged; log in again");
  }
  return credentials;
}

// ---- calling the API ----------------------------------------------------------------------

// Turns a problem+json answer (RFC 9457) into a Status carrying its detail.
Status ProblemStatus(int http_status, const std::string& body) {
  Json problem = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string detail = OneLine(StringAt(problem, "detail"));
  if (detail.empty()) detail = "the server answered HTTP " + std::to_string(http_status);
  switch (http_status) {
    case 400:
      return InvalidArgument(detail);
    case 401:
      return Unauthenticated(detail);
    case 403:
      return PermissionDenied(detail);
    case 404:
      return NotFound(detail);
    case 409:
      return FailedPrecondition(detail);
    case 413:
    case 429:
      return ResourceExhausted(detail);
    default:
      return Unavailable(detail);
  }
}

StatusOr<Json> CallApi(const std::string& server, const std::string& token,
                       const std::string& method, const std::string& path,
                       const std::optional<Json>& body = std::nullopt) {
  httplib::Client http(server);
  if (!http.is_valid()) return InvalidArgument("cannot use the server address " + server);
  http.set_connection_timeout(kTimeoutSeconds);
  http.set_read_timeout(kTimeoutSeconds);
  http.set_write_timeout(kTimeoutSeconds);
  http.set_url_encode(false);  // paths are built encoded
  httplib::Headers headers = {{"Accept", "application/json"}};
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  httplib::Result result =
      method == "GET" ? http.Get(path, headers)
      : method == "DELETE"
          ? http.Delete(path, headers)
          : http.Post(path, headers, body ? Dump(*body) : std::string("{}"), "application/json");
  if (!result) {
    switch (result.error()) {
      case httplib::Error::SSLServerVerification:
        return Unavailable("cannot verify the TLS certificate of the server at " + server);
      case httplib::Error::SSLConnection:
        return Unavailable("cannot make a TLS connection to the server at " + server);
      default:
        return Unavailable("cannot reach the server at " + server);
    }
  }
  if (result->status < 200 || result->status >= 300) {
    return ProblemStatus(result->status, result->body);
  }
  if (result->body.empty()) return Json::object();
  Json reply = Json::parse(result->body, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded()) return Unavailable("the server at " + server + " did not answer JSON");
  return reply;
}

// The server and token to use: the token file's, the server overridden by --server.
StatusOr<Credentials> CurrentSession(const std::string& server_flag) {
  CARREL_ASSIGN_OR_RETURN(Credentials credentials, LoadCredentials());
  const std::string& server = server_flag.empty() ? credentials.server : server_flag;
  CARREL_ASSIGN_OR_RETURN(credentials.server, NormalizeServerUrl(server));
  return credentials;
}

}  // namespace

// One authenticated call, then the answer as JSON (--json) or for people.
int Run(const std::string& server_flag, bool json, const std::string& method,
        const std::string& path, const std::optional<Json>& body,
        const std::function<void(const Json&, const std::string& server)>& show) {
  auto session = CurrentSession(server_flag);
  if (!session.ok()) return Fail(session.status());
  auto reply = CallApi(session->server, session->token, method, path, body);
  if (!reply.ok()) return Fail(reply.status());
  // A list comes a page at a time (its `next` link); the command shows all of it.
  for (int page = 0; method == "GET" && reply->is_object() && reply->contains("next") &&
                     (*reply)["next"].is_string() && page < 100000;
       ++page) {
    auto more = CallApi(session->server, session->token, "GET", (*reply)["next"].get<std::string>());
    if (!more.ok()) return Fail(more.status());
    for (auto& [key, value] : more->items()) {
      if (value.is_array() && (*reply)[key].is_array()) {
        for (Json& entry : value) (*reply)[key].push_back(std::move(entry));
      }
    }
    (*reply)["next"] = (*more)["next"];
  }
  if (json) {
    std::printf("%s\n", Dump(*reply, 2).c_str());
  } else {
    show(*reply, session->server);
  }
  return 0;
}

void AddCommon(CLI::App* command, std::string* server, bool* json) {
  command->add_option("--server", *server, "Server URL (default: the one logged in to)");
  command->add_flag("--json", *json, "Print the server's JSON answer");
}

StatusOr<std::filesystem::path> CredentialsPath() {
  auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
  };
  std::string dir = env("CARREL_CONFIG_DIR");
  if (!dir.empty()) return std::filesystem::path(dir) / kCredentialsFile;
  dir = env("XDG_CONFIG_HOME");
  if (!dir.empty() && dir.front() == '/') {
    return std::filesystem::path(dir) / "carrel" / kCredentialsFile;
  }
  dir = env("HOME");
  if (!dir.empty()) return std::filesystem::path(dir) / ".config" / "carrel" / kCredentialsFile;
  return FailedPrecondition("cannot find a config directory: set HOME or CARREL_CONFIG_DIR");
}

StatusOr<std::string> NormalizeServerUrl(const std::string& url) {
  const Status bad = InvalidArgument(
      "the server address must look like https://host[:port] or "
      "http://127.0.0.1:port");
  std::string_view rest = url;
  std::string scheme;
  for (const char* s : {"https://", "http://"}) {
    if (rest.substr(0, std::strlen(s)) == s) {
      scheme = std::string(s).substr(0, std::strlen(s) - 3);
      rest.remove_prefix(std::strlen(s));
      break;
    }
  }
  if (scheme.empty()) return bad;
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string host;
  std::optional<std::string_view> port;
  bool bracketed = !rest.empty() && rest.front() == '[';
  if (bracketed) {
    // An IPv6 literal; the HTTP library takes digits and colons only.
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad;
    host = std::string(rest.substr(1, close - 1));
    if (host.empty() || host.find_first_not_of("0123456789:") != std::string::npos) return bad;
    rest.remove_prefix(close + 1);
    if (!rest.empty() && rest.front() != ':') return bad;
    if (!rest.empty()) port = rest.substr(1);
  } else {
    size_t colon = rest.find(':');
    host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
    if (host.empty()) return bad;
    for (char c : host) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
        return bad;
      }
    }
  }
  if (port) {
    if (port->empty() || port->size() > 5 ||
        port->find_first_not_of("0123456789") != std::string_view::npos) {
      return bad;
    }
    int number = std::stoi(std::string(*port));  // at most five digits: cannot throw
    if (number < 1 || number > 65535) return bad;
  }
  if (scheme == "http" && !IsLoopbackHost(host)) {
    return InvalidArgument("plain http is for a server on this machine only; use https://" + host);
  }
  std::string out = scheme + "://" + (bracketed ? "[" + host + "]" : host);
  if (port) out += ":" + std::string(*port);
  return out;
}

void ClientCommands::Register(CLI::App* app) {
  RegisterSession(app);
  RegisterPatrons(app);
  RegisterCirculation(app);
  RegisterRequests(app);
}

// login, logout, whoami.
void ClientCommands::RegisterSession(CLI::App* app) {
  login_ = app->add_subcommand("login",
                               "Log in to a server and keep the session token; the "
                               "password or PIN is read without echo, or from stdin");
  login_->add_option("--server", server_, "Server URL, e.g. https://carrel.example.org")
      ->required();
  auto* who = login_->add_option_group("account", "Who logs in: a user or a patron");
  who->add_option("--username", username_, "A user's name (the password is asked for)");
  who->add_option("--card", card_, "A patron's card barcode (the PIN is asked for)");
  who->require_option(1);

  logout_ = app->add_subcommand("logout", "End the session and delete the stored token");
  logout_->add_option("--server", server_, "Server URL (default: the one logged in to)");

  whoami_ = app->add_subcommand("whoami", "Show who the stored session belongs to");
  AddCommon(whoami_, &server_, &json_);
}

// patron find|show|pin-reset|add.
void ClientCommands::RegisterPatrons(CLI::App* app) {
  auto* patron = app->add_subcommand("patron", "Patrons, through the server");
  patron->require_subcommand(1);
  patron_find_ = patron->add_subcommand(
      "find", "Find patrons by card barcode, email or full name (sent in the body, never the URL)");
  auto* by = patron_find_->add_option_group("search", "Exactly one search term");
  by->add_option("--card", card_, "Card barcode");
  by->add_option("--email", email_, "Email address");
  by->add_option("--name", name_, "Full name");
  by->require_option(1);
  AddCommon(patron_find_, &server_, &json_);
  patron_show_ = patron->add_subcommand("show", "Show a patron record");
  patron_show_->add_option("ID", patron_id_, "The patron's id")->required();
  AddCommon(patron_show_, &server_, &json_);
  patron_pin_reset_ = patron->add_subcommand(
      "pin-reset", "Start a PIN reset: prints a one-time code for the patron (valid 15 minutes)");
  patron_pin_reset_->add_option("ID", patron_id_, "The patron's id")->required();
  AddCommon(patron_pin_reset_, &server_, &json_);
  patron_add_ = patron->add_subcommand("add", "Register a patron");
  patron_add_->add_option("--card", card_, "Card barcode")->required();
  patron_add_->add_option("--name", name_, "Full name")->required();
  patron_add_->add_option("--email", email_, "Email address");
  patron_add_->add_option("--phone", phone_, "Phone number");
  patron_add_->add_option("--address", address_, "Postal address");
  patron_add_->add_option("--expires", expires_,
                          "Card expiry, YYYY-MM-DD (default: two years "
                          "from today)");
  patron_add_->add_flag("--juvenile", juvenile_, "A juvenile card");
  AddCommon(patron_add_, &server_, &json_);
}

// checkout, checkin, renew, item add|find.
void ClientCommands::RegisterCirculation(CLI::App* app) {
  checkout_ = app->add_subcommand("checkout", "Check an item out to a patron");
  checkout_->add_option("--item", item_, "Item barcode")->required();
  checkout_->add_option("--card", card_, "Patron's card barcode")->required();
  AddCommon(checkout_, &server_, &json_);
  checkin_ = app->add_subcommand("checkin", "Check an item in");
  checkin_->add_option("--item", item_, "Item barcode")->required();
  AddCommon(checkin_, &server_, &json_);
  renew_ = app->add_subcommand("renew", "Renew an item's loan");
  renew_->add_option("--item", item_, "Item barcode")->required();
  AddCommon(renew_, &server_, &json_);

  auto* item = app->add_subcommand("item", "Items, through the server");
  item->require_subcommand(1);
  item_add_ = item->add_subcommand("add", "Add an item to the catalogue");
  item_add_->add_option("--barcode", item_, "Item barcode")->required();
  item_add_->add_option("--title", title_, "Title")->required();
  item_add_->add_option("--author", author_, "Author");
  item_add_->add_option("--call-number", call_number_, "Call number");
  item_add_
      ->add_option("--type", item_type_,
                   "Item type with a loan period in the profile "
                   "(e.g. book, dvd)")
      ->required();
  AddCommon(item_add_, &server_, &json_);
  item_find_ = item->add_subcommand("find", "Show an item by its barcode");
  item_find_->add_option("BARCODE", item_, "Item barcode")->required();
  AddCommon(item_find_, &server_, &json_);
}

// request steps|list|show|intake|act.
void ClientCommands::RegisterRequests(CLI::App* app) {
  auto* request = app->add_subcommand(
      "request", "Requests for confidential information (policy §4), through the server");
  request->require_subcommand(1);
  request_steps_ = request->add_subcommand("steps", "Print the workflow's transition table");
  AddCommon(request_steps_, &server_, &json_);
  request_list_ = request->add_subcommand("list", "List requests (counsel: their own cases)");
  AddCommon(request_list_, &server_, &json_);
  request_show_ = request->add_subcommand("show", "Show one request's file");
  request_show_->add_option("REFERENCE", reference_, "The request's reference")->required();
  AddCommon(request_show_, &server_, &json_);
  request_intake_ = request->add_subcommand(
      "intake", "Take a request in from a JSON file (fields as POST /api/v1/requests; - for "
                "stdin); prints the reference and the script for the desk");
  request_intake_->add_option("--file", file_, "The intake as JSON")->required();
  AddCommon(request_intake_, &server_, &json_);
  request_act_ = request->add_subcommand(
      "act", "Take one step of the workflow (carrel request steps lists them)");
  request_act_->add_option("REFERENCE", reference_, "The request's reference")->required();
  request_act_->add_option("STEP", step_, "acknowledge, consult_counsel, decline, "
                                          "refer_to_counsel, advise, decide, prepare_disclosure, "
                                          "deliver, acknowledge_receipt, respond_media, "
                                          "execute_warrant, nondisclosure, close")
      ->required();
  request_act_->add_option("--file", file_, "The step's details as JSON (- for stdin)");
  request_act_->add_flag("--sign", sign_, "A signed step: ask for the password (decide, "
                                          "prepare_disclosure)");
  AddCommon(request_act_, &server_, &json_);
}

std::optional<int> ClientCommands::RunParsed() {
  const std::pair<CLI::App*, int (ClientCommands::*)()> commands[] = {
      {login_, &ClientCommands::Login},
      {logout_, &ClientCommands::Logout},
      {whoami_, &ClientCommands::WhoAmI},
      {patron_find_, &ClientCommands::PatronFind},
      {patron_show_, &ClientCommands::PatronShow},
      {patron_pin_reset_, &ClientCommands::PatronPinReset},
      {patron_add_, &ClientCommands::PatronAdd},
      {checkout_, &ClientCommands::Checkout},
      {checkin_, &ClientCommands::Checkin},
      {renew_, &ClientCommands::Renew},
      {item_add_, &ClientCommands::ItemAdd},
      {item_find_, &ClientCommands::ItemFind},
      {request_steps_, &ClientCommands::RequestSteps},
      {request_list_, &ClientCommands::RequestList},
      {request_show_, &ClientCommands::RequestShow},
      {request_intake_, &ClientCommands::RequestIntake},
      {request_act_, &ClientCommands::RequestAct}};
  for (const auto& [command, run] : commands) {
    if (command != nullptr && command->parsed()) return (this->*run)();
  }
  return std::nullopt;
}

int ClientCommands::Login() {
  auto server = NormalizeServerUrl(server_);
  if (!server.ok()) return Fail(server.status());
  bool patron = !card_.empty();
  auto secret = patron ? ReadSecret("PIN: ", "PIN") : ReadSecret("Password: ", "password");
  if (!secret.ok()) return Fail(secret.status());
  Json body = patron ? Json{{"card_barcode", card_}, {"pin", *secret}}
                     : Json{{"username", username_}, {"password", *secret}};
  auto reply = CallApi(*server, "", "POST", "/api/v1/session", body);
  if (!reply.ok()) return Fail(reply.status());
  Credentials credentials{*server, StringAt(*reply, "token"), patron ? "" : username_,
                          StringAt(*reply, "role")};
  if (credentials.token.empty()) return Fail(Unavailable("the server's answer has no token"));
  if (Status saved = SaveCredentials(credentials); !saved.ok()) return Fail(saved);
  std::printf("carrel: logged in to %s as %s\n", server->c_str(),
              OneLine(credentials.role).c_str());
  return 0;
}

int ClientCommands::Logout() {
  auto session = CurrentSession(server_);
  if (!session.ok()) return Fail(session.status());
  auto reply = CallApi(session->server, session->token, "DELETE", "/api/v1/session");
  // The local token goes whatever the server said: it must not outlive the wish to log out.
  auto path = CredentialsPath();
  if (path.ok() && unlink(path->c_str()) != 0 && errno != ENOENT) {
    return Fail(
        Unavailable("cannot delete the token file " + path->string() + ": " + Errno(errno)));
  }
  if (reply.ok()) {
    std::printf("carrel: logged out of %s\n", session->server.c_str());
    return 0;
  }
  if (reply.status().code() == StatusCode::kUnauthenticated) {
    std::printf("carrel: logged out (the session had already ended)\n");
    return 0;
  }
  return Fail(Unavailable(reply.status().message() +
                          "; deleted the local token, but the session stays open on the server "
                          "until it expires"));
}

int ClientCommands::WhoAmI() {
  auto show = [](const Json& reply, const std::string& server) {
    Json shown = {{"server", server}};
    if (reply.is_object()) shown.update(reply);
    PrintFields(shown, {{"server", "server"},
                        {"kind", "kind"},
                        {"username", "username"},
                        {"role", "role"},
                        {"id", "id"}});
  };
  return Run(server_, json_, "GET", "/api/v1/session", std::nullopt, show);
}

int ClientCommands::PatronFind() {
  Json body = Json::object();
  if (!card_.empty()) {
    body["card_barcode"] = card_;
  } else if (!email_.empty()) {
    body["email"] = email_;
  } else {
    body["name"] = name_;
  }
  return Run(
      server_, json_, "POST", "/api/v1/patrons/search", body,
      [](const Json& reply, const std::string&) {
        auto it = reply.find("patrons");
        if (it == reply.end() || !it->is_array() || it->empty()) {
          std::printf("no patron matches\n");
          return;
        }
        std::vector<std::vector<std::string>> rows;
        for (const Json& p : *it) {
          rows.push_back({Shown(At(p, "id")), Shown(At(p, "card_barcode")), Shown(At(p, "name")),
                          Shown(At(p, "email")), Shown(At(p, "expires_on"))});
        }
        PrintTable({"ID", "CARD", "NAME", "EMAIL", "EXPIRES"}, rows);
      });
}

int ClientCommands::PatronShow() {
  return Run(server_, json_, "GET", "/api/v1/patrons/" + std::to_string(patron_id_), std::nullopt,
             [](const Json& reply, const std::string&) { PrintFields(reply, kPatronFields); });
}

// The slip for the patron: the code, when it stops working, and where to use it. The code is
// the patron's to use; staff never choose or learn the PIN itself.
int ClientCommands::PatronPinReset() {
  return Run(server_, json_, "POST",
             "/api/v1/patrons/" + std::to_string(patron_id_) + "/pin-reset", Json::object(),
             [](const Json& reply, const std::string&) {
               std::cout << "PIN reset code: " << reply.value("code", "") << "\n"
                         << "valid until:    " << reply.value("expires_at", "") << " (UTC)\n"
                         << "The patron chooses a new PIN of at least "
                         << reply.value("min_pin_length", 6)
                         << " digits with this code and their card number (POST "
                            "/api/v1/pin-reset). Their sessions have ended.\n";
             });
}

int ClientCommands::PatronAdd() {
  Json body = {{"card_barcode", card_}, {"name", name_}};
  if (!email_.empty()) body["email"] = email_;
  if (!phone_.empty()) body["phone"] = phone_;
  if (!address_.empty()) body["postal_address"] = address_;
  body["juvenile"] = juvenile_;
  body["expires_on"] = expires_.empty() ? TwoYearsFromToday() : expires_;
  return Run(server_, json_, "POST", "/api/v1/patrons", body,
             [](const Json& reply, const std::string&) { PrintFields(reply, kPatronFields); });
}

int ClientCommands::Checkout() {
  Json body = {{"item_barcode", item_}, {"card_barcode", card_}};
  return Run(server_, json_, "POST", "/api/v1/loans", body,
             [](const Json& reply, const std::string&) { PrintFields(reply, kLoanFields); });
}

int ClientCommands::Checkin() {
  Json body = {{"item_barcode", item_}};
  return Run(server_, json_, "POST", "/api/v1/loans/checkin", body,
             [](const Json& reply, const std::string&) {
               PrintFields(reply, {{"returned", "returned_on"},
                                   {"days overdue", "overdue_days"},
                                   {"fine (cents)", "fine_cents"},
                                   {"to hold shelf", "to_hold_shelf"}});
             });
}

int ClientCommands::Renew() {
  Json body = {{"item_barcode", item_}};
  return Run(server_, json_, "POST", "/api/v1/loans/renew", body,
             [](const Json& reply, const std::string&) { PrintFields(reply, kLoanFields); });
}

int ClientCommands::ItemAdd() {
  Json body = {{"barcode", item_}, {"title", title_}};
  if (!author_.empty()) body["author"] = author_;
  if (!call_number_.empty()) body["call_number"] = call_number_;
  body["item_type"] = item_type_;
  return Run(server_, json_, "POST", "/api/v1/items", body,
             [](const Json& reply, const std::string&) { PrintFields(reply, kItemFields); });
}

int ClientCommands::ItemFind() {
  return Run(server_, json_, "GET", "/api/v1/items/" + PathSegment(item_), std::nullopt,
             [](const Json& reply, const std::string&) { PrintFields(reply, kItemFields); });
}

// A JSON object from a file, or from stdin for "-".
StatusOr<Json> ReadJsonFile(const std::string& file) {
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (f == nullptr) return NotFound("cannot read " + file);
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
    std::fclose(f);
  }
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument(file + " is not a JSON object");
  return j;
}

namespace {

// The route of each step of the workflow.
std::optional<std::string> StepPath(const std::string& step) {
  static const std::pair<const char*, const char*> kSteps[] = {
      {"acknowledge", "acknowledge"},         {"consult_counsel", "consult-counsel"},
      {"decline", "decline"},                 {"refer_to_counsel", "refer-to-counsel"},
      {"advise", "advice"},                   {"decide", "decision"},
      {"prepare_disclosure", "disclosure"},   {"deliver", "delivery"},
      {"acknowledge_receipt", "receipt"},     {"respond_media", "media-response"},
      {"execute_warrant", "warrant"},         {"close", "close"},
      {"nondisclosure", "nondisclosure"}};
  for (const auto& [name, path] : kSteps) {
    if (step == name) return std::string(path);
  }
  return std::nullopt;
}

void PrintCase(const Json& reply) {
  PrintFields(reply, {{"reference", "reference"},
                      {"type", "type"},
                      {"state", "state"},
                      {"process", "process"},
                      {"outcome", "outcome"},
                      {"received", "received_at"}});
}

}  // namespace

int ClientCommands::RequestSteps() {
  return Run(server_, json_, "GET", "/api/v1/request-steps", std::nullopt,
             [](const Json& reply, const std::string&) {
               std::vector<std::vector<std::string>> rows;
               for (const Json& s : reply["steps"]) {
                 std::string from, who;
                 for (const Json& f : s["from"]) from += (from.empty() ? "" : ",") + f.get<std::string>();
                 for (const Json& w : s["who"]) who += (who.empty() ? "" : ",") + w.get<std::string>();
                 rows.push_back({s["action"].get<std::string>(), from.empty() ? "(new)" : from,
                                 s["to"].get<std::string>(), who,
                                 s["signed"].get<bool>() ? "signed" : ""});
               }
               PrintTable({"STEP", "FROM", "TO", "WHO", ""}, rows);
             });
}

int ClientCommands::RequestList() {
  return Run(server_, json_, "GET", "/api/v1/requests", std::nullopt,
             [](const Json& reply, const std::string&) {
               std::vector<std::vector<std::string>> rows;
               for (const Json& r : reply["requests"]) {
                 rows.push_back({r["reference"].get<std::string>(), r["type"].get<std::string>(),
                                 r["state"].get<std::string>(), r["process"].get<std::string>(),
                                 r["outcome"].get<std::string>()});
               }
               PrintTable({"REFERENCE", "TYPE", "STATE", "PROCESS", "OUTCOME"}, rows);
             });
}

int ClientCommands::RequestShow() {
  return Run(server_, json_, "GET", "/api/v1/requests/" + PathSegment(reference_), std::nullopt,
             [](const Json& reply, const std::string&) {
               PrintCase(reply);
               // Each signed decision, and the Board's ruling on it wherever it is shown.
               if (reply.contains("decisions")) {
                 for (const Json& d : reply["decisions"]) {
                   std::string ruling;
                   if (d.contains("board_ruling") && d["board_ruling"].is_object()) {
                     ruling = "  (Board: " + StringAt(d["board_ruling"], "outcome") + ", review " +
                              Dump(d["board_ruling"]["review"]) + ")";
                   }
                   std::printf("decision %s: %s %s, policy version %s%s\n",
                               Dump(d["id"]).c_str(), StringAt(d, "outcome").c_str(),
                               StringAt(d, "signed_at").c_str(),
                               StringAt(d, "policy_version").c_str(), ruling.c_str());
                 }
               }
               for (const Json& e : reply["events"]) {
                 std::printf("  %s  %-20s %s -> %s  (%s)\n", e["at"].get<std::string>().c_str(),
                             e["action"].get<std::string>().c_str(),
                             e["from"].get<std::string>().c_str(),
                             e["to"].get<std::string>().c_str(),
                             e["actor"].get<std::string>().c_str());
               }
             });
}

int ClientCommands::RequestIntake() {
  auto body = ReadJsonFile(file_);
  if (!body.ok()) return Fail(body.status());
  return Run(server_, json_, "POST", "/api/v1/requests", *body,
             [](const Json& reply, const std::string&) {
               std::printf("reference  %s\n\n%s\n", reply["reference"].get<std::string>().c_str(),
                           reply["script"].get<std::string>().c_str());
             });
}

int ClientCommands::RequestAct() {
  std::optional<std::string> path = StepPath(step_);
  if (!path) return Fail(InvalidArgument("there is no step called '" + step_ + "'"));
  Json body = Json::object();
  if (!file_.empty()) {
    auto read = ReadJsonFile(file_);
    if (!read.ok()) return Fail(read.status());
    body = *read;
  }
  if (sign_) {
    auto password = ReadPassword("Password (to sign): ");
    if (!password.ok()) return Fail(password.status());
    body["password"] = *password;
  }
  return Run(server_, json_, "POST",
             "/api/v1/requests/" + PathSegment(reference_) + "/" + *path, body,
             [](const Json& reply, const std::string&) { PrintCase(reply); });
}

}  // namespace carrel::cli
