#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/plan.hpp"
#include "render/render.hpp"

namespace launcher::exporting {

// What the rendered command's --env-file names: export never writes values, so it is only a
// marker; Compose and the devcontainer CLI get the names.
constexpr const char* rendered_env_file = ".env";

// The tools a plan can be handed to besides `launcher up`.
enum class Format { compose, devcontainer };

// "compose" or "devcontainer"; anything else is a usage error naming it.
Format parse_format(const std::string& name);

// What a target's file says, and what it cannot say: JSON pointers into plan::to_json, for each
// field that asks for something (not null, false, "" or empty), and the engine's own options
// (starting with "--") that the format has no key for.
struct Document {
  nlohmann::json content;
  std::vector<std::string> dropped;
};

// What the engine that will run an exported file can do beyond what every engine can; the
// default, an engine whose version is unknown, gets only what every engine takes.
struct Engine {
  // Docker Engine 25 and later (API 1.44) run the health check every start_interval during the
  // start period; Compose refuses the key for an older one.
  bool health_start_interval = false;
  // The driver options that keep the containers of the env's own network apart, in the engine's
  // words (engine::Engine::network_driver_options); none when unknown.
  std::map<std::string, std::string> isolated_network_options;
  // The engine's commands, program first, that tell whether the env's own network exists and make
  // it: a devcontainer's initializeCommand runs them before each start. Empty: the file says nothing.
  std::vector<std::string> network_exists_command, network_create_command;
  // The container the engine makes of the plan (engine::Engine::container_command, with
  // rendered_env_file), whose options beyond render's the file carries too; none: render's.
  std::optional<render::ContainerCommand> container;
};

// The engine of `docker version`'s server version ("28.5.2+dfsg4"); "" when it did not answer.
Engine engine_of(const std::string& server_version);

// A compose-spec file with one service: the same container `up` makes from this plan. Where the
// engine has health check start intervals, the image's check runs often while the service
// starts, so that `docker compose up --wait` returns as soon as it answers.
Document compose_document(const plan::Plan& plan, const Engine& engine = {});

// A devcontainer.json (containers.dev) whose container is the one `up` makes from this plan:
// the options of the rendered `docker run` become mounts, containerEnv, appPort and runArgs.
Document devcontainer_document(const plan::Plan& plan, const Engine& engine = {});

// Every field of plan::to_json that the rendered `docker run` (render::render_container_command)
// carries. A pointer to an object lists its members one by one, so that a member added later is
// not taken as expressed.
const std::vector<std::string>& rendered_fields();

// The fields of `plan_json` that ask for something and are not among `expressed` (pointers;
// an object whose members are listed, or that `by_member` names, is looked into, any other value
// is a field). A field the Plan gains later is caught here instead of being left out of a file
// unnoticed.
std::vector<std::string> unexpressed_fields(const nlohmann::json& plan_json, const std::vector<std::string>& expressed,
                                            const std::vector<std::string>& by_member = {});

// What every target that cannot express a plan field does (export's formats, submit's Slurm
// runtimes): `dropped` (pointers, and engine options) not empty and not `lossy` is Error(usage)
// "<target> cannot express the plan's "a", "b" and the engine's --c; --lossy <verb> without them".
void refuse_unless_lossy(const std::string& target, const std::vector<std::string>& dropped, bool lossy,
                         const std::string& verb);
// What --lossy then says on stderr, a line for each: "launcher: warning: left out of <whole>: the
// plan's "a" (--lossy)", or "…: the engine's --c (--lossy)".
std::string lossy_warnings(const std::vector<std::string>& dropped, const std::string& whole);

struct Exported {
  std::string text;                 // the file: the target's format, 2-space indent, final newline
  std::vector<std::string> dropped; // what --lossy left out
  // The profile's env, by name: the file says where each value comes from (Compose: the shell or
  // the .env beside it; devcontainer: ${localEnv:NAME}), never the value.
  std::vector<std::string> environment_names;
};

// The .env `export -o` writes beside a compose file that names variables: a comment, then NAME=
// for each, empty for the user to fill.
std::string env_file_template(const std::vector<std::string>& names, const std::string& exported_file);
// The names an existing .env does not assign (NAME=, NAME: or `export NAME=`, leading blanks allowed).
std::vector<std::string> names_missing_from(const std::string& env_file_text, const std::vector<std::string>& names);

// The plan as the target's file. A field it cannot express is an error (exit 2) naming it,
// unless `lossy`, when the field is left out and listed. Equal plans and engines give equal bytes.
Exported export_plan(const plan::Plan& plan, Format format, bool lossy, const Engine& engine = {});

} // namespace launcher::exporting
