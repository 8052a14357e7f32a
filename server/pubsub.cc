#include "server/pubsub.h"

#include <algorithm>
#include <mutex>

#include "protocol/reply.h"
#include "server/client.h"
#include "storage/glob.h"

namespace rd {
namespace {

// The words Redis uses for each namespace's confirmations and messages.
struct SpaceWords {
  std::string_view subscribe;
  std::string_view unsubscribe;
  std::string_view message;
};

const SpaceWords& words(ChannelSpace space) {
  static const SpaceWords kGlobal{"subscribe", "unsubscribe", "message"};
  static const SpaceWords kShard{"ssubscribe", "sunsubscribe", "smessage"};
  return space == ChannelSpace::kShard ? kShard : kGlobal;
}

std::set<std::string, std::less<>>& client_channels(Client& client, ChannelSpace space) {
  return space == ChannelSpace::kShard ? client.shard_channels : client.channels;
}

// The count a confirmation carries: Redis counts each namespace apart (a client with two
// shard channels that SUBSCRIBEs to one channel reads 1).
int64_t space_count(const Client& client, ChannelSpace space) {
  if (space == ChannelSpace::kShard) return static_cast<int64_t>(client.shard_channels.size());
  return static_cast<int64_t>(client.channels.size() + client.patterns.size());
}

void update_counts(Client& client) {
  client.subscription_count.store(client.channels.size(), std::memory_order_relaxed);
  client.pattern_count.store(client.patterns.size(), std::memory_order_relaxed);
  client.shard_subscription_count.store(client.shard_channels.size(), std::memory_order_relaxed);
  // Any subscription, shard ones included, puts a RESP2 client in the subscribed context.
  if (!client.channels.empty() || !client.patterns.empty() || !client.shard_channels.empty()) {
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

void PubSub::subscribe(Client& client, const std::vector<std::string_view>& names, ChannelSpace space) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  Registry& subscribers = registry(space);
  for (std::string_view name : names) {
    if (client_channels(client, space).emplace(name).second) subscribers[std::string(name)].push_back(&client);
    update_counts(client);
    std::string channel(name);
    confirm(client, words(space).subscribe, &channel, space_count(client, space));
  }
}

void PubSub::unsubscribe_locked(Client& client, std::string_view name, ChannelSpace space, bool notify) {
  std::set<std::string, std::less<>>& mine = client_channels(client, space);
  auto own = mine.find(name);
  if (own != mine.end()) {
    Registry& subscribers = registry(space);
    auto it = subscribers.find(name);
    if (it != subscribers.end()) {
      erase_client(it->second, &client);
      if (it->second.empty()) subscribers.erase(it);
    }
    mine.erase(own);
  }
  update_counts(client);
  std::string channel(name);
  if (notify) confirm(client, words(space).unsubscribe, &channel, space_count(client, space));
}

void PubSub::unsubscribe(Client& client, const std::vector<std::string_view>& names, ChannelSpace space) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  if (names.empty()) {
    const std::set<std::string, std::less<>>& mine = client_channels(client, space);
    if (mine.empty()) {
      // Redis still answers, with a null channel.
      confirm(client, words(space).unsubscribe, nullptr, space_count(client, space));
      return;
    }
    std::vector<std::string> all(mine.begin(), mine.end());
    for (const std::string& name : all) unsubscribe_locked(client, name, space, true);
    return;
  }
  for (std::string_view name : names) unsubscribe_locked(client, name, space, true);
}

void PubSub::psubscribe(Client& client, const std::vector<std::string_view>& names) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  for (std::string_view name : names) {
    if (client.patterns.emplace(name).second) patterns_[std::string(name)].push_back(&client);
    update_counts(client);
    std::string pattern(name);
    confirm(client, "psubscribe", &pattern, space_count(client, ChannelSpace::kGlobal));
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
  if (notify) confirm(client, "punsubscribe", &pattern, space_count(client, ChannelSpace::kGlobal));
}

void PubSub::punsubscribe(Client& client, const std::vector<std::string_view>& names) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  if (names.empty()) {
    if (client.patterns.empty()) {
      confirm(client, "punsubscribe", nullptr, space_count(client, ChannelSpace::kGlobal));
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
  for (const std::string& name : channels) unsubscribe_locked(client, name, ChannelSpace::kGlobal, false);
  std::vector<std::string> patterns(client.patterns.begin(), client.patterns.end());
  for (const std::string& name : patterns) punsubscribe_locked(client, name, false);
  std::vector<std::string> shard_channels(client.shard_channels.begin(), client.shard_channels.end());
  for (const std::string& name : shard_channels) unsubscribe_locked(client, name, ChannelSpace::kShard, false);
}

int64_t PubSub::publish(std::string_view channel, std::string_view message, size_t hard_limit,
                        ChannelSpace space) {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  int64_t receivers = 0;
  // Encodings differ per protocol; build each at most once.
  std::string encoded[2];
  auto message_for = [&](int protocol) -> const std::string& {
    std::string& bytes = encoded[protocol >= 3 ? 1 : 0];
    if (bytes.empty()) {
      Reply reply(&bytes, protocol);
      reply.push(3);
      reply.bulk(words(space).message);
      reply.bulk(channel);
      reply.bulk(message);
    }
    return bytes;
  };
  const Registry& subscribers = registry(space);
  auto it = subscribers.find(channel);
  if (it != subscribers.end()) {
    for (Client* client : it->second) {
      client->deliver(message_for(client->protocol.load(std::memory_order_relaxed)), hard_limit);
      receivers++;
    }
  }
  if (space == ChannelSpace::kShard) return receivers;  // patterns see classic channels only
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

PubSub::Subscriptions PubSub::subscriptions(const Client& client) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  Subscriptions out;
  out.channels.assign(client.channels.begin(), client.channels.end());
  out.patterns.assign(client.patterns.begin(), client.patterns.end());
  out.shard_channels.assign(client.shard_channels.begin(), client.shard_channels.end());
  return out;
}

std::vector<std::string> PubSub::channels(std::string_view pattern, bool all, ChannelSpace space) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, clients] : registry(space)) {
    if (all || glob_match(pattern, name)) out.push_back(name);
  }
  return out;
}

int64_t PubSub::subscribers(std::string_view channel, ChannelSpace space) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  const Registry& subscribers = registry(space);
  auto it = subscribers.find(channel);
  return it == subscribers.end() ? 0 : static_cast<int64_t>(it->second.size());
}

int64_t PubSub::channel_count(ChannelSpace space) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return static_cast<int64_t>(registry(space).size());
}

int64_t PubSub::pattern_count() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  return static_cast<int64_t>(patterns_.size());
}

}  // namespace rd
