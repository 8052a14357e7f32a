#include "protocol/request_parser.h"

#include <cctype>
#include <climits>
#include <cstring>

namespace rd {
namespace {

// The integer rules of a RESP length line: what Redis's string2ll accepts.
bool parse_length(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  size_t i = 0;
  bool negative = false;
  if (s[0] == '-') {
    negative = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  if (s[i] == '0') {
    if (s.size() == i + 1 && !negative) {
      *out = 0;
      return true;
    }
    return false;
  }
  uint64_t value = 0;
  for (; i < s.size(); i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  if (negative) {
    if (value > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *out = static_cast<int64_t>(0 - value);
  } else {
    if (value > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(value);
  }
  return true;
}

bool is_hex_digit(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

// Argument arrays past this many entries are freed after their command instead of being kept
// for the next one: a single huge command (SADD with 100k members) must not pin megabytes for
// the life of the connection (used_memory would not come back down, as in Redis it does).
constexpr size_t kKeptArgsCapacity = 1024;

template <typename T>
void clear_and_trim(std::vector<T>& v) {
  if (v.capacity() > kKeptArgsCapacity) {
    std::vector<T>().swap(v);
  } else {
    v.clear();
  }
}

void RequestParser::reset_command_state() {
  expected_args_ = -1;
  scan_pos_ = 0;
  clear_and_trim(spans_);
}

RequestParser::Status RequestParser::fail(std::string message) {
  // Redis replaces CR/LF in error texts so the reply stays one line.
  for (char& c : message) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  error_ = std::move(message);
  reset_command_state();
  return Status::kError;
}

RequestParser::Status RequestParser::parse(std::string_view input) {
  clear_and_trim(args_);
  size_t start = 0;
  // Skip empty commands; scan_pos_ > 0 means we are resuming inside a multibulk command.
  while (true) {
    if (scan_pos_ == 0 && expected_args_ < 0) {
      if (start >= input.size()) {
        consumed_ = start;
        return Status::kNeedMore;
      }
      last_inline_ = input[start] != '*';
    }
    Status status = last_inline_ ? parse_inline(input, start) : parse_multibulk(input, start);
    if (status == Status::kCommand && args_.empty()) {
      start = consumed_;  // an empty command: keep going
      continue;
    }
    if (status == Status::kNeedMore) consumed_ = start;
    return status;
  }
}

RequestParser::Status RequestParser::parse_multibulk(std::string_view input, size_t start) {
  std::string_view cmd = input.substr(start);
  if (expected_args_ < 0) {
    const void* cr = std::memchr(cmd.data(), '\r', cmd.size());
    if (cr == nullptr) {
      if (cmd.size() > kProtoInlineMaxSize) return fail("ERR Protocol error: too big mbulk count string");
      return Status::kNeedMore;
    }
    size_t line_end = static_cast<const char*>(cr) - cmd.data();
    if (line_end + 2 > cmd.size()) return Status::kNeedMore;  // the '\n' is not here yet
    int64_t count = 0;
    if (!parse_length(cmd.substr(1, line_end - 1), &count) || count > INT_MAX) {
      return fail("ERR Protocol error: invalid multibulk length");
    }
    if (count > 10 && auth_required_) {
      return fail("ERR Protocol error: unauthenticated multibulk length");
    }
    scan_pos_ = line_end + 2;
    if (count <= 0) {  // "*0" and "*-1" are empty commands
      consumed_ = start + scan_pos_;
      reset_command_state();
      return Status::kCommand;
    }
    expected_args_ = count;
  }

  while (static_cast<int64_t>(spans_.size()) < expected_args_) {
    std::string_view rest = cmd.substr(scan_pos_);
    const void* cr = std::memchr(rest.data(), '\r', rest.size());
    if (cr == nullptr) {
      if (rest.size() > kProtoInlineMaxSize) return fail("ERR Protocol error: too big bulk count string");
      return Status::kNeedMore;
    }
    size_t line_end = static_cast<const char*>(cr) - rest.data();
    if (line_end + 2 > rest.size()) return Status::kNeedMore;
    if (rest[0] != '$') {
      return fail(std::string("ERR Protocol error: expected '$', got '") + rest[0] + "'");
    }
    int64_t length = 0;
    if (!parse_length(rest.substr(1, line_end - 1), &length) || length < 0 ||
        length > max_bulk_len_) {
      return fail("ERR Protocol error: invalid bulk length");
    }
    if (length > 16384 && auth_required_) {
      return fail("ERR Protocol error: unauthenticated bulk length");
    }
    // Like Redis, the two bytes after the payload are skipped without being checked.
    size_t payload = line_end + 2;
    if (rest.size() < payload + static_cast<size_t>(length) + 2) return Status::kNeedMore;
    spans_.push_back({scan_pos_ + payload, static_cast<size_t>(length)});
    scan_pos_ += payload + static_cast<size_t>(length) + 2;
  }

  args_.reserve(spans_.size());
  for (const ArgSpan& span : spans_) args_.emplace_back(cmd.data() + span.offset, span.length);
  consumed_ = start + scan_pos_;
  reset_command_state();
  return Status::kCommand;
}

RequestParser::Status RequestParser::parse_inline(std::string_view input, size_t start) {
  std::string_view rest = input.substr(start);
  // Redis looks for the newline with strchr: a NUL byte hides everything after it, so such a
  // line never completes (until the size limit trips), and we behave the same.
  const void* nul = std::memchr(rest.data(), '\0', rest.size());
  size_t searchable = nul == nullptr ? rest.size() : static_cast<size_t>(static_cast<const char*>(nul) - rest.data());
  const void* nl = std::memchr(rest.data(), '\n', searchable);
  if (nl == nullptr) {
    if (rest.size() > kProtoInlineMaxSize) return fail("ERR Protocol error: too big inline request");
    return Status::kNeedMore;
  }
  size_t newline = static_cast<const char*>(nl) - rest.data();
  // Redis reads 16 KB at a time and gives up once 64 KB have arrived without a newline.
  if (newline >= kProtoInlineMaxSize + 16 * 1024) return fail("ERR Protocol error: too big inline request");
  size_t line_length = newline;
  if (line_length > 0 && rest[line_length - 1] == '\r') line_length--;
  inline_storage_.clear();
  if (!split_args(rest.substr(0, line_length), &inline_storage_)) {
    return fail("ERR Protocol error: unbalanced quotes in request");
  }
  args_.clear();
  for (const std::string& arg : inline_storage_) args_.emplace_back(arg);
  consumed_ = start + newline + 1;
  return Status::kCommand;
}

bool RequestParser::split_args(std::string_view line, std::vector<std::string>* out) {
  // Redis treats the line as a C string: a NUL byte ends it.
  if (size_t nul = line.find('\0'); nul != std::string_view::npos) line = line.substr(0, nul);
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    while (i < n && is_space(line[i])) i++;
    if (i >= n) return true;
    std::string current;
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      if (in_double) {
        if (i >= n) return false;  // unterminated quotes
        if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x' && is_hex_digit(line[i + 2]) &&
            is_hex_digit(line[i + 3])) {
          current.push_back(static_cast<char>(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3])));
          i += 3;
        } else if (line[i] == '\\' && i + 1 < n) {
          i++;
          char c = line[i];
          switch (c) {
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'b': c = '\b'; break;
            case 'a': c = '\a'; break;
            default: break;
          }
          current.push_back(c);
        } else if (line[i] == '"') {
          // A closing quote must be followed by a space or the end.
          if (i + 1 < n && !is_space(line[i + 1])) return false;
          done = true;
        } else {
          current.push_back(line[i]);
        }
      } else if (in_single) {
        if (i >= n) return false;
        if (line[i] == '\\' && i + 1 < n && line[i + 1] == '\'') {
          i++;
          current.push_back('\'');
        } else if (line[i] == '\'') {
          if (i + 1 < n && !is_space(line[i + 1])) return false;
          done = true;
        } else {
          current.push_back(line[i]);
        }
      } else {
        if (i >= n) {
          done = true;
          continue;
        }
        switch (line[i]) {
          case ' ': case '\n': case '\r': case '\t': case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            current.push_back(line[i]);
            break;
        }
      }
      if (i < n) i++;
    }
    out->push_back(std::move(current));
  }
}

}  // namespace rd
