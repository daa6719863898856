#include "matrix/matrix.hpp"

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "matrix/embedded_json.hpp"
#include "matrix/version.hpp"

namespace launcher::matrix {

using nlohmann::json;

namespace {

// A null field is one the sources left open; consistency_problems insists it is marked unverified.
std::string text_field(const json& row, const char* key) {
  const json& value = row.at(key);
  return value.is_null() ? std::string() : value.get<std::string>();
}

Row parse_row(const json& row) {
  Row parsed;
  parsed.torch = text_field(row, "torch");
  parsed.torchvision = text_field(row, "torchvision");
  parsed.torchaudio = text_field(row, "torchaudio");
  parsed.cuda = text_field(row, "cuda");
  parsed.cuda_full = text_field(row, "cuda_full");
  parsed.cudnn = text_field(row, "cudnn");
  parsed.nccl = text_field(row, "nccl");
  parsed.min_driver = text_field(row, "min_driver");
  parsed.cuda_archs = row.at("cuda_archs").get<std::vector<std::string>>();
  parsed.ptx = row.at("ptx").get<std::vector<std::string>>();
  parsed.os = text_field(row, "os");
  parsed.python = text_field(row, "python");
  parsed.base_image = text_field(row, "base_image");
  parsed.runtime_base_image = row.contains("runtime_base_image") ? text_field(row, "runtime_base_image") : "";
  parsed.unverified = row.at("unverified").get<std::vector<std::string>>();
  if (row.contains("locks")) parsed.locks = row.at("locks").get<std::map<std::string, std::string>>();
  parsed.built_here = row.value("built_here", false);
  parsed.wheel_index = row.value("wheel_index", "");
  return parsed;
}

std::string without_dots(std::string text) {
  text.erase(std::remove(text.begin(), text.end(), '.'), text.end());
  return text;
}

std::string describe(const Row& row) { return image_tag(row, Variant::devel); }

// The fields a row must fill; CUDA-only ones are left empty by a CPU row.
const std::vector<std::pair<const char*, std::string Row::*>>& text_fields() {
  static const std::vector<std::pair<const char*, std::string Row::*>> fields{
      {"torch", &Row::torch},
      {"torchvision", &Row::torchvision},
      {"torchaudio", &Row::torchaudio},
      {"cuda_full", &Row::cuda_full},
      {"cudnn", &Row::cudnn},
      {"nccl", &Row::nccl},
      {"min_driver", &Row::min_driver},
      {"os", &Row::os},
      {"python", &Row::python},
      {"base_image", &Row::base_image},
      {"runtime_base_image", &Row::runtime_base_image},
  };
  return fields;
}

bool cuda_only(std::string_view field) {
  return field == "cuda_full" || field == "cudnn" || field == "nccl" || field == "min_driver" ||
         field == "runtime_base_image";
}

void check_row(const Matrix& matrix, const Row& row, std::vector<std::string>& problems) {
  std::string name = describe(row);
  auto problem = [&](const std::string& text) { problems.push_back(name + ": " + text); };

  static const std::set<std::string> known{"torch",  "torchvision", "torchaudio",        "cuda_full", "cudnn",
                                           "nccl",   "min_driver",  "cuda_archs",        "ptx",       "os",
                                           "python", "base_image",  "runtime_base_image"};
  for (const auto& field : row.unverified)
    if (!known.count(field)) problem("\"unverified\" names an unknown field \"" + field + "\"");

  for (const auto& [field, member] : text_fields()) {
    const std::string& value = row.*member;
    if (row.is_cpu() && cuda_only(field)) {
      if (!value.empty()) problem(std::string(field) + " is set on a CPU row");
    } else if (value.empty() && !row.is_unverified(field)) {
      problem(std::string(field) + " is empty and not marked unverified");
    }
  }

  static const std::regex os_pattern("ubuntu[0-9]+\\.[0-9]+|debian[0-9]+");
  if (!std::regex_match(row.os, os_pattern)) problem("os \"" + row.os + "\" is not ubuntuX.Y or debianN");

  if (row.is_cpu()) {
    if (!row.cuda_archs.empty() || !row.ptx.empty()) problem("a CPU row lists GPU architectures");
    static const std::regex cpu_base("(debian|ubuntu):[a-z0-9.]+(-slim)?");
    if (!std::regex_match(row.base_image, cpu_base))
      problem("base_image \"" + row.base_image + "\" is not a Debian or Ubuntu tag");
    return;
  }

  if (row.cuda_full.rfind(row.cuda + ".", 0) != 0)
    problem("cuda_full " + row.cuda_full + " is not a release of CUDA " + row.cuda);
  auto toolkit = matrix.toolkits.find(row.cuda_full);
  if (toolkit == matrix.toolkits.end())
    problem("CUDA " + row.cuda_full + " has no entry in cuda_toolkits (its driver minimum)");
  else if (toolkit->second.min_driver != row.min_driver)
    problem("min_driver " + row.min_driver + " differs from CUDA " + row.cuda_full + "'s minimum " +
            toolkit->second.min_driver);
  if (!matrix.minor_version_floor.count(major_version(row.cuda)))
    problem("CUDA " + std::to_string(major_version(row.cuda)) + ".x has no minor_version_compat entry");
  if (!std::regex_match(row.cudnn, std::regex("[0-9]+(\\.[0-9]+)*")) && !row.is_unverified("cudnn"))
    problem("cudnn \"" + row.cudnn + "\" is not a version");

  if (row.cuda_archs.empty()) problem("cuda_archs is empty");
  static const std::regex sm("sm_[0-9]+"), compute("compute_[0-9]+");
  for (const auto& arch : row.cuda_archs)
    if (!std::regex_match(arch, sm)) problem("cuda_archs entry \"" + arch + "\" is not sm_XY");
  for (const auto& arch : row.ptx)
    if (!std::regex_match(arch, compute)) problem("ptx entry \"" + arch + "\" is not compute_XY");

  // With the CUDA libraries from locked nvidia-*-cu12 wheels the base needs no CUDA: a plain OS image.
  if (!row.locks.empty()) {
    static const std::regex os_base("(debian|ubuntu):[a-z0-9.]+(-slim)?");
    for (const auto& base : {row.base_image, row.runtime_base_image})
      if (!std::regex_match(base, os_base))
        problem("base image \"" + base + "\" of a locked row is not a Debian or Ubuntu tag");
    return;
  }
  // The base image's CUDA is the same major.minor as the wheels'; its point release may be newer
  // because nvidia/cuda keeps only the latest point release of each toolkit.
  std::string base_prefix = "nvidia/cuda:" + row.cuda + ".";
  std::regex base("nvidia/cuda:[0-9]+\\.[0-9]+\\.[0-9]+-devel-" + row.os);
  std::regex runtime_base("nvidia/cuda:[0-9]+\\.[0-9]+\\.[0-9]+-(base|runtime)-" + row.os);
  if (row.base_image.rfind(base_prefix, 0) != 0 || !std::regex_match(row.base_image, base))
    problem("base_image \"" + row.base_image + "\" is not nvidia/cuda:" + row.cuda + ".Z-devel-" + row.os);
  if (row.runtime_base_image.rfind(base_prefix, 0) != 0 || !std::regex_match(row.runtime_base_image, runtime_base))
    problem("runtime_base_image \"" + row.runtime_base_image + "\" is not nvidia/cuda:" + row.cuda + ".Z-base-" +
            row.os);
}

} // namespace

bool Row::is_unverified(std::string_view field) const {
  return std::find(unverified.begin(), unverified.end(), field) != unverified.end();
}

const CudaToolkit* Matrix::toolkit(const std::string& cuda_full) const {
  auto exact = toolkits.find(cuda_full);
  if (exact != toolkits.end()) return &exact->second;
  // "12.8" from a label: the newest point release the matrix knows of that toolkit.
  const CudaToolkit* newest = nullptr;
  for (const auto& [version, toolkit] : toolkits)
    if (version.rfind(cuda_full + ".", 0) == 0) newest = &toolkit;
  return newest;
}

std::string variant_name(Variant variant) { return variant == Variant::devel ? "devel" : "runtime"; }

std::string image_tag(const Row& row, Variant variant) {
  if (row.is_cpu()) return "pytorch-cpu:" + row.torch + "-" + row.os;
  std::string cudnn_major = std::to_string(major_version(row.cudnn));
  return "pytorch-cuda:" + row.torch + "-cu" + without_dots(row.cuda) + "-cudnn" + cudnn_major + "-" + row.os +
         (variant == Variant::runtime ? "-runtime" : "");
}

std::vector<std::string> image_tags(const Row& row) {
  if (row.is_cpu()) return {image_tag(row, Variant::devel)};
  return {image_tag(row, Variant::devel), image_tag(row, Variant::runtime)};
}

std::string default_image_tag(const Matrix& matrix) {
  for (const auto& row : matrix.rows)
    if (row.built_here && !row.locks.empty()) return image_tag(row, Variant::runtime);
  throw Error(ExitCode::failed, "images/matrix.json has no row built here from locks: no image is the default");
}

std::optional<TagMatch> find_by_image(const Matrix& matrix, std::string_view image_ref) {
  std::string_view ref = image_ref.substr(0, image_ref.find('@'));
  std::size_t slash = ref.rfind('/');
  if (slash != std::string_view::npos) ref.remove_prefix(slash + 1);
  for (const auto& row : matrix.rows)
    for (Variant variant : {Variant::devel, Variant::runtime})
      if (image_tag(row, variant) == ref) return TagMatch{&row, variant};
  return std::nullopt;
}

Matrix parse_matrix(std::string_view text) {
  try {
    json document = json::parse(text);
    Matrix matrix;
    for (const auto& row : document.at("rows"))
      matrix.rows.push_back(parse_row(row));
    for (const auto& [version, toolkit] : document.at("cuda_toolkits").items())
      matrix.toolkits[version] = {toolkit.at("min_driver").get<std::string>(),
                                  toolkit.at("forward_compat_branches").get<std::vector<int>>()};
    for (const auto& [major, driver] : document.at("minor_version_compat").items())
      matrix.minor_version_floor[std::stoi(major)] = driver.get<std::string>();
    return matrix;
  } catch (const json::exception& error) {
    throw Error(ExitCode::failed, std::string("images/matrix.json is malformed: ") + json_error_text(error));
  }
}

const Matrix& embedded_matrix() {
  static const Matrix matrix = parse_matrix(embedded_matrix_json());
  return matrix;
}

std::vector<std::string> consistency_problems(const Matrix& matrix) {
  std::vector<std::string> problems;
  std::set<std::string> tags;
  for (const auto& row : matrix.rows) {
    check_row(matrix, row, problems);
    for (const auto& tag : image_tags(row))
      if (!tags.insert(tag).second) problems.push_back(tag + ": derived by two rows");
  }
  return problems;
}

namespace {

std::string normalised_name(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return c == '_' || c == '.' ? '-' : std::tolower(c); });
  return name;
}

