#include "profile/gpu_request.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#include "core/json_reader.hpp"
#include "core/text.hpp"

namespace launcher::profile {

namespace {

bool all_digits(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

// An index has at most this many digits: no host has a million GPUs, and it keeps every
// accepted entry short.
constexpr std::size_t max_index_digits = 6;

bool is_index(std::string_view text) {
  return !text.empty() && text.size() <= max_index_digits &&
         text.find_first_not_of("0123456789") == std::string_view::npos;
}

// 8-4-4-4-12 hexadecimal digits, the form of nvidia-smi's GPU and MIG UUIDs after their prefix.
bool is_uuid_body(std::string_view text) {
  constexpr std::array<std::size_t, 5> groups{8, 4, 4, 4, 12};
  std::size_t at = 0;
  for (std::size_t group = 0; group < groups.size(); ++group) {
    if (group > 0 && (at >= text.size() || text[at++] != '-')) return false;
    std::string_view digits = text.substr(at, groups[group]);
    if (digits.size() != groups[group] ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
      return false;
    at += groups[group];
  }
  return at == text.size();
}

// "MIG-GPU-<uuid>/<gpu instance>/<compute instance>", the MIG form of drivers before R470.
bool is_legacy_mig_uuid(std::string_view text) {
  if (!starts_with(text, "MIG-GPU-")) return false;
  std::vector<std::string> parts = split(text.substr(8), '/');
  return parts.size() == 3 && is_uuid_body(parts[0]) && is_index(parts[1]) && is_index(parts[2]);
}

// Indices, "GPU:MIG" index pairs, GPU UUIDs and both MIG UUID forms, as nvidia-smi -L prints them.
// Checked by hand: std::regex recurses once per character and overflowed the stack on a long entry.
std::string parse_device(const std::string& device) {
  if (device.empty()) throw GpuSpecError("empty entry in the device list");
  if (device[0] == '-' && all_digits(device.substr(1)))
    throw GpuSpecError("negative GPU index " + device.substr(0, 20));
  std::size_t colon = device.find(':');
  std::string whole = colon == std::string::npos ? device : device.substr(0, colon);
  std::string mig = colon == std::string::npos ? "0" : device.substr(colon + 1);
  if (all_digits(whole) && all_digits(mig) && !(is_index(whole) && is_index(mig)))
    throw GpuSpecError("GPU index " + quote_for_message(device) + " has more than " + std::to_string(max_index_digits) +
                       " digits");
  bool index_form = is_index(whole) && is_index(mig);
  bool uuid_form = (starts_with(device, "GPU-") && is_uuid_body(std::string_view(device).substr(4))) ||
                   (starts_with(device, "MIG-") && is_uuid_body(std::string_view(device).substr(4))) ||
                   is_legacy_mig_uuid(device);
  if (!index_form && !uuid_form)
    throw GpuSpecError(quote_for_message(device) + " is not a GPU index, GPU UUID or MIG UUID");
  return device;
}

GpuRequest devices_request(const std::vector<std::string>& entries) {
  if (entries.empty()) throw GpuSpecError("the device list is empty");
  if (entries.size() > max_gpu_list_entries)
    throw GpuSpecError("a GPU list has at most " + std::to_string(max_gpu_list_entries) + " entries, found " +
                       std::to_string(entries.size()));
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
  if (text.size() > max_gpu_spec_length)
    throw GpuSpecError("a GPU list is at most " + std::to_string(max_gpu_spec_length) + " characters, found " +
                       std::to_string(text.size()));
  if (text == "all") return {GpuRequest::Kind::all, 0, {}};
  if (text == "none") return {GpuRequest::Kind::none, 0, {}};
  if (text == "auto") return {GpuRequest::Kind::automatic, 0, {}};
  if (all_digits(text)) return count_request(std::stoll(text.substr(0, 6)), GpuRequest::Kind::count);
  // {"count": N} written on the command line: the flag's way to GPUs chosen on the host.
  if (!text.empty() && text.front() == '{') {
    nlohmann::json object;
    try {
      object = parse_json_within_depth(text);
    } catch (const std::exception&) {
      throw GpuSpecError("an object must be exactly {\"count\": N}, in JSON");
    }
    return parse_gpu_request(object);
  }
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
      if (item.is_number_unsigned() && item.get<std::uint64_t>() > INT64_MAX)
        entries.push_back(item.dump());
      else if (item.is_number_integer())
        entries.push_back(std::to_string(item.get<long long>()));
      else if (item.is_string())
        entries.push_back(item.get<std::string>());
      else
        throw GpuSpecError("list entries must be GPU indices or UUIDs");
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

} // namespace launcher::profile
