// Geohash arithmetic (see geohash.h). The floating point expressions are written in the
// order Redis 7.0 evaluates them: any reordering changes the last bit of a distance or a
// bound, and with it which members sit inside a search near its border.
#include "storage/geohash.h"

#include <cmath>

namespace rd::geo {
namespace {

constexpr double kDegToRad = M_PI / 180.0;

double deg_rad(double degrees) { return degrees * kDegToRad; }
double rad_deg(double radians) { return radians / kDegToRad; }

// The 32 bits of `v` moved to the even bit positions of a 64-bit word.
uint64_t spread_bits(uint32_t v) {
  uint64_t x = v;
  x = (x | (x << 16)) & 0x0000FFFF0000FFFFULL;
  x = (x | (x << 8)) & 0x00FF00FF00FF00FFULL;
  x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FULL;
  x = (x | (x << 2)) & 0x3333333333333333ULL;
  x = (x | (x << 1)) & 0x5555555555555555ULL;
  return x;
}

// The even bits of `x` packed into 32 bits.
uint32_t gather_bits(uint64_t x) {
  x &= 0x5555555555555555ULL;
  x = (x | (x >> 1)) & 0x3333333333333333ULL;
  x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
  x = (x | (x >> 4)) & 0x00FF00FF00FF00FFULL;
  x = (x | (x >> 8)) & 0x0000FFFF0000FFFFULL;
  x = (x | (x >> 16)) & 0x00000000FFFFFFFFULL;
  return static_cast<uint32_t>(x);
}

bool range_is_zero(Range r) { return r.min == 0 && r.max == 0; }

// The cell `dlon` columns east and `dlat` rows north of `cell`, wrapping around at the edges
// of the grid. As in Redis, a coordinate that moves keeps only its `step` low bits, and one
// that does not move is left untouched, even when it has a bit above them (the cells of
// longitude 180 and latitude 85.05112878 are one past the last).
Cell moved(Cell cell, int dlon, int dlat) {
  constexpr uint64_t kEven = 0x5555555555555555ULL;
  const uint64_t mask = (1ULL << cell.step) - 1;
  uint64_t lat_bits = cell.bits & kEven;
  uint64_t lon_bits = cell.bits & ~kEven;
  if (dlat != 0) {
    const uint64_t lat = (gather_bits(lat_bits) + static_cast<uint64_t>(static_cast<int64_t>(dlat))) & mask;
    lat_bits = spread_bits(static_cast<uint32_t>(lat));
  }
  if (dlon != 0) {
    const uint64_t lon = (gather_bits(lon_bits >> 1) + static_cast<uint64_t>(static_cast<int64_t>(dlon))) & mask;
    lon_bits = spread_bits(static_cast<uint32_t>(lon)) << 1;
  }
  return Cell{lat_bits | lon_bits, cell.step};
}

}  // namespace

uint64_t interleave(uint32_t lat, uint32_t lon) { return spread_bits(lat) | (spread_bits(lon) << 1); }

void deinterleave(uint64_t bits, uint32_t* lat, uint32_t* lon) {
  *lat = gather_bits(bits);
  *lon = gather_bits(bits >> 1);
}

bool encode(Range lon_range, Range lat_range, double lon, double lat, int step, Cell* cell) {
  if (step > 32 || step <= 0 || range_is_zero(lat_range) || range_is_zero(lon_range)) return false;
  if (lon > kLonMax || lon < kLonMin || lat > kLatMax || lat < kLatMin) return false;
  if (lat < lat_range.min || lat > lat_range.max || lon < lon_range.min || lon > lon_range.max) return false;
  double lat_offset = (lat - lat_range.min) / (lat_range.max - lat_range.min);
  double lon_offset = (lon - lon_range.min) / (lon_range.max - lon_range.min);
  const double cells = static_cast<double>(1ULL << step);
  lat_offset *= cells;
  lon_offset *= cells;
  cell->bits = interleave(static_cast<uint32_t>(lat_offset), static_cast<uint32_t>(lon_offset));
  cell->step = static_cast<uint8_t>(step);
  return true;
}

Area decode(Range lon_range, Range lat_range, Cell cell) {
  uint32_t lat = 0;
  uint32_t lon = 0;
  deinterleave(cell.bits, &lat, &lon);
  const double lat_scale = lat_range.max - lat_range.min;
  const double lon_scale = lon_range.max - lon_range.min;
  const double cells = static_cast<double>(1ULL << cell.step);
  // The "+ 1" wraps in 32 bits, as in Redis (only reachable from scores that are no geohash).
  const uint32_t lat_next = lat + 1;
  const uint32_t lon_next = lon + 1;
  Area area;
  area.lat.min = lat_range.min + (lat * 1.0 / cells) * lat_scale;
  area.lat.max = lat_range.min + (lat_next * 1.0 / cells) * lat_scale;
  area.lon.min = lon_range.min + (lon * 1.0 / cells) * lon_scale;
  area.lon.max = lon_range.min + (lon_next * 1.0 / cells) * lon_scale;
  return area;
}

void area_center(const Area& area, double* lon, double* lat) {
  double x = (area.lon.min + area.lon.max) / 2;
  if (x > kLonMax) x = kLonMax;
  if (x < kLonMin) x = kLonMin;
  double y = (area.lat.min + area.lat.max) / 2;
  if (y > kLatMax) y = kLatMax;
  if (y < kLatMin) y = kLatMin;
  *lon = x;
  *lat = y;
}

uint64_t score_bits(double score) {
  // What gcc emits for (uint64_t)double on x86-64: below 2^63 a signed truncation, whose
  // out-of-range result is 2^63; from 2^63 up, the truncation of score - 2^63 with the top
  // bit flipped (so anything from 2^64 up gives 0).
  constexpr double kTwo63 = 9223372036854775808.0;
  const auto truncate = [](double v) -> uint64_t {
    if (v >= -kTwo63 && v < kTwo63) return static_cast<uint64_t>(static_cast<int64_t>(v));
    return 0x8000000000000000ULL;
  };
  if (!(score >= kTwo63)) return truncate(score);
  return truncate(score - kTwo63) ^ 0x8000000000000000ULL;
}

void decode_score(double score, double* lon, double* lat) {
  const Area area = decode(kLonRange, kLatRange, Cell{score_bits(score), kStepMax});
  area_center(area, lon, lat);
}

uint64_t score_of(double lon, double lat) {
  Cell cell;
  if (!encode(kLonRange, kLatRange, lon, lat, kStepMax, &cell)) return 0;
  return align52(cell);
}

uint64_t align52(Cell cell) { return cell.bits << (52 - cell.step * 2); }

std::string standard_geohash(double score) {
  static constexpr char kAlphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
  double lon = 0;
  double lat = 0;
  decode_score(score, &lon, &lat);
  Cell cell;
  encode(Range{-180, 180}, Range{-90, 90}, lon, lat, kStepMax, &cell);  // always within range
  std::string out(11, '0');
  // 52 bits make 10 characters and 2 spare bits; the 11th character is always '0'.
  for (int i = 0; i < 10; i++) out[i] = kAlphabet[(cell.bits >> (52 - (i + 1) * 5)) & 0x1f];
  return out;
}

double lat_distance(double lat1, double lat2) { return kEarthRadiusMeters * std::fabs(deg_rad(lat2) - deg_rad(lat1)); }

double distance(double lon1, double lat1, double lon2, double lat2) {
  const double lon1r = deg_rad(lon1);
  const double lon2r = deg_rad(lon2);
  const double v = std::sin((lon2r - lon1r) / 2);
  // Same longitude: the haversine reduces to the latitude difference.
  if (v == 0.0) return lat_distance(lat1, lat2);
  const double lat1r = deg_rad(lat1);
  const double lat2r = deg_rad(lat2);
  const double u = std::sin((lat2r - lat1r) / 2);
  const double a = u * u + std::cos(lat1r) * std::cos(lat2r) * v * v;
  return 2.0 * kEarthRadiusMeters * std::asin(std::sqrt(a));
}

int estimate_steps(double radius_meters, double lat) {
  if (radius_meters == 0) return kStepMax;
  int step = 1;
  while (radius_meters < kMercatorMax) {
    radius_meters *= 2;
    step++;
  }
  step -= 2;  // so that the radius fits in most cases
  // Cells shrink in width towards the poles.
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  if (step < 1) step = 1;
  if (step > kStepMax) step = kStepMax;
  return step;
}

std::array<double, 4> bounding_box(const Shape& shape) {
  const bool circle = shape.kind == Shape::Kind::kCircle;
  const double height = shape.conversion * (circle ? shape.radius : shape.height / 2);
  const double width = shape.conversion * (circle ? shape.radius : shape.width / 2);
  const double lat_delta = rad_deg(height / kEarthRadiusMeters);
  // The box is widest in longitude on its edge nearer to the pole.
  const double lon_delta_top = rad_deg(width / kEarthRadiusMeters / std::cos(deg_rad(shape.lat + lat_delta)));
  const double lon_delta_bottom = rad_deg(width / kEarthRadiusMeters / std::cos(deg_rad(shape.lat - lat_delta)));
  const bool southern = shape.lat < 0;
  std::array<double, 4> bounds;
  bounds[0] = southern ? shape.lon - lon_delta_bottom : shape.lon - lon_delta_top;
  bounds[1] = shape.lat - lat_delta;
  bounds[2] = southern ? shape.lon + lon_delta_bottom : shape.lon + lon_delta_top;
  bounds[3] = shape.lat + lat_delta;
  return bounds;
}

std::array<Cell, 9> search_cells(const Shape& shape) {
  const std::array<double, 4> bounds = bounding_box(shape);
  const double min_lon = bounds[0];
  const double min_lat = bounds[1];
  const double max_lon = bounds[2];
  const double max_lat = bounds[3];

  // A box is covered like the circle through its corners.
  double radius_meters = shape.kind == Shape::Kind::kCircle
                             ? shape.radius
                             : std::sqrt((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2));
  radius_meters *= shape.conversion;
  int steps = estimate_steps(radius_meters, shape.lat);

  Cell center;
  encode(kLonRange, kLatRange, shape.lon, shape.lat, steps, &center);
  // Too close to an edge of the neighbourhood: one step coarser.
  const Area north = decode(kLonRange, kLatRange, moved(center, 0, 1));
  const Area south = decode(kLonRange, kLatRange, moved(center, 0, -1));
  const Area east = decode(kLonRange, kLatRange, moved(center, 1, 0));
  const Area west = decode(kLonRange, kLatRange, moved(center, -1, 0));
  const bool decrease = north.lat.max < max_lat || south.lat.min > min_lat || east.lon.max < max_lon ||
                        west.lon.min > min_lon;
  if (steps > 1 && decrease) {
    steps--;
    encode(kLonRange, kLatRange, shape.lon, shape.lat, steps, &center);
  }
  const Area area = decode(kLonRange, kLatRange, center);

  enum { kCenter, kNorth, kSouth, kEast, kWest, kNorthEast, kNorthWest, kSouthEast, kSouthWest };
  std::array<Cell, 9> cells;
  cells[kCenter] = center;
  cells[kNorth] = moved(center, 0, 1);
  cells[kSouth] = moved(center, 0, -1);
  cells[kEast] = moved(center, 1, 0);
  cells[kWest] = moved(center, -1, 0);
  cells[kNorthEast] = moved(center, 1, 1);
  cells[kNorthWest] = moved(center, -1, 1);
  cells[kSouthEast] = moved(center, 1, -1);
  cells[kSouthWest] = moved(center, -1, -1);

  // Neighbours the bounding box does not reach are skipped.
  if (steps >= 2) {
    if (area.lat.min < min_lat) cells[kSouth] = cells[kSouthWest] = cells[kSouthEast] = Cell{};
    if (area.lat.max > max_lat) cells[kNorth] = cells[kNorthEast] = cells[kNorthWest] = Cell{};
    if (area.lon.min < min_lon) cells[kWest] = cells[kSouthWest] = cells[kNorthWest] = Cell{};
    if (area.lon.max > max_lon) cells[kEast] = cells[kSouthEast] = cells[kNorthEast] = Cell{};
  }
  return cells;
}

bool within_shape(const Shape& shape, double score, double* lon, double* lat, double* dist) {
  decode_score(score, lon, lat);
  if (shape.kind == Shape::Kind::kCircle) {
    *dist = distance(shape.lon, shape.lat, *lon, *lat);
    return !(*dist > shape.radius * shape.conversion);
  }
  const double width_m = shape.width * shape.conversion;
  const double height_m = shape.height * shape.conversion;
  if (lat_distance(*lat, shape.lat) > height_m / 2) return false;
  if (distance(*lon, *lat, shape.lon, *lat) > width_m / 2) return false;
  *dist = distance(shape.lon, shape.lat, *lon, *lat);
  return true;
}

}  // namespace rd::geo
