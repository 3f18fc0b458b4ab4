// SessionSettings: the local HTTP/2 settings of one session (what we announce to the peer and
// enforce on what it sends). The defaults are bounded so that one connection cannot make the
// proxy buffer without limit: at most `initialConnectionWindowSize` bytes of received DATA wait
// for the owner to consume them, whatever the number of streams.
#pragma once

#include <cstdint>

namespace meshd::proxy::http::http2 {

struct SessionSettings {
  // SETTINGS_MAX_CONCURRENT_STREAMS we announce (streams the peer may open towards us).
  uint32_t maxConcurrentStreams = 1024;
  // SETTINGS_INITIAL_WINDOW_SIZE: receive window of each stream.
  uint32_t initialStreamWindowSize = 1024 * 1024;
  // Receive window of the whole connection (sent as a WINDOW_UPDATE on stream 0).
  uint32_t initialConnectionWindowSize = 4 * 1024 * 1024;
  // SETTINGS_MAX_HEADER_LIST_SIZE, and the limit enforced on received header blocks (sum of
  // name + value + 32 per field, RFC 9113 §6.5.2). 60 KiB is Envoy's max_request_headers_kb.
  uint32_t maxHeaderListSize = 60 * 1024;
  // Fields per header block (Envoy's max_headers_count default).
  uint32_t maxHeaderCount = 100;
};

} // namespace meshd::proxy::http::http2
