// A connection's ACL identity (Client::acl): which user it runs as, and the dispatcher's cached
// view of that user's permissions (server/acl.h).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace rd {

struct AclUser;

class AclClientState {
 public:
  static constexpr uint64_t kDefaultUserId = 1;  // the default user's identity never changes

  // ---- connection thread only (Acl::unrestricted / Acl::check_command) ----
  uint64_t epoch = 0;                   // Acl epoch the two fields below were taken at (0: never)
  bool unrestricted = false;            // the user may run anything: no per-command check
  std::shared_ptr<const AclUser> user;  // snapshot of the user; null once the user is gone
  uint64_t user_id = kDefaultUserId;    // which incarnation of the user the client logged in as

  // ---- the user's name: written by the connection thread, read by any thread ----
  std::string user_name() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return user_name_;
  }
  // AUTH / HELLO AUTH / RESET: runs as this user from the next command on.
  void set_user(std::string name, uint64_t id) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      user_name_ = std::move(name);
    }
    user_id = id;
    epoch = 0;  // re-read the permissions before the next command
  }

 private:
  mutable std::mutex mutex_;
  std::string user_name_ = "default";  // Protected by mutex_
};

}  // namespace rd
