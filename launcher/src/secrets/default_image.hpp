#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace launcher::secrets {

// The user's default image: what the built-in profiles run when no profile file, team pin or
// --image names one; `make up` records the image it built (`launcher default-image IMAGE`). One
// file of the user's own state, ${XDG_STATE_HOME:-~/.local/state}/launcher/default-image.json
// (mode 0600, in a 0700 directory), {"version": 1, "image": "..."}: state rather than
// configuration, since it names an image on this host's engine, which a ~/.config shared between
// hosts would carry to hosts that lack it.
std::filesystem::path default_image_record(const std::filesystem::path& state_home);

// The image recorded; nothing when none is. A file that is not such a record is an Error naming it.
std::optional<std::string> recorded_default_image(const std::filesystem::path& state_home);

// Records `image` (atomically) in place of what was recorded.
void record_default_image(const std::filesystem::path& state_home, const std::string& image);

} // namespace launcher::secrets
