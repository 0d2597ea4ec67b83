// carrel_http_load: a bounded load generator for carrel's HTTP API, run in its own process
// against `carrel serve` on loopback. Prints one JSON object with rates and latencies.
//
// Circulation: each checkout and each checkin is one request (one durable transaction on the
// server), on --threads keep-alive connections. Without --rate each connection sends its next
// request as soon as the last is answered (closed loop: the server's saturation). With --rate R
// the connections together send R requests a second on a fixed schedule, and a latency counts
// from the moment a request was due, so a server that falls behind is not flattered.
//
//   carrel_http_load --port P --token T [--threads 8] [--rate R] [--seconds 20]
//                    [--max-requests 100000] [--items N] [--patrons N]
//                    [--logins 10 --username U --password P]
//
// Slow clients: --slow N connections from --slow-sources K addresses (127.0.1.1 onwards) each
// send a request head one line every 2 s, and are opened again when the server cuts them;
// meanwhile GET /api/v1/hours is timed from 127.0.0.1, --rate times a second.
//
//   carrel_http_load --port P --slow 1000 [--slow-sources 10] [--rate 50] [--seconds 20]

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/raw_http.h"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string Barcode(const char* prefix, long long n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%010lld", prefix, n);
  return buf;
}

struct Options {
  int port = 0;
  std::string token, username, password;
  int threads = 8;
  double seconds = 20;
  long long max_requests = 100000;
  long long items = 200000, patrons = 100000;
  long long first_item = 1;  // two loaders on one library start apart
  int logins = 10;
  double rate = 0;  // requests a second in all; 0: closed loop
  int slow = 0;
  int slow_sources = 10;
};

bool Parse(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port")
      o->port = std::atoi(v.c_str());
    else if (k == "--token")
      o->token = v;
    else if (k == "--threads")
      o->threads = std::atoi(v.c_str());
    else if (k == "--seconds")
      o->seconds = std::atof(v.c_str());
    else if (k == "--max-requests")
      o->max_requests = std::atoll(v.c_str());
    else if (k == "--first-item")
      o->first_item = std::atoll(v.c_str());
    else if (k == "--items")
      o->items = std::atoll(v.c_str());
    else if (k == "--patrons")
      o->patrons = std::atoll(v.c_str());
    else if (k == "--logins")
      o->logins = std::atoi(v.c_str());
    else if (k == "--username")
      o->username = v;
    else if (k == "--password")
      o->password = v;
    else if (k == "--rate")
      o->rate = std::atof(v.c_str());
    else if (k == "--slow")
      o->slow = std::atoi(v.c_str());
    else if (k == "--slow-sources")
      o->slow_sources = std::atoi(v.c_str());
    else
      return false;
  }
  if (o->slow > 0) {
    return o->port > 0 && o->slow <= 5000 && o->slow_sources >= 1 && o->slow_sources <= 250 &&
           o->rate > 0 && o->rate <= 1000 && o->seconds > 0 && o->seconds <= 600;
  }
  return o->port > 0 && !o->token.empty() && o->threads > 0 && o->threads <= 64 && o->rate >= 0 &&
         o->rate <= 100000 && o->seconds > 0 && o->seconds <= 600;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// Holds o.slow slow connections while timing ordinary requests; see the file comment.
