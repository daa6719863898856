#pragma once

#include <CLI/CLI.hpp>

#include "commands/context.hpp"

namespace launcher::commands {

// `launcher default-image [IMAGE]`: records IMAGE, which must be on this host, as the image the
// built-in profiles run (what `make up` calls after its build); without IMAGE, says which image
// that is and where it comes from.
void add_default_image_command(CLI::App& app, Context& context);

} // namespace launcher::commands
