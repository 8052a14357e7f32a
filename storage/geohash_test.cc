// Unit tests for storage/geohash. Expected scores, geohash strings, coordinates and
// distances were observed on Redis 7.0.15 (GEOADD + ZSCORE, GEOHASH, GEOPOS, GEODIST).
#include "storage/geohash.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "storage/numbers.h"

namespace {

using namespace rd::geo;

std::string human(double v) {
  char buf[rd::kLongDoubleBufSize];
  return std::string(buf, rd::format_long_double(static_cast<long double>(v), buf));
}

std::string four_decimals(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4f", v);
  return buf;
}

}  // namespace

TEST_CASE("geohash: interleaving round-trips") {
  CHECK(interleave(0, 0) == 0);
  CHECK(interleave(1, 0) == 1);
  CHECK(interleave(0, 1) == 2);
  CHECK(interleave(0xFFFFFFFFu, 0) == 0x5555555555555555ULL);
  CHECK(interleave(0, 0xFFFFFFFFu) == 0xAAAAAAAAAAAAAAAAULL);
  for (uint32_t lat : {0u, 1u, 12345u, 0x3FFFFFFu, 0x4000000u, 0xFFFFFFFFu}) {
    for (uint32_t lon : {0u, 7u, 0x2AAAAAAu, 0x3FFFFFFu, 0x80000000u}) {
      uint32_t a = 0;
      uint32_t b = 0;
      deinterleave(interleave(lat, lon), &a, &b);
      CHECK(a == lat);
      CHECK(b == lon);
    }
  }
}

TEST_CASE("geohash: GEOADD scores") {
  CHECK(score_of(13.361389, 38.115556) == 3479099956230698ULL);  // Palermo
  CHECK(score_of(15.087269, 37.502669) == 3479447370796909ULL);  // Catania
  CHECK(score_of(-180, -85.05112878) == 0);
  // The far corner is one cell past the last on both axes: bits 52 and 53.
  CHECK(score_of(180, 85.05112878) == 13510798882111488ULL);
  Cell cell;
  CHECK_FALSE(encode(kLonRange, kLatRange, 180.0000001, 0, kStepMax, &cell));
  CHECK_FALSE(encode(kLonRange, kLatRange, 0, 85.06, kStepMax, &cell));
  CHECK_FALSE(encode(kLonRange, kLatRange, 0, 0, 0, &cell));
}

TEST_CASE("geohash: decoding scores like GEOPOS") {
  double lon = 0;
  double lat = 0;
  decode_score(3479099956230698.0, &lon, &lat);
  CHECK(human(lon) == "13.36138933897018433");
  CHECK(human(lat) == "38.11555639549629859");
  decode_score(3479447370796909.0, &lon, &lat);
  CHECK(human(lon) == "15.08726745843887329");
  CHECK(human(lat) == "37.50266842333162032");
  // Scores that are no geohash decode as Redis decodes them (clamped to the limits).
  decode_score(-1, &lon, &lat);
  CHECK(human(lon) == "180");
  CHECK(human(lat) == "85.0511287799999991");
  decode_score(0, &lon, &lat);
  CHECK(human(lon) == "-179.99999731779098511");
  CHECK(human(lat) == "-85.05112751263942528");
  decode_score(4503599627370495.0, &lon, &lat);  // 2^52 - 1
  CHECK(human(lon) == "179.99999731779098511");
  CHECK(human(lat) == "85.05112751263942528");
  decode_score(4503599627370496.0, &lon, &lat);  // 2^52: latitude one past the last cell
  CHECK(human(lon) == "-179.99999731779098511");
  CHECK(human(lat) == "85.0511287799999991");
}

TEST_CASE("geohash: double to bits follows x86-64") {
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(score_bits(0) == 0);
  CHECK(score_bits(1.5) == 1);
  CHECK(score_bits(-0.5) == 0);
  CHECK(score_bits(-1) == UINT64_MAX);
  CHECK(score_bits(4503599627370496.0) == 4503599627370496ULL);
  CHECK(score_bits(9223372036854775808.0) == 0x8000000000000000ULL);
  CHECK(score_bits(1e19) == 10000000000000000000ULL);
  CHECK(score_bits(1e300) == 0);
  CHECK(score_bits(inf) == 0);
  CHECK(score_bits(-1e300) == 0x8000000000000000ULL);
  CHECK(score_bits(-inf) == 0x8000000000000000ULL);
}

TEST_CASE("geohash: standard 11-character strings") {
  CHECK(standard_geohash(3479099956230698.0) == "sqc8b49rny0");
  CHECK(standard_geohash(3479447370796909.0) == "sqdtr74hyu0");
  CHECK(standard_geohash(-1) == "bp05b5048p0");
  CHECK(standard_geohash(0) == "00bh0hbj200");
  CHECK(standard_geohash(1e300) == "00bh0hbj200");
  CHECK(standard_geohash(4503599627370495.0) == "zzpgzgpfxz0");
  CHECK(standard_geohash(1.5) == "00bh0hbj210");
}

