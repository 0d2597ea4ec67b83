// carrel_sip2_load: a bounded SIP2 load generator for `carrel serve --sip2` on loopback, run in
// its own process. Each kiosk is a connection logged in once (93), then checking its own items
// out to a patron and back in, in turn (11 then 09), as fast as the answers come (closed loop).
// Prints one JSON object: checkouts and checkins done, their rate, and latency percentiles.
//
//   carrel_sip2_load --port P --kiosks N --username U --password W --card C --pin PIN
//                    --items FIRST,COUNT_PER_KIOSK [--seconds 20] [--max 100000]
//
// Kiosk k uses user U-k when --per-kiosk-users is given (else U), and the item barcodes
// "3100" + ten digits from FIRST + k * COUNT_PER_KIOSK. Latencies are per message, from the
// write to the whole answer. Any answer that is not "ok" is counted as a failure, and the first
// few are shown (their screen messages).

#include <unistd.h>

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

#include "tests/support/sip2_client.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  int port = 0, kiosks = 1;
  std::string username, password, card, pin;
  long long first_item = 1, items_per_kiosk = 10;
  double seconds = 20;
  long long max = 100000;
  bool per_kiosk_users = false;
};

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

std::string Item(long long n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "3100%010lld", n);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc || (i < argc && std::string(argv[i]) == "--per-kiosk-users"); ++i) {
    std::string flag = argv[i];
    if (flag == "--per-kiosk-users") {
      a.per_kiosk_users = true;
      continue;
    }
    std::string v = argv[++i];
    if (flag == "--port")
      a.port = std::atoi(v.c_str());
    else if (flag == "--kiosks")
      a.kiosks = std::atoi(v.c_str());
    else if (flag == "--username")
      a.username = v;
    else if (flag == "--password")
      a.password = v;
    else if (flag == "--card")
      a.card = v;
    else if (flag == "--pin")
      a.pin = v;
    else if (flag == "--seconds")
      a.seconds = std::atof(v.c_str());
    else if (flag == "--max")
      a.max = std::atoll(v.c_str());
    else if (flag == "--items") {
      a.first_item = std::atoll(v.c_str());
      a.items_per_kiosk = std::atoll(v.substr(v.find(',') + 1).c_str());
    } else {
      std::fprintf(stderr, "carrel_sip2_load: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (a.port <= 0 || a.username.empty() || a.card.empty() || a.items_per_kiosk < 1) {
    std::fprintf(stderr, "carrel_sip2_load: --port, --username, --card and --items are needed\n");
    return 2;
  }
  std::mutex mu;
  std::vector<double> out_ms, in_ms;
  std::atomic<long long> failures{0}, done{0};
  std::atomic<bool> login_failed{false};
  std::vector<std::string> examples;  // the first refusals' codes and screen messages
  const std::string date = "20261201    100000";
  // A message sent again is answered once (docs/sip2.md): each run's messages differ from an
  // earlier run's by the institution id they carry, as two days' messages do by their dates.
  const std::string institution = "bench-" + std::to_string(getpid());
  const std::string no_date(18, ' ');
  // Every kiosk logs in first; the clock starts once all have (a crowd of logins is not what
  // is measured).
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  Clock::time_point start, deadline;
  std::vector<std::thread> threads;
  for (int k = 0; k < a.kiosks; ++k) {
    threads.emplace_back([&, k] {
      carrel::testing::SipClient c(a.port, false);
      std::string user = a.per_kiosk_users ? a.username + "-" + std::to_string(k) : a.username;
      if (!c.connected() ||
          c.Send("9300CN" + user + "|CO" + a.password + "|CPbench|").fixed != "1") {
        login_failed = true;
        ++ready;
        return;
      }
      ++ready;
      while (!go.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::vector<double> mine_out, mine_in;
      long long n = 0;
      while (Clock::now() < deadline && done.load() < a.max) {
        std::string item = Item(a.first_item + k * a.items_per_kiosk + n % a.items_per_kiosk);
        ++n;
        // The date field differs per message, as a kiosk's clock does: each is a new message.
        std::string stamp = date.substr(0, 12) + std::to_string(100000 + n % 900000).substr(0, 6);
        auto t0 = Clock::now();
        auto out = c.Send("11YN" + stamp + no_date + "AO" + institution + "|AA" + a.card + "|AB" +
                          item + "|AD" + a.pin + "|");
        auto t1 = Clock::now();
        auto in = c.Send("09N" + stamp + stamp + "APbench|AO" + institution + "|AB" + item + "|");
        auto t2 = Clock::now();
        for (const auto* a : {&out, &in}) {
          if (a->fixed.empty() || a->fixed[0] != '1') {
            ++failures;
            std::lock_guard<std::mutex> lock(mu);
            if (examples.size() < 5) examples.push_back(a->code + ": " + a->Field("AF"));
          }
        }
        mine_out.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        mine_in.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
        done += 2;
      }
      std::lock_guard<std::mutex> lock(mu);
      out_ms.insert(out_ms.end(), mine_out.begin(), mine_out.end());
      in_ms.insert(in_ms.end(), mine_in.begin(), mine_in.end());
    });
  }
  while (ready.load() < a.kiosks) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  start = Clock::now();
  deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.seconds));
  go = true;
  for (std::thread& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (login_failed) {
    std::fprintf(stderr, "carrel_sip2_load: a kiosk could not log in\n");
    return 1;
  }
  nlohmann::json result = {
      {"kiosks", a.kiosks},
      {"seconds", elapsed},
      {"checkouts", out_ms.size()},
      {"checkins", in_ms.size()},
      {"failures", failures.load()},
      {"failure_examples", examples},
      {"messages_per_second", (out_ms.size() + in_ms.size()) / elapsed},
      {"checkout_ms",
       {{"p50", Percentile(out_ms, 0.50)},
        {"p95", Percentile(out_ms, 0.95)},
        {"p99", Percentile(out_ms, 0.99)},
        {"max", Percentile(out_ms, 1.0)}}},
      {"checkin_ms",
       {{"p50", Percentile(in_ms, 0.50)},
        {"p95", Percentile(in_ms, 0.95)},
        {"p99", Percentile(in_ms, 0.99)},
        {"max", Percentile(in_ms, 1.0)}}},
  };
  std::printf("%s\n", result.dump().c_str());
  return 0;
}
