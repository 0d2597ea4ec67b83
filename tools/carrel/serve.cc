// carrel serve: the library over HTTP(S) until SIGINT or SIGTERM, its scheduled jobs inside.
// SIGUSR1 prints one line of memory figures (ReportMemory); freed heap goes back to the system.

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>

#include "carrel/library.h"
#include "carrel/server.h"
#include "carrel/sip2.h"
#include "tools/carrel/library_commands.h"

namespace carrel::cli {
namespace {

Status ParseListen(const std::string& listen, std::string* host, int* port,
                   std::string_view flag = "--listen",
                   std::string_view example = "127.0.0.1:8080") {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgument(std::string(flag) + " must be HOST:PORT, e.g. " + std::string(example));
  }
  *host = listen.substr(0, colon);
  const std::string digits = listen.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 ||
      digits.find_first_not_of("0123456789") != std::string::npos || std::stoi(digits) > 65535) {
    return InvalidArgument(std::string(flag) + " port must be a number from 0 to 65535");
  }
  *port = std::stoi(digits);
  return Status::Ok();
}

// Each connection is a descriptor: raise the soft limit to the hard one, and keep the
// connection cap below what is left after the files the server itself opens.
size_t FitToDescriptors(size_t wanted) {
  constexpr rlim_t kReserve = 128;
  struct rlimit files = {};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return wanted;
  if (files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &files);
    (void)getrlimit(RLIMIT_NOFILE, &files);
  }
  if (files.rlim_cur == RLIM_INFINITY || files.rlim_cur > wanted + kReserve) return wanted;
  return files.rlim_cur > kReserve ? static_cast<size_t>(files.rlim_cur - kReserve) : 1;
}

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// The server's options from the flags: TLS both ways or not at all, plain HTTP on loopback only
// unless asked, caps of at least 1 and within the process's descriptors.
StatusOr<ServerOptions> OptionsFrom(const ServeFlags& flags, const std::string& host) {
  ServerOptions options;
  options.tls = !flags.tls_cert.empty() || !flags.tls_key.empty();
  if (options.tls && (flags.tls_cert.empty() || flags.tls_key.empty())) {
    return InvalidArgument("HTTPS needs both --tls-cert and --tls-key");
  }
  if (!options.tls && !IsLoopback(host) && !flags.insecure_http) {
    return InvalidArgument(
        "without TLS carrel listens on loopback only; give --tls-cert and --tls-key, or "
        "--insecure-http behind a reverse proxy that terminates TLS");
  }
  if (flags.max_connections_per_client == 0 || flags.max_connections == 0) {
    return InvalidArgument("connection caps must be at least 1");
  }
  options.tls_cert_file = flags.tls_cert;
  options.tls_key_file = flags.tls_key;
  options.trusted_proxies = flags.trusted_proxies;
  options.max_connections = FitToDescriptors(flags.max_connections);
  options.max_connections_per_client =
      std::min(flags.max_connections_per_client, options.max_connections);
  if (flags.workers > 0) options.workers = flags.workers;
  options.login_per_minute = flags.logins_per_minute;
  if (const char* check = std::getenv("CARREL_CHECK_CONTRACT");
      check && std::string(check) == "1") {
    // The tests' servers check every answer against the API contract; a breach is logged
    // (the route and what is wrong, never the answer) and answered as a server error.
    options.contract_breach = [](std::string_view action, int status, const std::string& what) {
      spdlog::error("contract breach: {} answered {}: {}", action, status, what);
    };
  }
  // The scheduled jobs (head signing and the witness, retention, notices, reclaim) run inside
  // the server while it serves.
  options.jobs = JobsOptions();
  return options;
}

// The SIP2 server's options from the flags: TLS unless plain TCP is on loopback or asked for.
StatusOr<Sip2Options> Sip2OptionsFrom(const ServeFlags& flags, const std::string& host) {
  Sip2Options options;
  options.tls = !flags.sip2_tls.empty();
  if (options.tls && flags.sip2_plain) {
    return InvalidArgument("give either --sip2-tls CERT KEY or --sip2-plain, not both");
  }
  if (!options.tls && !IsLoopback(host) && !flags.sip2_plain) {
    return InvalidArgument(
        "SIP2 carries patrons' cards and PINs: give --sip2-tls CERT KEY, or --sip2-plain when "
        "the kiosks' network is trusted or stunnel is in front (docs/sip2.md)");
  }
  if (options.tls) {
    options.tls_cert_file = flags.sip2_tls[0];
    options.tls_key_file = flags.sip2_tls[1];
  }
  return options;
}

