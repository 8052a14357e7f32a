// MONITOR: clients that receive every command the server executes.
//
// Thread-safety: mutex_ guards the list; count_ lets the dispatcher skip all work with one
// relaxed load while nobody monitors. Lines are delivered through each monitor's outbox.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace rd {

class Client;
struct CommandSpec;

class Monitors {
 public:
  bool active() const { return count_.load(std::memory_order_relaxed) > 0; }
  void add(const std::shared_ptr<Client>& client);
  void remove(const Client& client);
  // Sends "+<unix time> [<db> <addr>] "arg" ..." to every monitor.
  // `spec`: the command, whose secret arguments are shown "(redacted)" as Redis does.
  void feed(const Client& source, int db, const CommandSpec& spec, const std::string_view* args, size_t count);

 private:
  std::mutex mutex_;
  std::vector<std::shared_ptr<Client>> monitors_;  // Protected by mutex_
  std::atomic<int> count_{0};
};

}  // namespace rd
