// Client TLS for outbound clusters (cluster_policy.h), as Istio's cluster_tls.go: ISTIO_MUTUAL
// with the workload certificate and root from SDS ("default", "ROOTCA"), SIMPLE and MUTUAL with
// files or a credential, and auto-mTLS through transport_socket_matches on the endpoints'
// tlsMode.
#include "control/translate/cluster_policy.h"
#include "control/translate/cluster_support.h"

namespace meshd::control::translate {
namespace {

using envoy::extensions::transport_sockets::tls::v3::CommonTlsContext;
using envoy::extensions::transport_sockets::tls::v3::SdsSecretConfig;
using envoy::extensions::transport_sockets::tls::v3::TlsParameters;
using envoy::extensions::transport_sockets::tls::v3::UpstreamTlsContext;
using Mode = config::ClientTlsSettings::Mode;

constexpr const char* kTlsTransportSocket = "envoy.transport_sockets.tls";
constexpr const char* kRawBufferTransportSocket = "envoy.transport_sockets.raw_buffer";
constexpr const char* kSdsCluster = "sds-grpc"; // the proxy agent's SDS server (bootstrap)

// A secret from the proxy's SDS server.
SdsSecretConfig sdsSecret(const std::string& name) {
  SdsSecretConfig out;
  out.set_name(name);
  auto* source = out.mutable_sds_config();
  source->set_resource_api_version(envoy::config::core::v3::V3);
  auto* api = source->mutable_api_config_source();
  api->set_api_type(envoy::config::core::v3::ApiConfigSource::GRPC);
  api->set_transport_api_version(envoy::config::core::v3::V3);
  api->set_set_node_on_first_message_only(true);
  api->add_grpc_services()->mutable_envoy_grpc()->set_cluster_name(kSdsCluster);
  return out;
}

CommonTlsContext defaultCommonContext() {
  CommonTlsContext out;
  out.mutable_tls_params()->set_tls_minimum_protocol_version(TlsParameters::TLSv1_2);
  out.mutable_tls_params()->set_tls_maximum_protocol_version(TlsParameters::TLSv1_3);
  return out;
}

// Exact SAN matchers: SPIFFE identities are URI SANs, anything else a DNS name.
void addSubjectAltNames(
    const std::vector<std::string>& names,
    envoy::extensions::transport_sockets::tls::v3::CertificateValidationContext& validation) {
  using SanType = envoy::extensions::transport_sockets::tls::v3::SubjectAltNameMatcher;
  for (const std::string& name : names) {
    auto* matcher = validation.add_match_typed_subject_alt_names();
    matcher->set_san_type(name.starts_with("spiffe://") ? SanType::URI : SanType::DNS);
    matcher->mutable_matcher()->set_exact(name);
  }
}

UpstreamTlsContext istioMutual(const config::ClientTlsSettings& tls, const PolicyTarget& target,
                               bool http2) {
  UpstreamTlsContext out;
  *out.mutable_common_tls_context() = defaultCommonContext();
  auto* common = out.mutable_common_tls_context();
  *common->add_tls_certificate_sds_secret_configs() = sdsSecret("default");
  auto* combined = common->mutable_combined_validation_context();
  addSubjectAltNames(tls.subjectAltNames.empty() ? target.serviceAccounts : tls.subjectAltNames,
                     *combined->mutable_default_validation_context());
  *combined->mutable_validation_context_sds_secret_config() = sdsSecret("ROOTCA");
  out.set_sni(tls.sni.empty() ? target.istioSni : tls.sni);
  common->add_alpn_protocols("istio-peer-exchange");
  common->add_alpn_protocols("istio");
  if (http2) {
    common->add_alpn_protocols("h2");
  }
  return out;
}

// SIMPLE and MUTUAL: a credential (kubernetes://NAME, its CA in NAME-cacert) or files served by
// the agent's SDS ("file-cert:CERT~KEY", "file-root:CA", CA "system" when not given).
UpstreamTlsContext originated(const config::ClientTlsSettings& tls, bool http2) {
  UpstreamTlsContext out;
  *out.mutable_common_tls_context() = defaultCommonContext();
  auto* common = out.mutable_common_tls_context();
  out.set_sni(tls.sni);
  const bool mutual = tls.mode == Mode::kMutual;
  std::string rootSecret;
  if (!tls.credentialName.empty()) {
    if (mutual) {
      *common->add_tls_certificate_sds_secret_configs() =
          sdsSecret("kubernetes://" + tls.credentialName);
    }
    rootSecret = "kubernetes://" + tls.credentialName + "-cacert";
  } else {
    if (mutual) {
      *common->add_tls_certificate_sds_secret_configs() =
          sdsSecret("file-cert:" + tls.clientCertificate + "~" + tls.privateKey);
    }
    rootSecret = "file-root:" + (tls.caCertificates.empty() ? "system" : tls.caCertificates);
  }
  if (tls.insecureSkipVerify.value_or(false)) {
    common->mutable_validation_context(); // no verification
  } else {
    auto* combined = common->mutable_combined_validation_context();
    auto* validation = combined->mutable_default_validation_context();
    addSubjectAltNames(tls.subjectAltNames, *validation);
    if (!tls.caCrl.empty()) {
      validation->mutable_crl()->set_filename(tls.caCrl);
    }
    *combined->mutable_validation_context_sds_secret_config() = sdsSecret(rootSecret);
  }
  if (http2) {
    common->add_alpn_protocols("h2");
  }
  return out;
}

envoy::config::core::v3::TransportSocket tlsSocket(const UpstreamTlsContext& context) {
  envoy::config::core::v3::TransportSocket out;
  out.set_name(kTlsTransportSocket);
  out.mutable_typed_config()->PackFrom(context);
  return out;
}

bool isHttp2Draft(const ClusterDraft& draft) {
  return draft.http && draft.http->has_explicit_http_config() &&
         draft.http->explicit_http_config().has_http2_protocol_options();
}

} // namespace

std::optional<UpstreamTlsContext> upstreamTlsContext(const config::ClientTlsSettings& tls,
                                                     const PolicyTarget& target, bool http2) {
  switch (tls.mode) {
  case Mode::kDisable: return std::nullopt;
  case Mode::kIstioMutual: return istioMutual(tls, target, http2);
  case Mode::kSimple:
  case Mode::kMutual: return originated(tls, http2);
  }
  return std::nullopt;
}

void applyClientTls(const std::optional<config::ClientTlsSettings>& tls, const PolicyTarget& target,
                    ClusterDraft& draft) {
  const bool http2 = isHttp2Draft(draft);
  if (tls) {
    if (auto context = upstreamTlsContext(*tls, target, http2)) {
      *draft.cluster.mutable_transport_socket() = tlsSocket(*context);
      if ((tls->mode == Mode::kSimple || tls->mode == Mode::kMutual) && tls->sni.empty()) {
        // Istio: SNI (and SAN validation, without SANs) from the request's host.
        auto* upstream = draft.httpOptions().mutable_upstream_http_protocol_options();
        upstream->set_auto_sni(true);
        upstream->set_auto_san_validation(tls->subjectAltNames.empty() &&
                                          !tls->insecureSkipVerify.value_or(false));
      }
    }
    return;
  }
  if (!target.autoMtls) {
    return;
  }
  config::ClientTlsSettings auto_;
  auto_.mode = Mode::kIstioMutual;
  const auto socket = tlsSocket(*upstreamTlsContext(auto_, target, http2));
  if (draft.cluster.type() == envoy::config::cluster::v3::Cluster::ORIGINAL_DST) {
    // Headless services have no endpoint metadata to match: Istio keeps the socket as is.
    *draft.cluster.mutable_transport_socket() = socket;
    return;
  }
  auto* istio = draft.cluster.add_transport_socket_matches();
  istio->set_name("tlsMode-istio");
  (*istio->mutable_match()->mutable_fields())[std::string(kTlsModeKey)].set_string_value(
      std::string(registry::kTlsModeIstio));
  *istio->mutable_transport_socket() = socket;
  auto* plain = draft.cluster.add_transport_socket_matches();
  plain->set_name("tlsMode-disabled");
  plain->mutable_match();
  plain->mutable_transport_socket()->set_name(kRawBufferTransportSocket);
}

} // namespace meshd::control::translate