// Memory of the server may hold patron data: never write it to a core file.
void NoCoreFiles() {
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

// The master key is in the keyring's memory once the library is open: its text is wiped where
// the environment keeps it (also what /proc/PID/environ shows) and the variable removed, so
// nothing inherits it.
void WipeMasterKeyFromEnvironment() {
  if (char* key = std::getenv("CARREL_MASTER_KEY"); key != nullptr) {
    sodium_memzero(key, std::strlen(key));
    unsetenv("CARREL_MASTER_KEY");
  }
}

// One line on standard output: the resident memory, the heap in use and what it holds free,
// the part SQLite's page caches and statements take (bounded by their cache sizes), and how
// many unwrapped keys are held. A leak grows the heap beside SQLite's part; caches filling
// grow SQLite's. Figures only. The soak (scripts/soak.py) samples it every minute.
void ReportMemory(Library& library) {
  long resident_kib = 0;
  if (std::FILE* statm = std::fopen("/proc/self/statm", "r"); statm != nullptr) {
    long size = 0;
    long resident = 0;
    if (std::fscanf(statm, "%ld %ld", &size, &resident) == 2) {
      resident_kib = resident * (sysconf(_SC_PAGESIZE) / 1024);
    }
    std::fclose(statm);
  }
  struct mallinfo2 heap = mallinfo2();
  std::printf(
      "carrel: memory: resident %ld KiB, heap in use %zu KiB, heap free but held %zu KiB, "
      "SQLite %lld KiB (highest %lld KiB), keys %zu\n",
      resident_kib, heap.uordblks / 1024 + heap.hblkhd / 1024, heap.fordblks / 1024,
      static_cast<long long>(sqlite3_memory_used() / 1024),
      static_cast<long long>(sqlite3_memory_highwater(0) / 1024),
      library.keyring().CachedKeyCount());
  std::fflush(stdout);
}

}  // namespace

int RunServe(const std::string& data, const ServeFlags& flags) {
  NoCoreFiles();
  // SIGINT and SIGTERM are taken by one thread that stops the server, SIGUSR1 by the same
  // thread to report memory (below); every thread, including those the library starts when it
  // opens, leaves them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::string host;
  int port = 0;
  if (Status s = ParseListen(flags.listen, &host, &port); !s.ok()) return Fail(s);
  auto options = OptionsFrom(flags, host);
  if (!options.ok()) return Fail(options.status());
  std::string sip2_host;
  int sip2_port = 0;
  std::optional<Sip2Options> sip2_options;
  if (!flags.sip2_listen.empty()) {
    if (Status s = ParseListen(flags.sip2_listen, &sip2_host, &sip2_port, "--sip2", "0.0.0.0:6001");
        !s.ok()) {
      return Fail(s);
    }
    auto made = Sip2OptionsFrom(flags, sip2_host);
    if (!made.ok()) return Fail(made.status());
    sip2_options = *std::move(made);
  } else if (!flags.sip2_tls.empty() || flags.sip2_plain) {
    return Fail(InvalidArgument("--sip2-tls and --sip2-plain need --sip2 HOST:PORT"));
  }
  auto library = Library::Open(data, SystemClock());
  WipeMasterKeyFromEnvironment();
  if (!library.ok()) return Fail(library.status());
  ApiServer server(library->get(), *options);
  auto bound = server.Bind(host, port);
  if (!bound.ok()) return Fail(bound.status());
  std::unique_ptr<Sip2Server> sip2;
  int sip2_bound = 0;
  if (sip2_options) {
    sip2 = std::make_unique<Sip2Server>(&server, library->get(), *sip2_options);
    auto b = sip2->Bind(sip2_host, sip2_port);
    if (!b.ok()) return Fail(b.status());
    sip2_bound = *b;
  }
  std::atomic<bool> stop_signalled{false};
  // Between signals, the same thread hands freed heap back to the system every ten seconds:
  // glibc keeps what each thread's arena once held, so without it resident memory only ratchets
  // up as SQLite's caches, connections and large answers come and go. Only free memory is given
  // back; the heap in use is what it was.
  std::thread stopper([&] {
    const timespec every{10, 0};
    for (;;) {
      int signal = sigtimedwait(&signals, nullptr, &every);
      if (signal == SIGUSR1) {
        ReportMemory(**library);
      } else if (signal < 0) {
        if (errno == EAGAIN) malloc_trim(0);  // else EINTR: wait again
      } else {
        break;
      }
    }
    stop_signalled = true;
    if (sip2) sip2->Stop();
    server.Stop();
  });
  std::printf("carrel: serving %s at %s://%s:%d/ (Ctrl-C stops)\n",
              (*library)->profile().name.c_str(), options->tls ? "https" : "http", host.c_str(),
              *bound);
  if (!options->tls) {
    std::printf("carrel: plain HTTP%s\n", IsLoopback(host)
                                              ? " on loopback only"
                                              : ", as asked (--insecure-http): put TLS in front");
  }
  if (sip2) {
    std::printf("carrel: SIP2 for kiosks at %s:%d, %s\n", sip2_host.c_str(), sip2_bound,
                sip2_options->tls ? "over TLS"
                : IsLoopback(sip2_host)
                    ? "plain TCP on loopback only"
                    : "plain TCP, as asked (--sip2-plain): cards and PINs cross the network "
                      "unencrypted unless stunnel or a trusted network carries them");
  }
  std::fflush(stdout);
  std::thread sip2_thread;
  if (sip2) {
    sip2_thread = std::thread([&] {
      Status served = sip2->Serve();
      if (!served.ok()) spdlog::error("sip2: {}", served.message());
    });
  }
  Status s = server.Serve();
  if (sip2) {
    sip2->Stop();
    sip2_thread.join();
  }
  // Serve ended on its own: wake the waiting thread (the signal stays blocked everywhere else).
  if (!stop_signalled.load()) kill(getpid(), SIGTERM);
  stopper.join();
  if (!s.ok()) return Fail(s);
  std::printf("carrel: stopped\n");
  return 0;
}

}  // namespace carrel::cli
