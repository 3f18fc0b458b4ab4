// Unit tests for meshctl's building blocks: table rendering, kind names and short forms, meshd
// addresses, and the blocking HTTP client's error when nothing listens.
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "cli/http_client.h"
#include "cli/kind_aliases.h"
#include "cli/meshd_client.h"
#include "cli/table.h"
#include "test/support/process.h"
#include "gtest/gtest.h"

namespace meshd::cli {
namespace {

TEST(TableTest, AlignsColumnsWithoutTrailingSpaces) {
  Table table({"NAME", "NAMESPACE", "HOSTS"});
  table.addRow({"reviews", "default", "reviews"});
  table.addRow({"a", "bookinfo-long"});
  EXPECT_EQ(table.rows(), 2u);
  EXPECT_EQ(table.render(), "NAME      NAMESPACE       HOSTS\n"
                            "reviews   default         reviews\n"
                            "a         bookinfo-long\n");
}

TEST(TableTest, HeaderOnlyWhenEmpty) {
  EXPECT_EQ(Table({"NAME", "CDS"}).render(), "NAME   CDS\n");
}

TEST(KindAliasesTest, ShortFormsPluralsAndNames) {
  for (const char* name : {"vs", "VS", "virtualservices", "VirtualService", "virtualservice",
                           "virtualservice.networking.istio.io"}) {
    const auto* kind = resolveKind(name);
    ASSERT_NE(kind, nullptr) << name;
    EXPECT_EQ(kind->kind, "VirtualService") << name;
  }
  EXPECT_EQ(resolveKind("dr")->kind, "DestinationRule");
  EXPECT_EQ(resolveKind("gw")->kind, "Gateway");
  EXPECT_EQ(resolveKind("se")->kind, "ServiceEntry");
  EXPECT_EQ(resolveKind("ns")->kind, "Namespace");
  EXPECT_EQ(resolveKind("nope"), nullptr);
  EXPECT_EQ(resolveKind("virtualservice.security.istio.io"), nullptr);
}

TEST(KindAliasesTest, QualifiedNamesAsKubectlPrintsThem) {
  EXPECT_EQ(qualifiedKindName(*resolveKind("vs")), "virtualservice.networking.istio.io");
  EXPECT_EQ(qualifiedKindName(*resolveKind("ns")), "namespace");
}

TEST(MeshdAddressTest, FlagThenEnvironmentThenStateDirThenDefault) {
  GlobalOptions options;
  EXPECT_EQ(resolveMeshdAddress(options, nullptr), kDefaultMeshdAddress);
  EXPECT_EQ(resolveMeshdAddress(options, "http://10.0.0.1:1"), "http://10.0.0.1:1");
  options.meshd = "http://127.0.0.1:2";
  EXPECT_EQ(resolveMeshdAddress(options, "http://10.0.0.1:1"), "http://127.0.0.1:2");
}

TEST(MeshdAddressTest, StateDirHoldsTheAddress) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("meshctl-state-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  GlobalOptions options;
  options.stateDir = dir.string();
  EXPECT_EQ(resolveMeshdAddress(options, nullptr), kDefaultMeshdAddress); // no meshd.addr yet
  std::ofstream(dir / "meshd.addr") << "http://127.0.0.1:41000\n";
  EXPECT_EQ(resolveMeshdAddress(options, nullptr), "http://127.0.0.1:41000");
  EXPECT_EQ(resolveMeshdAddress(options, "http://10.0.0.1:1"), "http://10.0.0.1:1");
  std::filesystem::remove_all(dir);
}

TEST(MeshdAddressTest, ParsesHttpAddresses) {
  auto endpoint = parseHttpEndpoint("http://127.0.0.1:15014/");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->host, "127.0.0.1");
  EXPECT_EQ(endpoint->port, 15014);
  EXPECT_EQ(parseHttpEndpoint("localhost:80")->host, "localhost");
  EXPECT_EQ(parseHttpEndpoint("http://[::1]:8080")->host, "::1");
  EXPECT_FALSE(parseHttpEndpoint("http://127.0.0.1").ok());
  EXPECT_FALSE(parseHttpEndpoint("https://127.0.0.1:443").ok());
  EXPECT_FALSE(parseHttpEndpoint("http://127.0.0.1:99999").ok());
  EXPECT_FALSE(parseHttpEndpoint("http://127.0.0.1:80/apis").ok());
}

TEST(HttpClientTest, NothingListeningIsUnavailable) {
  const uint16_t port = testing::pickFreePort();
  auto response = httpRequest({"127.0.0.1", port}, "GET", "/ready");
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
}

TEST(ReadInputsTest, FilesDirectoriesAndStdin) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("meshctl-inputs-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "sub");
  std::ofstream(dir / "b.yaml") << "b";
  std::ofstream(dir / "a.json") << "a";
  std::ofstream(dir / "c.yml") << "c";
  std::ofstream(dir / "README.md") << "not config";
  std::ofstream(dir / "sub" / "d.yaml") << "not read: directories are not recursive";
  std::istringstream in("from stdin");
  auto files = readInputs({dir.string(), "-"}, in);
  ASSERT_TRUE(files.ok()) << files.status();
  std::vector<std::string> texts;
  for (const InputFile& file : *files) {
    texts.push_back(file.text);
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"a", "b", "c", "from stdin"}));
  EXPECT_EQ((*files)[0].name, (dir / "a.json").string());
  EXPECT_EQ((*files)[3].name, "<stdin>");
  EXPECT_FALSE(readInputs({(dir / "missing.yaml").string()}, in).ok());
  std::filesystem::remove_all(dir);
}

TEST(UrlEncodeTest, EscapesQueryValues) {
  EXPECT_EQ(urlEncode("dir/a b&c.yaml"), "dir/a%20b%26c.yaml");
  EXPECT_EQ(urlEncode("sidecar~10.0.0.1~x.default~default.svc.cluster.local"),
            "sidecar~10.0.0.1~x.default~default.svc.cluster.local");
}

} // namespace
} // namespace meshd::cli
