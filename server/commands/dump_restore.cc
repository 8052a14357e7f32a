// DUMP, RESTORE (and RESTORE-ASKING) and MIGRATE.
//
// A DUMP payload is Redis's: the value in RDB form (type byte + value, storage/rdb.h), the
// RDB version as 2 little-endian bytes (10), then the CRC64 of everything before it (8 bytes,
// little-endian). Payloads of real Redis restore here and ours there; RESTORE refuses versions
// newer than 10, as Redis 7.0 does.
//
// MIGRATE sends [AUTH] [SELECT] and one RESTORE per key in one write to the target and reads
// the replies, all while holding the keyspace lock: like Redis, the whole server waits for the
// target (at most the timeout per step). Keys the target acknowledged are deleted here (unless
// COPY), and the command is propagated as DEL of those keys. Connections are cached per
// "host:port" as Redis caches them (with the db last selected, so SELECT is sent only when
// it changes; up to 64, closed after 10 s unused (checked at the next MIGRATE), on socket
// errors, and forgotten db after an error reply), which is visible to clients: a cached
// connection stays authenticated and keeps its db.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/config.h"
#include "server/eviction.h"
#include "server/fd.h"
#include "server/server.h"
#include "storage/numbers.h"
#include "storage/rdb.h"
#include "storage/rdb_codec.h"

