#include "server/tracking.h"

#include <algorithm>

#include "server/client.h"

namespace rd {
namespace {

constexpr uint32_t kModeFlags = kClientTrackingBrokenRedir | kClientTrackingBcast | kClientTrackingOptin |
                                kClientTrackingOptout | kClientTrackingNoloop;

// Redis keeps a key's readers in a radix tree of their raw 8-byte ids, so several readers
// are told in the byte order of the ids as stored (little-endian here). The same order keeps
// the messages of several clients in the order Redis sends them.
bool redis_id_order(uint64_t a, uint64_t b) { return __builtin_bswap64(a) < __builtin_bswap64(b); }

void append_bulk(std::string* out, std::string_view text) {
  out->append("$").append(std::to_string(text.size())).append("\r\n");
  out->append(text).append("\r\n");
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.compare(0, prefix.size(), prefix) == 0;
}

// Redis's overlap test: one string is a prefix of the other.
bool overlap(std::string_view a, std::string_view b) { return starts_with(a, b) || starts_with(b, a); }

// A client whose connection is going away counts as gone: a redirect to it is broken.
bool gone(const Client& client) { return client.killed() || client.has_flag(kClientCloseAfterReply); }

}  // namespace

Tracking::Tracking(ClientLookup lookup, std::atomic<uint64_t>* output_bytes, const std::atomic<int64_t>* pubsub_limit)
    : lookup_(std::move(lookup)), output_bytes_(output_bytes), pubsub_limit_(pubsub_limit) {}

void Tracking::refresh_locked() {
  key_count_.store(static_cast<int64_t>(keys_.size()), std::memory_order_relaxed);
  armed_.store(!keys_.empty() || !prefixes_.empty(), std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------------------
// Per-client settings

void Tracking::enable(Client& client, const TrackingOptions& options) {
  std::lock_guard<std::mutex> lock(mutex_);
  clients_[client.id] = &client;
  client.clear_flag(static_cast<ClientFlag>(kModeFlags));
  client.set_flag(kClientTracking);
  client.tracking_redirect.store(options.redirect, std::memory_order_relaxed);
  if (options.bcast) {
    client.set_flag(kClientTrackingBcast);
    std::vector<std::string> wanted = options.prefixes;
    if (wanted.empty()) wanted.emplace_back();  // no prefix: every key
    for (const std::string& prefix : wanted) {
      client.tracking_prefixes.insert(prefix);
      prefixes_[prefix].clients[client.id] = &client;
    }
  }
  if (options.optin) client.set_flag(kClientTrackingOptin);
  if (options.optout) client.set_flag(kClientTrackingOptout);
  if (options.noloop) client.set_flag(kClientTrackingNoloop);
  refresh_locked();
}

void Tracking::disable(Client& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::string& prefix : client.tracking_prefixes) {
    auto it = prefixes_.find(prefix);
    if (it == prefixes_.end()) continue;
    it->second.clients.erase(client.id);
    if (it->second.clients.empty()) prefixes_.erase(it);  // with the changes no one will hear of
  }
  client.tracking_prefixes.clear();
  clients_.erase(client.id);
  client.clear_flag(static_cast<ClientFlag>(kModeFlags | kClientTracking));
  client.tracking_caching = false;
  refresh_locked();
}

bool Tracking::overlapping_prefix(const Client& client, std::string_view prefix, std::string* existing) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::string& mine : client.tracking_prefixes) {
    if (overlap(prefix, mine)) {
      *existing = mine;
      return true;
    }
  }
  return false;
}

std::vector<std::string> Tracking::prefixes(const Client& client) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::vector<std::string>(client.tracking_prefixes.begin(), client.tracking_prefixes.end());
}

// ---------------------------------------------------------------------------------------
// Reads and changes

void Tracking::remember(const Client& client, const std::vector<std::string_view>& keys) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (std::string_view key : keys) {
    auto it = keys_.find(key);
    if (it == keys_.end()) it = keys_.emplace(std::string(key), std::vector<uint64_t>()).first;
    std::vector<uint64_t>& ids = it->second;
    auto at = std::lower_bound(ids.begin(), ids.end(), client.id, redis_id_order);
    if (at != ids.end() && *at == client.id) continue;
    ids.insert(at, client.id);
    items_++;
  }
  refresh_locked();
}

void Tracking::invalidate(std::string_view key, uint64_t modifier, const Client* caller) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [prefix, state] : prefixes_) {
    if (!starts_with(key, prefix)) continue;
    state.changed[std::string(key)] = modifier;  // the last modifier decides NOLOOP, as in Redis
    broadcast_pending_.store(true, std::memory_order_relaxed);
  }
  invalidate_locked(key, caller);
}

