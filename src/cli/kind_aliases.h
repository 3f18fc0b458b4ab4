// The names meshctl accepts for a kind on its command line: the kind ("VirtualService"), its
// plural ("virtualservices"), its singular in lower case, and kubectl/istioctl short forms ("vs",
// "dr", "gw", "se", ...), case-insensitively.
#pragma once

#include <string>
#include <string_view>

#include "control/config/kinds.h"

namespace meshd::cli {

// Null when the name is no kind meshd serves.
const control::config::KindInfo* resolveKind(std::string_view name);

// "virtualservice.networking.istio.io" (kubectl's resource name for output like
// "virtualservice.networking.istio.io/reviews created"); "namespace" for the core group.
std::string qualifiedKindName(const control::config::KindInfo& kind);

// Every accepted short form, for the usage message: "vs, dr, gw, ...".
std::string shortFormsHelp();

} // namespace meshd::cli
