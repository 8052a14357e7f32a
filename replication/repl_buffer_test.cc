#include "replication/repl_buffer.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "server/fd.h"

namespace rd {
namespace {

std::string read_all(ReplBuffer& buffer, ReplBuffer::Reader* reader, size_t chunk = 1 << 20) {
  std::string out, piece;
  while (buffer.read(reader, &piece, chunk) > 0) out += piece;
  return out;
}

bool eventfd_signalled(int fd) {
  uint64_t value = 0;
  return ::read(fd, &value, sizeof(value)) == sizeof(value);
}

}  // namespace

TEST_CASE("repl buffer: offsets and backlog window") {
  ReplBuffer buffer(100);
  CHECK(buffer.end_offset() == 0);
  CHECK(buffer.first_offset() == 1);
  CHECK(buffer.history_length() == 0);
  CHECK(buffer.can_resume_from(1));
  CHECK_FALSE(buffer.can_resume_from(2));
  buffer.append("hello");
  CHECK(buffer.end_offset() == 5);
  CHECK(buffer.history_length() == 5);
  CHECK(buffer.can_resume_from(1));
  CHECK(buffer.can_resume_from(6));
  CHECK_FALSE(buffer.can_resume_from(7));
  buffer.append(std::string(200, 'x'));
  CHECK(buffer.end_offset() == 205);
  CHECK(buffer.history_length() == 100);
  CHECK(buffer.first_offset() == 106);
  CHECK_FALSE(buffer.can_resume_from(105));
  CHECK(buffer.can_resume_from(106));
}

TEST_CASE("repl buffer: reset starts a new history after an offset") {
  ReplBuffer buffer(1000);
  buffer.append("abc");
  buffer.reset(50);
  CHECK(buffer.end_offset() == 50);
  CHECK(buffer.first_offset() == 51);
  CHECK(buffer.history_length() == 0);
  buffer.append("xy");
  CHECK(buffer.end_offset() == 52);
  CHECK(buffer.can_resume_from(51));
  auto* reader = buffer.add_reader(50, -1, nullptr);
  CHECK(read_all(buffer, reader) == "xy");
  buffer.remove_reader(reader);
}

TEST_CASE("repl buffer: readers get every byte in order across blocks, in small chunks") {
  ReplBuffer buffer(10);
  auto* reader = buffer.add_reader(0, -1, nullptr);
  std::string expected;
  for (int i = 0; i < 5000; i++) {
    std::string piece = "cmd" + std::to_string(i) + std::string(static_cast<size_t>(i % 97), 'p') + ";";
    buffer.append(piece);
    expected += piece;
  }
  CHECK(expected.size() > 3 * ReplBuffer::kBlockSize);
  CHECK(read_all(buffer, reader, 777) == expected);
  CHECK(buffer.lag(reader) == 0);
  // Once read, only the backlog window (plus the block being filled) stays in memory.
  CHECK(buffer.memory() <= 2 * static_cast<int64_t>(ReplBuffer::kBlockSize));
  buffer.remove_reader(reader);
}

TEST_CASE("repl buffer: a lagging reader keeps its bytes; others do not pin them") {
  ReplBuffer buffer(16);
  auto* slow = buffer.add_reader(0, -1, nullptr);
  auto* fast = buffer.add_reader(0, -1, nullptr);
  std::string all(3 * ReplBuffer::kBlockSize + 5, 'a');
  for (size_t i = 0; i < all.size(); i++) all[i] = static_cast<char>('a' + i % 26);
  buffer.append(all);
  CHECK(read_all(buffer, fast) == all);
  CHECK(buffer.memory() == static_cast<int64_t>(all.size()));
  CHECK(read_all(buffer, slow, 1000) == all);
  CHECK(buffer.memory() <= 2 * static_cast<int64_t>(ReplBuffer::kBlockSize));
  buffer.remove_reader(slow);
  buffer.remove_reader(fast);
}

TEST_CASE("repl buffer: a reader resuming inside the backlog gets only the missing bytes") {
  ReplBuffer buffer(1000);
  buffer.append("0123456789");
  REQUIRE(buffer.can_resume_from(4));
  auto* reader = buffer.add_reader(3, -1, nullptr);
  CHECK(read_all(buffer, reader) == "3456789");
  buffer.remove_reader(reader);
}

TEST_CASE("repl buffer: partial resync registration checks the window atomically") {
  ReplBuffer buffer(10);
  buffer.append(std::string(30, 'x'));
  CHECK(buffer.add_reader_if_resumable(5, -1, nullptr) == nullptr);  // older than the window
  CHECK(buffer.add_reader_if_resumable(31, -1, nullptr) == nullptr);  // beyond the end
  auto* reader = buffer.add_reader_if_resumable(25, -1, nullptr);
  REQUIRE(reader != nullptr);
  CHECK(read_all(buffer, reader) == "xxxxx");
  buffer.remove_reader(reader);
}

TEST_CASE("repl buffer: wake-up only when armed and data arrives") {
  ReplBuffer buffer(1000);
  UniqueFd wake(::eventfd(0, EFD_NONBLOCK));
  auto* reader = buffer.add_reader(0, wake.get(), nullptr);
  buffer.append("a");
  CHECK_FALSE(eventfd_signalled(wake.get()));  // not armed: the reader is busy
  CHECK_FALSE(buffer.arm_wakeup(reader));      // bytes are waiting: read instead of sleeping
  read_all(buffer, reader);
  CHECK(buffer.arm_wakeup(reader));
  buffer.append("b");
  CHECK(eventfd_signalled(wake.get()));
  buffer.append("c");
  CHECK_FALSE(eventfd_signalled(wake.get()));  // one wake-up per arming
  buffer.remove_reader(reader);
}

TEST_CASE("repl buffer: the hard limit cuts a reader off and releases its bytes") {
  ReplBuffer buffer(10);
  ReplBuffer::Limits limits;
  limits.hard = 1000;
  buffer.set_limits(limits);
  int cuts = 0;
  auto* reader = buffer.add_reader(0, -1, [&] { cuts++; });
  buffer.append(std::string(900, 'x'));
  CHECK_FALSE(buffer.cut_off(reader));
  buffer.append(std::string(200, 'x'));
  CHECK(buffer.cut_off(reader));
  CHECK(cuts == 1);
  std::string out;
  CHECK(buffer.read(reader, &out, 100) == 0);
  buffer.append(std::string(ReplBuffer::kBlockSize, 'y'));
  CHECK(cuts == 1);
  CHECK(buffer.memory() <= static_cast<int64_t>(ReplBuffer::kBlockSize) * 2);
  buffer.remove_reader(reader);
}

TEST_CASE("repl buffer: reset cuts off readers of the old history") {
  ReplBuffer buffer(100);
  int cuts = 0;
  auto* reader = buffer.add_reader(0, -1, [&] { cuts++; });
  buffer.append("abc");
  buffer.reset(10);
  CHECK(cuts == 1);
  CHECK(buffer.cut_off(reader));
  buffer.remove_reader(reader);
}

}  // namespace rd
