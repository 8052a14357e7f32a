// Helpers shared by the hash and set command families: HSCAN/SSCAN arguments, the empty SCAN
// reply, and a cheap random source for sampling commands (HRANDFIELD, SRANDMEMBER, SPOP).
#pragma once

#include <cstdint>
#include <string_view>

#include "server/command_context.h"

namespace rd {

// A splitmix64 generator seeded once per command from Server::random64(), which takes a lock
// per call: sampling thousands of members must not take thousands of locks.
class CommandRandom {
 public:
  explicit CommandRandom(uint64_t seed) : state_(seed) {}
  uint64_t operator()() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

CommandRandom command_random(CommandContext& ctx);

// The COUNT and MATCH options of HSCAN/SSCAN.
struct ScanOptions {
  int64_t count = 10;
  std::string_view pattern;
  bool has_pattern = false;  // false for "*" too: Redis skips matching then

  bool matches(std::string_view element) const;
};

// A collection SCAN cursor as Redis 7.0 parses it (strtoul: "+5", "-1" and "" are accepted,
// a leading space or trailing byte is not). Replies "ERR invalid cursor" on failure.
bool parse_collection_cursor(CommandContext& ctx, std::string_view text, uint64_t* cursor);
// Parses COUNT/MATCH from argv[first...]; replies the Redis error on failure.
bool parse_collection_scan_options(CommandContext& ctx, size_t first, ScanOptions* options);
// What HSCAN/SSCAN reply for a missing key: cursor 0 and no elements.
void reply_empty_scan(Reply& reply);

// Walks a collection with `step(cursor) -> next cursor` until `visited()` reaches COUNT, the
// walk ends, or 10*COUNT steps were taken (Redis's guard against sparse tables).
template <typename Step, typename Visited>
uint64_t scan_until_count(uint64_t cursor, int64_t count, Step&& step, Visited&& visited) {
  int64_t budget = count > INT64_MAX / 10 ? INT64_MAX : count * 10;
  do {
    cursor = step(cursor);
  } while (cursor != 0 && budget-- > 0 && static_cast<int64_t>(visited()) < count);
  return cursor;
}

}  // namespace rd