int RunSlow(const Options& o) {
  using carrel::testing::RawConnection;
  carrel::testing::RaiseFileLimit();
  struct Slow {
    RawConnection conn;
    Clock::time_point next_line;
  };
  auto source = [&](int i) { return "127.0.1." + std::to_string(1 + i % o.slow_sources); };
  auto open = [&](int i) {
    Slow s{RawConnection(source(i), o.port), Clock::now() + std::chrono::seconds(2)};
    s.conn.Send("GET /api/v1/hours HTTP/1.1\r\nHost: carrel\r\n");
    return s;
  };
  std::vector<Slow> held;
  held.reserve(static_cast<size_t>(o.slow));
  for (int i = 0; i < o.slow; ++i) held.push_back(open(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::atomic<bool> stop{false};
  std::atomic<long long> reopened{0}, lines{0};
  std::thread trickler([&] {
    while (!stop.load()) {
      auto now = Clock::now();
      for (int i = 0; i < o.slow; ++i) {
        Slow& s = held[static_cast<size_t>(i)];
        if (now < s.next_line) continue;
        s.next_line = now + std::chrono::seconds(2);
        if (s.conn.connected() && s.conn.Send("X-Slow: 1\r\n")) {
          lines++;
          continue;
        }
        held[static_cast<size_t>(i)] = open(i);  // cut by its deadline: open another
        reopened++;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::vector<double> ms;
  long long failed = 0;
  auto started = Clock::now();
  auto period = std::chrono::duration<double>(1.0 / o.rate);
  for (long long k = 0;; ++k) {
    auto due = started + std::chrono::duration_cast<Clock::duration>(period * k);
    if (due - started > std::chrono::duration<double>(o.seconds)) break;
    std::this_thread::sleep_until(due);
    std::string answer = carrel::testing::RawRequest(
        "127.0.0.1", o.port,
        "GET /api/v1/hours HTTP/1.1\r\nHost: carrel\r\nConnection: close\r\n\r\n",
        std::chrono::seconds(30));
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - due).count());
    if (carrel::testing::StatusOf(answer) != 200) failed++;
  }
  stop = true;
  trickler.join();
  double max = ms.empty() ? 0 : *std::max_element(ms.begin(), ms.end());
  json out = {{"slow_connections", o.slow},
              {"slow_sources", o.slow_sources},
              {"slow_reopened", reopened.load()},
              {"slow_lines_sent", lines.load()},
              {"requests", static_cast<long long>(ms.size())},
              {"failed", failed},
              {"p50_ms", Percentile(ms, 0.50)},
              {"p99_ms", Percentile(ms, 0.99)},
              {"max_ms", max}};
  std::printf("%s\n", out.dump().c_str());
  return failed > 0 ? 1 : 0;
}

// What the circulation workers share: the counts, the deadline, and every latency measured.
struct Shared {
  std::atomic<long long> issued{0}, errors{0}, next_item{1};
  Clock::time_point started, deadline;
  std::mutex mu;
  std::vector<double> latencies_ms, lateness_ms;
};

// One connection lending and returning items, paced when a rate is given.
void CirculationWorker(const Options& o, int t, Shared& shared) {
  httplib::Client client("127.0.0.1", o.port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(10, 0);
  httplib::Headers headers = {{"Authorization", "Bearer " + o.token}};
  std::vector<double> mine, late;
  long long patron = 1 + t * (o.patrons / o.threads);
  // Paced: this connection's k-th request is due at start + offset + k * period.
  auto period = std::chrono::duration<double>(o.rate > 0 ? o.threads / o.rate : 0);
  auto next_due =
      shared.started + std::chrono::duration_cast<Clock::duration>(period * t / o.threads);
  auto timed = [&](const char* path, const std::string& body) {
    auto t0 = Clock::now();
    if (o.rate > 0) {
      std::this_thread::sleep_until(next_due);
      // How late this client itself woke: part of the latency that is not the server's.
      late.push_back(std::chrono::duration<double, std::milli>(Clock::now() - next_due).count());
      t0 = next_due;
      next_due += std::chrono::duration_cast<Clock::duration>(period);
    }
    auto res = client.Post(path, headers, body, "application/json");
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    return std::make_pair(res ? res->status : 0, ms);
  };
  while (Clock::now() < shared.deadline && shared.issued.load() < o.max_requests) {
    long long item = shared.next_item.fetch_add(1);
    if (item % 10 == 0) continue;  // the seed lends every tenth item
    item = (item - 1) % o.items + 1;
    std::string item_barcode = Barcode("3100", item);
    // A patron with an expired card is refused (409): move on to the next one.
    for (int tries = 0; tries < 20; ++tries) {
      auto [status, ms] = timed(
          "/api/v1/loans",
          json{{"item_barcode", item_barcode}, {"card_barcode", Barcode("2100", patron)}}.dump());
      shared.issued++;
      if (status == 201) {
        mine.push_back(ms);
        auto [back, back_ms] =
            timed("/api/v1/loans/checkin", json{{"item_barcode", item_barcode}}.dump());
        shared.issued++;
        if (back == 200) {
          mine.push_back(back_ms);
        } else {
          shared.errors++;
        }
        break;
      }
      patron = patron % o.patrons + 1;
      if (status != 409) {
        shared.errors++;
        break;
      }
    }
  }
  std::lock_guard<std::mutex> lock(shared.mu);
  shared.latencies_ms.insert(shared.latencies_ms.end(), mine.begin(), mine.end());
  shared.lateness_ms.insert(shared.lateness_ms.end(), late.begin(), late.end());
}

// The median time of a staff login (each one checks a password hash).
double LoginMedianMs(const Options& o, Shared& shared) {
  httplib::Client client("127.0.0.1", o.port);
  std::vector<double> login_ms;
  for (int i = 0; i < o.logins; ++i) {
    auto t0 = Clock::now();
    auto res = client.Post("/api/v1/session",
                           json{{"username", o.username}, {"password", o.password}}.dump(),
                           "application/json");
    login_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (!res || res->status != 201) shared.errors++;
  }
  return Percentile(login_ms, 0.5);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!Parse(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: carrel_http_load --port P --token T [--threads N] [--rate R] "
                 "[--seconds S] [--max-requests N] [--items N] [--patrons N] [--logins N "
                 "--username U --password P]\n"
                 "       carrel_http_load --port P --slow N [--slow-sources K] --rate R "
                 "[--seconds S]\n");
    return 2;
  }
  if (o.slow > 0) return RunSlow(o);
  Shared shared;
  shared.next_item = o.first_item;
  shared.started = Clock::now();
  shared.deadline = shared.started + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> workers;
  for (int t = 0; t < o.threads; ++t) {
    workers.emplace_back([&o, &shared, t] { CirculationWorker(o, t, shared); });
  }
  for (auto& w : workers) w.join();
  std::vector<double>& latencies_ms = shared.latencies_ms;
  double seconds = std::chrono::duration<double>(Clock::now() - shared.started).count();
  json out = {{"threads", o.threads},
              {"rate", o.rate},
              {"seconds", seconds},
              {"requests_ok", static_cast<long long>(latencies_ms.size())},
              {"requests_issued", shared.issued.load()},
              {"errors", shared.errors.load()},
              {"requests_per_second", static_cast<double>(latencies_ms.size()) / seconds},
              {"p50_ms", Percentile(latencies_ms, 0.50)},
              {"p99_ms", Percentile(latencies_ms, 0.99)}};
  if (o.rate > 0) out["client_late_p99_ms"] = Percentile(shared.lateness_ms, 0.99);
  if (o.logins > 0 && !o.username.empty()) out["login_p50_ms"] = LoginMedianMs(o, shared);
  std::printf("%s\n", out.dump().c_str());
  return shared.errors.load() > static_cast<long long>(latencies_ms.size()) / 100 ? 1 : 0;
}
