#include "replication/rdb_child.h"

#include <fcntl.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <string>

#include "server/fd.h"

namespace rd {
namespace {

std::string read_until_eof(int fd) {
  std::string out;
  char buffer[65536];
  ssize_t n = 0;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<size_t>(n));
  return out;
}

}  // namespace

TEST_CASE("rdb child: writes the keyspace as it was at the fork, and reports success") {
  Keyspace keyspace(16);
  keyspace.db(0).set("before", Value(std::string("1")));
  keyspace.db(3).set("other-db", Value(std::string(5000, 'x')));
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  RdbChild child;
  RdbSaveOptions options;
  options.replication.repl_id = std::string(40, 'a');
  options.replication.repl_offset = 42;
  REQUIRE(child.start(keyspace, options, write_end.get()));
  write_end.reset();
  keyspace.db(0).set("after", Value(std::string("2")));  // the child's copy does not see it
  const std::string image = read_until_eof(read_end.get());
  CHECK(child.wait(5000) == RdbChild::Status::kOk);
  CHECK(child.pid() == -1);

  Keyspace loaded(16);
  StringSource source(image);
  RdbLoadResult result = rdb_load(source, loaded, EncodingLimits{}, 0, false);
  REQUIRE(result.error.empty());
  CHECK(result.replication.repl_id == std::string(40, 'a'));
  CHECK(result.replication.repl_offset == 42);
  CHECK(loaded.db(0).find("before") != nullptr);
  CHECK(loaded.db(0).find("after") == nullptr);
  CHECK(loaded.db(3).find("other-db") != nullptr);
}

TEST_CASE("rdb child: a reader that goes away makes it fail; kill() reaps it") {
  Keyspace keyspace(1);
  for (int i = 0; i < 20000; i++) keyspace.db(0).set("key:" + std::to_string(i), Value(std::string(100, 'v')));
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  RdbChild child;
  RdbSaveOptions options;
  options.compress = false;
  REQUIRE(child.start(keyspace, options, write_end.get()));
  write_end.reset();
  read_end.reset();  // nobody reads: the child's writes fail
  CHECK(child.wait(5000) == RdbChild::Status::kFailed);

  int more[2];
  REQUIRE(::pipe2(more, O_CLOEXEC) == 0);
  UniqueFd keep_read(more[0]);
  UniqueFd keep_write(more[1]);
  REQUIRE(child.start(keyspace, options, keep_write.get()));
  CHECK(child.wait(50) == RdbChild::Status::kRunning);  // blocked on the full pipe
  child.kill();
  CHECK(child.pid() == -1);
}

}  // namespace rd
