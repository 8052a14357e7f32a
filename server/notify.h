// Keyspace notifications (notify-keyspace-events), as Redis 7.0 sends them.
//
// A write publishes, for each event, "__keyspace@<db>__:<key>" with the event name as the
// message (flag K) and/or "__keyevent@<db>__:<event>" with the key as the message (flag E),
// when the event's class is enabled. Handlers call ctx.notify(NotifyClass::kString, "set", key)
// right after the change, in Redis's order; the call costs one relaxed atomic load when the
// class is off. Publishing happens under the keyspace lock (order keyspace -> pubsub).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rd {

class Server;

// Bit values of notify-keyspace-events' characters.
enum class NotifyClass : uint32_t {
  kKeyspace = 1u << 0,   // K: publish on __keyspace@<db>__:<key>
  kKeyevent = 1u << 1,   // E: publish on __keyevent@<db>__:<event>
  kGeneric = 1u << 2,    // g: del, expire, persist, rename_from/to, copy_to, move_from/to, ...
  kString = 1u << 3,     // $
  kList = 1u << 4,       // l
  kSet = 1u << 5,        // s
  kHash = 1u << 6,       // h
  kZset = 1u << 7,       // z
  kExpired = 1u << 8,    // x: a key deleted because its TTL passed ("expired")
  kEvicted = 1u << 9,    // e: maxmemory eviction ("evicted")
  kStream = 1u << 10,    // t
  kKeyMiss = 1u << 11,   // m: a read of a missing key ("keymiss"); not part of A
  kModule = 1u << 12,    // d
  kNew = 1u << 13,       // n: a key was created ("new"); not part of A
};

inline constexpr uint32_t notify_bit(NotifyClass c) { return static_cast<uint32_t>(c); }

// "A": every class but keymiss and new.
inline constexpr uint32_t kNotifyAll =
    notify_bit(NotifyClass::kGeneric) | notify_bit(NotifyClass::kString) | notify_bit(NotifyClass::kList) |
    notify_bit(NotifyClass::kSet) | notify_bit(NotifyClass::kHash) | notify_bit(NotifyClass::kZset) |
    notify_bit(NotifyClass::kExpired) | notify_bit(NotifyClass::kEvicted) | notify_bit(NotifyClass::kStream) |
    notify_bit(NotifyClass::kModule);

// Parses a notify-keyspace-events value ("KEA", "Ex", ""). False on an unknown character.
bool parse_notify_flags(std::string_view text, uint32_t* flags);

// The value as CONFIG GET prints it: "A" when every class of A is on (then, like Redis 7.0,
// the n flag is not shown even when set), else the classes in the order g$lshzxetdn; then
// K, E and m. parse(format(f)) may thus lose n, exactly as in Redis.
std::string format_notify_flags(uint32_t flags);

// What the hot path tests: the flags, or 0 when neither K nor E is set (nothing to publish).
inline constexpr uint32_t effective_notify_flags(uint32_t flags) {
  return (flags & (notify_bit(NotifyClass::kKeyspace) | notify_bit(NotifyClass::kKeyevent))) != 0 ? flags : 0;
}

// Publishes one event on the channels `flags` selects (K and/or E). Callers test the class
// first (CommandContext::notify, Server::notify).
void publish_keyspace_event(Server& server, uint32_t flags, std::string_view event, std::string_view key, int db);

}  // namespace rd
