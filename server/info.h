// INFO: the report of the server's state, with Redis 7.0's section and field names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rd {

class Server;

// Builds the INFO text for the requested section names ("default", "all", "everything", or
// section names, case-insensitive). REQUIRES: the keyspace lock held (shared is enough).
std::string build_info(Server& server, const std::vector<std::string_view>& sections);

// Helper for subsystems that contribute fields: appends "name:value\r\n".
void info_field(std::string* out, std::string_view name, std::string_view value);
void info_field(std::string* out, std::string_view name, int64_t value);

}  // namespace rd