namespace rd {

namespace {

std::atomic<bool> g_restore_skip_checksum{false};  // DEBUG SET-SKIP-CHECKSUM-VALIDATION

constexpr std::string_view kBadPayloadError = "ERR DUMP payload version or checksum are wrong";

std::string int_to_string(int64_t value) {
  char buf[kInt64BufSize];
  return std::string(buf, format_int64(value, buf));
}

std::string dump_payload(CommandContext& ctx, const Value& value) {
  std::string payload = rdb_encode_value(value, ctx.server.config.get_bool("rdbcompression"));
  payload.push_back(static_cast<char>(rdb::kVersion & 0xff));
  payload.push_back(static_cast<char>((rdb::kVersion >> 8) & 0xff));
  const uint64_t crc = rdb::crc64(0, payload.data(), payload.size());
  for (int i = 0; i < 8; i++) payload.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return payload;
}

// The footer: RDB version not newer than ours, and the checksum (unless DEBUG disabled it).
bool payload_footer_ok(std::string_view payload) {
  if (payload.size() < 10) return false;
  const auto* footer = reinterpret_cast<const unsigned char*>(payload.data()) + payload.size() - 10;
  const unsigned version = footer[0] | (unsigned{footer[1]} << 8);
  if (version > static_cast<unsigned>(rdb::kVersion)) return false;
  if (g_restore_skip_checksum.load(std::memory_order_relaxed)) return true;
  const uint64_t crc = rdb::crc64(0, payload.data(), payload.size() - 8);
  for (int i = 0; i < 8; i++) {
    if (footer[2 + i] != static_cast<unsigned char>((crc >> (8 * i)) & 0xff)) return false;
  }
  return true;
}

void cmd_dump(CommandContext& ctx) {
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry == nullptr) return ctx.reply.null();
  ctx.reply.bulk(dump_payload(ctx, entry->value));
}

bool lfu_policy(CommandContext& ctx) {
  const EvictionPolicy policy = ctx.server.eviction->policy();
  return policy == EvictionPolicy::kAllKeysLfu || policy == EvictionPolicy::kVolatileLfu;
}

void cmd_restore(CommandContext& ctx) {
  bool replace = false;
  bool absttl = false;
  int64_t idle = -1;
  int64_t freq = -1;
  for (size_t i = 4; i < ctx.argc(); i++) {
    std::string_view opt = ctx.arg(i);
    const bool has_value = i + 1 < ctx.argc();
    if (equals_ignore_case(opt, "replace")) {
      replace = true;
    } else if (equals_ignore_case(opt, "absttl")) {
      absttl = true;
    } else if (equals_ignore_case(opt, "idletime") && has_value && freq == -1) {
      if (!parse_int_arg(ctx, ctx.arg(++i), &idle)) return;
      if (idle < 0) return ctx.reply.error("ERR Invalid IDLETIME value, must be >= 0");
    } else if (equals_ignore_case(opt, "freq") && has_value && idle == -1) {
      if (!parse_int_arg(ctx, ctx.arg(++i), &freq)) return;
      if (freq < 0 || freq > 255) return ctx.reply.error("ERR Invalid FREQ value, must be >= 0 and <= 255");
    } else {
      return ctx.reply.error(kSyntaxError);
    }
  }
  std::string_view key = ctx.arg(1);
  KeyEntry* existing = ctx.lookup_write(key);
  if (!replace && existing != nullptr) return ctx.reply.error("BUSYKEY Target key name already exists.");
  int64_t ttl = 0;
  if (!parse_int_arg(ctx, ctx.arg(2), &ttl)) return;
  if (ttl < 0) return ctx.reply.error("ERR Invalid TTL value, must be >= 0");
  std::string_view payload = ctx.arg(3);
  if (!payload_footer_ok(payload)) return ctx.reply.error(kBadPayloadError);
  Value value;
  if (!rdb_decode_value(payload, ctx.server.encoding_limits(), &value).empty()) {
    return ctx.reply.error("ERR Bad data format");
  }

  const bool deleted = replace && existing != nullptr;
  if (deleted) ctx.db().erase(key);
  // Redis adds the current time without an overflow check: a huge TTL wraps negative and the
  // key counts as already expired.
  if (ttl != 0 && !absttl) {
    ttl = static_cast<int64_t>(static_cast<uint64_t>(ttl) + static_cast<uint64_t>(ctx.now_ms));
  }
  // Already expired (only a master decides that): the key is not created, and a replaced key
  // is gone.
  if (ttl != 0 && ttl <= ctx.now_ms && !ctx.server.is_replica() && !ctx.client.has_flag(kClientMaster)) {
    if (deleted) {
      ctx.key_modified(key);
      ctx.propagate_as({ctx.server.config.get_bool("lazyfree-lazy-server-del") ? "UNLINK" : "DEL", key});
      ctx.notify(NotifyClass::kGeneric, "del", key);
    }
    return ctx.reply.ok();
  }

  KeyEntry* entry = ctx.db().add(key, std::move(value));
  ctx.notify(NotifyClass::kNew, "new", key);
  if (ttl != 0) {
    ctx.db().set_expire(entry, ttl);
    if (!absttl) {
      // Replicas and the AOF get the absolute time.
      std::vector<std::string> args(ctx.argv.begin(), ctx.argv.end());
      args[2] = int_to_string(ttl);
      args.emplace_back("ABSTTL");
      ctx.propagate_as(std::move(args));
    }
  }
  const uint32_t now = access_clock_now();
  if (lfu_policy(ctx)) {
    if (freq >= 0) {
      entry->lfu_counter.store(static_cast<uint8_t>(freq), std::memory_order_relaxed);
      entry->access_clock.store(now, std::memory_order_relaxed);
    }
  } else if (idle >= 0) {
    // The access clock wraps at 24 bits, like Redis's LRU clock.
    constexpr int64_t kClockSpan = int64_t{1} << 24;
    const int64_t then = ((static_cast<int64_t>(now) - idle) % kClockSpan + kClockSpan) % kClockSpan;
    entry->access_clock.store(static_cast<uint32_t>(then), std::memory_order_relaxed);
  }
  ctx.key_modified(key);
  ctx.signal_ready(key);
  ctx.notify(NotifyClass::kGeneric, "restore", key);
  ctx.reply.ok();
}

// ---- MIGRATE ----

int64_t now_ms_monotonic() { return monotonic_us() / 1000; }

// A blocking-style connection with a deadline on every operation (the socket itself is
// non-blocking; poll() waits).
class TargetConnection {
 public:
  // Starts connecting and waits up to `timeout_ms`. False only when no connection could even
  // be started (unknown host, immediate failure).
  bool connect(const std::string& host, const std::string& port, int64_t timeout_ms) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &result) != 0) return false;
    bool connected = false;
    for (addrinfo* ai = result; ai != nullptr && !connected; ai = ai->ai_next) {
      UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
      if (!fd.valid()) continue;
      if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) continue;
        // Like Redis, the connection is used once writable or after the timeout, without
        // looking at its error: a refused or unanswered connection fails at the first write
        // ("IOERR error or timeout writing to target instance").
        wait_for(fd.get(), POLLOUT, timeout_ms);
      }
      int one = 1;
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      fd_ = std::move(fd);
      connected = true;
    }
    ::freeaddrinfo(result);
    return connected;
  }

  // Writes everything before the deadline; false on error or timeout (errno tells which).
  bool write_all(std::string_view data, int64_t timeout_ms) {
    const int64_t deadline = now_ms_monotonic() + timeout_ms;
    size_t pos = 0;
    while (pos < data.size()) {
      ssize_t n = ::send(fd_.get(), data.data() + pos, data.size() - pos, MSG_NOSIGNAL);
      if (n > 0) {
        pos += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
      const int64_t left = deadline - now_ms_monotonic();
      if (left <= 0 || !wait_for(fd_.get(), POLLOUT, left)) {
        errno = ETIMEDOUT;
        return false;
      }
    }
    return true;
  }

  // One reply line (without CRLF) before the timeout; false on error, timeout or empty line.
  bool read_line(std::string* line, int64_t timeout_ms) {
    const int64_t deadline = now_ms_monotonic() + timeout_ms;
    while (true) {
      size_t eol = buffer_.find('\n');
      if (eol != std::string::npos) {
        line->assign(buffer_, 0, eol);
        buffer_.erase(0, eol + 1);
        if (!line->empty() && line->back() == '\r') line->pop_back();
        return !line->empty();
      }
      char chunk[4096];
      ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        errno = ECONNRESET;
        return false;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
      const int64_t left = deadline - now_ms_monotonic();
      if (left <= 0 || !wait_for(fd_.get(), POLLIN, left)) {
        errno = ETIMEDOUT;
        return false;
      }
    }
  }

 private:
  static bool wait_for(int fd, short events, int64_t timeout_ms) {
    pollfd pfd{fd, events, 0};
    while (true) {
      int r = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(timeout_ms, INT32_MAX)));
      if (r > 0) return true;
      if (r == 0) {
        errno = ETIMEDOUT;
        return false;
      }
      if (errno != EINTR) return false;
    }
  }

  UniqueFd fd_;
  std::string buffer_;
};

