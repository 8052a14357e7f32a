// Unit tests for server/tracking (the client tracking table and its messages) and the client
// push queue it delivers through (server/client.h).
#include "server/tracking.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/client.h"

namespace rd {
namespace {

// A tracking table with clients looked up from a map (no server, no sockets).
struct Fixture {
  std::map<uint64_t, std::shared_ptr<Client>> clients;
  Tracking tracking{[this](uint64_t id) {
                      auto it = clients.find(id);
                      return it == clients.end() ? nullptr : it->second;
                    },
                    nullptr, nullptr};

  Client& add(uint64_t id, int protocol) {
    auto client = std::make_shared<Client>(id, UniqueFd(), "test", "");
    client->protocol = protocol;
    clients[id] = client;
    return *client;
  }
  static std::string pushes(Client& client) {
    std::string out;
    client.take_pushes(&out);
    return out;
  }
};

std::string invalidate_push(std::string_view keys) { return ">2\r\n$10\r\ninvalidate\r\n" + std::string(keys); }

TEST_CASE("default mode: one message per key read, then the key is forgotten") {
  Fixture f;
  Client& a = f.add(1, 3);
  f.tracking.enable(a, {});
  CHECK_FALSE(f.tracking.armed());
  f.tracking.remember(a, {"k1", "k2", "k1"});
  CHECK(f.tracking.armed());
  CHECK(f.tracking.stats().keys == 2);
  CHECK(f.tracking.stats().items == 2);
  f.tracking.invalidate("k1", 9, nullptr);
  f.tracking.invalidate("other", 9, nullptr);
  CHECK(Fixture::pushes(a) == invalidate_push("*1\r\n$2\r\nk1\r\n"));
  f.tracking.invalidate("k1", 9, nullptr);
  CHECK(Fixture::pushes(a).empty());
  CHECK(f.tracking.stats().keys == 1);
}

TEST_CASE("several readers are told in Redis's order; NOLOOP skips the caller's own change") {
  Fixture f;
  Client& a = f.add(1, 3);
  Client& b = f.add(256, 3);
  TrackingOptions noloop;
  noloop.noloop = true;
  f.tracking.enable(a, noloop);
  f.tracking.enable(b, {});
  f.tracking.remember(a, {"k"});
  f.tracking.remember(b, {"k"});
  CHECK(f.tracking.stats().items == 2);
  f.tracking.invalidate("k", a.id, &a);
  CHECK(Fixture::pushes(a).empty());
  CHECK(Fixture::pushes(b) == invalidate_push("*1\r\n$1\r\nk\r\n"));
  CHECK(f.tracking.stats().items == 0);
}

TEST_CASE("tracking off: entries stay until the key changes, and are reported if tracking is back") {
  Fixture f;
  Client& a = f.add(1, 3);
  f.tracking.enable(a, {});
  f.tracking.remember(a, {"k", "j"});
  f.tracking.disable(a);
  CHECK(f.tracking.stats().clients == 0);
  f.tracking.invalidate("k", 0, nullptr);
  CHECK(Fixture::pushes(a).empty());
  f.tracking.enable(a, {});
  f.tracking.invalidate("j", 0, nullptr);
  CHECK(Fixture::pushes(a) == invalidate_push("*1\r\n$1\r\nj\r\n"));
  CHECK(f.tracking.stats().keys == 0);
}

TEST_CASE("RESP2 without redirect hears nothing; redirect targets by protocol and subscription") {
  Fixture f;
  Client& a = f.add(1, 2);
  f.tracking.enable(a, {});
  f.tracking.remember(a, {"k"});
  f.tracking.invalidate("k", 0, nullptr);
  CHECK(Fixture::pushes(a).empty());

  Client& target = f.add(2, 2);
  TrackingOptions redirect;
  redirect.redirect = 2;
  f.tracking.enable(a, redirect);
  f.tracking.remember(a, {"k"});
  f.tracking.invalidate("k", 0, nullptr);
  CHECK(Fixture::pushes(target).empty());  // RESP2, not subscribed
  target.set_flag(kClientPubSub);
  f.tracking.remember(a, {"k"});
  f.tracking.invalidate("k", 0, nullptr);
  CHECK(Fixture::pushes(target) == "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n");
  target.protocol = 3;
  f.tracking.invalidate_all();  // the null is in the tracking client's protocol
  CHECK(Fixture::pushes(target) == invalidate_push("$-1\r\n"));
  CHECK(Fixture::pushes(a).empty());
}

TEST_CASE("a redirect target that is gone: broken flag and, in RESP3, tracking-redir-broken") {
  Fixture f;
  Client& a = f.add(1, 3);
  f.add(7, 3);
  TrackingOptions redirect;
  redirect.redirect = 7;
  f.tracking.enable(a, redirect);
  f.tracking.remember(a, {"k"});
  f.clients.erase(7);
  f.tracking.invalidate("k", 0, nullptr);
  CHECK(a.has_flag(kClientTrackingBrokenRedir));
  CHECK(Fixture::pushes(a) == ">2\r\n$21\r\ntracking-redir-broken\r\n:7\r\n");
  f.tracking.enable(a, {});  // enabling again clears it
  CHECK_FALSE(a.has_flag(kClientTrackingBrokenRedir));
}

TEST_CASE("BCAST: changes under a prefix, sorted, one message per prefix at flush") {
  Fixture f;
  Client& a = f.add(1, 3);
  Client& b = f.add(2, 3);
  TrackingOptions bcast;
  bcast.bcast = true;
  bcast.prefixes = {"k", "a"};
  f.tracking.enable(a, bcast);
  TrackingOptions all;
  all.bcast = true;
  all.noloop = true;
  f.tracking.enable(b, all);
  CHECK(f.tracking.stats().prefixes == 3);  // "", "a", "k"
  CHECK(f.tracking.armed());
  f.tracking.remember(a, {"kb"});  // reads mean nothing in BCAST mode...
  for (const char* key : {"kb", "ka", "ab", "zz"}) f.tracking.invalidate(key, 2, &b);
  f.tracking.invalidate("za", 0, nullptr);
  CHECK(f.tracking.broadcast_pending());
  CHECK(Fixture::pushes(a).empty());  // ...and nothing is sent before the flush
  f.tracking.flush_broadcasts();
  CHECK_FALSE(f.tracking.broadcast_pending());
  CHECK(Fixture::pushes(a) == invalidate_push("*1\r\n$2\r\nab\r\n") +
                                  invalidate_push("*2\r\n$2\r\nka\r\n$2\r\nkb\r\n"));
  // NOLOOP: only "za", changed by someone else
  CHECK(Fixture::pushes(b) == invalidate_push("*1\r\n$2\r\nza\r\n"));
  f.tracking.flush_broadcasts();
  CHECK(Fixture::pushes(a).empty());
  f.tracking.disable(b);
  CHECK(f.tracking.stats().prefixes == 2);
  CHECK(f.tracking.prefixes(a) == std::vector<std::string>{"a", "k"});
}

TEST_CASE("BCAST prefixes overlap when either is a prefix of the other") {
  Fixture f;
  Client& a = f.add(1, 3);
  TrackingOptions bcast;
  bcast.bcast = true;
  bcast.prefixes = {"foo", "bar"};
  f.tracking.enable(a, bcast);
  std::string existing;
  CHECK(f.tracking.overlapping_prefix(a, "fo", &existing));
  CHECK(existing == "foo");
  CHECK(f.tracking.overlapping_prefix(a, "barb", &existing));
  CHECK(existing == "bar");
  CHECK_FALSE(f.tracking.overlapping_prefix(a, "baz", &existing));
}

TEST_CASE("a flush tells every tracking client and empties the table") {
  Fixture f;
  Client& a = f.add(1, 3);
  Client& b = f.add(2, 3);
  f.tracking.enable(a, {});
  TrackingOptions bcast;
  bcast.bcast = true;
  f.tracking.enable(b, bcast);
  f.tracking.remember(a, {"k"});
  f.tracking.invalidate_all();
  CHECK(Fixture::pushes(a) == invalidate_push("_\r\n"));
  CHECK(Fixture::pushes(b) == invalidate_push("_\r\n"));
  CHECK(f.tracking.stats().keys == 0);
  CHECK(f.tracking.stats().items == 0);
}

TEST_CASE("tracking-table-max-keys: keys are forgotten (and reported) down to the limit") {
  Fixture f;
  Client& a = f.add(1, 3);
  f.tracking.enable(a, {});
  for (int i = 0; i < 250; i++) f.tracking.remember(a, {"key" + std::to_string(i)});
  CHECK_FALSE(f.tracking.over_limit());
  f.tracking.set_max_keys(1);
  CHECK(f.tracking.over_limit());
  f.tracking.enforce_limit(nullptr);
  CHECK_FALSE(f.tracking.over_limit());
  CHECK(f.tracking.stats().keys == 1);
  std::string sent = Fixture::pushes(a);
  size_t messages = 0;
  for (size_t at = sent.find("invalidate"); at != std::string::npos; at = sent.find("invalidate", at + 1)) messages++;
  CHECK(messages == 249);
  f.tracking.set_max_keys(0);  // no limit
  f.tracking.remember(a, {"x", "y"});
  CHECK_FALSE(f.tracking.over_limit());
}

// ---- the push queue's writes to an idle connection ----

struct SocketPair {
  int ours = -1;
  int peer = -1;
  SocketPair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    ours = fds[0];
    peer = fds[1];
  }
  ~SocketPair() { ::close(peer); }
  std::string read_peer() {
    char buffer[1 << 16];
    ssize_t n = ::recv(peer, buffer, sizeof(buffer), MSG_DONTWAIT);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
  }
};

TEST_CASE("pushes to a busy connection wait in the queue; to an idle one they are written at once") {
  SocketPair sockets;
  Client client(1, UniqueFd(sockets.ours), "test", "");
  std::atomic<uint64_t> written{0};
  client.push("busy", 0, &written);
  CHECK(client.has_pushes());
  CHECK(sockets.read_peer().empty());
  CHECK_FALSE(client.enter_idle());  // pending pushes: the connection flushes them first
  std::string out;
  client.take_pushes(&out);
  CHECK(out == "busy");
  CHECK(client.enter_idle());
  client.push("idle", 0, &written);
  CHECK_FALSE(client.has_pushes());
  CHECK(sockets.read_peer() == "idle");
  CHECK(written.load() == 4);
  client.leave_idle();
  client.push("after", 0, &written);
  CHECK(sockets.read_peer().empty());
  CHECK(client.has_pushes());
}

TEST_CASE("a push the socket cannot take whole leaves the rest as a lead, written first") {
  SocketPair sockets;
  int small = 4096;
  ::setsockopt(sockets.ours, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  Client client(1, UniqueFd(sockets.ours), "test", "");
  REQUIRE(client.enter_idle());
  const std::string big(1 << 20, 'x');
  client.push(big, 0, nullptr);
  CHECK(client.has_pushes());  // the rest waits
  client.leave_idle();
  client.push("next", 0, nullptr);
  std::string lead;
  client.take_push_lead(&lead);
  CHECK_FALSE(lead.empty());
  std::string rest;
  client.take_pushes(&rest);
  std::string received;
  for (std::string part = sockets.read_peer(); !part.empty(); part = sockets.read_peer()) received += part;
  CHECK(received.size() + lead.size() == big.size());
  CHECK(rest == "next");
  CHECK_FALSE(client.has_pushes());
}

TEST_CASE("a push past the hard limit kills the client") {
  Fixture f;
  Client& a = f.add(1, 3);
  CHECK(a.push("12345", 10, nullptr));
  CHECK_FALSE(a.push("67890!", 10, nullptr));
  CHECK(a.killed());
}

}  // namespace
}  // namespace rd
