// GEO searches: GEORADIUS, GEORADIUSBYMEMBER (and their _RO forms), GEOSEARCH and
// GEOSEARCHSTORE, with Redis 7.0's argument parsing (checks in its order), its scan (the
// center cell and its 8 neighbours, each a score range of the sorted set, skipping a cell
// equal to the previous one scanned), its sorts (a stable full sort, or Redis's partial
// quicksort when COUNT cuts the result, which decides the order of equal distances) and its
// reply formats. The STORE forms are propagated verbatim, as Redis does.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/commands/geo_common.h"
#include "server/commands/zset_common.h"
#include "server/server.h"

namespace rd {
namespace {

enum SearchFlags : unsigned {
  kFromCoords = 1u << 0,   // GEORADIUS: key lon lat radius unit
  kFromMember = 1u << 1,   // GEORADIUSBYMEMBER: key member radius unit
  kNoStore = 1u << 2,      // the _RO forms
  kGeoSearch = 1u << 3,    // GEOSEARCH / GEOSEARCHSTORE argument syntax
  kSearchStore = 1u << 4,  // GEOSEARCHSTORE
};

enum class Order { kNone, kAsc, kDesc };

struct Point {
  std::string_view member;
  double lon;
  double lat;
  double dist;
  double score;
};

// ---- scanning ----

// Appends the members of `cell` that lie in the shape, in (score, member) order; stops once
// `limit` points (0: no limit) have been collected.
void scan_cell(const ZSetValue& zset, geo::Cell cell, const geo::Shape& shape, size_t limit, std::vector<Point>* out) {
  geo::Cell next = cell;
  next.bits++;
  const ScoreRange range{static_cast<double>(geo::align52(cell)), static_cast<double>(geo::align52(next)), false,
                         true};
  const RankSpan span = zset.score_span(range);
  if (span.empty()) return;
  ZSetCursor c = zset.at(span.begin);
  for (size_t i = 0; i < span.size() && c.valid(); i++, c.next()) {
    Point p{c.member(), 0, 0, 0, c.score()};
    if (geo::within_shape(shape, p.score, &p.lon, &p.lat, &p.dist)) out->push_back(p);
    if (limit != 0 && out->size() >= limit) return;
  }
}

std::vector<Point> scan_shape(const ZSetValue& zset, const geo::Shape& shape, size_t limit) {
  const std::array<geo::Cell, 9> cells = geo::search_cells(shape);
  std::vector<Point> points;
  size_t last = 0;  // the last cell scanned; Redis's check ignores the center (index 0)
  for (size_t i = 0; i < cells.size(); i++) {
    if (cells[i].is_zero()) continue;
    // Large radii make neighbours coincide: a cell equal to the one just scanned is skipped.
    if (last != 0 && cells[i] == cells[last]) continue;
    if (!points.empty() && limit != 0 && points.size() >= limit) break;
    scan_cell(zset, cells[i], shape, limit, &points);
    last = i;
  }
  return points;
}

// ---- sorting ----

int compare_asc(const Point& a, const Point& b) {
  if (a.dist > b.dist) return 1;
  if (a.dist == b.dist) return 0;
  return -1;
}

// Redis's pqsort: Bentley & McIlroy's quicksort (in the form without the switch to insertion
// sort after a swap-free partition) that only recurses into the parts overlapping ranks
// [lrange, rrange]. It is not stable, and which of equally distant points come first follows
// from its exact sequence of swaps, reproduced here.
class PartialSort {
 public:
  PartialSort(std::vector<Point>& v, bool desc, size_t lrange, size_t rrange)
      : v_(v), desc_(desc), lrange_(static_cast<ptrdiff_t>(lrange)), rrange_(static_cast<ptrdiff_t>(rrange)) {}

  void run() { sort(0, static_cast<ptrdiff_t>(v_.size())); }

 private:
  int cmp(ptrdiff_t a, ptrdiff_t b) const {
    const int r = compare_asc(v_[static_cast<size_t>(a)], v_[static_cast<size_t>(b)]);
    return desc_ ? -r : r;
  }
  void swap(ptrdiff_t a, ptrdiff_t b) { std::swap(v_[static_cast<size_t>(a)], v_[static_cast<size_t>(b)]); }
  void swap_run(ptrdiff_t a, ptrdiff_t b, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) swap(a + i, b + i);
  }
  ptrdiff_t median_of_three(ptrdiff_t a, ptrdiff_t b, ptrdiff_t c) const {
    if (cmp(a, b) < 0) return cmp(b, c) < 0 ? b : (cmp(a, c) < 0 ? c : a);
    return cmp(b, c) > 0 ? b : (cmp(a, c) < 0 ? a : c);
  }
  void insertion_sort(ptrdiff_t a, ptrdiff_t n) {
    for (ptrdiff_t m = a + 1; m < a + n; m++) {
      for (ptrdiff_t l = m; l > a && cmp(l - 1, l) > 0; l--) swap(l, l - 1);
    }
  }
  // Whether elements [a, a + n) hold any rank of the wanted range.
  bool overlaps(ptrdiff_t a, ptrdiff_t n) const { return !(rrange_ < a || lrange_ > a + n - 1); }