// ---- the connection cache ----

constexpr size_t kMigrateCacheItems = 64;
constexpr int64_t kMigrateCacheTtlMs = 10000;

struct CachedTarget {
  std::unique_ptr<TargetConnection> conn;
  int64_t last_dbid = -1;  // the db selected on the connection; -1: unknown
  int64_t last_use_ms = 0;
};

std::mutex g_cache_mutex;  // a leaf lock (MIGRATE also holds the keyspace lock)
std::map<std::string, CachedTarget> g_cache;  // Guarded by g_cache_mutex

// The cached connection to host:port, or a new one (nullptr when it cannot be made).
// REQUIRES: g_cache_mutex.
CachedTarget* get_target(const std::string& host, const std::string& port, int64_t timeout_ms) {
  const int64_t now = now_ms_monotonic();
  for (auto it = g_cache.begin(); it != g_cache.end();) {
    it = now - it->second.last_use_ms > kMigrateCacheTtlMs ? g_cache.erase(it) : std::next(it);
  }
  const std::string name = host + ":" + port;
  auto found = g_cache.find(name);
  if (found != g_cache.end()) {
    found->second.last_use_ms = now;
    return &found->second;
  }
  if (g_cache.size() >= kMigrateCacheItems) {
    auto oldest = g_cache.begin();
    for (auto it = g_cache.begin(); it != g_cache.end(); ++it) {
      if (it->second.last_use_ms < oldest->second.last_use_ms) oldest = it;
    }
    g_cache.erase(oldest);
  }
  auto conn = std::make_unique<TargetConnection>();
  if (!conn->connect(host, port, timeout_ms)) return nullptr;
  CachedTarget& entry = g_cache[name];
  entry.conn = std::move(conn);
  entry.last_dbid = -1;
  entry.last_use_ms = now;
  return &entry;
}

void close_target(const std::string& host, const std::string& port) { g_cache.erase(host + ":" + port); }

void append_bulk(std::string* out, std::string_view arg) {
  out->push_back('$');
  out->append(int_to_string(static_cast<int64_t>(arg.size())));
  out->append("\r\n");
  out->append(arg);
  out->append("\r\n");
}