TEST_CASE("geohash: distances") {
  double lon1 = 0;
  double lat1 = 0;
  double lon2 = 0;
  double lat2 = 0;
  decode_score(3479099956230698.0, &lon1, &lat1);
  decode_score(3479447370796909.0, &lon2, &lat2);
  CHECK(four_decimals(distance(lon1, lat1, lon2, lat2)) == "166274.1516");
  CHECK(four_decimals(distance(lon1, lat1, lon2, lat2) / 1000) == "166.2742");
  CHECK(distance(lon1, lat1, lon1, lat1) == 0);
  // Equal longitudes: the distance along the meridian.
  CHECK(distance(10, 0, 10, 1) == lat_distance(0, 1));
  CHECK(lat_distance(0, 1) == kEarthRadiusMeters * (1 * (M_PI / 180.0)));
  CHECK(distance(1, 2, 3, 4) == distance(1, 2, 3, 4));
  CHECK(std::fabs(distance(0, 0, 180, 0) - M_PI * kEarthRadiusMeters) < 1e-6);
}

TEST_CASE("geohash: step estimation") {
  CHECK(estimate_steps(0, 0) == 26);
  CHECK(estimate_steps(200000, 37) == 6);
  CHECK(estimate_steps(200000, 70) == 5);
  CHECK(estimate_steps(200000, -81) == 4);
  CHECK(estimate_steps(1, 0) == 24);
  CHECK(estimate_steps(1e9, 0) == 1);
  CHECK(estimate_steps(std::numeric_limits<double>::infinity(), 0) == 1);
}

TEST_CASE("geohash: search cells surround the center") {
  Shape shape;
  shape.lon = 13.361389;
  shape.lat = 38.115556;
  shape.radius = 100;
  shape.conversion = 1000;
  const auto cells = search_cells(shape);
  const Cell center = cells[0];
  REQUIRE_FALSE(center.is_zero());
  uint32_t clat = 0;
  uint32_t clon = 0;
  deinterleave(center.bits, &clat, &clon);
  // north, south, east, west, north-east, north-west, south-east, south-west
  const int dlat[] = {1, -1, 0, 0, 1, 1, -1, -1};
  const int dlon[] = {0, 0, 1, -1, 1, -1, 1, -1};
  for (int i = 0; i < 8; i++) {
    const Cell n = cells[i + 1];
    if (n.is_zero()) continue;  // excluded: the bounding box does not reach it
    CHECK(n.step == center.step);
    uint32_t nlat = 0;
    uint32_t nlon = 0;
    deinterleave(n.bits, &nlat, &nlon);
    CHECK(static_cast<int64_t>(nlat) - static_cast<int64_t>(clat) == dlat[i]);
    CHECK(static_cast<int64_t>(nlon) - static_cast<int64_t>(clon) == dlon[i]);
  }
  // The center cell holds the center point.
  const Area area = decode(kLonRange, kLatRange, center);
  CHECK(area.lon.min <= shape.lon);
  CHECK(shape.lon <= area.lon.max);
  CHECK(area.lat.min <= shape.lat);
  CHECK(shape.lat <= area.lat.max);
  // A search of the whole planet at step 1: the 4 cells of the grid, neighbours wrapping.
  shape.radius = 1e9;
  shape.conversion = 1;
  const auto world = search_cells(shape);
  CHECK(world[0].step == 1);
  CHECK(world[1] == world[2]);  // north and south of a 2x2 grid are the same cell
  CHECK(world[3] == world[4]);  // so are east and west
}

TEST_CASE("geohash: shapes") {
  Shape circle;
  circle.lon = 15;
  circle.lat = 37;
  circle.radius = 200;
  circle.conversion = 1000;
  double lon = 0;
  double lat = 0;
  double dist = 0;
  REQUIRE(within_shape(circle, 3479099956230698.0, &lon, &lat, &dist));  // Palermo
  CHECK(four_decimals(dist / 1000) == "190.4424");
  circle.radius = 190;
  CHECK_FALSE(within_shape(circle, 3479099956230698.0, &lon, &lat, &dist));

  Shape box;
  box.kind = Shape::Kind::kBox;
  box.lon = 15;
  box.lat = 37;
  box.width = 400;
  box.height = 400;
  box.conversion = 1000;
  REQUIRE(within_shape(box, 3479447370796909.0, &lon, &lat, &dist));  // Catania
  CHECK(four_decimals(dist / 1000) == "56.4413");
  box.height = 100;  // Palermo is 124 km north of the center
  CHECK_FALSE(within_shape(box, 3479099956230698.0, &lon, &lat, &dist));

  // Bounding box: symmetric in latitude, wider on the side nearer to the pole.
  const auto b = bounding_box(box);
  CHECK(b[0] < box.lon);
  CHECK(b[2] > box.lon);
  CHECK(b[1] == doctest::Approx(box.lat - (b[3] - box.lat)));
}
