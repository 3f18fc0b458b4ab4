// The server side of the xDS load benchmark: a child process running XdsServer over a realistic
// resource set, driven by one-letter commands on a pipe (change an endpoint, change a route,
// report CPU time and RSS), so its CPU and memory are measured apart from the simulated proxies.
#pragma once

#include <cstdint>
#include <sys/types.h>

namespace meshd::bench::xds {

struct LoadServerConfig {
  int clusters = 1000;
  int listeners = 4;
  int proxies = 1000; // expected streams, to tell when every proxy has ACKed a change
  int debounceMs = 0;
  int pushConcurrency = 2;
};

// Commands (one byte) and their one-line answers.
inline constexpr char kChangeEndpoint = 'e'; // → "ok"
inline constexpr char kChangeRoute = 'r';    // → "ok"
inline constexpr char kWaitAcked = 'w';      // → "<µs from push to the N-th ACK, or -1>"
inline constexpr char kReport = 's';         // → "<cpu µs> <rss KiB> <streams>"
inline constexpr char kTrim = 't';           // → "ok" after malloc_trim (RSS without free pages)
inline constexpr char kQuit = 'q';

struct LoadServerProcess {
  pid_t pid = -1;
  int commandFd = -1; // parent writes commands
  int answerFd = -1;  // parent reads answers (first line: the port)
};

// Forks the server process. Call before the parent creates any gRPC object.
LoadServerProcess forkLoadServer(const LoadServerConfig& config);

} // namespace meshd::bench::xds
