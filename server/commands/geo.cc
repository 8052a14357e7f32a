// GEO commands on single members: GEOADD, GEOPOS, GEOHASH, GEODIST. Positions live in sorted
// sets as 52-bit geohash scores (storage/geohash.h); GEOADD is ZADD with computed scores, and
// is propagated as that ZADD, as Redis does. The searches (GEORADIUS*, GEOSEARCH*) are in
// geo_search.cc.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "server/commands/families.h"
#include "server/commands/geo_common.h"
#include "server/commands/zset_common.h"
#include "server/server.h"
#include "storage/numbers.h"

namespace rd {

bool geo_word_is(std::string_view arg, std::string_view word) {
  const size_t nul = arg.find('\0');
  if (nul != std::string_view::npos) arg = arg.substr(0, nul);
  return equals_ignore_case(arg, word);
}

bool parse_lon_lat(CommandContext& ctx, size_t index, double* lon, double* lat) {
  if (!parse_double_arg(ctx, ctx.arg(index), lon) || !parse_double_arg(ctx, ctx.arg(index + 1), lat)) return false;
  if (*lon < geo::kLonMin || *lon > geo::kLonMax || *lat < geo::kLatMin || *lat > geo::kLatMax) {
    // "%f" of a huge value is long: size the buffer for the largest double.
    char buf[800];
    std::snprintf(buf, sizeof(buf), "ERR invalid longitude,latitude pair %f,%f", *lon, *lat);
    ctx.reply.error(buf);
    return false;
  }
  return true;
}

bool parse_unit(CommandContext& ctx, std::string_view text, double* to_meters) {
  if (geo_word_is(text, "m")) {
    *to_meters = 1;
  } else if (geo_word_is(text, "km")) {
    *to_meters = 1000;
  } else if (geo_word_is(text, "ft")) {
    *to_meters = 0.3048;
  } else if (geo_word_is(text, "mi")) {
    *to_meters = 1609.34;
  } else {
    ctx.reply.error("ERR unsupported unit provided. please use M, KM, FT, MI");
    return false;
  }
  return true;
}

bool member_position(const ZSetValue& zset, std::string_view member, double* lon, double* lat) {
  double score = 0;
  if (!zset.score(member, &score)) return false;
  geo::decode_score(score, lon, lat);
  return true;
}

void reply_distance(CommandContext& ctx, double distance) {
  // Like "%.4f", except that Redis scales and rounds in floating point (to nearest, ties to
  // even): a distance whose scaled double is exactly halfway rounds to the even side, where
  // printf would look at the exact decimal expansion.
  if (distance == 0) return ctx.reply.bulk("0.0000");
  const long long scaled = std::llrint(distance * 10000.0);
  const bool negative = scaled < 0;
  const unsigned long long magnitude =
      negative ? 0ULL - static_cast<unsigned long long>(scaled) : static_cast<unsigned long long>(scaled);
  char buf[48];
  const int length = std::snprintf(buf, sizeof(buf), "%s%llu.%04llu", negative ? "-" : "", magnitude / 10000,
                                   magnitude % 10000);
  ctx.reply.bulk(std::string_view(buf, static_cast<size_t>(length)));
}

void reply_coordinate(CommandContext& ctx, double value) {
  char buf[kLongDoubleBufSize];
  const std::string_view text(buf, format_long_double(static_cast<long double>(value), buf));
  if (ctx.reply.protocol() >= 3) {
    std::string line;
    line.reserve(text.size() + 3);
    line.push_back(',');
    line.append(text);
    line.append("\r\n");
    ctx.reply.raw(line);
  } else {
    ctx.reply.bulk(text);
  }
}

namespace {

// GEOADD key [NX|XX] [CH] longitude latitude member [...]
void cmd_geoadd(CommandContext& ctx) {
  bool nx = false;
  bool xx = false;
  bool ch = false;
  size_t first = 2;
  for (; first < ctx.argc(); first++) {
    std::string_view opt = ctx.arg(first);
    if (geo_word_is(opt, "nx")) {
      nx = true;
    } else if (geo_word_is(opt, "xx")) {
      xx = true;
    } else if (geo_word_is(opt, "ch")) {
      ch = true;
    } else {
      break;
    }
  }
  if ((ctx.argc() - first) % 3 != 0 || (nx && xx)) return ctx.reply.error(kSyntaxError);
  const size_t elements = (ctx.argc() - first) / 3;

  // Every position is validated before anything changes.
  std::vector<uint64_t> scores(elements);
  for (size_t i = 0; i < elements; i++) {
    double lon = 0;
    double lat = 0;
    if (!parse_lon_lat(ctx, first + 3 * i, &lon, &lat)) return;
    scores[i] = geo::score_of(lon, lat);
  }
  // What follows is ZADD key [NX|XX] [CH] score member ..., which Redis runs in its place.
  if (elements == 0) return ctx.reply.error(kSyntaxError);

  std::string_view key = ctx.arg(1);
  KeyEntry* entry = ctx.lookup_write(key);
  if (entry != nullptr && !ctx.check_type(entry, ValueType::kZSet)) return;
  const bool created = entry == nullptr;
  if (created) {
    if (xx) return ctx.reply.integer(0);
    entry = ctx.db().add(key, Value(std::make_unique<ZSetValue>()));
    ctx.notify(NotifyClass::kNew, "new", key);
  }
  ZSetValue& zset = entry->value.zset();
  const EncodingLimits limits = ctx.server.encoding_limits();
  const unsigned flags = (nx ? kZAddNx : 0u) | (xx ? kZAddXx : 0u);
  size_t added = 0;
  size_t updated = 0;
  for (size_t i = 0; i < elements; i++) {
    double new_score = 0;
    switch (zset.add(ctx.arg(first + 3 * i + 2), static_cast<double>(scores[i]), flags, limits, &new_score)) {
      case ZAddResult::kAdded: added++; break;
      case ZAddResult::kUpdated: updated++; break;
      default: break;
    }
  }
  if (added + updated > 0) {
    zset_modified(ctx, key, added + updated);
    ctx.notify(NotifyClass::kZset, "zadd", key);
  }
  if (created) ctx.signal_ready(key);

  // Replicas and the AOF get the ZADD, with the option words as the client wrote them.
  std::vector<std::string> zadd;
  zadd.reserve(first + 2 * elements);
  zadd.emplace_back("zadd");
  for (size_t i = 1; i < first; i++) zadd.emplace_back(ctx.arg(i));
  char buf[kInt64BufSize];
  for (size_t i = 0; i < elements; i++) {
    zadd.emplace_back(buf, format_int64(static_cast<int64_t>(scores[i]), buf));
    zadd.emplace_back(ctx.arg(first + 3 * i + 2));
  }
  ctx.propagate_as(std::move(zadd));

  ctx.reply.integer(static_cast<int64_t>(ch ? added + updated : added));
}

// The sorted set at argv[1] for GEOPOS/GEOHASH: nullptr when absent; false after WRONGTYPE.
bool geo_source(CommandContext& ctx, ZSetValue** zset) {
  *zset = nullptr;
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return true;
  if (!ctx.check_type(entry, ValueType::kZSet)) return false;
  *zset = &entry->value.zset();
  return true;
}

// GEOPOS key [member ...]
void cmd_geopos(CommandContext& ctx) {
  ZSetValue* zset = nullptr;
  if (!geo_source(ctx, &zset)) return;
  ctx.reply.array(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); i++) {
    double lon = 0;
    double lat = 0;
    if (zset == nullptr || !member_position(*zset, ctx.arg(i), &lon, &lat)) {
      ctx.reply.null_array();
      continue;
    }
    ctx.reply.array(2);
    reply_coordinate(ctx, lon);
    reply_coordinate(ctx, lat);
  }
}

// GEOHASH key [member ...]
void cmd_geohash(CommandContext& ctx) {
  ZSetValue* zset = nullptr;
  if (!geo_source(ctx, &zset)) return;
  ctx.reply.array(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); i++) {
    double score = 0;
    if (zset == nullptr || !zset->score(ctx.arg(i), &score)) {
      ctx.reply.null();
      continue;
    }
    ctx.reply.bulk(geo::standard_geohash(score));
  }
}

// GEODIST key member1 member2 [unit]
void cmd_geodist(CommandContext& ctx) {
  double to_meters = 1;
  if (ctx.argc() == 5) {
    if (!parse_unit(ctx, ctx.arg(4), &to_meters)) return;
  } else if (ctx.argc() > 5) {
    return ctx.reply.error(kSyntaxError);
  }
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return ctx.reply.null();
  if (!ctx.check_type(entry, ValueType::kZSet)) return;
  const ZSetValue& zset = entry->value.zset();
  double lon1 = 0;
  double lat1 = 0;
  double lon2 = 0;
  double lat2 = 0;
  if (!member_position(zset, ctx.arg(2), &lon1, &lat1) || !member_position(zset, ctx.arg(3), &lon2, &lat2)) {
    return ctx.reply.null();
  }
  reply_distance(ctx, geo::distance(lon1, lat1, lon2, lat2) / to_meters);
}

}  // namespace

void register_geo_commands(CommandTable& table) {
  table.add("geoadd", cmd_geoadd);
  table.add("geopos", cmd_geopos);
  table.add("geohash", cmd_geohash);
  table.add("geodist", cmd_geodist);
  register_geo_search_commands(table);
}

}  // namespace rd