void cmd_migrate(CommandContext& ctx) {
  bool copy = false;
  bool replace = false;
  std::string_view username;
  std::string_view password;
  bool has_password = false;
  bool has_username = false;
  size_t first_key = 3;
  size_t num_keys = 1;
  for (size_t i = 6; i < ctx.argc(); i++) {
    std::string_view opt = ctx.arg(i);
    const size_t more = ctx.argc() - 1 - i;
    if (equals_ignore_case(opt, "copy")) {
      copy = true;
    } else if (equals_ignore_case(opt, "replace")) {
      replace = true;
    } else if (equals_ignore_case(opt, "auth")) {
      if (more < 1) return ctx.reply.error(kSyntaxError);
      password = ctx.arg(++i);
      has_password = true;
    } else if (equals_ignore_case(opt, "auth2")) {
      if (more < 2) return ctx.reply.error(kSyntaxError);
      username = ctx.arg(++i);
      password = ctx.arg(++i);
      has_username = has_password = true;
    } else if (equals_ignore_case(opt, "keys")) {
      if (!ctx.arg(3).empty()) {
        return ctx.reply.error("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string");
      }
      first_key = i + 1;
      num_keys = ctx.argc() - i - 1;
      break;
    } else {
      return ctx.reply.error(kSyntaxError);
    }
  }
  int64_t timeout = 0;
  int64_t dbid = 0;
  if (!parse_int_arg(ctx, ctx.arg(5), &timeout) || !parse_int_arg(ctx, ctx.arg(4), &dbid)) return;
  if (timeout <= 0) timeout = 1000;

  std::vector<std::string_view> keys;
  for (size_t i = 0; i < num_keys; i++) {
    if (ctx.lookup_read(ctx.arg(first_key + i)) != nullptr) keys.push_back(ctx.arg(first_key + i));
  }
  if (keys.empty()) return ctx.reply.simple("NOKEY");

  const std::string host(ctx.arg(1));
  const std::string port(ctx.arg(2));
  std::lock_guard<std::mutex> cache_lock(g_cache_mutex);
  bool may_retry = true;
  while (true) {
    CachedTarget* target = get_target(host, port, timeout);
    if (target == nullptr) return ctx.reply.error("IOERR error or timeout connecting to the client");
    std::string request;
    if (has_password) {
      request += has_username ? "*3\r\n" : "*2\r\n";
      append_bulk(&request, "AUTH");
      if (has_username) append_bulk(&request, username);
      append_bulk(&request, password);
    }
    const bool select = target->last_dbid != dbid;
    if (select) {
      request += "*2\r\n";
      append_bulk(&request, "SELECT");
      append_bulk(&request, int_to_string(dbid));
    }
    std::vector<std::string_view> sent;
    for (std::string_view key : keys) {
      KeyEntry* entry = ctx.db().find(key);
      if (entry == nullptr) continue;
      int64_t ttl = 0;
      if (entry->has_expire()) {
        ttl = entry->expire_at_ms - ctx.now_ms;
        if (ttl < 0) continue;
        if (ttl < 1) ttl = 1;
      }
      sent.push_back(key);
      request += replace ? "*5\r\n" : "*4\r\n";
      append_bulk(&request, "RESTORE");
      append_bulk(&request, key);
      append_bulk(&request, int_to_string(ttl));
      append_bulk(&request, dump_payload(ctx, entry->value));
      if (replace) append_bulk(&request, "REPLACE");
    }

    TargetConnection& conn = *target->conn;
    bool write_error = false;
    bool socket_error = false;
    bool error_from_target = false;
    std::string auth_reply;
    std::string select_reply;
    std::vector<std::string> moved;
    size_t replies = 0;
    if (!conn.write_all(request, timeout)) {
      write_error = socket_error = true;
    } else if ((has_password && !conn.read_line(&auth_reply, timeout)) ||
               (select && !conn.read_line(&select_reply, timeout))) {
      socket_error = true;
    } else {
      for (; replies < sent.size(); replies++) {
        std::string reply;
        if (!conn.read_line(&reply, timeout)) {
          socket_error = true;
          break;
        }
        const std::string* failed = has_password && auth_reply[0] == '-' ? &auth_reply
                                    : select && select_reply[0] == '-'  ? &select_reply
                                    : reply[0] == '-'                   ? &reply
                                                                        : nullptr;
        if (failed != nullptr) {
          if (!error_from_target) {
            error_from_target = true;
            target->last_dbid = -1;  // the db selected on the connection is no longer known
            ctx.reply.error("ERR Target instance replied with error: " + failed->substr(1));
          }
        } else if (!copy) {
          ctx.db().erase(sent[replies]);
          ctx.key_modified(sent[replies]);
          ctx.notify(NotifyClass::kGeneric, "del", sent[replies]);
          moved.emplace_back(sent[replies]);
        }
      }
    }
    const bool timed_out = errno == ETIMEDOUT;
    if (!moved.empty()) {
      moved.insert(moved.begin(), "DEL");
      ctx.propagate_as(std::move(moved));
    }
    if (socket_error) {
      close_target(host, port);  // `target` is gone
      // Nothing processed yet (the first reply never came): one more attempt on a new
      // connection (the cached one may have been closed by the target), unless it timed out.
      if (!error_from_target && replies == 0 && may_retry && !timed_out) {
        may_retry = false;
        continue;
      }
      if (!error_from_target) {
        return ctx.reply.error(std::string("IOERR error or timeout ") + (write_error ? "writing" : "reading") +
                               " to target instance");
      }
      return;
    }
    if (!error_from_target) {
      target->last_dbid = dbid;
      ctx.reply.ok();
    }
    return;
  }
}

}  // namespace

void set_restore_skip_checksum(bool skip) { g_restore_skip_checksum.store(skip, std::memory_order_relaxed); }

void register_dump_restore_commands(CommandTable& table) {
  table.add("dump", cmd_dump);
  table.add("restore", cmd_restore);
  table.add("restore-asking", cmd_restore);
  table.add("migrate", cmd_migrate);
}

}  // namespace rd
