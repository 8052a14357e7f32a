// Shared pieces of the GEO commands (geo.cc, geo_search.cc): argument parsing with Redis's
// error replies and the reply formats of coordinates and distances.
#pragma once

#include <string_view>

#include "server/command_context.h"
#include "server/command_table.h"
#include "storage/geohash.h"
#include "storage/zset.h"

namespace rd {

void register_geo_search_commands(CommandTable& table);

// Redis compares option words with strcasecmp: the argument ends at its first NUL byte.
bool geo_word_is(std::string_view arg, std::string_view word);

// A longitude/latitude pair at argv[index], argv[index + 1]; replies the error and returns
// false when either is no float or the pair is outside the Mercator limits.
bool parse_lon_lat(CommandContext& ctx, size_t index, double* lon, double* lat);

// A unit (m, km, ft, mi, any case): its size in meters, or an error reply and false.
bool parse_unit(CommandContext& ctx, std::string_view text, double* to_meters);

// The position a member's score encodes; false when `member` is not in the set.
bool member_position(const ZSetValue& zset, std::string_view member, double* lon, double* lat);

// A distance with 4 decimals (rounded as Redis rounds), always a bulk string (RESP3 too).
void reply_distance(CommandContext& ctx, double distance);
// A coordinate as Redis's addReplyHumanLongDouble: "%.17Lf" without trailing zeros; a bulk
// string in RESP2, a double in RESP3.
void reply_coordinate(CommandContext& ctx, double value);

}  // namespace rd
