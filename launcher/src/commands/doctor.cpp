#include "commands/doctor.hpp"

#include <memory>
#include <optional>
#include <ostream>

#include "commands/profile_request.hpp"
#include "core/error.hpp"
#include "doctor/checks.hpp"
#include "doctor/gpu_tools.hpp"
#include "doctor/report.hpp"
#include "engine/engine.hpp"
#include "facts/facts.hpp"
#include "gpu/inventory.hpp"
#include "host/host_facts.hpp"
#include "lifecycle/backup.hpp"
#include "lifecycle/environments.hpp"
#include "lifecycle/inspect.hpp"
#include "matrix/matrix.hpp"
#include "secrets/backup_credentials.hpp"

namespace launcher::commands {

namespace {

struct EnvBackup {
  std::string env;
  std::string repository;
  std::string credentials_problem; // reading the host's keys for a profile; empty: read, or an env examined
};

// The store is asked from inside the env, with the keys `up` copied there: only a running env
// with this very repository can answer.
doctor::CheckResult backup_result(const engine::Engine& engine, const EnvBackup& backup) {
  doctor::BackupFacts facts{backup.repository, backup.credentials_problem, false, std::nullopt};
  auto container = lifecycle::find_environment(engine, backup.env);
  facts.env_running = container && lifecycle::is_running(*container) &&
                      lifecycle::backup_repository_of(*container) == backup.repository;
  if (facts.env_running && facts.credentials_problem.empty()) {
    try {
      lifecycle::run_backup_tool(engine, backup.env, {"check"}, "the store check");
      facts.store_problem = "";
    } catch (const Error& error) {
      facts.store_problem = error.what();
    }
  }
  return doctor::backup_check(facts);
}

} // namespace

void add_doctor_command(CLI::App& app, Context& context) {
  struct Options {
    ProfileRequest request;
    std::string env;
    bool json = false;
    std::string facts_dir;
    std::string save_facts_dir;
    bool gpu = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "doctor",
      "check that this host can run a profile's container (driver, CUDA, GPUs, toolkit, Docker) and say how to fix it");
  add_profile_options(*command, options->request);
  command->add_option("ENV", options->env, "examine this running environment instead of a profile");
  command->add_flag("--json", options->json, "print the checks and the facts as JSON");
  command->add_flag("--gpu", options->gpu,
                    "with ENV: also run the image's gpu-check and gpu-probe inside it and show their table");
  command->add_option("--facts", options->facts_dir, "evaluate facts saved by --save-facts instead of this host")
      ->check(CLI::ExistingDirectory);
  command->add_option("--save-facts", options->save_facts_dir, "write every raw host answer read into this directory");
  command->callback([options, &context] {
    if (options->gpu && options->env.empty())
      throw Error(
          ExitCode::usage,
          "--gpu runs the GPU tools inside an environment: launcher doctor --gpu ENV (`launcher ps` lists them)");
    if (options->gpu && !options->facts_dir.empty())
      throw Error(ExitCode::usage, "--gpu runs programs in a live container; it cannot use --facts");
    std::optional<facts::DirectoryFactSource> saved;
    if (!options->facts_dir.empty()) saved.emplace(std::vector<std::filesystem::path>{options->facts_dir});
    facts::RecordingFactSource recorder(saved ? static_cast<facts::FactSource&>(*saved) : *context.facts);
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    facts::HostQueries queries(recorder, *engine);
    const matrix::Matrix& matrix = matrix::embedded_matrix();

    doctor::Subject subject;
    doctor::HostSnapshot snapshot;
    std::optional<profile::TeamFileTrust> team_file;
    std::optional<EnvBackup> backup; // a recorded host (--facts) has no env to ask
    if (!options->env.empty()) {
      std::tie(subject, snapshot) = doctor::gather_container_facts(queries, options->env, matrix);
      if (auto container = saved ? std::nullopt : lifecycle::find_environment(*engine, options->env))
        if (std::string repository = lifecycle::backup_repository_of(*container); !repository.empty())
          backup = EnvBackup{options->env, repository, ""};
    } else {
      host::HostFacts host = context.host_facts();
      // "gpus": "auto" means the GPUs of the host examined, which is the recorded one with --facts.
      if (saved) host.gpu_count = static_cast<int>(gpu::read_gpu_inventory(queries).gpus.size());
      HostGpuSource gpus(host, context, recorder, gpu::Reservation::preview);
      plan::Resolution resolution =
          resolve_request(options->request, host, gpus.gpus, *context.err, Unapproved::report);
      subject = doctor::subject_of(resolution.plan);
      if (const auto& plan = resolution.plan; plan.backup && !saved) {
        backup = EnvBackup{plan.env, plan.backup->repository, ""};
        try {
          secrets::read_backup_credentials(plan, host.home);
        } catch (const Error& error) {
          backup->credentials_problem = error.what();
        }
      }
      team_file = resolution.team_file;
      snapshot = doctor::gather_doctor_facts(queries, subject, matrix);
    }
    std::vector<doctor::CheckResult> results = doctor::doctor_checks(subject, snapshot, matrix);
    if (team_file) results.push_back(doctor::team_file_check(*team_file));
    if (backup) results.push_back(backup_result(*engine, *backup));
    if (!options->save_facts_dir.empty()) recorder.save(options->save_facts_dir);

    std::vector<doctor::GpuToolRun> tool_runs;
    if (options->gpu)
      for (const auto& tool : doctor::gpu_tools)
        tool_runs.push_back(doctor::run_gpu_tool(*engine, options->env, tool));

    if (options->json) {
      nlohmann::ordered_json report = doctor::report_json(results, snapshot);
      if (options->gpu) {
        nlohmann::ordered_json tools = nlohmann::ordered_json::object();
        for (const auto& run : tool_runs)
          tools[run.tool] = run.report ? run.json : nlohmann::ordered_json{{"missing", run.missing}};
        report["gpu_tools"] = tools;
      }
      report["engine"] = engine::engine_name(context.engine_kind());
      *context.out << report.dump(2) << "\n";
    } else {
      *context.out << doctor::format_report(results) << doctor::format_gpu_tool_runs(tool_runs)
                   << "engine: " << engine::engine_name(context.engine_kind()) << "\n";
    }
    auto [tools_exit, tools_verdict] = doctor::gpu_tools_verdict(tool_runs, options->env);
    if (tools_exit == probe_report::ExitCode::correctness_failure) throw Error(ExitCode::failed, tools_verdict);
    auto failed = std::count_if(results.begin(), results.end(), [](const doctor::CheckResult& result) {
      return result.status == doctor::Status::fail;
    });
    if (failed > 0)
      throw Error(ExitCode::host_incapable, std::to_string(failed) + (failed == 1 ? " check" : " checks") + " failed");
    if (tools_exit == probe_report::ExitCode::no_gpu) throw Error(ExitCode::host_incapable, tools_verdict);
  });
}

} // namespace launcher::commands
