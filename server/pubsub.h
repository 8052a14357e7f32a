// Publish/subscribe registry: channels and patterns to subscribed clients.
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
#include <utility>
#include <vector>

namespace rd {

class Client;

class PubSub {
 public:
  // Each returns the client's subscription count after the change, per channel, by
  // delivering the confirmation messages to the client.
  void subscribe(Client& client, const std::vector<std::string_view>& channels);
  void unsubscribe(Client& client, const std::vector<std::string_view>& channels);  // empty: all
  void psubscribe(Client& client, const std::vector<std::string_view>& patterns);
  void punsubscribe(Client& client, const std::vector<std::string_view>& patterns);  // empty: all
  // Drops every subscription without confirmations (disconnect, RESET).
  void remove_client(Client& client);

  // Delivers to every subscriber; returns the number of receivers.
  int64_t publish(std::string_view channel, std::string_view message, size_t hard_limit);

  std::vector<std::string> channels(std::string_view pattern, bool all) const;
  // A client's channels and patterns (ACL SETUSER disconnects clients that lost access).
  std::pair<std::vector<std::string>, std::vector<std::string>> subscriptions(const Client& client) const;
  int64_t subscribers(std::string_view channel) const;
  int64_t channel_count() const;
  int64_t pattern_count() const;

 private:
  void confirm(Client& client, std::string_view kind, const std::string* name, int64_t count);
  void unsubscribe_locked(Client& client, std::string_view channel, bool notify);
  void punsubscribe_locked(Client& client, std::string_view pattern, bool notify);

  mutable std::shared_mutex mutex_;
  std::map<std::string, std::vector<Client*>, std::less<>> channels_;  // Protected by mutex_
  std::map<std::string, std::vector<Client*>, std::less<>> patterns_;  // Protected by mutex_
};

}  // namespace rd
