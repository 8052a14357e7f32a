// Incremental parser for client requests: RESP multibulk ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
// and inline commands ("GET k\r\n"), with Redis 7.0's limits and exact protocol error texts.
//
// The parser never copies multibulk arguments: args() are views into the caller's buffer.
// It keeps its progress inside the current command between calls, so a large command that
// arrives in many reads is scanned once. Offsets are relative to the start of the current
// command, so the caller may move the unconsumed bytes (compaction) between calls as long as
// the first unconsumed byte stays the first byte it passes in.
//
// Not thread-safe: one parser per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rd {

inline constexpr size_t kProtoInlineMaxSize = 64 * 1024;            // PROTO_INLINE_MAX_SIZE
inline constexpr int64_t kDefaultProtoMaxBulkLen = 512LL * 1024 * 1024;

class RequestParser {
 public:
  enum class Status {
    kCommand,   // one command parsed: args() valid, consumed() bytes belong to it
    kNeedMore,  // incomplete: call again with the same bytes and more appended
    kError,     // protocol error: error() holds the reply text; the connection must close
  };

  // Parses the next command from `input`, which must start at the first unconsumed byte.
  // Empty commands (blank inline lines, "*0", "*-1") are skipped and counted in consumed().
  // After kCommand and after kNeedMore the caller must drop consumed() bytes: the next call's
  // input starts right after them.
  Status parse(std::string_view input);

  // Valid after kCommand until the next parse() call or until the buffer changes.
  const std::vector<std::string_view>& args() const { return args_; }
  // Bytes of `input` used by the returned command (and any skipped empty commands).
  size_t consumed() const { return consumed_; }
  // The error reply text without the leading '-' (e.g. "ERR Protocol error: ...").
  const std::string& error() const { return error_; }

  // The largest bulk length accepted (proto-max-bulk-len). A master link has no limit.
  void set_max_bulk_len(int64_t limit) { max_bulk_len_ = limit; }
  // While a password is required and not yet given, Redis caps request sizes much lower.
  void set_auth_required(bool required) { auth_required_ = required; }
  // True when the last command parsed was an inline one (replicas use empty inline lines).
  bool last_was_inline() const { return last_inline_; }

  // Splits an inline command line the way Redis does (quotes, escapes). Returns false on
  // unbalanced quotes. Exposed for tests and for config-file parsing.
  static bool split_args(std::string_view line, std::vector<std::string>* out);

 private:
  Status parse_multibulk(std::string_view input, size_t start);
  Status parse_inline(std::string_view input, size_t start);
  Status fail(std::string message);
  void reset_command_state();

  struct ArgSpan {
    size_t offset;
    size_t length;
  };

  // Progress inside the current multibulk command, relative to its first byte.
  int64_t expected_args_ = -1;   // -1 until the "*N" line is read
  size_t scan_pos_ = 0;          // where the next unread header starts
  std::vector<ArgSpan> spans_;

  std::vector<std::string_view> args_;
  std::vector<std::string> inline_storage_;  // inline arguments are unescaped copies
  size_t consumed_ = 0;
  std::string error_;
  int64_t max_bulk_len_ = kDefaultProtoMaxBulkLen;
  bool auth_required_ = false;
  bool last_inline_ = false;
};

}  // namespace rd
