#include "server/monitor.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "server/client.h"
#include "server/slowlog.h"

namespace rd {
namespace {

// Quotes an argument the way Redis's MONITOR shows it (C-style escapes, \xHH otherwise).
void append_quoted(std::string* out, std::string_view arg) {
  out->push_back('"');
  for (unsigned char c : arg) {
    switch (c) {
      case '\\': out->append("\\\\"); break;
      case '"': out->append("\\\""); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\a': out->append("\\a"); break;
      case '\b': out->append("\\b"); break;
      default:
        if (std::isprint(c)) {
          out->push_back(static_cast<char>(c));
        } else {
          char hex[8];
          std::snprintf(hex, sizeof(hex), "\\x%02x", c);
          out->append(hex);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

void Monitors::add(const std::shared_ptr<Client>& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  monitors_.push_back(client);
  count_.store(static_cast<int>(monitors_.size()), std::memory_order_relaxed);
}

void Monitors::remove(const Client& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  monitors_.erase(std::remove_if(monitors_.begin(), monitors_.end(),
                                 [&](const std::shared_ptr<Client>& c) { return c.get() == &client; }),
                  monitors_.end());
  count_.store(static_cast<int>(monitors_.size()), std::memory_order_relaxed);
}

void Monitors::feed(const Client& source, int db, const CommandSpec& spec, const std::string_view* args,
                    size_t count) {
  const std::vector<bool> hidden = redacted_positions(spec, args, count);
  int64_t us = unix_time_us();
  char prefix[96];
  std::snprintf(prefix, sizeof(prefix), "+%lld.%06lld [%d ", static_cast<long long>(us / 1000000),
                static_cast<long long>(us % 1000000), db);
  std::string line = prefix;
  line += source.has_flag(kClientScript) ? "lua" : source.peer_address;
  line += "]";
  for (size_t i = 0; i < count; i++) {
    line.push_back(' ');
    append_quoted(&line, hidden[i] ? kRedactedArgument : args[i]);
  }
  line += "\r\n";
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::shared_ptr<Client>& monitor : monitors_) monitor->deliver(line, 0);
}

}  // namespace rd
