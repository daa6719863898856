#pragma once

#include <string>

namespace launcher::profile {

// A time limit as sbatch's --time takes it, bounded: MINUTES, MINUTES:SECONDS, HOURS:MINUTES:SECONDS,
// DAYS-HOURS, DAYS-HOURS:MINUTES or DAYS-HOURS:MINUTES:SECONDS ("UNLIMITED" is not one): the
// profile's slurm.time and `launcher submit --time`.
bool is_slurm_time_limit(const std::string& text);
inline constexpr const char* slurm_time_limit_form =
    "a Slurm time limit: MINUTES, HOURS:MINUTES:SECONDS or DAYS-HOURS[:MINUTES[:SECONDS]], like \"02:00:00\"";

} // namespace launcher::profile
