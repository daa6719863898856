#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace launcher {

// Docker's size syntax: a number with an optional binary unit (b, k, m, g, t; "kb", "KiB"
// and "K" all mean 1024). A plain number is bytes. nullopt when it does not parse or overflows.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

// The shortest exact form Docker parses back to the same bytes: "16g", "1536m", "1000".
std::string format_docker_size(std::uint64_t bytes);

} // namespace launcher
