// Replication: the master side (replica list, backlog, propagation to replicas, WAIT) and the
// replica side (handshake, full/partial sync, applying the master's stream).
// (Interface used by the server; implemented in replication.cc and friends.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rd {

class Server;

class Replication {
 public:
  explicit Replication(Server& server);
  ~Replication();
  Replication(const Replication&) = delete;
  Replication& operator=(const Replication&) = delete;

  // After the dataset is loaded: starts the replica link if `replicaof` is configured.
  void start();
  // Called every 100 ms by the cron thread (pings, ACKs, timeouts, reconnects).
  void cron();
  // Before exit: closes links and stops threads.
  void shutdown();
  // True while this server is a replica (REPLICAOF host port). Cheap: read on hot paths.
  bool is_replica() const;
  // After CONFIG SET of `name`. Returns "" or an error text.
  std::string config_changed(std::string_view name);
  // INFO replication, and the sync_* counters of INFO stats.
  void append_info(std::string* out);
  void append_stats(std::string* out);

 private:
  Server& server_;
};

}  // namespace rd
