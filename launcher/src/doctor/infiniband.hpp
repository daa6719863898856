#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "facts/facts.hpp"

namespace launcher::doctor {

// One port of an RDMA device, as /sys/class/infiniband/<device>/ports/<port>/ describes it.
struct RdmaPort {
  std::string device;     // "mlx5_0"
  std::string port;       // "1"
  std::string state;      // "ACTIVE", from "4: ACTIVE"
  std::string rate;       // "200 Gb/sec (4X HDR)"
  std::string link_layer; // "InfiniBand", or "Ethernet" for RoCE

  bool operator==(const RdmaPort&) const = default;
};

// rdma-core's user-space libraries in an image, from the package record its build wrote.
struct ImageRdma {
  bool read = false;                // the record was read and understood
  std::string version;              // libibverbs1's upstream version ("44.0"); empty when it lacks it
  std::vector<std::string> missing; // of rdma_packages, those the image does not have
  std::string problem;              // why the record could not be read
};

// What NCCL needs in the image to use InfiniBand: verbs, the device providers (libmlx5, ...) and
// the connection manager.
inline constexpr const char* rdma_packages[] = {"libibverbs1", "ibverbs-providers", "librdmacm1"};

struct InfinibandFacts {
  bool recorded = false; // false when the facts do not hold /sys/class/infiniband
  std::vector<RdmaPort> ports;
  std::vector<std::string> device_nodes; // the entries of /dev/infiniband: uverbs0, rdma_cm, ...
  std::string problem;                   // an answer that could not be read, naming it
  std::optional<ImageRdma> image;        // asked only on a host with RDMA devices, of an image it has

  bool has_devices() const { return !ports.empty(); }
};

// The host's RDMA devices, their ports and /dev/infiniband; a name that could leave the directory
// or an unreadable attribute becomes `problem`.
InfinibandFacts gather_infiniband_facts(facts::HostQueries& queries);

// From the image's package record ({"debian": {NAME: VERSION}, ...}); a failed read or a malformed
// record becomes `problem`, naming the record.
ImageRdma parse_image_rdma(const facts::Fact& record);

nlohmann::json to_json(const InfinibandFacts& infiniband);

} // namespace launcher::doctor
