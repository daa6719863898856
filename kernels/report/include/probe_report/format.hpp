#pragma once

// Text and JSON renderings of one RunReport. Both carry the same information; the JSON is
// what `launcher doctor --gpu` parses, the table is what a person reads.

#include "probe_report/report.hpp"

#include <string>

namespace probe_report {

// Human-sized number: 1 decimal from 100 up, 2 from 1 up, 3 significant digits below.
[[nodiscard]] std::string format_number(double value);

// "GB/s" measurements read as "2950.1 GB/s".
[[nodiscard]] std::string format_quantity(double value, const std::string& unit);

[[nodiscard]] std::string format_table(const RunReport& run);

// One JSON object, ending in a newline. Non-finite numbers are written as null.
[[nodiscard]] std::string format_json(const RunReport& run);

} // namespace probe_report
