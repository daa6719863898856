#include "profile/gpu_request.hpp"

#include <regex>

#include "core/text.hpp"

namespace launcher::profile {

namespace {

bool all_digits(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

// Indices, "GPU:MIG" index pairs, GPU UUIDs and both MIG UUID forms, as nvidia-smi -L prints them.
std::string parse_device(const std::string& device) {
  static const std::regex pattern(
      "[0-9]+|[0-9]+:[0-9]+|"
      "GPU-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|"
      "MIG-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|"
      "MIG-GPU-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/[0-9]+/[0-9]+");
  if (device.empty()) throw GpuSpecError("empty entry in the device list");
  if (device[0] == '-' && all_digits(device.substr(1))) throw GpuSpecError("negative GPU index " + device);
  if (!std::regex_match(device, pattern))
    throw GpuSpecError(quote_for_message(device) + " is not a GPU index, GPU UUID or MIG UUID");
  return device;
}

GpuRequest devices_request(const std::vector<std::string>& entries) {
  if (entries.empty()) throw GpuSpecError("the device list is empty");
  GpuRequest request{GpuRequest::Kind::devices, 0, {}};
  for (const auto& entry : entries) {
    std::string device = parse_device(entry);
    for (const auto& seen : request.devices)
      if (seen == device) throw GpuSpecError("GPU " + device + " is listed twice");
    request.devices.push_back(device);
  }
  return request;
}

GpuRequest count_request(long long count, GpuRequest::Kind kind) {
  if (count < 1) throw GpuSpecError("the GPU count must be at least 1 (use \"none\" for no GPU)");
  if (count > 1024) throw GpuSpecError("a GPU count of " + std::to_string(count) + " is not plausible");
  return GpuRequest{kind, static_cast<int>(count), {}};
}

GpuRequest parse_string(const std::string& text) {
  if (text == "all") return {GpuRequest::Kind::all, 0, {}};
  if (text == "none") return {GpuRequest::Kind::none, 0, {}};
  if (text == "auto") return {GpuRequest::Kind::automatic, 0, {}};
  if (all_digits(text)) return count_request(std::stoll(text.substr(0, 6)), GpuRequest::Kind::count);
  // Docker's own quoted form, as users copy it from docs: "device=0,1" with the quotes.
  bool quoted = text.size() >= 2 && text.front() == '"' && text.back() == '"';
  std::string list = quoted ? text.substr(1, text.size() - 2) : text;
  if (starts_with(list, "device=")) list = list.substr(7);
  return devices_request(split(list, ','));
}

} // namespace

GpuRequest parse_gpu_request(const nlohmann::json& value) {
  if (value.is_string()) return parse_string(value.get<std::string>());
  if (value.is_number_integer()) return count_request(value.get<long long>(), GpuRequest::Kind::count);
  if (value.is_array()) {
    std::vector<std::string> entries;
    for (const auto& item : value) {
      if (item.is_number_integer()) entries.push_back(std::to_string(item.get<long long>()));
      else if (item.is_string()) entries.push_back(item.get<std::string>());
      else throw GpuSpecError("list entries must be GPU indices or UUIDs");
    }
    return devices_request(entries);
  }
  if (value.is_object()) {
    if (value.size() != 1 || !value.contains("count") || !value["count"].is_number_integer())
      throw GpuSpecError("an object must be exactly {\"count\": N}");
    return count_request(value["count"].get<long long>(), GpuRequest::Kind::select);
  }
  throw GpuSpecError("wrong type");
}

nlohmann::json to_json(const GpuRequest& request) {
  switch (request.kind) {
  case GpuRequest::Kind::automatic: return "auto";
  case GpuRequest::Kind::all: return "all";
  case GpuRequest::Kind::none: return "none";
  case GpuRequest::Kind::count: return request.count;
  case GpuRequest::Kind::select: return {{"count", request.count}};
  case GpuRequest::Kind::devices: return request.devices;
  }
  return nullptr;
}

} // namespace launcher::profile