  void sort(ptrdiff_t a, ptrdiff_t n) {
    for (;;) {
      if (n < 7) return insertion_sort(a, n);
      ptrdiff_t m = a + n / 2;
      if (n > 7) {
        ptrdiff_t l = a;
        ptrdiff_t r = a + n - 1;
        if (n > 40) {
          const ptrdiff_t d = n / 8;
          l = median_of_three(l, l + d, l + 2 * d);
          m = median_of_three(m - d, m, m + d);
          r = median_of_three(r - 2 * d, r - d, r);
        }
        m = median_of_three(l, m, r);
      }
      swap(a, m);
      // Partition around v[a]; elements equal to it gather at both ends.
      ptrdiff_t pa = a + 1;
      ptrdiff_t pb = pa;
      ptrdiff_t pc = a + n - 1;
      ptrdiff_t pd = pc;
      for (;;) {
        int r = 0;
        while (pb <= pc && (r = cmp(pb, a)) <= 0) {
          if (r == 0) {
            swap(pa, pb);
            pa++;
          }
          pb++;
        }
        while (pb <= pc && (r = cmp(pc, a)) >= 0) {
          if (r == 0) {
            swap(pc, pd);
            pd--;
          }
          pc--;
        }
        if (pb > pc) break;
        swap(pb, pc);
        pb++;
        pc--;
      }

      const ptrdiff_t end = a + n;
      ptrdiff_t r = std::min(pa - a, pb - pa);
      swap_run(a, pb - r, r);
      r = std::min(pd - pc, end - pd - 1);
      swap_run(pb, end - r, r);
      if ((r = pb - pa) > 1 && overlaps(a, r)) sort(a, r);
      if ((r = pd - pc) > 1) {
        a = end - r;
        n = r;
        if (overlaps(a, n)) continue;
      }
      return;
    }
  }

