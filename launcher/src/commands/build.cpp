#include "commands/build.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <ostream>

#include <fmt/format.h>

#include "build/build_plan.hpp"
#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"
#include "engine/engine.hpp"
#include "host/host_facts.hpp"
#include "process/process.hpp"
#include "render/render.hpp"

namespace launcher::commands {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The repository holding images/Dockerfile: the build context.
fs::path find_context(const std::optional<std::string>& given) {
  fs::path start = given ? fs::path(*given) : host::working_directory();
  for (fs::path dir = fs::absolute(start); !dir.empty(); dir = dir.parent_path()) {
    if (fs::exists(dir / "images/Dockerfile")) return dir;
    if (dir == dir.root_path()) break;
  }
  throw Error(ExitCode::usage, "no images/Dockerfile in " + start.string() +
                                   " or above: run `launcher build` in the "
                                   "launcher repository, or give it with --context");
}

// A long step whose output the user watches as it comes. Where stderr is no terminal, BuildKit
// prints plain lines and nothing at all while pip unpacks gigabytes of wheels or layers are
// exported (a minute on a loaded host): there a line after every 30 s of silence says it goes on.
process::ProcessOptions watched(std::ostream& notices, const std::string& step) {
  process::ProcessOptions options;
  options.show_output = true;
  if (!isatty(STDERR_FILENO)) {
    options.quiet_after = std::chrono::seconds(30);
    options.on_quiet = [&notices, step](std::chrono::milliseconds running) {
      notices << "launcher: still " << step << " (" << running.count() / 1000 << " s so far)\n" << std::flush;
    };
  }
  return options;
}

// The wheel cache on the host (tools/wheel-cache.py: download what is missing, check every hash),
// then one folder of hard links per lock in <context>/.wheelhouse/, which the Dockerfile
// bind-mounts into the pip install steps: the image build itself reaches no index.
void fill_wheelhouse(const fs::path& context, const matrix::Row& row, const std::string& cache, std::ostream& notices) {
  std::vector<std::string> argv{"python3",      (context / "tools/wheel-cache.py").string(),
                                "--wheelhouse", (context / ".wheelhouse").string(),
                                "--python",     row.python};
  if (!cache.empty()) argv.insert(argv.end(), {"--cache", cache});
  for (const auto& [purpose, lock] : row.locks)
    argv.push_back(purpose + "=" + (context / lock).string());
  auto result = process::run_process(argv, watched(notices, "filling the wheel cache"));
  if (result.exit_code != 0) throw Error(ExitCode::failed, "the wheel cache could not be filled; the reason is above");
}

std::string git_revision(const fs::path& context) {
  try {
    auto result = process::run_process({"git", "-C", context.string(), "rev-parse", "--short=12", "HEAD"});
    if (result.exit_code == 0) return result.out.substr(0, result.out.find('\n'));
  } catch (const Error&) {}
  return "unknown";
}

std::string human_size(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int unit = 0;
  while (bytes >= 1000 && unit < 4)
    bytes /= 1000, ++unit;
  return fmt::format("{:.1f} {}", bytes, units[unit]);
}

} // namespace

