// downstreamTlsContext (listener_parts.h): a Gateway server's TLS settings as Envoy's
// DownstreamTlsContext, the way Istio writes it. Key material comes from files (serverCertificate,
// privateKey, caCertificates) or from SDS over ADS: "kubernetes://<credentialName>" for the
// certificate and "kubernetes://<credentialName>-cacert" for the client CA (ISTIO_MUTUAL: the
// workload's "default" and "ROOTCA"). mesh-proxy has no TLS yet; meshd generates it faithfully.
#include "control/translate/listener_parts.h"
#include "fmt/format.h"

namespace meshd::control::translate {
namespace {

using config::ServerTlsSettings;
using envoy::extensions::transport_sockets::tls::v3::CommonTlsContext;
using envoy::extensions::transport_sockets::tls::v3::TlsParameters;

void addSdsSecret(envoy::extensions::transport_sockets::tls::v3::SdsSecretConfig& secret,
                  std::string name) {
  secret.set_name(std::move(name));
  secret.mutable_sds_config()->mutable_ads();
  secret.mutable_sds_config()->set_resource_api_version(envoy::config::core::v3::V3);
}

TlsParameters::TlsProtocol tlsVersion(ServerTlsSettings::Version version) {
  switch (version) {
  case ServerTlsSettings::Version::kV1_0: return TlsParameters::TLSv1_0;
  case ServerTlsSettings::Version::kV1_1: return TlsParameters::TLSv1_1;
  case ServerTlsSettings::Version::kV1_2: return TlsParameters::TLSv1_2;
  case ServerTlsSettings::Version::kV1_3: return TlsParameters::TLSv1_3;
  case ServerTlsSettings::Version::kAuto: break;
  }
  return TlsParameters::TLS_AUTO;
}

void setCertificates(const ServerTlsSettings& tls, CommonTlsContext& common) {
  if (tls.mode == ServerTlsSettings::Mode::kIstioMutual) {
    addSdsSecret(*common.add_tls_certificate_sds_secret_configs(), "default");
    return;
  }
  if (!tls.credentialNames.empty()) {
    for (const auto& name : tls.credentialNames) {
      addSdsSecret(*common.add_tls_certificate_sds_secret_configs(),
                   fmt::format("kubernetes://{}", name));
    }
    return;
  }
  if (!tls.serverCertificate.empty()) {
    auto* certificate = common.add_tls_certificates();
    certificate->mutable_certificate_chain()->set_filename(tls.serverCertificate);
    certificate->mutable_private_key()->set_filename(tls.privateKey);
  }
  for (const auto& pair : tls.tlsCertificates) {
    auto* certificate = common.add_tls_certificates();
    certificate->mutable_certificate_chain()->set_filename(pair.serverCertificate);
    certificate->mutable_private_key()->set_filename(pair.privateKey);
  }
}

// Client certificate checks (MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL).
void setValidation(const ServerTlsSettings& tls, CommonTlsContext& common) {
  if (tls.mode == ServerTlsSettings::Mode::kIstioMutual) {
    addSdsSecret(*common.mutable_validation_context_sds_secret_config(), "ROOTCA");
    return;
  }
  if (tls.caCertificates.empty() && !tls.credentialNames.empty()) {
    const std::string& credential =
        tls.caCertCredentialName.empty() ? tls.credentialNames.front() : tls.caCertCredentialName;
    addSdsSecret(*common.mutable_validation_context_sds_secret_config(),
                 tls.caCertCredentialName.empty()
                     ? fmt::format("kubernetes://{}-cacert", credential)
                     : fmt::format("kubernetes://{}", credential));
    return;
  }
  auto* validation = common.mutable_validation_context();
  if (!tls.caCertificates.empty()) {
    validation->mutable_trusted_ca()->set_filename(tls.caCertificates);
  }
  if (!tls.caCrl.empty()) {
    validation->mutable_crl()->set_filename(tls.caCrl);
  }
  for (const auto& name : tls.subjectAltNames) {
    auto* matcher = validation->add_match_typed_subject_alt_names();
    matcher->set_san_type(
        envoy::extensions::transport_sockets::tls::v3::SubjectAltNameMatcher::DNS);
    matcher->mutable_matcher()->set_exact(name);
  }
  for (const auto& spki : tls.verifyCertificateSpki) {
    validation->add_verify_certificate_spki(spki);
  }
  for (const auto& hash : tls.verifyCertificateHash) {
    validation->add_verify_certificate_hash(hash);
  }
}

} // namespace

envoy::extensions::transport_sockets::tls::v3::DownstreamTlsContext
downstreamTlsContext(const ServerTlsSettings& tls, bool http) {
  envoy::extensions::transport_sockets::tls::v3::DownstreamTlsContext context;
  CommonTlsContext& common = *context.mutable_common_tls_context();
  if (http) {
    common.add_alpn_protocols("h2");
    common.add_alpn_protocols("http/1.1");
  }
  if (tls.minProtocolVersion != ServerTlsSettings::Version::kAuto ||
      tls.maxProtocolVersion != ServerTlsSettings::Version::kAuto || !tls.cipherSuites.empty()) {
    auto* params = common.mutable_tls_params();
    params->set_tls_minimum_protocol_version(tlsVersion(tls.minProtocolVersion));
    params->set_tls_maximum_protocol_version(tlsVersion(tls.maxProtocolVersion));
    for (const auto& suite : tls.cipherSuites) {
      params->add_cipher_suites(suite);
    }
  }
  setCertificates(tls, common);
  const bool mutual = tls.mode == ServerTlsSettings::Mode::kMutual ||
                      tls.mode == ServerTlsSettings::Mode::kIstioMutual ||
                      tls.mode == ServerTlsSettings::Mode::kOptionalMutual;
  if (mutual) {
    setValidation(tls, common);
    context.mutable_require_client_certificate()->set_value(
        tls.mode != ServerTlsSettings::Mode::kOptionalMutual);
  }
  return context;
}

} // namespace meshd::control::translate
