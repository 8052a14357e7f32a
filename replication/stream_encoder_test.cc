#include "replication/stream_encoder.h"

#include <doctest/doctest.h>

namespace rd {

TEST_CASE("stream encoder: SELECT only when the database changes") {
  StreamEncoder encoder;
  std::string out;
  const std::string_view set[3] = {"SET", "k", "v"};
  encoder.encode(0, set, 3, &out);
  CHECK(out == "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  out.clear();
  encoder.encode(0, set, 3, &out);
  CHECK(out == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  out.clear();
  const std::string_view incr[2] = {"incr", "n"};
  encoder.encode(12, incr, 2, &out);
  CHECK(out == "*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n*2\r\n$4\r\nincr\r\n$1\r\nn\r\n");
  encoder.force_select();
  out.clear();
  encoder.encode(12, incr, 2, &out);
  CHECK(out.rfind("*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n", 0) == 0);
}

TEST_CASE("stream encoder: the master's own commands are byte-exact") {
  CHECK(kPingCommand.size() == 14);
  CHECK(kGetAckCommand.size() == 37);
}

}  // namespace rd
