#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>

#include "commands/profile_request.hpp"
#include "commands/slurm.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "export/export.hpp"
#include "pin/pin.hpp"
#include "render/render.hpp"
#include "slurm/client.hpp"
#include "slurm/job.hpp"
#include "slurm/output.hpp"
#include "slurm/script.hpp"
#include "slurm/sif.hpp"

namespace launcher::commands {

namespace {

// A batch job takes no GPU of the submit host (its layer says "gpus": "none"): each node's come
// from Slurm's allocation.
class AllocationGpus : public plan::GpuHost {
public:
  std::vector<plan::PlacedGpu> claim(const std::string&, const std::vector<std::string>&) override { refuse(); }
  std::vector<plan::PlacedGpu> choose(const std::string&, int) override { refuse(); }
  std::string topology_source() override { return "Slurm's allocation on each node"; }

private:
  [[noreturn]] static void refuse() {
    throw Error(ExitCode::usage, "a Slurm job's GPUs come from its allocation: use --gpus-per-node");
  }
};

// The digest nodes check: the profile's repo digest, or else the image ID of this host's copy.
slurm::PinnedImage pin_image(const engine::Engine& engine, const plan::Resolution& resolution) {
  const std::string& reference = resolution.plan.image;
  if (auto digest = pin::pinned_digest(reference))
    return {slurm::PinnedImage::Kind::repo_digest, pin::without_digest(reference), *digest};
  std::string culprit =
      resolution.profile.origin_of("/image").describe() + ": image " + reference + " is not pinned by digest, ";
  std::string remedy = "; pin it with `launcher pin` (nodes then check the registry's digest)";
  std::optional<nlohmann::json> local;
  try {
    local = engine.inspect_image(reference);
  } catch (const Error& error) { // no Docker on this submit host
    throw Error(ExitCode::usage, culprit + "and this host cannot tell its image ID (" + error.what() + ")" + remedy);
  }
  if (!local) throw Error(ExitCode::usage, culprit + "and it is not on this host to take its image ID from" + remedy);
  return {slurm::PinnedImage::Kind::image_id, reference, local->value("Id", "")};
}

// GPUs per node beyond what the partition's nodes offer would pend forever: refused up front.
void check_partition_gpus(const slurm::JobRequest& request) {
  if (request.gpus_per_node == 0) return;
  std::vector<std::string> argv{"sinfo", "-h", "-o", "%G"};
  if (!request.partition.empty()) argv.insert(argv.end(), {"-p", request.partition});
  std::string gres = slurm::run_slurm(argv, "checking the partition's GPUs").out;
  int offered = slurm::max_gpus_per_node(gres);
  std::string partition = request.partition.empty() ? "the cluster" : "partition " + request.partition;
  if (request.gpus_per_node > offered)
    throw Error(ExitCode::usage,
                "command line (--gpus-per-node " + std::to_string(request.gpus_per_node) + "): " + partition +
                    "'s nodes offer at most " + std::to_string(offered) +
                    " GPUs each (sinfo's GRES: " + (gres.empty() ? "none" : split(gres, '\n').front()) + ")");
}

// The job's env file (slurm::Job::env_file): made by mkstemps (mode 0600, a name no one had), in
// the working directory the job runs in; removed again unless Slurm took the job, whose script
// removes it when it ends.
class JobEnvFile {
public:
  JobEnvFile(std::string path_template, const std::string& text) : path_(std::move(path_template)) {
    int fd = mkstemps(path_.data(), 4); // ".env"
    if (fd < 0)
      throw Error(ExitCode::failed, "failed to create the job's env file " + path_ + ": " + std::strerror(errno));
    bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    int error = errno;
    if (close(fd) != 0 || !written) {
      unlink(path_.c_str());
      throw Error(ExitCode::failed, "failed to write the job's env file " + path_ + ": " + std::strerror(error));
    }
  }
  ~JobEnvFile() {
    if (!kept_) unlink(path_.c_str());
  }
  JobEnvFile(const JobEnvFile&) = delete;
  JobEnvFile& operator=(const JobEnvFile&) = delete;

