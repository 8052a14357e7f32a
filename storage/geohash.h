// Geohash arithmetic behind the GEO commands, computing exactly what Redis 7.0 computes:
// positions are 52-bit interleaved geohashes (26 bits of latitude on the even bits, 26 bits
// of longitude on the odd bits) over the Web Mercator limits, stored as sorted-set scores;
// distances are haversine distances on a sphere of Redis's earth radius; a search covers
// the cell of the center plus its 8 neighbours at a step chosen from the search radius.
//
// Every floating point step follows Redis's order of operations, so results near a search
// border, printed coordinates and distances are bit-for-bit those of Redis.
//
// Pure functions, thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace rd::geo {

inline constexpr int kStepMax = 26;  // bits per coordinate: 52-bit scores
inline constexpr double kLonMin = -180;
inline constexpr double kLonMax = 180;
inline constexpr double kLatMin = -85.05112878;  // Web Mercator's limits
inline constexpr double kLatMax = 85.05112878;
inline constexpr double kEarthRadiusMeters = 6372797.560856;
inline constexpr double kMercatorMax = 20037726.37;

struct Range {
  double min = 0;
  double max = 0;
};

// `step` bits per coordinate, interleaved in `bits`. All zero: "no cell" (a neighbour the
// search excluded).
struct Cell {
  uint64_t bits = 0;
  uint8_t step = 0;
  bool is_zero() const { return bits == 0 && step == 0; }
  bool operator==(const Cell&) const = default;
};

struct Area {
  Range lon;
  Range lat;
};

inline constexpr Range kLonRange{kLonMin, kLonMax};
inline constexpr Range kLatRange{kLatMin, kLatMax};

// Bit interleaving: `lat` goes to the even bits, `lon` to the odd bits.
uint64_t interleave(uint32_t lat, uint32_t lon);
// The inverse: latitude bits (even positions) and longitude bits (odd positions).
void deinterleave(uint64_t bits, uint32_t* lat, uint32_t* lon);

// The cell of `step` bits holding (lon, lat) within the given ranges. False (and *cell
// unchanged) when the point is outside the Mercator limits or outside the ranges.
bool encode(Range lon_range, Range lat_range, double lon, double lat, int step, Cell* cell);
// The area a cell covers within the given ranges.
Area decode(Range lon_range, Range lat_range, Cell cell);
// The center of a cell, clamped to the Mercator limits.
void area_center(const Area& area, double* lon, double* lat);

// A sorted-set score as Redis reads it back: (uint64_t)score with x86-64 semantics, so that
// scores that are no geohash (negative, fractional, beyond 2^64) decode as in Redis.
uint64_t score_bits(double score);
// Longitude and latitude of a score (the center of its 26-step cell).
void decode_score(double score, double* lon, double* lat);
// The score GEOADD stores for a valid position.
uint64_t score_of(double lon, double lat);
// The cell's first 52-bit score (its bits shifted to the top of 52).
uint64_t align52(Cell cell);

// The standard 11-character geohash (ranges -180..180, -90..90) of the point a score encodes.
std::string standard_geohash(double score);

// Great-circle distance in meters (haversine), with Redis's shortcut for equal longitudes.
double distance(double lon1, double lat1, double lon2, double lat2);
// Distance along a meridian.
double lat_distance(double lat1, double lat2);

// How many bits per coordinate the 9 cells of a search of this radius should have.
int estimate_steps(double radius_meters, double lat);

// A search area: a circle (radius) or a box (width x height) around (lon, lat), in units of
// `conversion` meters.
struct Shape {
  enum class Kind { kCircle, kBox };
  Kind kind = Kind::kCircle;
  double lon = 0;
  double lat = 0;
  double conversion = 1;
  double radius = 0;
  double width = 0;
  double height = 0;
};

// Longitude/latitude bounds of a shape: {min_lon, min_lat, max_lon, max_lat}.
std::array<double, 4> bounding_box(const Shape& shape);

// The cells to scan, in Redis's order: the center, then north, south, east, west,
// north-east, north-west, south-east, south-west. Excluded neighbours are zero cells.
std::array<Cell, 9> search_cells(const Shape& shape);

// Decodes `score` and tells whether the point lies in `shape`; when it does, *distance is
// its distance in meters from the shape's center.
bool within_shape(const Shape& shape, double score, double* lon, double* lat, double* distance);

}  // namespace rd::geo
