#include "build/build_plan.hpp"

#include <optional>
#include <regex>

#include "core/error.hpp"
#include "core/json_reader.hpp"

namespace launcher::build {

using nlohmann::json;

namespace {

std::string with_registry(const std::string& registry, const std::string& tag) {
  if (registry.empty()) return tag;
  return registry.back() == '/' ? registry + tag : registry + "/" + tag;
}

// torch.backends.cudnn.version() is an integer: 90701 is 9.7.1, 8907 is 8.9.7.
std::string cudnn_text(const json& value) {
  if (!value.is_number_integer()) return "none";
  int number = value.get<int>();
  if (number >= 10000)
    return std::to_string(number / 10000) + "." + std::to_string(number / 100 % 100) + "." +
           std::to_string(number % 100);
  return std::to_string(number / 1000) + "." + std::to_string(number / 100 % 10) + "." + std::to_string(number % 100);
}

std::string text_or_none(const json& value) { return value.is_string() ? value.get<std::string>() : "none"; }

// "2.7.1+cu126" is torch 2.7.1 built for CUDA 12.6: the CUDA part has its own label, and doctor
// matches the release against the matrix.
std::string release_of(const json& version) {
  std::string text = text_or_none(version);
  return text.substr(0, text.find('+'));
}

} // namespace

BuildPlan plan_build(const matrix::Matrix& matrix, const BuildRequest& request) {
  bool cpu = request.cuda == "cpu";
  if (request.offline && !cpu)
    throw Error(ExitCode::usage, "--offline builds the CPU flavor from Debian's packages; add --cuda cpu");
  if (cpu && request.variant == matrix::Variant::runtime)
    throw Error(ExitCode::usage, "--variant runtime is a CUDA flavor; the CPU image has one variant");
  const matrix::Row* found = nullptr;
  std::string known;
  for (const auto& row : matrix.rows) {
    known += (known.empty() ? "" : ", ") + row.torch + "/" + (row.is_cpu() ? "cpu" : row.cuda);
    if (!found && row.torch == request.torch && (cpu ? row.is_cpu() : row.cuda == request.cuda) &&
        (request.os.empty() || row.os == request.os))
      found = &row;
  }
  if (!found)
    throw Error(ExitCode::usage, "images/matrix.json has no row for torch " + request.torch + " with " +
                                     (cpu ? "cpu" : "CUDA " + request.cuda) +
                                     (request.os.empty() ? "" : " on " + request.os) + "; rows (torch/cuda): " + known);
  BuildPlan plan{*found, "", {}};
  if (request.offline) {
    // VARIANT as the Dockerfile's default, but given: Podman's Buildah (1.28) finds the stages a
    // `FROM name-${ARG}` needs from the build arguments alone, and skips the rest.
    plan.args = {{"BASE_IMAGE", request.offline_base},
                 {"TORCH_SOURCE", "debian"},
                 {"VARIANT", matrix::variant_name(matrix::Variant::runtime)}};
    return plan;
  }
  if (found->locks.empty())
    throw Error(ExitCode::usage,
                matrix::image_tag(*found, request.variant) + " has no locks in images/matrix.json" +
                    (found->wheel_index.empty() ? "" : ": its wheels live on " + found->wheel_index) +
                    "; rows with locks build offline from the wheel cache (tools/lock.py writes a lock)");
  plan.tag = with_registry(request.registry, matrix::image_tag(*found, request.variant));
  bool runtime = request.variant == matrix::Variant::runtime;
  plan.args = {
      {"BASE_IMAGE", !request.base.empty() ? request.base
                     : runtime             ? found->runtime_base_image
                                           : found->base_image},
      {"TORCH_SOURCE", "wheels"},
      {"VARIANT", matrix::variant_name(request.variant)},
      {"PYTHON_VERSION", found->python},
      {"TORCH_LOCK", found->locks.at("torch")},
      {"SERVICES_LOCK", found->locks.at("services")},
      {"DEVEL_LOCK", found->locks.at("devel")},
  };
  return plan;
}

std::map<std::string, std::string> label_args(const json& image_facts, const matrix::Row& row,
                                              const std::string& version, const std::string& revision) {
  std::string archs;
  for (const auto& arch : image_facts.value("cuda_archs", json::array()))
    archs += (archs.empty() ? "" : ",") + arch.get<std::string>();
  // The facts are another program's output: a missing key reads as null, never through const operator[].
  bool cuda = image_facts.value("cuda", json()).is_string();
  return {
      {"IMAGE_VERSION", version},
      {"IMAGE_REVISION", revision},
      {"IMAGE_SOURCE", "images/Dockerfile"},
      {"LABEL_TORCH", release_of(image_facts.value("torch", json()))},
      {"LABEL_CUDA", text_or_none(image_facts.value("cuda", json()))},
      {"LABEL_NVCC", text_or_none(image_facts.value("nvcc", json()))},
      {"LABEL_CUDNN", cudnn_text(image_facts.value("cudnn", json()))},
      {"LABEL_NCCL", text_or_none(image_facts.value("nccl", json()))},
      {"LABEL_CUDA_ARCHS", archs.empty() ? "none" : archs},
      {"LABEL_MIN_DRIVER", cuda && !row.min_driver.empty() ? row.min_driver : "none"},
  };
}

std::string offline_tag(const json& torch_facts, const std::string& registry) {
  std::string torch = JsonReader(torch_facts, "torch_facts.py").at("torch").string();
  return with_registry(registry, "pytorch-cpu:" + torch + "-debian12");
}

namespace {

// The `launcher build` command whose plan has exactly this tag, for a tag of a row with locks.
std::optional<std::string> build_command_for(const matrix::Matrix& matrix, const std::string& image) {
  auto match = matrix::find_by_image(matrix, image);
  if (!match || match->row->locks.empty()) return std::nullopt;
  const std::string tag = matrix::image_tag(*match->row, match->variant);
  std::string registry = image.size() > tag.size() ? image.substr(0, image.size() - tag.size() - 1) : "";
  BuildRequest request;
  request.torch = match->row->torch;
  request.cuda = match->row->cuda;
  request.variant = match->variant;
  request.registry = registry;
  request.os = match->row->os;
  if (plan_build(matrix, request).tag != image) return std::nullopt; // a digest, or not "registry/" + tag
  std::string command = "launcher build --torch " + request.torch + " --cuda " + request.cuda + " --os " + request.os;
  if (request.variant == matrix::Variant::runtime) command += " --variant runtime";
  if (!registry.empty()) command += " --registry " + registry;
  return command;
}

} // namespace

std::string missing_image_message(const matrix::Matrix& matrix, const std::string& image) {
  const std::string how = "image " + image + " is not on this host: ";
  const std::string pull = "pull it (`docker pull " + image + "`)";
  if (image == matrix::default_image_tag(matrix))
    return how + "`make up` in the launcher repository builds it and starts JupyterLab on it (`make real-image` " +
           "only builds it), or " + pull;
  if (auto command = build_command_for(matrix, image))
    return how + "`" + *command + "` in the launcher repository builds it, or " + pull;
  if (std::regex_match(image, std::regex("pytorch-cpu:[^:/@]+-debian12")))
    return how + "`make image` in the launcher repository builds the offline CPU image, tagged " +
           "pytorch-cpu:<the version of Debian's torch>-debian12 (`make up FLAVOR=offline` also starts JupyterLab " +
           "on it), or " + pull;
  return how + pull;
}

} // namespace launcher::build