  const std::string& path() const { return path_; }
  void keep() { kept_ = true; }

private:
  std::string path_;
  bool kept_ = false;
};

// The job's time limit; the partition's is asked of Slurm only when neither --time nor the profile
// gives one. A dry run that cannot ask says so in the script instead of failing.
slurm::TimeLimit time_limit(const slurm::JobRequest& request, const slurm::ClusterSettings& cluster,
                            const profile::Sourced& profile, bool dry_run) {
  std::string profile_origin = profile.origin_of("/slurm/time").describe();
  if (!request.time.empty() || !cluster.time.empty())
    return slurm::job_time_limit(request, cluster, profile_origin, "");
  std::string partitions;
  try {
    partitions = slurm::run_slurm({"scontrol", "show", "partition", "-o"}, "asking for the partition's time limit").out;
  } catch (const Error& error) {
    if (!dry_run) throw;
    return {"", "the partition's DefaultTime or MaxTime, which Slurm could not be asked for here (" +
                    std::string(error.what()) + ")"};
  }
  return slurm::job_time_limit(request, cluster, profile_origin, partitions);
}

// The user's own directory of job output (0700: a job's output may show what its code prints).
void make_output_directory(const std::filesystem::path& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory.parent_path(), error);
  if (mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error(ExitCode::failed,
                "failed to create the directory of job output " + directory.string() + ": " + std::strerror(errno));
}

} // namespace

void add_submit_command(CLI::App& app, Context& context) {
  struct Options {
    ProfileRequest request{"shell", {}};
    slurm::JobRequest job;
    // Counts are read as text: CLI11 turns an empty value into 0 ("--nodes ''" would say "--nodes 0").
    std::string nodes, gpus_per_node, procs_per_node;
    bool dry_run = false;
    bool json = false;
    bool lossy = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand("submit", "run a profile's image as a multi-node torchrun job on Slurm");
  add_profile_options(*command, options->request);
  // Still parsed, so that a job asking for them is refused by name (slurm::batch_layer), but not
  // offered: GPUs come from --gpus-per-node, and a batch job publishes no ports.
  for (const char* refused : {"--gpus", "--port"})
    command->get_option(refused)->group("");
  command->get_option("--user")->description(
      "who the job's containers run as: host (you), root, or UID:GID[:NAME] (pyxis and apptainer: you or root)");
  command->get_option("--name")->description(
      "the job's name in Slurm is launcher-NAME (default: the project's env name)");
  command->add_option("--nodes", options->nodes, "nodes to run on (torchrun once on each)")->required();
  command->add_option("--gpus-per-node", options->gpus_per_node, "GPUs per node: one torchrun process each");
  command->add_option("--procs-per-node", options->procs_per_node, "processes per node of a CPU job (default 1)");
  command->add_option("--partition", options->job.partition, "Slurm partition");
  command->add_option("--time", options->job.time, "time limit, as sbatch takes it");
  command->add_option("--account", options->job.account, "Slurm account");
  command->add_option("--output", options->job.output,
                      "the job's output file, as sbatch takes it (%j: the job id; default: "
                      "$XDG_STATE_HOME/launcher/slurm/launcher-ENV-%j.out)");
  command->add_flag("--dry-run", options->dry_run,
                    "print the sbatch script and submit nothing (with --json: the job, its script and plan as JSON)");
  command->add_flag("--json", options->json, "print the job as JSON");
  command->add_flag("--lossy", options->lossy,
                    "leave out, and list, what the profile's Slurm runtime cannot express instead of refusing");
  command->add_option("CMD", options->job.command,
                      "after --: what torchrun runs on each node, like train.py --epochs 3");
  command->callback([options, command, &context] {
    slurm::JobRequest& job_request = options->job;
    if (std::string python = slurm::take_out_python(job_request.command); !python.empty())
      *context.err << "launcher: warning: torchrun runs the script with Python itself: \"" << python
                   << "\" was taken out of the command\n";
    job_request.nodes = slurm::parse_count_flag("--nodes", options->nodes);
    if (command->count("--gpus-per-node"))
      job_request.gpus_per_node = slurm::parse_count_flag("--gpus-per-node", options->gpus_per_node);
    if (command->count("--procs-per-node"))
      job_request.procs_per_node = slurm::parse_count_flag("--procs-per-node", options->procs_per_node);
    host::HostFacts host = host::read_host_facts();
    const bool default_output = job_request.output.empty();
    if (default_output) job_request.output = slurm::job_output_pattern(host.state_home.string());
    slurm::check_job_request(job_request);
    AllocationGpus gpus;
    profile::FieldContext batch_context{"command line (-- CMD)", host.cwd, host.home, nullptr};
    plan::Resolution resolution = resolve_request(options->request, host, gpus, *context.err, Unapproved::refuse,
                                                  Pinning::required_when_demanded, [&](const profile::Sourced& merged) {
                                                    return slurm::batch_layer(merged, options->request.profile,
                                                                              job_request.command, batch_context);
                                                  });
    // This host's memory says nothing about a node's: only a limit the profile sets is kept (the
    // node bounds the container by the job's allocation).
    if (resolution.profile.origin_of("/resources/memory").source == "default") resolution.plan.memory_bytes.reset();
    slurm::Job job{options->request.profile,
                   resolution.plan,
                   job_request,
                   slurm::cluster_settings(resolution.profile),
                   pin_image(*context.container_engine(), resolution),
                   "",
                   {},
                   {resolution.profile.origin_of("/shm_size").source == "default",
                    resolution.profile.origin_of("/ulimits/memlock").source == "default"}};
    job.submitter_uid = getuid();
    std::vector<std::string> dropped = slurm::unexpressed_fields(job);
    auto asked = std::stable_partition(dropped.begin(), dropped.end(), [&](const std::string& field) {
      return resolution.profile.origin_of(field).source != "default";
    });
    *context.err << slurm::unenforced_defaults_notice({asked, dropped.end()}, job.cluster.runtime);
    dropped.erase(asked, dropped.end());
    exporting::refuse_unless_lossy("Slurm runtime " + slurm::runtime_name(job.cluster.runtime), dropped, options->lossy,
                                   "submits");
    *context.err << exporting::lossy_warnings(dropped, "the job");
    job.time = time_limit(job_request, job.cluster, resolution.profile, options->dry_run);
    job.env_file = slurm::env_file_template(std::filesystem::current_path().string(), job.plan);
    if (options->dry_run) {
      std::string script = slurm::render_script(job);
      *context.out << (options->json ? slurm::dry_run_json(job, script).dump(2) + "\n" : script);
      return;
    }
    check_partition_gpus(job_request);
    if (job.cluster.runtime == slurm::Runtime::apptainer)
      slurm::build_sif(*context.container_engine(), job.cluster, job.image, *context.err);
    if (default_output) make_output_directory(slurm::job_output_directory(host.state_home.string()));
    std::optional<JobEnvFile> env_file;
    if (!job.plan.environment.empty()) {
      env_file.emplace(job.env_file, render::env_file_text(job.plan.environment));
      job.env_file = env_file->path();
    }
    std::string script = slurm::render_script(job);
    process::ProcessOptions sbatch_options;
    sbatch_options.input = script;
    process::ProcessResult submitted =
        slurm::run_slurm({"sbatch", "--parsable"}, "Slurm refused the job", sbatch_options);
    if (env_file) env_file->keep(); // the job's now: its script removes it
    long long job_id = slurm::parse_submitted_job_id(submitted.out);
    if (options->json)
      *context.out << nlohmann::json{{"job", job_id},
                                     {"name", slurm::job_name(job.plan)},
                                     {"image", job.image.run_reference()},
                                     {"nodes", job_request.nodes}}
                          .dump()
                   << "\n";
    else
      *context.out << job_id << "\n";
  });
}

} // namespace launcher::commands