const LockedPackage* find_package(const std::vector<LockedPackage>& lock, const std::string& name) {
  for (const auto& package : lock)
    if (package.name == name) return &package;
  return nullptr;
}

} // namespace

std::vector<LockedPackage> parse_lock(std::string_view text) {
  // Join continuation lines first: an entry spans "name==version \\\n    --hash=sha256:...".
  std::string joined;
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (text[at] == '\\' && at + 1 < text.size() && text[at + 1] == '\n')
      ++at, joined += ' ';
    else
      joined += text[at];
  }
  static const std::regex hash("--hash=sha256:([0-9a-f]{64})\\b");
  std::vector<LockedPackage> packages;
  std::istringstream lines(joined);
  for (std::string line; std::getline(lines, line);) {
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string requirement;
    if (!(words >> requirement) || requirement.rfind("--", 0) == 0) continue;
    LockedPackage package;
    std::size_t pin = requirement.find("==");
    package.name =
        normalised_name(requirement.substr(0, pin == std::string::npos ? requirement.find_first_of("<>=!~;[") : pin));
    if (pin != std::string::npos) package.version = requirement.substr(pin + 2);
    for (std::sregex_iterator match(line.begin(), line.end(), hash), end; match != end; ++match)
      package.sha256.push_back((*match)[1]);
    packages.push_back(std::move(package));
  }
  return packages;
}

