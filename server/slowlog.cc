#include "server/slowlog.h"

#include <algorithm>
#include <ctime>

#include "server/client.h"
#include "server/command_context.h"
#include "storage/numbers.h"

namespace rd {
namespace {

constexpr size_t kMaxArgs = 32;         // more are summed up in the last one
constexpr size_t kMaxArgLength = 128;   // longer ones are cut

}  // namespace

// Which arguments Redis replaces by "(redacted)" before the slow log sees them. Each command
// redacts while parsing, so only what its parser reached is hidden (mirrored here).
std::vector<bool> redacted_positions(const CommandSpec& spec, const std::string_view* argv, size_t argc) {
  std::vector<bool> hidden(argc, false);
  const std::string& name = spec.name;
  if (name == "auth") {
    if (argc <= 3) std::fill(hidden.begin() + 1, hidden.end(), true);
  } else if (name == "hello") {
    int64_t version = 0;
    if (argc < 2 || !string_to_int64(argv[1], &version) || version < 2 || version > 3) return hidden;
    for (size_t j = 2; j < argc; j++) {
      const size_t more = argc - 1 - j;
      if (equals_ignore_case(argv[j], "auth") && more >= 2) {
        hidden[j + 1] = hidden[j + 2] = true;
        j += 2;
      } else if (equals_ignore_case(argv[j], "setname") && more >= 1) {
        j++;
      } else {
        break;
      }
    }
  } else if (name == "acl|setuser") {  // the user name and every rule (passwords)
    std::fill(hidden.begin() + std::min<size_t>(2, argc), hidden.end(), true);
  } else if (name == "config|set") {
    if (argc % 2 != 0) return hidden;
    for (size_t j = 2; j + 1 < argc; j += 2) {
      if (equals_ignore_case(argv[j], "requirepass") || equals_ignore_case(argv[j], "masterauth") ||
          equals_ignore_case(argv[j], "masteruser")) {
        hidden[j + 1] = true;
      }
    }
  } else if (name == "migrate") {
    for (size_t j = 6; j < argc; j++) {
      const size_t more = argc - 1 - j;
      if (equals_ignore_case(argv[j], "copy") || equals_ignore_case(argv[j], "replace")) continue;
      if (equals_ignore_case(argv[j], "auth") && more >= 1) {
        hidden[++j] = true;
      } else if (equals_ignore_case(argv[j], "auth2") && more >= 2) {
        hidden[j + 1] = hidden[j + 2] = true;
        j += 2;
      } else {
        break;  // KEYS (the rest are keys) or a syntax error
      }
    }
  }
  return hidden;
}

namespace {

std::string trimmed(std::string_view arg) {
  if (arg.size() <= kMaxArgLength) return std::string(arg);
  char count[kInt64BufSize];
  size_t n = format_int64(static_cast<int64_t>(arg.size() - kMaxArgLength), count);
  std::string out(arg.substr(0, kMaxArgLength));
  out.append("... (").append(count, n).append(" more bytes)");
  return out;
}

}  // namespace

std::vector<std::string> SlowLog::logged_args(const CommandSpec& spec, const std::string_view* argv, size_t argc) {
  const std::vector<bool> hidden = redacted_positions(spec, argv, argc);
  const size_t kept = argc > kMaxArgs ? kMaxArgs - 1 : argc;
  std::vector<std::string> args;
  args.reserve(std::min(argc, kMaxArgs));
  for (size_t i = 0; i < kept; i++) args.push_back(hidden[i] ? std::string(kRedactedArgument) : trimmed(argv[i]));
  if (argc > kMaxArgs) {
    char count[kInt64BufSize];
    size_t n = format_int64(static_cast<int64_t>(argc - kept), count);
    args.push_back("... (" + std::string(count, n) + " more arguments)");
  }
  return args;
}

namespace {
// Entries of served blocked commands waiting for their writer's entry (see
// maybe_record_after_writer); a dispatcher thread runs one writer at a time.
thread_local std::vector<SlowLog::Entry> waiting_entries;
}  // namespace

SlowLog::Entry SlowLog::make_entry(const Client& client, const CommandSpec& spec, const std::string_view* argv,
                                   size_t argc, int64_t duration_us) const {
  Entry entry;
  entry.unix_time = static_cast<int64_t>(std::time(nullptr));
  entry.duration_us = duration_us;
  entry.args = logged_args(spec, argv, argc);
  entry.client_address = client.peer_address;
  entry.client_name = client.name();
  return entry;
}

void SlowLog::record(const Client& client, const CommandSpec& spec, const std::string_view* argv, size_t argc,
                     int64_t duration_us) {
  append(make_entry(client, spec, argv, argc, duration_us));
}

void SlowLog::maybe_record_after_writer(const Client& client, const CommandSpec& spec, const std::string_view* argv,
                                        size_t argc, int64_t duration_us) {
  const int64_t threshold = threshold_us_.load(std::memory_order_relaxed);
  if (threshold < 0 || duration_us < threshold || spec.has(kCmdSkipSlowlog)) return;
  // Built now: the served client may be gone once the writer's lock is released.
  waiting_entries.push_back(make_entry(client, spec, argv, argc, duration_us));
}

bool SlowLog::has_waiting_entries() { return !waiting_entries.empty(); }

void SlowLog::flush_waiting_entries() {
  std::vector<Entry> entries;
  entries.swap(waiting_entries);
  for (Entry& entry : entries) append(std::move(entry));
}

void SlowLog::append(Entry entry) {
  std::lock_guard<std::mutex> lock(mutex_);
  entry.id = next_id_++;
  entries_.push_front(std::move(entry));
  // Like Redis, a lowered slowlog-max-len takes effect at the next entry.
  const size_t max_len = static_cast<size_t>(std::max<int64_t>(0, max_len_.load(std::memory_order_relaxed)));
  while (entries_.size() > max_len) entries_.pop_back();
}

std::vector<SlowLog::Entry> SlowLog::newest(int64_t count) const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = count < 0 ? entries_.size() : std::min(entries_.size(), static_cast<size_t>(count));
  return std::vector<Entry>(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(n));
}

size_t SlowLog::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

void SlowLog::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
}

}  // namespace rd
