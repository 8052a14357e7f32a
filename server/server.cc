#include "server/server.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "server/acl.h"
#include "server/command_context.h"
#include "server/connection.h"
#include "server/eviction.h"
#include "server/memory_accounting.h"
#include "server/scripting/scripting.h"

namespace rd {
namespace {

std::string make_run_id() {
  std::random_device device;
  std::string id;
  const char* hex = "0123456789abcdef";
  for (int i = 0; i < 40; i++) id.push_back(hex[device() % 16]);
  return id;
}

std::string address_to_string(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

Server::Server(Config& cfg)
    : config(cfg),
      keyspace(static_cast<int>(cfg.get_int("databases"))),
      tracking([this](uint64_t id) { return find_client(id); }, &stats.net_output_bytes, &pubsub_hard_limit),
      start_time_ms(unix_time_ms()),
      run_id(make_run_id()),
      random_(std::random_device{}()) {
  register_all_commands(commands);
  eviction = std::make_unique<Eviction>(*this);
  acl = std::make_unique<Acl>(*this);
  apply_config();
  persistence = std::make_unique<Persistence>(*this);
  replication = std::make_unique<Replication>(*this);
  scripting = std::make_unique<Scripting>(*this);
  eviction->record_startup();
}

Server::~Server() {
  // Threads are joined by run(); this only guards against an early exit path.
  std::lock_guard<std::mutex> lock(threads_mutex_);
  for (auto& [id, thread] : threads_) {
    if (thread.joinable()) thread.detach();
  }
}

void Server::apply_config(std::string_view name) {
  auto is = [&](std::string_view param) { return name.empty() || name == param; };
  if (is("maxclients")) maxclients = config.get_int("maxclients");
  if (is("timeout")) idle_timeout_s = config.get_int("timeout");
  if (is("proto-max-bulk-len")) proto_max_bulk_len = config.get_int("proto-max-bulk-len");
  if (is("client-query-buffer-limit")) query_buffer_limit = config.get_int("client-query-buffer-limit");
  if (is("min-replicas-to-write")) min_replicas_to_write = config.get_int("min-replicas-to-write");
  if (is("min-replicas-max-lag")) min_replicas_max_lag = config.get_int("min-replicas-max-lag");
  if (is("replica-serve-stale-data")) replica_serve_stale_data = config.get_bool("replica-serve-stale-data");
  if (is("requirepass")) acl->set_default_password(config.get("requirepass"));  // also sets auth_required
  auto as_size = [&](const char* param) { return static_cast<size_t>(std::max<int64_t>(0, config.get_int(param))); };
  if (is("hash-max-listpack-entries")) hash_max_listpack_entries_ = as_size("hash-max-listpack-entries");
  if (is("hash-max-listpack-value")) hash_max_listpack_value_ = as_size("hash-max-listpack-value");
  if (is("set-max-intset-entries")) set_max_intset_entries_ = as_size("set-max-intset-entries");
  if (is("zset-max-listpack-entries")) zset_max_listpack_entries_ = as_size("zset-max-listpack-entries");
  if (is("zset-max-listpack-value")) zset_max_listpack_value_ = as_size("zset-max-listpack-value");
  if (is("list-max-listpack-size")) list_max_listpack_size_ = config.get_int("list-max-listpack-size");
  if (is("slowlog-log-slower-than")) slowlog.set_threshold_us(config.get_int("slowlog-log-slower-than"));
  if (is("slowlog-max-len")) slowlog.set_max_len(config.get_int("slowlog-max-len"));
  if (is("latency-monitor-threshold")) latency.set_threshold_ms(config.get_int("latency-monitor-threshold"));
  if (is("tracking-table-max-keys")) tracking.set_max_keys(config.get_int("tracking-table-max-keys"));
  if (is("notify-keyspace-events")) {
    // Config validated the characters. CONFIG GET shows Redis's normalized form ("KEA" reads
    // "AKE"); the flags keep what was asked (normalizing may drop n, as in Redis).
    const std::string asked = config.get("notify-keyspace-events");
    uint32_t flags = 0;
    parse_notify_flags(asked, &flags);
    notify_keyspace_events = effective_notify_flags(flags);
    const std::string shown = format_notify_flags(flags);
    if (shown != asked) config.set("notify-keyspace-events", shown);
  }
  if (is("client-output-buffer-limit")) {
    std::istringstream in(config.get("client-output-buffer-limit"));
    std::string cls;
    int64_t hard = 0, soft = 0, seconds = 0;
    while (in >> cls >> hard >> soft >> seconds) {
      if (cls == "pubsub") pubsub_hard_limit = hard;
    }
  }
  eviction->apply_config(name);
  config_generation.fetch_add(1, std::memory_order_relaxed);
}

std::string Server::config_changed(std::string_view name) {
  if (name == "port" || name == "bind") {
    if (std::string error = rebind(static_cast<int>(config.get_int("port")), config.get("bind")); !error.empty()) {
      return error;
    }
  }
  apply_config(name);
  std::string error = persistence->config_changed(name);
  if (error.empty()) error = replication->config_changed(name);
  return error;
}

uint64_t Server::random64() {
  std::lock_guard<std::mutex> lock(random_mutex_);
  return random_();
}

void Server::log(char level, std::string_view message) {
  // Redis's log line: "pid:role dd Mon yyyy hh:mm:ss.mmm * message"
  static const char* const kLevelOrder = ".-*#";
  std::string wanted = config.get("loglevel");
  int threshold = wanted == "debug" ? 0 : wanted == "verbose" ? 1 : wanted == "notice" ? 2 : 3;
  int level_index = static_cast<int>(std::strchr(kLevelOrder, level) - kLevelOrder);
  if (level_index < threshold) return;
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  int millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char stamp[64];
  std::strftime(stamp, sizeof(stamp), "%d %b %Y %H:%M:%S", &tm);
  char line_prefix[128];
  std::snprintf(line_prefix, sizeof(line_prefix), "%d:%c %s.%03d %c ", static_cast<int>(getpid()),
                is_replica() ? 'S' : 'M', stamp, millis, level);
  std::string line = std::string(line_prefix) + std::string(message) + "\n";
  std::lock_guard<std::mutex> lock(log_mutex_);
  std::string logfile = config.get("logfile");
  if (logfile.empty()) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  } else {
    std::ofstream out(logfile, std::ios::app);
    out << line;
  }
}

// Every heap byte allocated through operator new (server/memory_accounting.h): exact and cheap.
int64_t Server::used_memory() const { return allocated_bytes(); }

// ---------------------------------------------------------------------------------------
// Clients

std::shared_ptr<Client> Server::add_client(UniqueFd socket, std::string peer, std::string local) {
  auto client = std::make_shared<Client>(next_client_id_.fetch_add(1), std::move(socket), std::move(peer),
                                         std::move(local));
  // Like Redis: authenticated as the default user when that needs no password (and stays so).
  client->authenticated = !auth_required.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(clients_mutex_);
  clients_[client->id] = client;
  return client;
}

void Server::remove_client(Client& client) {
  std::lock_guard<std::mutex> lock(clients_mutex_);
  clients_.erase(client.id);
}

std::vector<std::shared_ptr<Client>> Server::clients() const {
  std::lock_guard<std::mutex> lock(clients_mutex_);
  std::vector<std::shared_ptr<Client>> out;
  out.reserve(clients_.size());
  for (const auto& [id, client] : clients_) out.push_back(client);
  return out;
}

std::shared_ptr<Client> Server::find_client(uint64_t id) const {
  std::lock_guard<std::mutex> lock(clients_mutex_);
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second;
}

size_t Server::client_count() const {
  std::lock_guard<std::mutex> lock(clients_mutex_);
  return clients_.size();
}

void Server::release_client_state(Client& client) {
  {
    std::unique_lock<std::shared_mutex> lock(keyspace.mutex());
    if (!client.watched.empty()) watches.unwatch_all(&client);
    if (client.blocked_state != nullptr) {
      blocking.remove(client.blocked_state.get());
      client.blocked_state.reset();
    }
  }
  pubsub.remove_client(client);
  if (client.has_flag(kClientMonitor)) monitors.remove(client);
  if (client.has_flag(kClientTracking)) tracking.disable(client);
}

void Server::count_error_reply(const CommandSpec& spec, std::string_view reply) {
  spec.stats.failed_calls.fetch_add(1, std::memory_order_relaxed);
  stats.total_error_replies.fetch_add(1, std::memory_order_relaxed);
  const size_t line_end = reply.find('\r');
  count_error(reply.substr(1, line_end == std::string_view::npos ? std::string_view::npos : line_end - 1));
}

void Server::count_error(std::string_view message) {
  size_t space = message.find(' ');
  std::string code(message.substr(0, space));
  std::lock_guard<std::mutex> lock(error_stats_mutex_);
  // Like Redis, stop tracking new codes past 128 of them (a flood of distinct codes).
  if (error_stats_.size() >= 128 && error_stats_.find(code) == error_stats_.end()) return;
  error_stats_[code]++;
}

std::map<std::string, uint64_t> Server::error_stats() const {
  std::lock_guard<std::mutex> lock(error_stats_mutex_);
  return error_stats_;
}

void Server::reset_stats() {
  for (std::atomic<uint64_t>* counter :
       {&stats.total_connections_received, &stats.total_commands_processed, &stats.rejected_connections,
        &stats.expired_keys, &stats.evicted_keys, &stats.keyspace_hits, &stats.keyspace_misses,
        &stats.net_input_bytes, &stats.net_output_bytes, &stats.total_error_replies,
        &stats.unexpected_error_replies, &stats.pubsub_messages, &stats.expire_cycle_cpu_ms,
        &stats.lazyfreed_objects}) {
    counter->store(0, std::memory_order_relaxed);
  }
  for (const CommandSpec* spec : commands.all()) {
    std::vector<const CommandSpec*> pending = {spec};
    while (!pending.empty()) {
      const CommandSpec* current = pending.back();
      pending.pop_back();
      current->stats.calls = 0;
      current->stats.usec = 0;
      current->stats.rejected_calls = 0;
      current->stats.failed_calls = 0;
      for (const auto& [name, sub] : current->subcommands) pending.push_back(sub.get());
    }
  }
  eviction->reset_stats();
  std::lock_guard<std::mutex> lock(error_stats_mutex_);
  error_stats_.clear();
}

// ---------------------------------------------------------------------------------------
// Lifecycle

void Server::request_shutdown(int exit_code) {
  exit_code_.store(exit_code);
  {
    std::lock_guard<std::mutex> lock(shutdown_mutex_);
    shutting_down_.store(true, std::memory_order_release);
  }
  shutdown_cv_.notify_all();
}

bool Server::prepare_shutdown(bool force_save, bool force_nosave) {
  return persistence->prepare_shutdown(force_save, force_nosave);
}

void Server::spawn_connection(UniqueFd socket) {
  sockaddr_storage peer{};
  socklen_t peer_length = sizeof(peer);
  getpeername(socket.get(), reinterpret_cast<sockaddr*>(&peer), &peer_length);
  sockaddr_storage local{};
  socklen_t local_length = sizeof(local);
  getsockname(socket.get(), reinterpret_cast<sockaddr*>(&local), &local_length);
  int one = 1;
  setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  setsockopt(socket.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
  setsockopt(socket.get(), SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));  // see Client::input_arrival_ns

  stats.total_connections_received.fetch_add(1, std::memory_order_relaxed);
  if (static_cast<int64_t>(client_count()) >= maxclients.load()) {
    stats.rejected_connections.fetch_add(1, std::memory_order_relaxed);
    const char* message = "-ERR max number of clients reached\r\n";
    write_all(socket.get(), message, std::strlen(message));
    return;  // the socket closes here
  }
  std::shared_ptr<Client> client = add_client(std::move(socket), address_to_string(peer), address_to_string(local));
  std::lock_guard<std::mutex> lock(threads_mutex_);
  uint64_t id = client->id;
  threads_[id] = std::thread([this, client, id] {
    serve_connection(*this, client);
    std::lock_guard<std::mutex> finished_lock(threads_mutex_);
    finished_threads_.push_back(id);
  });
}

void Server::reap_finished_threads() {
  std::vector<std::thread> done;
  {
    std::lock_guard<std::mutex> lock(threads_mutex_);
    for (uint64_t id : finished_threads_) {
      auto it = threads_.find(id);
      if (it == threads_.end()) continue;
      done.push_back(std::move(it->second));
      threads_.erase(it);
    }
    finished_threads_.clear();
  }
  for (std::thread& t : done) t.join();
}

void Server::accept_loop(int listen_fd) {
  while (!shutting_down()) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (shutting_down()) break;
      if (errno == EMFILE || errno == ENFILE) {
        log('#', std::string("Error accepting a client connection: ") + std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      break;
    }
    spawn_connection(UniqueFd(fd));
  }
}

void Server::cron_loop() {
  using namespace std::chrono;
  tick_access_clock();
  while (!shutting_down()) {
    {
      std::unique_lock<std::mutex> lock(shutdown_mutex_);
      shutdown_cv_.wait_for(lock, milliseconds(100), [this] { return shutting_down(); });
    }
    if (shutting_down()) break;
    tick_access_clock();
    reap_finished_threads();
    if (cron_paused_.load(std::memory_order_relaxed)) continue;
    close_idle_clients();
    sample_ops_per_second();
    if (active_expire_enabled.load() && !is_replica() && !clients_paused()) active_expire_cycle();
    eviction->cron();
    if (tracking.over_limit()) tracking.enforce_limit(nullptr);
    persistence->cron();
    replication->cron();
  }
}

void Server::close_idle_clients() {
  const int64_t timeout_s = idle_timeout_s.load(std::memory_order_relaxed);
  if (timeout_s <= 0) return;
  const int64_t now = unix_time_ms();
  for (const std::shared_ptr<Client>& client : clients()) {
    // Like Redis: replicas, the master link, blocked and subscribed clients never time out.
    if (client->has_flag(kClientReplica) || client->has_flag(kClientMaster) || client->has_flag(kClientBlocked) ||
        client->has_flag(kClientPubSub)) {
      continue;
    }
    if (now - client->last_interaction_ms.load(std::memory_order_relaxed) > timeout_s * 1000) {
      log('.', "Closing idle client");
      client->kill();
    }
  }
}

void Server::sample_ops_per_second() {
  const uint64_t processed = stats.total_commands_processed.load(std::memory_order_relaxed);
  const int64_t now_us = monotonic_us();
  if (last_ops_sample_us_ > 0 && now_us > last_ops_sample_us_ && processed >= last_ops_sample_) {
    ops_per_sec_.store(static_cast<int64_t>((processed - last_ops_sample_) * 1000000 /
                                            static_cast<uint64_t>(now_us - last_ops_sample_us_)),
                       std::memory_order_relaxed);
  }
  last_ops_sample_ = processed;
  last_ops_sample_us_ = now_us;
}

void Server::active_expire_cycle() {
  // Like Redis: sample keys with a TTL, delete the expired ones, keep going while more than
  // 10% of the sample was expired, and spend at most ~25% of the cron period doing it.
  constexpr size_t kBucketsPerStep = 256;
  constexpr int64_t kBudgetUs = 25000;
  const int64_t started = monotonic_us();
  int64_t working_us = 0;
  for (int db_index = 0; db_index < keyspace.db_count(); db_index++) {
    size_t sampled = 0;
    size_t expired = 0;
    while (monotonic_us() - started < kBudgetUs) {
      std::unique_lock<std::shared_mutex> lock(keyspace.mutex());
      const int64_t locked_at = monotonic_us();
      // Only the time holding the lock is the cycle's latency (not waiting for a DEBUG SLEEP).
      struct Timer {
        int64_t& total;
        int64_t from;
        ~Timer() { total += monotonic_us() - from; }
      } timer{working_us, locked_at};
      Db& db = keyspace.db(db_index);
      if (db.expires_count() == 0) break;
      const int64_t now = unix_time_ms();
      std::vector<std::string> victims;
      bool more = db.walk_volatile(kBucketsPerStep, [&](KeyEntry* entry) {
        sampled++;
        if (entry->expired_at(now)) victims.emplace_back(entry->key());
      });
      for (const std::string& key : victims) expire_key(nullptr, db_index, key);
      if (tracking.broadcast_pending()) tracking.flush_broadcasts();
      expired += victims.size();
      if (!more) break;  // walked the whole table once
      if (sampled >= 20 && expired * 10 <= sampled) break;
    }
  }
  latency.maybe_add("expire-cycle", working_us / 1000);  // LATENCY, as Redis
}

std::string Server::open_listeners(int port, const std::string& bind, std::vector<UniqueFd>* out) {
  // "-addr" means "skip if this address is not available".
  std::istringstream binds(bind);
  std::string address;
  while (binds >> address) {
    bool optional = !address.empty() && address[0] == '-';
    if (optional) address.erase(0, 1);
    bool ipv6 = address.find(':') != std::string::npos;
    if (address == "*") address = "0.0.0.0";
    if (address == "::*") address = "::";
    UniqueFd fd(::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ipv6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    sockaddr_storage addr{};
    socklen_t length = 0;
    bool parsed = false;
    if (ipv6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(static_cast<uint16_t>(port));
      parsed = inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) == 1;
      length = sizeof(sockaddr_in6);
    } else {
      auto* in = reinterpret_cast<sockaddr_in*>(&addr);
      in->sin_family = AF_INET;
      in->sin_port = htons(static_cast<uint16_t>(port));
      parsed = inet_pton(AF_INET, address.c_str(), &in->sin_addr) == 1;
      length = sizeof(sockaddr_in);
    }
    if (!fd.valid() || !parsed || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), length) != 0 ||
        ::listen(fd.get(), static_cast<int>(config.get_int("tcp-backlog"))) != 0) {
      std::string reason = parsed ? std::strerror(errno) : "Invalid address";
      if (optional) {
        log('#', "Skipping binding to " + address + ":" + std::to_string(port) + ": " + reason);
        continue;
      }
      log('#', "Warning: Could not create server TCP listening socket " + address + ":" + std::to_string(port) +
                   ": bind: " + reason);
      return reason;
    }
    out->push_back(std::move(fd));
  }
  return "";
}

