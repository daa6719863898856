// launcher-init's readers of backup JSON on arbitrary bytes: a version's manifest (read back from
// the store, which anyone with the bucket's keys can write), the backup credentials and
// LAUNCHER_BACKUP_PATHS, read with nlohmann/json. The first byte picks the reader; anything but
// launcher_init::Error escapes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "backup_plan.hpp"
#include "error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    switch (data[0] % 3) {
    case 0: {
      auto manifest = launcher_init::parse_manifest(text, "manifest");
      // What is written is read back the same.
      auto again = launcher_init::parse_manifest(launcher_init::manifest_json(manifest), "again");
      if (again.files.size() != manifest.files.size() || again.bytes() != manifest.bytes()) __builtin_trap();
      break;
    }
    case 1: {
      auto credentials = launcher_init::parse_json(text, "credentials");
      (void)launcher_init::json_string(credentials, "aws_access_key_id", "credentials");
      break;
    }
    case 2:
      (void)launcher_init::json_strings(launcher_init::parse_json(text, "paths"), "paths");
      break;
    }
  } catch (const launcher_init::Error&) {}
  return 0;
}