void Tracking::invalidate_locked(std::string_view key, const Client* caller) {
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  std::vector<uint64_t> ids = std::move(it->second);
  keys_.erase(it);
  items_ -= static_cast<int64_t>(ids.size());
  refresh_locked();
  std::string payload = "*1\r\n";
  append_bulk(&payload, key);
  for (uint64_t id : ids) {
    auto found = clients_.find(id);
    if (found == clients_.end()) continue;  // gone, or tracking off: the entry just expires
    Client& target = *found->second;
    // Keys read before switching to BCAST are not reported (the prefixes cover them).
    if (target.has_flag(kClientTrackingBcast)) continue;
    if (target.has_flag(kClientTrackingNoloop) && &target == caller) continue;
    send_locked(target, payload);
  }
}

void Tracking::invalidate_all() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [id, client] : clients_) {
    // The null is in the tracking client's protocol, even when a redirect delivers it.
    send_locked(*client, client->protocol.load(std::memory_order_relaxed) >= 3 ? "_\r\n" : "$-1\r\n");
  }
  keys_.clear();
  items_ = 0;
  refresh_locked();
}

void Tracking::flush_broadcasts() {
  std::lock_guard<std::mutex> lock(mutex_);
  broadcast_pending_.store(false, std::memory_order_relaxed);
  for (auto& [prefix, state] : prefixes_) {
    if (state.changed.empty()) continue;
    std::string all = "*" + std::to_string(state.changed.size()) + "\r\n";
    for (const auto& [key, modifier] : state.changed) append_bulk(&all, key);
    for (auto& [id, client] : state.clients) {
      if (!client->has_flag(kClientTrackingNoloop)) {
        send_locked(*client, all);
        continue;
      }
      std::string body;  // NOLOOP: without the keys it changed itself
      size_t count = 0;
      for (const auto& [key, modifier] : state.changed) {
        if (modifier == id) continue;
        append_bulk(&body, key);
        count++;
      }
      if (count > 0) send_locked(*client, "*" + std::to_string(count) + "\r\n" + body);
    }
    state.changed.clear();
  }
}

void Tracking::enforce_limit(const Client* caller) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t max = max_keys_.load(std::memory_order_relaxed);
  // Redis picks keys by a random walk of its radix tree; any key will do.
  while (max > 0 && static_cast<int64_t>(keys_.size()) > max) {
    const std::string victim = keys_.begin()->first;
    invalidate_locked(victim, caller);
  }
}

TrackingStats Tracking::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  TrackingStats s;
  s.clients = static_cast<int64_t>(clients_.size());
  s.keys = static_cast<int64_t>(keys_.size());
  s.items = items_;
  s.prefixes = static_cast<int64_t>(prefixes_.size());
  return s;
}

// ---------------------------------------------------------------------------------------
// Delivery

void Tracking::send_locked(Client& tracker, std::string_view keys) {
  Client* receiver = &tracker;
  std::shared_ptr<Client> target;  // keeps the redirect target alive while we write to it
  const uint64_t redirect = tracker.tracking_redirect.load(std::memory_order_relaxed);
  if (redirect != 0) {
    target = lookup_(redirect);
    if (target == nullptr || gone(*target)) {
      tracker.set_flag(kClientTrackingBrokenRedir);
      if (tracker.protocol.load(std::memory_order_relaxed) >= 3) {
        deliver(tracker, ">2\r\n$21\r\ntracking-redir-broken\r\n:" + std::to_string(redirect) + "\r\n");
      }
      return;
    }
    receiver = target.get();
  }
  std::string message;
  if (receiver->protocol.load(std::memory_order_relaxed) >= 3) {
    message = ">2\r\n$10\r\ninvalidate\r\n";
  } else if (target != nullptr && receiver->has_flag(kClientPubSub)) {
    message = "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n";
  } else {
    return;  // a RESP2 connection has no way to receive it
  }
  message.append(keys);
  deliver(*receiver, message);
}

void Tracking::deliver(Client& receiver, std::string_view bytes) {
  // The replication links' sockets carry the replication stream: nothing else may go there.
  if (receiver.has_flag(kClientMaster) || receiver.has_flag(kClientReplica)) return;
  size_t limit = 0;
  if (pubsub_limit_ != nullptr && receiver.has_flag(kClientPubSub)) {
    limit = static_cast<size_t>(std::max<int64_t>(0, pubsub_limit_->load(std::memory_order_relaxed)));
  }
  receiver.push(bytes, limit, output_bytes_);
}

}  // namespace rd
