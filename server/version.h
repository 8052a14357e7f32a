// Versions: the Redis release whose behaviour we match (reported as redis_version, because
// clients gate features on it) and this server's own version.
#pragma once

namespace rd {

inline constexpr const char* kRedisVersion = "7.0.15";
inline constexpr const char* kServerVersion = "0.1.0";

}  // namespace rd