void Server::start_acceptors(std::vector<UniqueFd> fds) {
  std::lock_guard<std::mutex> lock(listeners_mutex_);
  for (UniqueFd& fd : fds) {
    auto listener = std::make_unique<Listener>();
    listener->fd = std::move(fd);
    const int raw = listener->fd.get();
    listener->acceptor = std::thread([this, raw] { accept_loop(raw); });
    listeners_.push_back(std::move(listener));
  }
}

void Server::stop_acceptors(std::vector<std::unique_ptr<Listener>> listeners) {
  // shutdown() wakes the blocked accept(); the loop sees the error and returns.
  for (const auto& listener : listeners) ::shutdown(listener->fd.get(), SHUT_RDWR);
  for (const auto& listener : listeners) listener->acceptor.join();
}

std::string Server::rebind(int port, const std::string& bind) {
  std::lock_guard<std::mutex> serialized(rebind_mutex_);
  if (port == listening_port_ && bind == listening_bind_) return "";
  std::vector<UniqueFd> fresh;
  if (!open_listeners(port, bind, &fresh).empty() || fresh.empty()) {
    return port != listening_port_ ? "Unable to listen on this port. Check server logs."
                                   : "Failed to bind to specified addresses.";
  }
  std::vector<std::unique_ptr<Listener>> old;
  {
    std::lock_guard<std::mutex> lock(listeners_mutex_);
    old.swap(listeners_);
  }
  start_acceptors(std::move(fresh));
  stop_acceptors(std::move(old));
  listening_port_ = port;
  listening_bind_ = bind;
  return "";
}

