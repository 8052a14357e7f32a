// SHA-256 (FIPS 180-4), written from the specification: ACL password hashes are the SHA-256 of
// the password as 64 lowercase hex characters, like Redis's.
#pragma once

#include <string>
#include <string_view>

namespace rd {

// SHA-256 of `data` as 64 lowercase hex characters.
std::string sha256_hex(std::string_view data);

}  // namespace rd
