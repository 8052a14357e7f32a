#include "server/pubsub.h"

#include <algorithm>
#include <mutex>

#include "protocol/reply.h"
#include "server/client.h"
#include "storage/glob.h"

namespace rd {
namespace {

size_t subscription_total(const Client& client) { return client.channels.size() + client.patterns.size(); }

void update_counts(Client& client) {
  client.subscription_count.store(client.channels.size(), std::memory_order_relaxed);
  client.pattern_count.store(client.patterns.size(), std::memory_order_relaxed);
  if (subscription_total(client) > 0) {
    client.set_flag(kClientPubSub);
  } else {
    client.clear_flag(kClientPubSub);
  }
}

void erase_client(std::vector<Client*>& list, Client* client) {
  list.erase(std::remove(list.begin(), list.end(), client), list.end());
}

}  // namespace

void PubSub::confirm(Client& client, std::string_view kind, const std::string* name, int64_t count) {
  std::string bytes;
  Reply reply(&bytes, client.protocol.load(std::memory_order_relaxed));
  reply.push(3);
  reply.bulk(kind);
  if (name == nullptr) {
    reply.null();
  } else {
    reply.bulk(*name);
  }
  reply.integer(count);
  client.deliver(bytes, 0);
}

void PubSub::subscribe(Client& client, const std::vector<std::string_view>& names) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  for (std::string_view name : names) {
    if (client.channels.emplace(name).second) channels_[std::string(name)].push_back(&client);
    update_counts(client);
    std::string channel(name);
    confirm(client, "subscribe", &channel, static_cast<int64_t>(subscription_total(client)));
  }
}

void PubSub::unsubscribe_locked(Client& client, std::string_view name, bool notify) {
  auto mine = client.channels.find(name);
  if (mine != client.channels.end()) {
    auto it = channels_.find(name);
    if (it != channels_.end()) {
      erase_client(it->second, &client);
      if (it->second.empty()) channels_.erase(it);
    }
    client.channels.erase(mine);
  }
  update_counts(client);
  std::string channel(name);
  if (notify) confirm(client, "unsubscribe", &channel, static_cast<int64_t>(subscription_total(client)));
}

void PubSub::unsubscribe(Client& client, const std::vector<std::string_view>& names) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  if (names.empty()) {
    if (client.channels.empty()) {
      confirm(client, "unsubscribe", nullptr, static_cast<int64_t>(subscription_total(client)));
      return;
    }
    std::vector<std::string> all(client.channels.begin(), client.channels.end());
    for (const std::string& name : all) unsubscribe_locked(client, name, true);
    return;
  }
  for (std::string_view name : names) unsubscribe_locked(client, name, true);
}

void PubSub::psubscribe(Client& client, const std::vector<std::string_view>& names) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  for (std::string_view name : names) {
    if (client.patterns.emplace(name).second) patterns_[std::string(name)].push_back(&client);
    update_counts(client);
    std::string pattern(name);
    confirm(client, "psubscribe", &pattern, static_cast<int64_t>(subscription_total(client)));
  }
}

void PubSub::punsubscribe_locked(Client& client, std::string_view name, bool notify) {
  auto mine = client.patterns.find(name);
  if (mine != client.patterns.end()) {
    auto it = patterns_.find(name);
    if (it != patterns_.end()) {
      erase_client(it->second, &client);
      if (it->second.empty()) patterns_.erase(it);
    }
    client.patterns.erase(mine);
  }
  update_counts(client);
  std::string pattern(name);
  if (notify) confirm(client, "punsubscribe", &pattern, static_cast<int64_t>(subscription_total(client)));
}

void PubSub::punsubscribe(Client& client, const std::vector<std::string_view>& names) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  if (names.empty()) {
    if (client.patterns.empty()) {
      confirm(client, "punsubscribe", nullptr, static_cast<int64_t>(subscription_total(client)));
      return;
    }
    std::vector<std::string> all(client.patterns.begin(), client.patterns.end());
    for (const std::string& name : all) punsubscribe_locked(client, name, true);
    return;
  }
  for (std::string_view name : names) punsubscribe_locked(client, name, true);
}

void PubSub::remove_client(Client& client) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  std::vector<std::string> channels(client.channels.begin(), client.channels.end());
  for (const std::string& name : channels) unsubscribe_locked(client, name, false);
  std::vector<std::string> patterns(client.patterns.begin(), client.patterns.end());
  for (const std::string& name : patterns) punsubscribe_locked(client, name, false);
}

int64_t PubSub::publish(std::string_view channel, std::string_view message, size_t hard_limit) {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  int64_t receivers = 0;
  // Encodings differ per protocol; build each at most once.
  std::string encoded[2];
  auto message_for = [&](int protocol) -> const std::string& {
    std::string& bytes = encoded[protocol >= 3 ? 1 : 0];
    if (bytes.empty()) {
      Reply reply(&bytes, protocol);
      reply.push(3);
      reply.bulk("message");
      reply.bulk(channel);
      reply.bulk(message);
    }
    return bytes;
  };
  auto it = channels_.find(channel);
  if (it != channels_.end()) {
    for (Client* client : it->second) {
      client->deliver(message_for(client->protocol.load(std::memory_order_relaxed)), hard_limit);
      receivers++;
    }
  }
  for (const auto& [pattern, clients] : patterns_) {
    if (!glob_match(pattern, channel)) continue;
    for (Client* client : clients) {
      std::string bytes;
      Reply reply(&bytes, client->protocol.load(std::memory_order_relaxed));
      reply.push(4);
      reply.bulk("pmessage");
      reply.bulk(pattern);
      reply.bulk(channel);
      reply.bulk(message);
      client->deliver(bytes, hard_limit);
      receivers++;
    }
  }
  return receivers;
}

std::pair<std::vector<std::string>, std::vector<std::string>> PubSub::subscriptions(const Client& client) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return {std::vector<std::string>(client.channels.begin(), client.channels.end()),
          std::vector<std::string>(client.patterns.begin(), client.patterns.end())};
}

std::vector<std::string> PubSub::channels(std::string_view pattern, bool all) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, clients] : channels_) {
    if (all || glob_match(pattern, name)) out.push_back(name);
  }
  return out;
}

int64_t PubSub::subscribers(std::string_view channel) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : static_cast<int64_t>(it->second.size());
}

int64_t PubSub::channel_count() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return static_cast<int64_t>(channels_.size());
}

int64_t PubSub::pattern_count() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return static_cast<int64_t>(patterns_.size());
}

}  // namespace rd
