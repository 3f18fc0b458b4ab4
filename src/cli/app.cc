// meshctl's command line (see app.h).
#include "cli/app.h"

#include <iostream>
#include <set>
#include <string_view>

#include "CLI/CLI.hpp"
#include "cli/check_commands.h"
#include "cli/config_commands.h"
#include "cli/mesh/mesh_commands.h"
#include "cli/meshd_client.h"
#include "cli/proxy_config.h"
#include "cli/proxy_status.h"

namespace meshd::cli {
namespace {

constexpr const char* kVersion = "0.1.0";

void addGlobalOptions(CLI::App& app, GlobalOptions& options) {
  app.add_option("--meshd", options.meshd,
                 "meshd's HTTP address (default: $MESHD_ADDR, else http://127.0.0.1:15014)");
  app.add_option("--state-dir", options.stateDir,
                 "a local mesh's state directory; meshd's address is read from its meshd.addr");
  app.add_option("-n,--namespace", options.ns, "the namespace (default: default)");
  app.add_flag("-A,--all-namespaces", options.allNamespaces, "every namespace (get, analyze)");
  app.add_option("-o,--output", options.output,
                 "table, json or yaml (get, proxy-status, proxy-config)")
      ->check(CLI::IsMember({"table", "json", "yaml", "wide"}));
}

// The first word of the command line that is neither an option nor an option's value, when it is
// no command (for a better message than CLI11's "A subcommand is required").
std::string unknownCommand(const CLI::App& app, int argc, char** argv) {
  static const std::set<std::string_view> kTakesValue = {"--meshd",     "--state-dir", "-n",
                                                         "--namespace", "-o",          "--output"};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (kTakesValue.contains(arg)) {
      ++i;
    } else if (!arg.starts_with("-")) {
      for (const CLI::App* command : app.get_subcommands({})) {
        if (command->check_name(std::string(arg))) {
          return {};
        }
      }
      return std::string(arg);
    }
  }
  return {};
}

} // namespace

