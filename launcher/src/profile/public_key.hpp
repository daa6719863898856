#pragma once

#include <string>

namespace launcher::profile {

// "ssh-ed25519 AAAA... comment" and the like, as opposed to the path of a key file. Syntax only:
// whether libssh can read the key is asked later, by the secrets module.
bool is_literal_public_key(const std::string& text);

} // namespace launcher::profile