std::vector<std::string> lock_problems(const Matrix& matrix, const std::vector<std::string>& files_in_lock_dir,
                                       const std::function<std::optional<std::string>(const std::string&)>& read) {
  std::vector<std::string> problems;
  std::set<std::string> named;
  for (const auto& row : matrix.rows) {
    std::string name = describe(row);
    auto problem = [&](const std::string& text) { problems.push_back(name + ": " + text); };
    if (row.built_here && row.locks.empty()) problem("is built here but names no locks");
    if (row.locks.empty()) continue;
    for (const char* purpose : {"torch", "services", "devel"})
      if (!row.locks.count(purpose)) problem(std::string("names no ") + purpose + " lock");
    std::map<std::string, std::vector<LockedPackage>> locks;
    for (const auto& [purpose, path] : row.locks) {
      named.insert(path);
      std::optional<std::string> text = read(path);
      if (!text) {
        problem(purpose + " lock " + path + " does not exist (tools/lock.py writes it)");
        continue;
      }
      locks[purpose] = parse_lock(*text);
      for (const auto& package : locks[purpose]) {
        if (package.version.empty()) problem(path + ": " + package.name + " is not pinned with ==");
        if (package.sha256.empty()) problem(path + ": " + package.name + " has no --hash=sha256");
      }
    }
    auto expect = [&](const std::string& purpose, const std::string& package, const std::string& version, bool prefix) {
      if (!locks.count(purpose)) return;
      const LockedPackage* found = find_package(locks[purpose], package);
      if (!found) return problem(row.locks.at(purpose) + " has no " + package);
      bool same = prefix ? found->version.rfind(version + ".", 0) == 0 : found->version == version;
      if (!same)
        problem(row.locks.at(purpose) + " pins " + package + "==" + found->version + ", the row says " + version);
    };
    expect("torch", "torch", row.torch, false);
    expect("torch", "torchvision", row.torchvision, false);
    expect("torch", "torchaudio", row.torchaudio, false);
    expect("torch", "nvidia-cudnn-cu" + std::to_string(major_version(row.cuda)), row.cudnn, false);
    expect("torch", "nvidia-nccl-cu" + std::to_string(major_version(row.cuda)), row.nccl, false);
    expect("devel", "nvidia-cuda-nvcc-cu" + std::to_string(major_version(row.cuda)), row.cuda, true);
  }
  for (const auto& file : files_in_lock_dir)
    if (!named.count(file)) problems.push_back(file + ": no matrix row names this lock");
  return problems;
}

} // namespace launcher::matrix
