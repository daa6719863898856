#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/state_layout.hpp"
#include "plan/plan.hpp"

namespace launcher::lifecycle {

// The plan's ports whose host side is "auto": the launcher chooses those host ports and
// remembers them in the env's state (host::StateLayout::host_ports), so that an env keeps its
// port when its container is made again. Indices into plan.ports.
std::vector<std::size_t> automatic_ports(const plan::Plan& plan);

// Gives each automatic port the host port remembered for the env, so a recreated env asks for
// the port it had. No record: the ports stay "auto"; a damaged one is named on `warnings` and
// left for choose_host_ports to replace.
void recall_host_ports(plan::Plan& plan, const std::vector<std::size_t>& automatic, const host::StateLayout& layout,
                       std::ostream& warnings);

// For an env whose container exists but whose ports are not remembered (made before the launcher
// remembered them, or the record was lost): each automatic port still without a host port takes
// the one the container was made with (HostConfig.PortBindings), which is then remembered, so the
// plan matches the container's again.
void adopt_container_ports(plan::Plan& plan, const std::vector<std::size_t>& automatic, const nlohmann::json& container,
                           const host::StateLayout& layout);

// Before a new container is made: an explicit host port another program holds is an error; an
// automatic port still free is kept, one taken since gets a new free port and one line on
// `notes` saying so, one with no port yet gets a free one. The chosen ports are remembered.
void choose_host_ports(plan::Plan& plan, const std::vector<std::size_t>& automatic, const host::StateLayout& layout,
                       std::ostream& notes);

// Before a stopped container starts again with the ports it was made with: one that another
// program took meanwhile is an error saying how to get a new one.
void refuse_taken_ports(const plan::Plan& plan, const std::vector<std::size_t>& automatic);

// Whether this host could bind `port` (its bind address, host port and protocol) now: false
// only when the address is in use; any other failure leaves the decision to Docker.
bool can_bind(const plan::PortBinding& port);

// A host port free now on the port's address and protocol, as the kernel hands out ephemeral
// ones (random within ip_local_port_range).
int free_port(const plan::PortBinding& port);

} // namespace launcher::lifecycle