  std::vector<Point>& v_;
  bool desc_;
  ptrdiff_t lrange_;
  ptrdiff_t rrange_;
};

void sort_points(std::vector<Point>& points, Order order, size_t returned) {
  if (order == Order::kNone || points.empty()) return;
  const bool desc = order == Order::kDesc;
  if (returned == points.size()) {
    // glibc's qsort is a merge sort: stable.
    std::stable_sort(points.begin(), points.end(), [desc](const Point& a, const Point& b) {
      return desc ? a.dist > b.dist : a.dist < b.dist;
    });
    return;
  }
  PartialSort(points, desc, 0, returned - 1).run();
}

// ---- the command ----

struct SearchRequest {
  geo::Shape shape;
  bool withdist = false;
  bool withhash = false;
  bool withcoord = false;
  bool any = false;
  Order order = Order::kNone;
  int64_t count = 0;  // 0: unlimited
  bool store = false;
  std::string_view store_key;
  bool storedist = false;
};

bool parse_distance(CommandContext& ctx, size_t index, geo::Shape* shape) {
  double radius = 0;
  if (!parse_double_arg(ctx, ctx.arg(index), &radius, "ERR need numeric radius")) return false;
  if (radius < 0) {
    ctx.reply.error("ERR radius cannot be negative");
    return false;
  }
  shape->radius = radius;
  return parse_unit(ctx, ctx.arg(index + 1), &shape->conversion);
}

bool parse_box(CommandContext& ctx, size_t index, geo::Shape* shape) {
  double width = 0;
  double height = 0;
  if (!parse_double_arg(ctx, ctx.arg(index), &width, "ERR need numeric width") ||
      !parse_double_arg(ctx, ctx.arg(index + 1), &height, "ERR need numeric height")) {
    return false;
  }
  if (height < 0 || width < 0) {
    ctx.reply.error("ERR height or width cannot be negative");
    return false;
  }
  shape->width = width;
  shape->height = height;
  return parse_unit(ctx, ctx.arg(index + 2), &shape->conversion);
}

constexpr std::string_view kMemberError = "ERR could not decode requested zset member";

// Parses everything after the fixed arguments, in Redis's order (a FROMMEMBER position is
// looked up as soon as it is met). False after replying an error.
bool parse_search(CommandContext& ctx, const ZSetValue* zset, size_t base, unsigned flags, SearchRequest* req) {
  const bool geosearch = (flags & kGeoSearch) != 0;
  bool frommember = false;
  bool fromlonlat = false;
  bool byradius = false;
  bool bybox = false;
  for (size_t i = base; i < ctx.argc(); i++) {
    std::string_view arg = ctx.arg(i);
    const size_t more = ctx.argc() - i - 1;  // arguments after this one
    if (geo_word_is(arg, "withdist")) {
      req->withdist = true;
    } else if (geo_word_is(arg, "withhash")) {
      req->withhash = true;
    } else if (geo_word_is(arg, "withcoord")) {
      req->withcoord = true;
    } else if (geo_word_is(arg, "any")) {
      req->any = true;
    } else if (geo_word_is(arg, "asc")) {
      req->order = Order::kAsc;
    } else if (geo_word_is(arg, "desc")) {
      req->order = Order::kDesc;
    } else if (geo_word_is(arg, "count") && more >= 1) {
      if (!parse_int_arg(ctx, ctx.arg(i + 1), &req->count)) return false;
      if (req->count <= 0) {
        ctx.reply.error("ERR COUNT must be > 0");
        return false;
      }
      i++;
    } else if ((geo_word_is(arg, "store") || geo_word_is(arg, "storedist")) && more >= 1 &&
               (flags & (kNoStore | kGeoSearch)) == 0) {
      req->store = true;
      req->store_key = ctx.arg(i + 1);
      req->storedist = geo_word_is(arg, "storedist");
      i++;
    } else if (geo_word_is(arg, "storedist") && geosearch && (flags & kSearchStore) != 0) {
      req->storedist = true;
    } else if (geo_word_is(arg, "frommember") && more >= 1 && geosearch && !fromlonlat) {
      // Without a source key the answer is empty anyway; parsing goes on for its errors.
      if (zset != nullptr && !member_position(*zset, ctx.arg(i + 1), &req->shape.lon, &req->shape.lat)) {
        ctx.reply.error(kMemberError);
        return false;
      }
      frommember = true;
      i++;
    } else if (geo_word_is(arg, "fromlonlat") && more >= 2 && geosearch && !frommember) {
      if (!parse_lon_lat(ctx, i + 1, &req->shape.lon, &req->shape.lat)) return false;
      fromlonlat = true;
      i += 2;
    } else if (geo_word_is(arg, "byradius") && more >= 2 && geosearch && !bybox) {
      if (!parse_distance(ctx, i + 1, &req->shape)) return false;
      req->shape.kind = geo::Shape::Kind::kCircle;
      byradius = true;
      i += 2;
    } else if (geo_word_is(arg, "bybox") && more >= 3 && geosearch && !byradius) {
      if (!parse_box(ctx, i + 1, &req->shape)) return false;
      req->shape.kind = geo::Shape::Kind::kBox;
      bybox = true;
      i += 3;
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }

  if (req->store && (req->withdist || req->withhash || req->withcoord)) {
    ctx.reply.error(std::string("ERR ") +
                    ((flags & kSearchStore) != 0 ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS") +
                    " is not compatible with WITHDIST, WITHHASH and WITHCOORD options");
    return false;
  }
  if (geosearch && !frommember && !fromlonlat) {
    ctx.reply.error("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + std::string(ctx.arg(0)));
    return false;
  }
  if (geosearch && !byradius && !bybox) {
    ctx.reply.error("ERR exactly one of BYRADIUS and BYBOX can be specified for " + std::string(ctx.arg(0)));
    return false;
  }
  if (req->any && req->count == 0) {
    ctx.reply.error("ERR the ANY argument requires COUNT argument");
    return false;
  }
  return true;
}

// Deletes the STORE target of an empty result (whatever is there, even if logically expired,
// as Redis's dbDelete does) and replies 0.
void store_nothing(CommandContext& ctx, std::string_view key) {
  if (ctx.db().erase(key)) {
    ctx.key_modified(key);
    ctx.notify(NotifyClass::kGeneric, "del", key);
  }
  ctx.reply.integer(0);
}

void store_points(CommandContext& ctx, const SearchRequest& req, const std::vector<Point>& points, size_t returned,
                  unsigned flags) {
  if (returned == 0) return store_nothing(ctx, req.store_key);
  std::vector<std::pair<std::string_view, double>> elements;
  elements.reserve(returned);
  for (size_t i = 0; i < returned; i++) {
    const Point& p = points[i];
    elements.emplace_back(p.member, req.storedist ? p.dist / req.shape.conversion : p.score);
  }
  std::sort(elements.begin(), elements.end(), [](const auto& a, const auto& b) {
    return a.second < b.second || (a.second == b.second && a.first < b.first);
  });
  auto result = ZSetValue::from_sorted(elements, ctx.server.encoding_limits());
  // The source may be the target: the result is complete before it is replaced. An expired
  // target is deleted (and DEL propagated) first.
  const bool existed = ctx.lookup_write(req.store_key) != nullptr;
  ctx.db().set(req.store_key, Value(std::move(result)));
  ctx.key_modified(req.store_key);
  if (returned > 1) ctx.add_dirty(static_cast<int64_t>(returned) - 1);  // Redis counts every element
  if (!existed) ctx.notify(NotifyClass::kNew, "new", req.store_key);
  ctx.notify(NotifyClass::kZset, (flags & kGeoSearch) != 0 ? "geosearchstore" : "georadiusstore", req.store_key);
  // Only a key that comes into existence wakes clients blocked on it (BZPOPMIN...).
  if (!existed) ctx.signal_ready(req.store_key);
  ctx.reply.integer(static_cast<int64_t>(returned));
}

void reply_points(CommandContext& ctx, const SearchRequest& req, const std::vector<Point>& points, size_t returned) {
  const size_t options = (req.withdist ? 1 : 0) + (req.withhash ? 1 : 0) + (req.withcoord ? 1 : 0);
  ctx.reply.array(returned);
  for (size_t i = 0; i < returned; i++) {
    const Point& p = points[i];
    if (options > 0) ctx.reply.array(options + 1);
    ctx.reply.bulk(p.member);
    if (req.withdist) reply_distance(ctx, p.dist / req.shape.conversion);
    if (req.withhash) ctx.reply.integer(static_cast<int64_t>(p.score));
    if (req.withcoord) {
      ctx.reply.array(2);
      reply_coordinate(ctx, p.lon);
      reply_coordinate(ctx, p.lat);
    }
  }
}

// `src`: the index of the source key.
void search_generic(CommandContext& ctx, size_t src, unsigned flags) {
  KeyEntry* entry = lookup_source(ctx, ctx.arg(src));
  if (entry != nullptr && !ctx.check_type(entry, ValueType::kZSet)) return;
  const ZSetValue* zset = entry != nullptr ? &entry->value.zset() : nullptr;

  SearchRequest req;
  size_t base = 0;
  if ((flags & kFromCoords) != 0) {
    base = 6;
    if (!parse_lon_lat(ctx, 2, &req.shape.lon, &req.shape.lat) || !parse_distance(ctx, 4, &req.shape)) return;
  } else if ((flags & kFromMember) != 0) {
    base = 5;
    // Without a source key the radius is not even looked at.
    if (zset != nullptr) {
      if (!member_position(*zset, ctx.arg(2), &req.shape.lon, &req.shape.lat)) return ctx.reply.error(kMemberError);
      if (!parse_distance(ctx, 3, &req.shape)) return;
    }
  } else {
    base = 2;
    if ((flags & kSearchStore) != 0) {
      base = 3;
      req.store = true;
      req.store_key = ctx.arg(1);
    }
  }
  if (!parse_search(ctx, zset, base, flags, &req)) return;

  if (zset == nullptr) {
    if (req.store) return store_nothing(ctx, req.store_key);
    return ctx.reply.empty_array();
  }

  // COUNT without ANY wants the nearest ones.
  if (req.count != 0 && req.order == Order::kNone && !req.any) req.order = Order::kAsc;

  std::vector<Point> points = scan_shape(*zset, req.shape, req.any ? static_cast<size_t>(req.count) : 0);
  if (points.empty() && !req.store) return ctx.reply.empty_array();
  const size_t returned =
      req.count == 0 ? points.size() : std::min(points.size(), static_cast<size_t>(req.count));
  sort_points(points, req.order, returned);
  if (req.store) return store_points(ctx, req, points, returned, flags);
  reply_points(ctx, req, points, returned);
}

void cmd_georadius(CommandContext& ctx) { search_generic(ctx, 1, kFromCoords); }
void cmd_georadius_ro(CommandContext& ctx) { search_generic(ctx, 1, kFromCoords | kNoStore); }
void cmd_georadiusbymember(CommandContext& ctx) { search_generic(ctx, 1, kFromMember); }
void cmd_georadiusbymember_ro(CommandContext& ctx) { search_generic(ctx, 1, kFromMember | kNoStore); }
void cmd_geosearch(CommandContext& ctx) { search_generic(ctx, 1, kGeoSearch); }
void cmd_geosearchstore(CommandContext& ctx) { search_generic(ctx, 2, kGeoSearch | kSearchStore); }

}  // namespace

void register_geo_search_commands(CommandTable& table) {
  table.add("georadius", cmd_georadius);
  table.add("georadius_ro", cmd_georadius_ro);
  table.add("georadiusbymember", cmd_georadiusbymember);
  table.add("georadiusbymember_ro", cmd_georadiusbymember_ro);
  table.add("geosearch", cmd_geosearch);
  table.add("geosearchstore", cmd_geosearchstore);
}

}  // namespace rd
