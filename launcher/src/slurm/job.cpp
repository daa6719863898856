#include "slurm/job.hpp"

#include <regex>

#include "core/error.hpp"
#include "core/text.hpp"
#include "pin/pin.hpp"
#include "plan/choices.hpp"
#include "profile/catalog.hpp"
#include "profile/slurm_time.hpp"
#include "slurm/output.hpp"
#include "slurm/script.hpp"

namespace launcher::slurm {

using nlohmann::json;

ClusterSettings cluster_settings(const profile::Sourced& profile) {
  ClusterSettings settings;
  const json slurm = profile.fields.value("slurm", json::object());
  settings.runtime = runtime_named(slurm.value("runtime", "docker"));
  settings.sif_cache = slurm.value("sif_cache", "");
  settings.pull = slurm.value("pull", false);
  settings.time = slurm.value("time", "");
  settings.max_restarts = slurm.value("max_restarts", 0);
  if (settings.runtime == Runtime::apptainer && settings.sif_cache.empty())
    throw Error(ExitCode::usage, profile.origin_of("/slurm/runtime").describe() +
                                     ": the apptainer runtime needs \"sif_cache\", a directory every node shares where "
                                     "the image is built as a SIF, like \"slurm\": {\"runtime\": \"apptainer\", "
                                     "\"sif_cache\": \"/shared/sif\"}");
  return settings;
}

TimeLimit job_time_limit(const JobRequest& request, const ClusterSettings& cluster, const std::string& profile_origin,
                         const std::string& partitions) {
  if (!request.time.empty()) return {request.time, "--time"};
  if (!cluster.time.empty()) return {cluster.time, profile_origin};
  for (const auto& line : split(partitions, '\n')) {
    std::optional<std::string> name = scontrol_field(line, "PartitionName");
    if (!name || (request.partition.empty() ? scontrol_field(line, "Default") != "YES" : *name != request.partition))
      continue;
    for (const char* key : {"DefaultTime", "MaxTime"}) {
      std::string limit = scontrol_field(line, key).value_or("NONE");
      if (limit != "NONE" && limit != "UNLIMITED" && limit != "INFINITE")
        return {limit, "partition " + *name + "'s " + key};
    }
    throw Error(ExitCode::usage, "partition " + *name +
                                     " sets no time limit (DefaultTime and MaxTime are unlimited): a job whose node "
                                     "hangs would hold every node forever; give --time, like --time 02:00:00, or the "
                                     "profile's \"slurm\": {\"time\": \"02:00:00\"}");
  }
  throw Error(ExitCode::usage, request.partition.empty() ? "Slurm names no default partition: give --partition"
                                                         : "command line (--partition " + request.partition +
                                                               "): Slurm has no such partition");
}

int parse_count_flag(const std::string& flag, const std::string& value) {
  auto usage = [&](const std::string& problem) {
    throw Error(ExitCode::usage, "command line (" + flag + " " + quote_for_message(value) + "): " + problem);
  };
  if (value.empty()) usage("the value is empty; expected a whole number, like " + flag + " 2");
  std::size_t digits = value[0] == '-' || value[0] == '+' ? 1 : 0;
  if (digits == value.size() || value.find_first_not_of("0123456789", digits) != std::string::npos)
    usage("expected a whole number, like " + flag + " 2");
  long long number = 0;
  for (std::size_t i = digits; i < value.size(); ++i) {
    number = number * 10 + (value[i] - '0');
    if (number > 1'000'000) usage("expected a whole number of at most 1000000");
  }
  return static_cast<int>(value[0] == '-' ? -number : number);
}

void check_job_request(const JobRequest& request) {
  auto usage = [](const std::string& message) { throw Error(ExitCode::usage, "command line (" + message); };
  if (request.nodes < 1) usage("--nodes " + std::to_string(request.nodes) + "): a job needs at least 1 node");
  if (request.gpus_per_node < 0)
    usage("--gpus-per-node " + std::to_string(request.gpus_per_node) + "): expected 0 or more GPUs");
  if (request.procs_per_node && request.gpus_per_node > 0)
    usage("--procs-per-node): a GPU job runs one process per GPU; --procs-per-node is for CPU jobs");
  if (request.procs_per_node && *request.procs_per_node < 1)
    usage("--procs-per-node " + std::to_string(*request.procs_per_node) + "): expected 1 or more processes");
  // #SBATCH lines are not parsed by a shell: their values must need no quoting.
  auto plain = [&](const char* flag, const std::string& value) {
    if (value.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:,+=/-") !=
        std::string::npos)
      usage(std::string(flag) + " " + quote_for_message(value) + "): expected letters, digits and _.:,+=/- only");
  };
  plain("--partition", request.partition);
  plain("--time", request.time);
  if (!request.time.empty() && !profile::is_slurm_time_limit(request.time))
    usage("--time " + quote_for_message(request.time) + "): expected " + profile::slurm_time_limit_form);
  plain("--account", request.account);
  if (request.output.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:,+=/-%") !=
      std::string::npos)
    usage("--output " + quote_for_message(request.output) +
          "): expected letters, digits and _.:,+=/-% only (sbatch's #SBATCH lines are not quoted)");
  if (request.command.empty())
    usage("-- CMD): the command torchrun runs on every node is missing, like `-- train.py --epochs 3`");
}

std::string take_out_python(std::vector<std::string>& command) {
  static const std::regex python("python(3(\\.[0-9]+)?)?");
  if (command.empty() || !std::regex_match(command.front(), python)) return "";
  std::string interpreter = command.front();
  if (command.size() > 1 && command[1] != "-m" && starts_with(command[1], "-"))
    throw Error(ExitCode::usage,
                "command line (-- " + interpreter + " " + command[1] +
                    "): torchrun runs the script with its own Python, which takes no flags from the "
                    "command; give the script first, like -- train.py (for -u: -e PYTHONUNBUFFERED=1)");
  command.erase(command.begin());
  return interpreter;
}

int processes_per_node(const JobRequest& request) {
  return request.gpus_per_node > 0 ? request.gpus_per_node : request.procs_per_node.value_or(1);
}

profile::Sourced batch_layer(const profile::Sourced& merged, const std::string& profile_name,
                             const std::vector<std::string>& command, const profile::FieldContext& context) {
  const std::string source = merged.origin_of("/service").describe();
  plan::Service service = plan::parse_service(merged.fields.value("service", "shell"), source);
  if (service == plan::Service::jupyter || service == plan::Service::ssh)
    throw Error(ExitCode::usage, source + ": profile \"" + profile_name + "\" runs the " + plan::name(service) +
                                     " service, which is not a batch job; submit a " +
                                     "profile whose service is \"shell\" or \"command\"");
  // A GPU request of the submit host's kind would be dropped: each node's GPUs are Slurm's to allocate.
  if (merged.gpus && merged.gpus->kind != profile::GpuRequest::Kind::none &&
      merged.gpus->kind != profile::GpuRequest::Kind::automatic)
    throw Error(ExitCode::usage, merged.origin_of("/gpus").describe() +
                                     ": a Slurm job's GPUs come from its allocation on each node, not from \"gpus\" "
                                     "or --gpus: use --gpus-per-node N");
  if (!merged.fields.value("ports", json::array()).empty())
    throw Error(ExitCode::usage, merged.origin_of("/ports/0").describe() +
                                     ": a batch job publishes no ports (its containers use each node's network)");
  return profile::validated_layer({{"service", "command"}, {"command", command}, {"gpus", "none"}}, context, "");
}

json dry_run_json(const Job& job, const std::string& script) {
  return {{"dry_run", true},
          {"name", job_name(job.plan)},
          {"image", job.image.run_reference()},
          {"nodes", job.request.nodes},
          {"gpus_per_node", job.request.gpus_per_node},
          {"processes_per_node", processes_per_node(job.request)},
          {"runtime", runtime_name(job.cluster.runtime)},
          {"script", script},
          {"plan", plan::to_json(job.plan)}};
}

std::string PinnedImage::run_reference() const {
  return kind == Kind::repo_digest ? pin::repository_of(name) + "@" + digest : digest;
}

std::string sif_path(const ClusterSettings& cluster, const PinnedImage& image) {
  std::string hex = starts_with(image.digest, "sha256:") ? image.digest.substr(7) : image.digest;
  return (cluster.sif_cache.empty() || cluster.sif_cache.back() != '/' ? cluster.sif_cache + "/" : cluster.sif_cache) +
         hex + ".sif";
}

std::string job_name(const plan::Plan& plan) { return job_name_prefix + plan.env; }

std::string job_comment(const PinnedImage& image) {
  return job_comment_prefix + image.run_reference() + ",tag=" + image.name;
}

std::string job_output_directory(const std::string& state_home) {
  return (state_home.empty() || state_home.back() != '/' ? state_home + "/" : state_home) + "launcher/slurm";
}

std::string job_output_pattern(const std::string& state_home) {
  return job_output_directory(state_home) + "/%x-%j.out";
}

std::string env_file_template(const std::string& directory, const plan::Plan& plan) {
  return (directory.empty() || directory.back() != '/' ? directory + "/" : directory) + "." + job_name(plan) +
         "-XXXXXX.env";
}

const std::vector<std::pair<std::string, std::string>>& job_environment_defaults() {
  // One OpenMP thread per rank unless the profile says otherwise (torchrun's own default, said
  // out loud); NCCL reports problems and aborts hung collectives instead of waiting forever.
  static const std::vector<std::pair<std::string, std::string>> defaults{
      {"OMP_NUM_THREADS", "1"},
      {"NCCL_DEBUG", "WARN"},
      {"TORCH_NCCL_ASYNC_ERROR_HANDLING", "1"},
      {"NCCL_ASYNC_ERROR_HANDLING", "1"},
  };
  return defaults;
}

} // namespace launcher::slurm
