#include "replication/link_reader.h"

#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <string>
#include <thread>

#include "server/fd.h"

namespace rd {
namespace {

struct SocketPair {
  SocketPair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    ours.reset(fds[0]);
    theirs.reset(fds[1]);
  }
  void send(std::string_view bytes) { REQUIRE(write_all(theirs.get(), bytes.data(), bytes.size())); }
  UniqueFd ours;
  UniqueFd theirs;
};

}  // namespace

TEST_CASE("link reader: lines, keep-alive newlines and exact bytes share one buffer") {
  SocketPair link;
  LinkReader in(link.ours.get());
  link.send("+FULLRESYNC abc 10\r\n\n\n$5\r\nHELLO*1\r\n$4\r\nping\r\n");
  std::string line;
  REQUIRE(in.read_line(&line, 1000));
  CHECK(line == "+FULLRESYNC abc 10");
  REQUIRE(in.read_line(&line, 1000));
  CHECK(line.empty());
  REQUIRE(in.read_line(&line, 1000));
  CHECK(line.empty());
  REQUIRE(in.read_line(&line, 1000));
  CHECK(line == "$5");
  char body[5];
  REQUIRE(in.read_exact(body, 5, 1000));
  CHECK(std::string(body, 5) == "HELLO");
  CHECK(in.pending() == "*1\r\n$4\r\nping\r\n");
  CHECK(in.total_read() == 45);
}

TEST_CASE("link reader: large payloads arrive whole across many reads") {
  SocketPair link;
  LinkReader in(link.ours.get());
  std::string payload(3 * 1024 * 1024 + 7, 'x');
  for (size_t i = 0; i < payload.size(); i++) payload[i] = static_cast<char>(i * 31);
  std::thread writer([&] { link.send(payload); });
  std::string got(payload.size(), '\0');
  CHECK(in.read_exact(got.data(), got.size(), 5000));
  writer.join();
  CHECK(got == payload);
}

TEST_CASE("link reader: a command larger than the buffer is kept whole in pending()") {
  SocketPair link;
  LinkReader in(link.ours.get());
  std::string big = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$200000\r\n" + std::string(200000, 'v') + "\r\n";
  std::thread writer([&] { link.send(big); });
  while (in.pending().size() < big.size()) REQUIRE(in.fill(5000) == LinkReader::Fill::kData);
  writer.join();
  CHECK(in.pending() == big);
}

TEST_CASE("link reader: timeout and close are reported") {
  SocketPair link;
  LinkReader in(link.ours.get());
  CHECK(in.fill(10) == LinkReader::Fill::kTimeout);
  std::string line;
  link.send("partial");
  CHECK_FALSE(in.read_line(&line, 10));
  link.theirs.reset();
  CHECK(in.fill(1000) == LinkReader::Fill::kClosed);
}

}  // namespace rd
