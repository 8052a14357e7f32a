// FUNCTION DUMP / RESTORE: the libraries as a payload in Redis's format, so a dump moves
// between our server and Redis 7.0 either way. The payload is what an RDB file holds for
// functions (each library: the FUNCTION2 opcode and its code as an RDB string), then the RDB
// version (2 bytes, little endian) and a CRC64 of everything before it (8 bytes).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rd {

class FunctionEngine;

enum class RestorePolicy { kAppend, kReplace, kFlush };

std::string dump_functions(const FunctionEngine& engine);

// FUNCTION RESTORE: all libraries of the payload, or none (the libraries are left as they
// were). False with the error reply text.
bool restore_functions(FunctionEngine& engine, std::string_view payload, RestorePolicy policy, std::string* error);

// The code of every library, for an RDB image (RdbSaveOptions::function_libraries).
std::vector<std::string> function_library_codes(const FunctionEngine& engine);

// Libraries read from an RDB image: loaded all or none, after dropping the current ones when
// `flush` (a full load: startup, full sync, DEBUG RELOAD); `replace` (DEBUG RELOAD MERGE)
// lets a library replace a loaded one of the same name, else that fails the load. False with
// Redis's log text when one fails to load.
bool load_rdb_functions(FunctionEngine& engine, const std::vector<std::string>& codes, bool flush, bool replace,
                        std::string* error);

// The library codes in a payload; false with the error reply text when it is not valid.
bool parse_function_payload(std::string_view payload, std::vector<std::string>* codes, std::string* error);

}  // namespace rd
