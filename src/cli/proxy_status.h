// meshctl proxy-status: for every proxy connected to meshd, whether each xDS type (CDS, LDS, EDS,
// RDS) is in sync, from /debug/syncz (one entry per ADS stream: node, and per type the version
// last sent, last ACKed and the last NACK).
#pragma once

#include <string>
#include <vector>

#include "cli/meshd_client.h"
#include "nlohmann/json.hpp"

namespace meshd::cli {

enum class SyncState {
  kSynced,  // the proxy ACKed the version last sent, no NACK pending
  kStale,   // not ACKed (yet), NACKed, or meshd has newer config for it
  kNotSent, // nothing of this type was sent (not subscribed, or nothing to send)
};
std::string_view toString(SyncState state);

// The state of one entry of a stream's "types" (null: the type is absent from the stream). When
// meshd says `up_to_date: false` (the proxy does not hold what meshd would send now, e.g. a push
// is pending) the type is STALE whatever was ACKed.
SyncState syncStateOf(const nlohmann::json& type);

struct ProxySync {
  std::string node;
  SyncState cds = SyncState::kNotSent;
  SyncState lds = SyncState::kNotSent;
  SyncState eds = SyncState::kNotSent;
  SyncState rds = SyncState::kNotSent;
  std::vector<std::string> nacks; // "LDS: <message>" for every type whose last NACK is pending
  bool synced() const; // no type is stale (NOT SENT is not a failure: there may be nothing to send)
};

// One entry per node id (the newest stream when a proxy reconnected), sorted by node id.
std::vector<ProxySync> proxySyncs(const nlohmann::json& syncz);
std::string renderProxyStatus(const std::vector<ProxySync>& proxies);
nlohmann::json proxyStatusJson(const std::vector<ProxySync>& proxies);

// The node ids of the connected proxies (for resolving a PROXY prefix).
std::vector<std::string> connectedNodes(const nlohmann::json& syncz);

int runProxyStatus(Context& ctx);

} // namespace meshd::cli