void add_build_command(CLI::App& app, Context& context) {
  struct Options {
    build::BuildRequest request;
    std::string variant = "devel";
    std::optional<std::string> context_dir;
    bool push = false;
    bool dry_run = false;
    bool test = false;
    bool json = false;
    std::string wheel_cache;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command =
      app.add_subcommand("build", "build an image of images/matrix.json, labelled with what torch reports");
  command->add_option("--torch", options->request.torch, "PyTorch version of the matrix row")->capture_default_str();
  command->add_option("--cuda", options->request.cuda, "CUDA version of the row, or cpu")->capture_default_str();
  command->add_option("--variant", options->variant, "devel (nvcc included) or runtime (slim)")
      ->check(CLI::IsMember({"devel", "runtime"}))
      ->capture_default_str();
  command->add_option("--os", options->request.os, "OS of the row when two rows share torch and CUDA (debian12)");
  command->add_option("--base", options->request.base, "base image instead of the row's (launcher-base:bookworm)");
  command->add_option("--wheel-cache", options->wheel_cache,
                      "the wheel cache (default ${XDG_CACHE_HOME:-~/.cache}/launcher/wheels)");
  command->add_option("--registry", options->request.registry, "registry prefix of the tag");
  command->add_flag("--push", options->push, "push the tag to its registry afterwards");
  command->add_flag("--offline", options->request.offline,
                    "CPU flavor from Debian's PyTorch on the local debootstrap base (no registry needed)");
  command->add_flag("--test", options->test,
                    "also build the test stage: LibTorch example, torch.compile, no baked keys");
  command->add_option("--context", options->context_dir, "the launcher repository (default: found from here)");
  command->add_flag("--dry-run", options->dry_run, "print the engine's build command, run nothing");
  command->add_flag("--json", options->json,
                    "print the result as one line of JSON: tag, size, seconds, torch, cuda, nvcc");
  command->callback([options, &context] {
    options->request.variant = options->variant == "runtime" ? matrix::Variant::runtime : matrix::Variant::devel;
    build::BuildPlan plan = build::plan_build(matrix::embedded_matrix(), options->request);
    fs::path context_dir = find_context(options->context_dir);
    std::unique_ptr<engine::Engine> engine = context.container_engine();
    std::string scratch_tag = "launcher-build-scratch:" + std::to_string(getpid());

    auto image_build = [&](const std::string& target, const std::string& tag,
                           const std::map<std::string, std::string>& args) {
      return engine::ImageBuild{(context_dir / "images/Dockerfile").string(), context_dir.string(), target, tag, args};
    };
    if (options->dry_run) {
      std::vector<std::string> argv = engine->build_command(
          image_build("final", plan.tag.empty() ? "pytorch-cpu:<torch it reports>-debian12" : plan.tag, plan.args));
      for (const std::string& setting : engine->build_environment())
        *context.out << setting << " ";
      *context.out << render::shell_words(argv)
                   << "\n# then the same again with the labels read from the image's torch\n";
      return;
    }

    auto start = std::chrono::steady_clock::now();
    // Stops before anything is built when the engine would use a builder that cannot.
    if (std::optional<std::string> missing = engine->builder_missing()) throw Error(ExitCode::host_incapable, *missing);
    if (options->request.offline && !engine->inspect_image(options->request.offline_base))
      throw Error(ExitCode::failed, "the offline base image " + options->request.offline_base +
                                        " is missing: make it with images/make-base.sh (debootstrap, as root)");
    if (!plan.row.locks.empty()) fill_wheelhouse(context_dir, plan.row, options->wheel_cache, *context.err);
    auto build_stage = [&](const std::string& target, const std::string& tag,
                           const std::map<std::string, std::string>& args) {
      *context.err << "building " << target << " stage as " << tag << "\n" << std::flush;
      auto result = engine->build_image(image_build(target, tag, args),
                                        watched(*context.err, "building the " + target + " stage as " + tag));
      if (result.exit_code != 0)
        throw Error(ExitCode::failed, std::string(engine->name()) + " build failed (exit " +
                                          std::to_string(result.exit_code) + "); its output is above");
    };
    // How a reader of the scratch image's file is named in an error about what it printed.
    auto reading = [&](const std::string& file) {
      return std::string(engine->name()) + " run " + scratch_tag + " cat " + file;
    };

    // Pass one builds everything; pass two only adds the labels of what torch turned out to be.
    build_stage("final", scratch_tag, plan.args);
    const std::string torch_facts_file = "/usr/local/share/launcher/torch-facts.json";
    json facts = JsonReader::parse(
        engine->read_image_file_checked(scratch_tag, torch_facts_file, "read the image's torch facts"),
        reading(torch_facts_file));
    // Only the devel variant has a CUDA toolkit, and with it this file: nvcc's release.
    const std::string toolkit_facts_file = "/usr/local/share/launcher/toolkit-facts.json";
    if (std::optional<std::string> toolkit = engine->read_image_file(scratch_tag, toolkit_facts_file)) {
      const std::string source = reading(toolkit_facts_file);
      const json toolkit_facts = JsonReader::parse(*toolkit, source);
      facts["nvcc"] = JsonReader(toolkit_facts, source).at("nvcc").string();
    }
    std::string tag = plan.tag.empty() ? build::offline_tag(facts, options->request.registry) : plan.tag;
    std::map<std::string, std::string> args = plan.args;
    for (const auto& [name, value] :
         build::label_args(facts, plan.row, tag.substr(tag.rfind(':') + 1), git_revision(context_dir)))
      args[name] = value;
    build_stage("final", tag, args);
    engine->remove_image(scratch_tag);
    if (options->test) build_stage("test", tag + "-test", args), engine->remove_image(tag + "-test");
    if (options->push) engine->push_image(tag);

    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double size = engine->inspect_image(tag).value_or(json::object()).value("Size", 0.0);
    if (options->json) {
      *context.out << json{{"tag", tag},
                           {"size", size},
                           {"seconds", seconds},
                           {"torch", facts["torch"]},
                           {"cuda", facts["cuda"]},
                           {"nvcc", facts.value("nvcc", json())}}
                          .dump()
                   << "\n";
      return;
    }
    *context.out << fmt::format("built {} ({}, {:.0f} s): torch {}, cuda {}{}\n", tag, human_size(size), seconds,
                                facts["torch"].get<std::string>(),
                                facts["cuda"].is_string() ? facts["cuda"].get<std::string>() : "none",
                                facts.contains("nvcc") ? ", nvcc " + facts["nvcc"].get<std::string>() : std::string());
  });
}

} // namespace launcher::commands
