// ConfigApi: meshd's config REST API (docs/api.md), Kubernetes-like paths over a ConfigStore:
//
//   GET    /apis/v1                                     kinds served
//   GET    /apis/v1/{plural}                            list, every namespace
//   GET    /apis/v1/namespaces/{ns}/{plural}            list in a namespace
//   POST   /apis/v1/namespaces/{ns}/{plural}            create (409 if it exists)
//   GET|PUT|DELETE /apis/v1/namespaces/{ns}/{plural}/{name}
//   POST|GET /apis/v1/{plural}, GET|PUT|DELETE /apis/v1/{plural}/{name}   cluster-scoped kinds
//   POST   /apis/v1/apply[?dryRun=true&namespace=&file=]    multi-document YAML/JSON, create or
//                                                           replace all (meshctl apply -f)
//   POST   /apis/v1/delete[?dryRun=true&ignoreNotFound=true&namespace=&file=]  (meshctl delete -f)
//
// Handlers run on the HTTP server's loop; the store does the locking. Writes are counted in
// `stats` (config_writes_total{result=accepted|rejected}).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "control/config/object_parser.h"
#include "control/config/store/config_store.h"
#include "core/http/admin_http_server.h"
#include "core/stats/store.h"

namespace meshd::control::api {

inline constexpr std::string_view kApiPrefix = "/apis/v1";

class ConfigApi {
public:
  ConfigApi(config::ConfigStore& store, stats::Store& stats);

  core::AdminResponse handle(const core::AdminRequest& request);
  // Routes kApiPrefix and everything under it on `server` to handle().
  void registerOn(core::AdminHttpServer& server);

private:
  struct Target; // what a path names
  // Fills `target` from the path's parts, or answers 404.
  static std::optional<core::AdminResponse>
  resolve(const std::string& path, const std::vector<std::string>& parts, Target& target);
  core::AdminResponse handleItem(const core::AdminRequest& request, const Target& target);
  core::AdminResponse handleCollection(const core::AdminRequest& request, const Target& target);
  // Parses a multi-document body into `parsed`; the 400 answer when it is not usable.
  std::optional<core::AdminResponse> parseDocuments(const core::AdminRequest& request,
                                                    config::ParseResult& parsed);
  core::AdminResponse applyDocuments(const core::AdminRequest& request);
  core::AdminResponse deleteDocuments(const core::AdminRequest& request);
  core::AdminResponse writeOne(const core::AdminRequest& request, const Target& target,
                               config::WriteMode mode);
  core::AdminResponse writeResponse(const config::WriteResult& result, bool dryRun,
                                    int okStatus = 200);

  config::ConfigStore& store_;
  stats::Counter accepted_;
  stats::Counter rejected_;
};

} // namespace meshd::control::api
