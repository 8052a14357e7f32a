// Publish/subscribe registry: channels and patterns to subscribed clients.
//
// Two channel namespaces: the classic one (SUBSCRIBE/PUBLISH, with PSUBSCRIBE patterns) and
// the sharded one of Redis 7.0 (SSUBSCRIBE/SPUBLISH, no patterns). Without cluster mode a
// sharded channel behaves like a classic one, but the two never see each other's messages,
// and each namespace's confirmations count only its own subscriptions.
//
// Delivery goes through each subscriber's async outbox (Client::deliver), written by the
// subscriber's own thread; a subscriber that stops reading is disconnected when its outbox
// passes the pubsub output buffer limit, so it never stalls publishers.
//
// Thread-safety: mutex_ is shared for PUBLISH and the PUBSUB queries, exclusive for
// (un)subscribing. Subscription confirmations are delivered while holding it exclusively,
// which orders them with the messages of the same channel. A client unsubscribes from
// everything before it is destroyed, so the raw pointers here never dangle.
#pragma once

#include <cstdint>
#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rd {

class Client;

enum class ChannelSpace { kGlobal, kShard };

class PubSub {
 public:
  // Each reports the client's subscription count after every change (of that namespace:
  // channels + patterns, or shard channels) by delivering a confirmation to the client.
  void subscribe(Client& client, const std::vector<std::string_view>& channels,
                 ChannelSpace space = ChannelSpace::kGlobal);
  // Empty `channels`: all of that namespace.
  void unsubscribe(Client& client, const std::vector<std::string_view>& channels,
                   ChannelSpace space = ChannelSpace::kGlobal);
  void psubscribe(Client& client, const std::vector<std::string_view>& patterns);
  void punsubscribe(Client& client, const std::vector<std::string_view>& patterns);  // empty: all
  // Drops every subscription without confirmations (disconnect, RESET).
  void remove_client(Client& client);

  // Delivers to every subscriber (and, for the classic namespace, every matching pattern);
  // returns the number of receivers.
  int64_t publish(std::string_view channel, std::string_view message, size_t hard_limit,
                  ChannelSpace space = ChannelSpace::kGlobal);

  std::vector<std::string> channels(std::string_view pattern, bool all, ChannelSpace space = ChannelSpace::kGlobal) const;
  // A client's subscriptions (ACL SETUSER disconnects clients that lost access).
  struct Subscriptions {
    std::vector<std::string> channels;
    std::vector<std::string> patterns;
    std::vector<std::string> shard_channels;
  };
  Subscriptions subscriptions(const Client& client) const;
  int64_t subscribers(std::string_view channel, ChannelSpace space = ChannelSpace::kGlobal) const;
  int64_t channel_count(ChannelSpace space = ChannelSpace::kGlobal) const;
  int64_t pattern_count() const;

 private:
  using Registry = std::map<std::string, std::vector<Client*>, std::less<>>;

  Registry& registry(ChannelSpace space) { return space == ChannelSpace::kShard ? shard_channels_ : channels_; }
  const Registry& registry(ChannelSpace space) const {
    return space == ChannelSpace::kShard ? shard_channels_ : channels_;
  }
  void confirm(Client& client, std::string_view kind, const std::string* name, int64_t count);
  void unsubscribe_locked(Client& client, std::string_view channel, ChannelSpace space, bool notify);
  void punsubscribe_locked(Client& client, std::string_view pattern, bool notify);

  mutable std::shared_mutex mutex_;
  Registry channels_;        // Protected by mutex_
  Registry patterns_;        // Protected by mutex_
  Registry shard_channels_;  // Protected by mutex_
};

}  // namespace rd
