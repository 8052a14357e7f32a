#include "server/notify.h"

#include "server/server.h"
#include "storage/numbers.h"

namespace rd {
namespace {

struct FlagChar {
  char c;
  uint32_t bits;
};

constexpr FlagChar kFlagChars[] = {
    {'g', notify_bit(NotifyClass::kGeneric)}, {'$', notify_bit(NotifyClass::kString)},
    {'l', notify_bit(NotifyClass::kList)},    {'s', notify_bit(NotifyClass::kSet)},
    {'h', notify_bit(NotifyClass::kHash)},    {'z', notify_bit(NotifyClass::kZset)},
    {'x', notify_bit(NotifyClass::kExpired)}, {'e', notify_bit(NotifyClass::kEvicted)},
    {'t', notify_bit(NotifyClass::kStream)},  {'d', notify_bit(NotifyClass::kModule)},
    {'n', notify_bit(NotifyClass::kNew)},     {'K', notify_bit(NotifyClass::kKeyspace)},
    {'E', notify_bit(NotifyClass::kKeyevent)}, {'m', notify_bit(NotifyClass::kKeyMiss)},
};

}  // namespace

bool parse_notify_flags(std::string_view text, uint32_t* flags) {
  uint32_t result = 0;
  for (char c : text) {
    if (c == '\0') break;  // Redis reads the value as a C string
    if (c == 'A') {
      result |= kNotifyAll;
      continue;
    }
    bool known = false;
    for (const FlagChar& f : kFlagChars) {
      if (f.c == c) {
        result |= f.bits;
        known = true;
        break;
      }
    }
    if (!known) return false;
  }
  *flags = result;
  return true;
}

std::string format_notify_flags(uint32_t flags) {
  std::string out;
  if ((flags & kNotifyAll) == kNotifyAll) {
    out += 'A';
  } else {
    // The class characters, in Redis's order (g $ l s h z x e t d n).
    for (const FlagChar& f : kFlagChars) {
      if (f.c == 'K') break;
      if (flags & f.bits) out += f.c;
    }
  }
  if (flags & notify_bit(NotifyClass::kKeyspace)) out += 'K';
  if (flags & notify_bit(NotifyClass::kKeyevent)) out += 'E';
  if (flags & notify_bit(NotifyClass::kKeyMiss)) out += 'm';
  return out;
}

void publish_keyspace_event(Server& server, uint32_t flags, std::string_view event, std::string_view key, int db) {
  const size_t limit = static_cast<size_t>(server.pubsub_hard_limit.load(std::memory_order_relaxed));
  char db_text[kInt64BufSize];
  const std::string_view db_view(db_text, format_int64(db, db_text));
  std::string channel;
  if (flags & notify_bit(NotifyClass::kKeyspace)) {
    channel.reserve(16 + db_view.size() + key.size());
    channel.append("__keyspace@").append(db_view).append("__:").append(key);
    server.pubsub.publish(channel, event, limit);
  }
  if (flags & notify_bit(NotifyClass::kKeyevent)) {
    channel.clear();
    channel.append("__keyevent@").append(db_view).append("__:").append(event);
    server.pubsub.publish(channel, key, limit);
  }
}

}  // namespace rd