int runMeshctl(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err) {
  Context ctx{.options = {}, .out = out, .err = err};
  CLI::App app{"meshctl: apply, inspect and debug meshd's configuration"};
  app.require_subcommand(1);
  app.fallthrough();
  addGlobalOptions(app, ctx.options);

  ApplyOptions apply;
  auto* applyCmd = app.add_subcommand("apply", "create or update config from files");
  applyCmd->add_option("-f,--filename", apply.files, "a file, a directory or - (repeatable)")
      ->required();
  applyCmd->add_flag("--dry-run", apply.dryRun,
                     "validate and show what would change; change nothing");

  DeleteOptions remove;
  auto* deleteCmd = app.add_subcommand("delete", "delete the objects of files, or KIND NAME");
  auto* deleteFiles =
      deleteCmd->add_option("-f,--filename", remove.files, "a file, a directory or - (repeatable)");
  deleteCmd->add_option("kind", remove.kind, "kind (name, plural or short form like vs)")
      ->excludes(deleteFiles);
  deleteCmd->add_option("name", remove.name, "object name")->excludes(deleteFiles);
  deleteCmd->add_flag("--ignore-not-found", remove.ignoreNotFound, "no error for missing objects");
  deleteCmd->add_flag("--dry-run", remove.dryRun, "show what would be deleted; delete nothing");

  GetOptions get;
  auto* getCmd = app.add_subcommand("get", "list objects of a kind, or show one");
  getCmd->add_option("kind", get.kind, "kind (name, plural or short form like vs, dr, gw, se)")
      ->required();
  getCmd->add_option("name", get.name, "object name");

  CheckOptions validate;
  auto* validateCmd = app.add_subcommand("validate", "validate files offline (no meshd needed)");
  validateCmd->add_option("-f,--filename", validate.files, "a file, a directory or - (repeatable)")
      ->required();

  CheckOptions analyze;
  auto* analyzeCmd =
      app.add_subcommand("analyze", "analyze meshd's live config, with files applied on top");
  analyzeCmd->add_option("-f,--filename", analyze.files, "a file, a directory or - (repeatable)");

  auto* statusCmd = app.add_subcommand("proxy-status", "whether each proxy is in sync with meshd");
  statusCmd->alias("ps");

  ProxyConfigOptions proxyConfig;
  auto* configCmd = app.add_subcommand("proxy-config", "one proxy's generated xDS config");
  configCmd->alias("pc");
  configCmd->add_option("what", proxyConfig.what, "listeners, routes, clusters or endpoints")
      ->required();
  configCmd
      ->add_option("proxy", proxyConfig.proxy,
                   "node id, a unique prefix of one, or of its instance (productpage-v1-0.default)")
      ->required();

  auto* versionCmd = app.add_subcommand("version", "meshctl's version");

  UpOptions up;
  auto addUpOptions = [&up](CLI::App* command) {
    command->add_option("--mode", up.mode, "netns (default as root) or local")
        ->check(CLI::IsMember({"netns", "local"}));
    command->add_option("--ingress-port", up.ingressPort,
                        "where the ingress gateway's port 8080 is reachable on 127.0.0.1 (0: any)");
    command->add_option("--xds-port", up.xdsPort, "meshd's xDS port on 127.0.0.1 (0: any)");
    command->add_option("--http-port", up.httpPort,
                        "meshd's REST API and metrics port on 127.0.0.1 (0: any)");
    command->add_option("--timeout", up.timeoutSeconds,
                        "seconds to wait for every workload and proxy (default 180)");
    command
        ->add_option("--mesh-config", up.meshConfig,
                     "an Istio MeshConfig file for meshd (watched; docs/meshd.md)")
        ->check(CLI::ExistingFile);
  };
  auto* upCmd = app.add_subcommand("up", "start a mesh on this machine, or add workloads to it");
  upCmd->add_option("-f,--filename", up.files, "a file, a directory or - (repeatable)");
  addUpOptions(upCmd);
  auto* downCmd = app.add_subcommand("down", "stop the mesh and remove everything it created");
  auto* meshStatusCmd =
      app.add_subcommand("status", "the mesh's workloads, proxies and sync state");
  ExecOptions exec;
  auto* execCmd =
      app.add_subcommand("exec", "run a command as a workload: WORKLOAD -- CMD ARGS...");
  execCmd->add_option("workload", exec.workload, "a workload or instance name")->required();
  execCmd->add_option("command", exec.command, "the command and its arguments")->required();
  DemoOptions demo;
  auto* demoCmd = app.add_subcommand("demo", "start the mesh with the Bookinfo sample");
  demoCmd->add_flag("--detach", demo.detach, "return once it runs (stop it with 'meshctl down')");
  addUpOptions(demoCmd);
  UpOptions supervise;
  auto* superviseCmd = app.add_subcommand("__supervise", "");
  superviseCmd->group("");
  superviseCmd->add_option("--mode", supervise.mode);
  superviseCmd->add_option("--ingress-port", supervise.ingressPort);
  superviseCmd->add_option("--xds-port", supervise.xdsPort);
  superviseCmd->add_option("--http-port", supervise.httpPort);
  superviseCmd->add_option("--mesh-config", supervise.meshConfig);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return kExitOk;
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) {
      return app.exit(error, out, err);
    }
    const std::string unknown = unknownCommand(app, argc, argv);
    if (!unknown.empty()) {
      err << "meshctl: unknown command '" << unknown << "'\n(run 'meshctl --help' for usage)\n";
    } else {
      err << "meshctl: " << error.what() << "\n(run 'meshctl --help' for usage)\n";
    }
    return kExitUsage;
  }
  if (ctx.options.output == "wide") {
    ctx.options.output = "table";
  }
  if (upCmd->parsed()) {
    return runUp(ctx, up, in);
  }
  if (downCmd->parsed()) {
    return runDown(ctx);
  }
  if (meshStatusCmd->parsed()) {
    return runStatus(ctx);
  }
  if (execCmd->parsed()) {
    return runExec(ctx, exec);
  }
  if (demoCmd->parsed()) {
    demo.up = up;
    return runDemo(ctx, demo, in);
  }
  if (superviseCmd->parsed()) {
    return runSupervise(supervise, ctx.options.stateDir);
  }
  if (applyCmd->parsed()) {
    return runApply(ctx, apply, in);
  }
  if (deleteCmd->parsed()) {
    if (remove.files.empty() && (remove.kind.empty() || remove.name.empty())) {
      err << "meshctl: delete needs -f FILE or KIND NAME\n";
      return kExitUsage;
    }
    return runDelete(ctx, remove, in);
  }
  if (getCmd->parsed()) {
    return runGet(ctx, get);
  }
  if (validateCmd->parsed()) {
    return runValidate(ctx, validate, in);
  }
  if (analyzeCmd->parsed()) {
    return runAnalyze(ctx, analyze, in);
  }
  if (statusCmd->parsed()) {
    return runProxyStatus(ctx);
  }
  if (configCmd->parsed()) {
    return runProxyConfig(ctx, proxyConfig);
  }
  if (versionCmd->parsed()) {
    out << "meshctl version " << kVersion << "\n";
    return kExitOk;
  }
  return kExitUsage;
}

} // namespace meshd::cli