int Server::run() {
  std::vector<UniqueFd> listening;
  const int port = static_cast<int>(config.get_int("port"));
  listening_port_ = port;
  listening_bind_ = config.get("bind");
  if (!open_listeners(port, listening_bind_, &listening).empty()) {
    log('#', "Failed listening on port " + std::to_string(port) + " (tcp), aborting.");
    return 1;
  }
  if (listening.empty()) {
    log('#', "Configured to not listen anywhere, exiting.");
    return 1;
  }

  log('*', "Server initialized");
  std::vector<std::string> acl_errors = acl->load_at_startup(config.user_lines());
  if (!acl_errors.empty()) {
    for (const std::string& line : acl_errors) log('#', line);
    return 1;
  }
  std::string load_error = persistence->load_at_startup();
  if (!load_error.empty()) {
    log('#', load_error);
    return 1;
  }
  replication->start();
  start_acceptors(std::move(listening));
  std::thread cron([this] { cron_loop(); });
  log('*', "Ready to accept connections tcp");

  {
    std::unique_lock<std::mutex> lock(shutdown_mutex_);
    shutdown_cv_.wait(lock, [this] { return shutting_down(); });
  }

  // Stop accepting, then release every client (blocked ones included) and wait for them.
  {
    std::vector<std::unique_ptr<Listener>> listeners;
    {
      std::lock_guard<std::mutex> lock(listeners_mutex_);
      listeners.swap(listeners_);
    }
    stop_acceptors(std::move(listeners));
  }
  for (const std::shared_ptr<Client>& client : clients()) client->kill();
  while (true) {
    reap_finished_threads();
    {
      std::lock_guard<std::mutex> lock(threads_mutex_);
      if (threads_.empty()) break;
    }
    for (const std::shared_ptr<Client>& client : clients()) client->kill();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  cron.join();
  // The master link applies commands too: stop it before the final save.
  replication->shutdown();
  // No command can run any more: the final AOF fsync and RDB save see everything acknowledged.
  if (!persistence->finish_shutdown() && exit_code_.load() == 0) exit_code_.store(1);
  log('#', "Redis is now ready to exit, bye bye...");
  return exit_code_.load();
}

}  // namespace rd
