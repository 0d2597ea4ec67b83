// carrel_http_load: a bounded load generator for carrel's HTTP API, run in its own process
// against `carrel serve` on loopback. Each checkout and each checkin is one request (one durable
// transaction on the server). Prints one JSON object with rates and latencies.
//
//   carrel_http_load --port P --token T [--threads 8] [--seconds 20] [--max-requests 100000]
//                    [--items N] [--patrons N] [--logins 10 --username U --password P]

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
  int logins = 10;
};

bool Parse(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port") o->port = std::atoi(v.c_str());
    else if (k == "--token") o->token = v;
    else if (k == "--threads") o->threads = std::atoi(v.c_str());
    else if (k == "--seconds") o->seconds = std::atof(v.c_str());
    else if (k == "--max-requests") o->max_requests = std::atoll(v.c_str());
    else if (k == "--items") o->items = std::atoll(v.c_str());
    else if (k == "--patrons") o->patrons = std::atoll(v.c_str());
    else if (k == "--logins") o->logins = std::atoi(v.c_str());
    else if (k == "--username") o->username = v;
    else if (k == "--password") o->password = v;
    else return false;
  }
  return o->port > 0 && !o->token.empty() && o->threads > 0 && o->threads <= 64 &&
         o->seconds > 0 && o->seconds <= 600;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!Parse(argc, argv, &o)) {
    std::fprintf(stderr, "usage: carrel_http_load --port P --token T [--threads N] [--seconds S] "
                         "[--max-requests N] [--items N] [--patrons N] [--logins N --username U "
                         "--password P]\n");
    return 2;
  }
  std::atomic<long long> issued{0}, errors{0}, next_item{1};
  std::mutex mu;
  std::vector<double> latencies_ms;
  auto deadline = Clock::now() + std::chrono::duration<double>(o.seconds);
  auto started = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < o.threads; ++t) {
    workers.emplace_back([&, t] {
      httplib::Client client("127.0.0.1", o.port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_connection_timeout(5, 0);
      client.set_read_timeout(10, 0);
      httplib::Headers headers = {{"Authorization", "Bearer " + o.token}};
      std::vector<double> mine;
      long long patron = 1 + t * (o.patrons / o.threads);
      auto timed = [&](const char* path, const std::string& body) {
        auto t0 = Clock::now();
        auto res = client.Post(path, headers, body, "application/json");
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        return std::make_pair(res ? res->status : 0, ms);
      };
      while (Clock::now() < deadline && issued.load() < o.max_requests) {
        long long item = next_item.fetch_add(1);
        if (item % 10 == 0) continue;  // the seed lends every tenth item
        item = (item - 1) % o.items + 1;
        std::string item_barcode = Barcode("3100", item);
        // A patron with an expired card is refused (409): move on to the next one.
        for (int tries = 0; tries < 20; ++tries) {
          auto [status, ms] = timed("/api/v1/loans",
                                    json{{"item_barcode", item_barcode},
                                         {"card_barcode", Barcode("2100", patron)}}
                                        .dump());
          issued++;
          if (status == 201) {
            mine.push_back(ms);
            auto [back, back_ms] =
                timed("/api/v1/loans/checkin", json{{"item_barcode", item_barcode}}.dump());
            issued++;
            if (back == 200) {
              mine.push_back(back_ms);
            } else {
              errors++;
            }
            break;
          }
          patron = patron % o.patrons + 1;
          if (status != 409) {
            errors++;
            break;
          }
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& w : workers) w.join();
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  json out = {{"threads", o.threads},
              {"seconds", seconds},
              {"requests_ok", static_cast<long long>(latencies_ms.size())},
              {"requests_issued", issued.load()},
              {"errors", errors.load()},
              {"requests_per_second", static_cast<double>(latencies_ms.size()) / seconds},
              {"p50_ms", Percentile(latencies_ms, 0.50)},
              {"p99_ms", Percentile(latencies_ms, 0.99)}};
  if (o.logins > 0 && !o.username.empty()) {
    httplib::Client client("127.0.0.1", o.port);
    std::vector<double> login_ms;
    for (int i = 0; i < o.logins; ++i) {
      auto t0 = Clock::now();
      auto res = client.Post("/api/v1/session",
                             json{{"username", o.username}, {"password", o.password}}.dump(),
                             "application/json");
      login_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      if (!res || res->status != 201) errors++;
    }
    out["login_p50_ms"] = Percentile(login_ms, 0.5);
  }
  std::printf("%s\n", out.dump().c_str());
  return errors.load() > static_cast<long long>(latencies_ms.size()) / 100 ? 1 : 0;
}
