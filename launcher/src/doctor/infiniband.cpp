#include "doctor/infiniband.hpp"

#include "core/error.hpp"
#include "core/json_reader.hpp"
#include "core/text.hpp"

namespace launcher::doctor {

namespace {

std::string trimmed(std::string_view text) {
  auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return "";
  return std::string(text.substr(first, text.find_last_not_of(" \t\r") - first + 1));
}

// The non-blank lines, trimmed, with control characters escaped: they end up in doctor's lines.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (const auto& line : split(text, '\n'))
    if (std::string kept = trimmed(line); !kept.empty()) lines.push_back(escape_control_characters(kept));
  return lines;
}

std::string first_line(const std::string& text) {
  std::vector<std::string> lines = lines_of(text);
  return lines.empty() ? "" : lines.front();
}

// "4: ACTIVE" -> "ACTIVE": sysfs writes the state's number, a colon and its name.
std::string state_name(const std::string& state) {
  auto colon = state.find(':');
  return colon == std::string::npos ? state : trimmed(std::string_view(state).substr(colon + 1));
}

// Debian's "1:44.0-2" -> upstream "44.0".
std::string upstream_version(std::string version) {
  if (auto colon = version.find(':'); colon != std::string::npos) version.erase(0, colon + 1);
  if (auto dash = version.rfind('-'); dash != std::string::npos) version.erase(dash);
  return version;
}

} // namespace

InfinibandFacts gather_infiniband_facts(facts::HostQueries& queries) {
  InfinibandFacts facts;
  facts::Fact devices = queries.rdma_devices();
  facts.recorded = devices.recorded;
  if (!devices.recorded) return facts;
  facts.device_nodes = lines_of(queries.infiniband_device_nodes().out);
  for (const auto& device : lines_of(devices.out)) {
    if (!facts::plain_entry_name(device)) {
      facts.problem = "/sys/class/infiniband lists " + quote_for_message(device) + ", not a device name";
      return facts;
    }
    for (const auto& port : lines_of(queries.rdma_ports(device).out)) {
      if (!facts::plain_entry_name(port)) {
        facts.problem = "/sys/class/infiniband/" + device + "/ports lists " + quote_for_message(port) + ", not a port";
        return facts;
      }
      RdmaPort found{device, port, "", "", ""};
      for (auto [attribute, value] : {std::pair{"state", &found.state}, std::pair{"rate", &found.rate},
                                      std::pair{"link_layer", &found.link_layer}}) {
        facts::Fact answer = queries.rdma_port_attribute(device, port, attribute);
        if (!answer.ok()) {
          facts.problem = "cannot read /sys/class/infiniband/" + device + "/ports/" + port + "/" + attribute +
                          (answer.recorded ? ": " + first_line(answer.err) : ": not recorded");
          return facts;
        }
        *value = first_line(answer.out);
      }
      found.state = state_name(found.state);
      facts.ports.push_back(std::move(found));
    }
  }
  return facts;
}

ImageRdma parse_image_rdma(const facts::Fact& record) {
  ImageRdma rdma;
  if (!record.ok()) {
    rdma.problem = record.recorded ? first_line(record.err) : "its package record was not recorded";
    if (rdma.problem.empty())
      rdma.problem = "reading its package record failed (exit " + std::to_string(record.exit_code) + ")";
    return rdma;
  }
  try {
    nlohmann::json parsed = JsonReader::parse(record.out, "the image's package record");
    JsonReader debian = JsonReader(parsed, "the image's package record").at("debian");
    for (const char* package : rdma_packages)
      if (auto version = debian.find(package)) {
        if (std::string(package) == "libibverbs1") rdma.version = upstream_version(version->string());
      } else {
        rdma.missing.emplace_back(package);
      }
    rdma.read = true;
  } catch (const Error& error) {
    rdma.problem = error.what();
  }
  return rdma;
}

nlohmann::json to_json(const InfinibandFacts& infiniband) {
  nlohmann::json ports = nlohmann::json::array();
  for (const auto& port : infiniband.ports)
    ports.push_back({{"device", port.device},
                     {"port", port.port},
                     {"state", port.state},
                     {"rate", port.rate},
                     {"link_layer", port.link_layer}});
  nlohmann::json image = nullptr;
  if (infiniband.image)
    image = {{"read", infiniband.image->read},
             {"rdma_core", infiniband.image->version},
             {"missing", infiniband.image->missing},
             {"problem", infiniband.image->problem}};
  return {
      {"ports", ports}, {"device_nodes", infiniband.device_nodes}, {"problem", infiniband.problem}, {"image", image}};
}

} // namespace launcher::doctor
