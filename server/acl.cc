#include "server/acl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "server/command_context.h"
#include "server/command_table.h"
#include "server/commands/families.h"
#include "server/server.h"

namespace rd {
namespace {

const char* context_name(AclContext context) {
  switch (context) {
    case AclContext::kTopLevel:
      return "toplevel";
    case AclContext::kMulti:
      return "multi";
    case AclContext::kLua:
      return "lua";
  }
  return "toplevel";
}

// The bit of a command in the selectors' bitmaps: its row in the command metadata.
const AclCommand& acl_command_of(const CommandSpec& spec) {
  const AclCommands& index = AclCommands::get();
  const ptrdiff_t row = spec.meta - command_meta().data();
  return index.at(static_cast<int>(row));
}

std::string trim(std::string_view text, std::string_view chars) {
  size_t begin = text.find_first_not_of(chars);
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(chars);
  return std::string(text.substr(begin, end - begin + 1));
}

// Redis's sdssplitlen on single spaces: consecutive spaces give empty arguments.
std::vector<std::string> split_spaces(std::string_view line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t space = line.find(' ', start);
    if (space == std::string_view::npos) {
      out.emplace_back(line.substr(start));
      break;
    }
    out.emplace_back(line.substr(start, space - start));
    start = space + 1;
  }
  return out;
}

}  // namespace

std::string acl_check_user_line(const std::vector<std::string>& args,
                                const std::vector<std::vector<std::string>>& previous) {
  auto error_at = [&](size_t index, AclRuleError error) {
    const std::string& shown = args[std::min(index, args.size() - 1)];
    return "Error in user declaration '" + shown + "': " + acl_rule_error_text(error);
  };
  for (const std::vector<std::string>& line : previous) {
    if (line.size() >= 2 && line[1] == args[1]) return error_at(1, AclRuleError::kDuplicateUser);
  }
  std::vector<std::string> rules(args.begin() + 2, args.end());
  std::vector<std::string> merged;
  size_t bad = 0;
  // Like Redis, an unmatched "(" is reported with the argument at that index of the whole line.
  if (!acl_merge_selector_args(rules, &merged, &bad)) return error_at(bad, AclRuleError::kUnknownCommand);
  AclUser fake("__fakeuser__", false);
  for (size_t i = 0; i < merged.size(); i++) {
    AclRuleError error = fake.apply(merged[i]);
    // Unknown commands are reported when the users are created at startup.
    if (error != AclRuleError::kOk && error != AclRuleError::kUnknownCommand) return error_at(i, error);
  }
  return "";
}

Acl::Acl(Server& server) : server_(server) {
  auto user = std::make_shared<AclUser>(AclUser::make_default());
  user->id = AclClientState::kDefaultUserId;
  users_["default"] = std::move(user);
}

void Acl::changed_locked() {
  update_auth_required_locked();
  epoch_.fetch_add(1, std::memory_order_acq_rel);
}

void Acl::update_auth_required_locked() {
  auto it = users_.find("default");
  const bool open = it != users_.end() && it->second->has(AclUser::kNoPass) && !it->second->has(AclUser::kDisabled);
  server_.auth_required.store(!open, std::memory_order_relaxed);
}

bool Acl::channels_default_all() const { return server_.config.get("acl-pubsub-default") == "allchannels"; }

void Acl::refresh(Client& client) {
  const uint64_t epoch = epoch_.load(std::memory_order_acquire);
  std::shared_ptr<const AclUser> user;
  {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    auto it = users_.find(client.acl.user_name());
    if (it != users_.end() && it->second->id == client.acl.user_id) user = it->second;
  }
  client.acl.unrestricted = user != nullptr && user->unrestricted();
  client.acl.user = std::move(user);
  client.acl.epoch = epoch;
  // The user was deleted (or reloaded) under this connection: Redis disconnects it.
  if (client.acl.user == nullptr && !client.has_flag(kClientMaster)) client.kill();
}

std::string Acl::deny(Client& client, const AclUser* user, const CommandSpec& spec, const AclCommand& command,
                      const AclVerdict& verdict, const std::vector<std::string_view>& argv, AclContext context) {
  std::string object;
  std::string message;
  switch (verdict.denial) {
    case AclDenial::kKey:
      object = std::string(argv[static_cast<size_t>(verdict.position)]);
      message = "NOPERM this user has no permissions to access one of the keys used as arguments";
      break;
    case AclDenial::kChannel:
      object = std::string(argv[static_cast<size_t>(verdict.position)]);
      message = "NOPERM this user has no permissions to access one of the channels used as arguments";
      break;
    default:
      object = command.name;
      message = "NOPERM this user has no permissions to run the '" + command.name + "' command";
      break;
  }
  // Like Redis, the client shows the refused command as its last one (CLIENT LIST, the log).
  client.last_command.store(&spec, std::memory_order_relaxed);
  add_log_entry(client, verdict.denial, context, std::move(object),
                user != nullptr ? user->name : client.acl.user_name());
  return message;
}

bool Acl::check_command(Client& client, const CommandSpec& spec, const std::vector<std::string_view>& argv,
                        AclContext context, std::string* error) {
  if (unrestricted(client) || client.has_flag(kClientMaster)) return true;
  const AclCommand& command = acl_command_of(spec);
  const AclUser* user = client.acl.user.get();
  AclVerdict verdict = user != nullptr ? user->check(command, argv) : AclVerdict{AclDenial::kCommand, 0};
  if (verdict.denial == AclDenial::kNone) return true;
  *error = deny(client, user, spec, command, verdict, argv, context);
  return false;
}

bool Acl::check_queued_command(Client& client, const CommandSpec& spec, const std::vector<std::string_view>& argv,
                               std::string* error) {
  if (unrestricted(client) || client.has_flag(kClientMaster)) return true;
  const AclCommand& command = acl_command_of(spec);
  const AclUser* user = client.acl.user.get();
  AclVerdict verdict = user != nullptr ? user->check(command, argv) : AclVerdict{AclDenial::kCommand, 0};
  if (verdict.denial == AclDenial::kNone) return true;
  const char* reason = "no permission to execute the command or subcommand";
  std::string object = command.name;
  if (verdict.denial == AclDenial::kKey) {
    reason = "no permission to touch the specified keys";
    object = std::string(argv[static_cast<size_t>(verdict.position)]);
  } else if (verdict.denial == AclDenial::kChannel) {
    reason = "no permission to access one of the channels used as arguments";
    object = std::string(argv[static_cast<size_t>(verdict.position)]);
  }
  add_log_entry(client, verdict.denial, AclContext::kMulti, std::move(object),
                user != nullptr ? user->name : client.acl.user_name());
  *error = std::string("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC "
                       "call. This command is no longer allowed for the following reason: ") + reason;
  return false;
}

bool Acl::check_script_command(Client& caller, const CommandSpec& spec, const std::vector<std::string>& args,
                               std::string* error) {
  if (unrestricted(caller) || caller.has_flag(kClientMaster)) return true;
  const AclCommand& command = acl_command_of(spec);
  std::vector<std::string_view> argv(args.begin(), args.end());
  const AclUser* user = caller.acl.user.get();
  AclVerdict verdict = user != nullptr ? user->check(command, argv) : AclVerdict{AclDenial::kCommand, 0};
  if (verdict.denial == AclDenial::kNone) return true;
  std::string object = verdict.denial == AclDenial::kCommand ? command.name
                                                              : std::string(argv[static_cast<size_t>(verdict.position)]);
  add_log_entry(caller, verdict.denial, AclContext::kLua, std::move(object),
                user != nullptr ? user->name : caller.acl.user_name());
  switch (verdict.denial) {
    case AclDenial::kKey:
      *error = "The user executing the script can't access at least one of the keys mentioned in the command arguments";
      break;
    case AclDenial::kChannel:
      *error = "The user executing the script can't publish to the channel mentioned in the command";
      break;
    default:
      *error = "The user executing the script can't run this command or subcommand";
      break;
  }
  return false;
}

bool Acl::script_command_allowed(Client& caller, const CommandSpec& spec, const std::vector<std::string>& args) {
  if (unrestricted(caller) || caller.has_flag(kClientMaster)) return true;
  std::vector<std::string_view> argv(args.begin(), args.end());
  const AclUser* user = caller.acl.user.get();
  return user != nullptr && user->check(acl_command_of(spec), argv).denial == AclDenial::kNone;
}

// ---------------------------------------------------------------------------------------
// Authentication

bool Acl::authenticate(Client& client, std::string_view username, std::string_view password,
                       std::string_view command_name, bool in_multi) {
  std::shared_ptr<const AclUser> user = find_user(username);
  if (user != nullptr && !user->has(AclUser::kDisabled) && user->password_matches(password)) {
    client.acl.set_user(user->name, user->id);
    client.authenticated = true;
    return true;
  }
  add_log_entry(client, AclDenial::kAuth, in_multi ? AclContext::kMulti : AclContext::kTopLevel,
                std::string(command_name), std::string(username));
  return false;
}

void Acl::reset_client(Client& client) {
  client.acl.set_user("default", AclClientState::kDefaultUserId);
  client.authenticated = !server_.auth_required.load(std::memory_order_relaxed);
}

bool Acl::default_user_nopass() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  auto it = users_.find("default");
  return it != users_.end() && it->second->has(AclUser::kNoPass);
}

bool Acl::user_exists(std::string_view name) const { return find_user(name) != nullptr; }

bool Acl::skips_sanitize_payload(Client& client) {
  unrestricted(client);  // refreshes the snapshot when stale
  return client.acl.user != nullptr && client.acl.user->has(AclUser::kSkipSanitize);
}

std::shared_ptr<const AclUser> Acl::find_user(std::string_view name) const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const AclUser>> Acl::all_users() const {
  std::shared_lock<std::shared_mutex> lock(mutex_);
  std::vector<std::shared_ptr<const AclUser>> out;
  out.reserve(users_.size());
  for (const auto& [name, user] : users_) out.push_back(user);
  return out;
}

// ---------------------------------------------------------------------------------------
// Configuration

void Acl::set_default_password(std::string_view password) {
  std::unique_lock<std::shared_mutex> lock(mutex_);
  auto user = std::make_shared<AclUser>(*users_.at("default"));
  user->apply("resetpass");
  if (password.empty()) {
    user->apply("nopass");
  } else {
    user->apply(">" + std::string(password));
  }
  users_["default"] = std::move(user);
  changed_locked();
}

std::vector<std::string> Acl::load_at_startup(const std::vector<std::vector<std::string>>& user_lines) {
  const std::string acl_file = server_.config.get("aclfile");
  if (!acl_file.empty() && !user_lines.empty()) {
    return {"Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is "
            "invalid. This setup is very likely to lead to configuration errors and security holes, please "
            "define either an ACL file or declare users directly in your redis.conf, but not both."};
  }
  const bool all_channels = channels_default_all();
  {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    for (const std::vector<std::string>& line : user_lines) {
      const std::string& name = line[1];
      if (acl_string_has_spaces(name)) {
        return {"Spaces not allowed in ACL usernames", "Critical error while loading ACLs. Exiting."};
      }
      std::vector<std::string> merged;
      acl_merge_selector_args(std::vector<std::string>(line.begin() + 2, line.end()), &merged, nullptr);
      std::shared_ptr<AclUser> user;
      auto existing = users_.find(name);
      if (existing != users_.end()) {  // only "default" can already exist: it starts over
        user = std::make_shared<AclUser>(*existing->second);
        user->channels_default_all = all_channels;
        user->apply("reset");
      } else {
        user = std::make_shared<AclUser>(name, all_channels);
        user->id = next_user_id_++;
      }
      user->channels_default_all = all_channels;
      for (const std::string& rule : merged) {
        AclRuleError error = user->apply(rule);
        if (error != AclRuleError::kOk) {
          return {"Error loading ACL rule '" + rule + "' for the user named '" + name + "': " +
                      acl_rule_error_text(error),
                  "Critical error while loading ACLs. Exiting."};
        }
      }
      if (user->has(AclUser::kDisabled)) {
        server_.log('*', "The user '" + name +
                             "' is disabled (there is no 'on' modifier in the user description). Make sure this "
                             "is not a configuration error.");
      }
      users_[name] = std::move(user);
    }
    changed_locked();
  }
  if (!acl_file.empty()) {
    UserMap loaded;
    std::string errors = read_acl_file(acl_file, &loaded);
    if (!errors.empty()) return {"Aborting Redis startup because of ACL errors: " + errors};
    std::unique_lock<std::shared_mutex> lock(mutex_);
    users_ = std::move(loaded);
    changed_locked();
  }
  return {};
}

std::string Acl::read_acl_file(const std::string& path, UserMap* users) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return "Error loading ACLs, opening file '" + path + "': " + std::strerror(errno);
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const bool all_channels = channels_default_all();
  std::string errors;
  UserMap loaded;
  uint64_t next_id;
  {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    next_id = next_user_id_;
  }
  size_t pos = 0;
  int line_number = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = trim(std::string_view(text).substr(pos, end - pos), " \t\r\n");
    pos = end + 1;
    line_number++;
    if (line.empty()) {  // (a "#" line is an error, as in Redis 7.0)
      if (end == text.size()) break;
      continue;
    }
    const std::string where = path + ":" + std::to_string(line_number);
    std::vector<std::string> argv = split_spaces(line);
    if (argv.size() < 2 || argv[0] != "user") {
      errors += where + " should start with user keyword followed by the username. ";
    } else if (acl_string_has_spaces(argv[1])) {
      errors += "'" + where + ": username '" + argv[1] + "' contains invalid characters. ";
    } else if (loaded.count(argv[1]) > 0) {
      errors += "WARNING: Duplicate user '" + argv[1] + "' found on line " + std::to_string(line_number) + ". ";
    } else {
      auto user = std::make_shared<AclUser>(argv[1], all_channels);
      user->id = argv[1] == "default" ? AclClientState::kDefaultUserId : next_id++;
      std::vector<std::string> merged;
      if (!acl_merge_selector_args(std::vector<std::string>(argv.begin() + 2, argv.end()), &merged, nullptr)) {
        errors += where + ": Unmatched parenthesis in selector definition. ";
      } else {
        bool syntax_error = false;
        for (std::string& rule : merged) {
          rule = trim(rule, "\t\r\n");
          AclRuleError error = user->apply(rule);
          if (error == AclRuleError::kUnknownCommand) {
            errors += where + ": Error in applying operation '" + rule + "': " + acl_rule_error_text(error) + ". ";
          } else if (error != AclRuleError::kOk && !syntax_error) {
            errors += where + ": " + acl_rule_error_text(error) + ". ";
            syntax_error = true;
          }
        }
      }
      if (errors.empty()) loaded[argv[1]] = std::move(user);
    }
    if (end == text.size()) break;
  }
  if (!errors.empty()) {
    return errors + "WARNING: ACL errors detected, no change to the previously active ACL rules was performed";
  }
  if (loaded.count("default") == 0) {
    auto user = std::make_shared<AclUser>(AclUser::make_default());
    user->id = AclClientState::kDefaultUserId;
    loaded["default"] = std::move(user);
  }
  {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    next_user_id_ = std::max(next_user_id_, next_id);
  }
  *users = std::move(loaded);
  return "";
}

bool Acl::has_acl_file() const { return !server_.config.get("aclfile").empty(); }

std::string Acl::load_file(Client& caller) {
  const std::string path = server_.config.get("aclfile");
  if (path.empty()) {
    return "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the "
           "ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file "
           "set) in order to store users in the Redis configuration.";
  }
  UserMap loaded;
  std::string errors = read_acl_file(path, &loaded);
  if (!errors.empty()) return "ERR " + errors;
  {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    users_ = std::move(loaded);
    changed_locked();
  }
  // Redis 7.0 frees every user but the default one: their clients are disconnected.
  kill_clients_of(&caller, {}, true);
  return "";
}

std::string Acl::save_file() {
  const std::string path = server_.config.get("aclfile");
  if (path.empty()) {
    return "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the "
           "ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file "
           "set) in order to store users in the Redis configuration.";
  }
  std::string text;
  for (const std::shared_ptr<const AclUser>& user : all_users()) {
    text += "user " + user->name + " " + user->describe() + "\n";
  }
  const std::string temp = path + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(unix_time_ms());
  const char* failure = nullptr;
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    failure = "Opening temp ACL file for ACL SAVE: ";
  } else if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    failure = "Writing ACL file for ACL SAVE: ";
  } else if (::close(fd) != 0 || (fd = -1, ::rename(temp.c_str(), path.c_str()) != 0)) {
    failure = "Renaming ACL file for ACL SAVE: ";
  }
  const int saved_errno = errno;
  if (failure != nullptr) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    server_.log('#', failure + std::string(std::strerror(saved_errno)));
    return "ERR There was an error trying to save the ACLs. Please check the server logs for more information";
  }
  return "";
}

// ---------------------------------------------------------------------------------------
// ACL SETUSER / DELUSER

std::string Acl::set_user(Client& caller, std::string_view name, const std::vector<std::string>& rules) {
  if (acl_string_has_spaces(name)) return "ERR Usernames can't contain spaces or null characters";
  std::vector<std::string> merged;
  size_t bad = 0;
  if (!acl_merge_selector_args(rules, &merged, &bad)) {
    return "ERR Unmatched parenthesis in acl selector starting at '" + rules[bad] + "'.";
  }
  const bool all_channels = channels_default_all();
  std::shared_ptr<const AclUser> before;
  std::shared_ptr<AclUser> after;
  {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    auto it = users_.find(name);
    if (it != users_.end()) {
      before = it->second;
      after = std::make_shared<AclUser>(*before);
    } else {
      after = std::make_shared<AclUser>(std::string(name), all_channels);
    }
    after->channels_default_all = all_channels;
    for (const std::string& rule : merged) {
      AclRuleError error = after->apply(rule);
      if (error != AclRuleError::kOk) {
        return "ERR Error in ACL SETUSER modifier '" + rule + "': " + acl_rule_error_text(error);
      }
    }
    if (before == nullptr) after->id = next_user_id_++;
    users_[std::string(name)] = after;
    changed_locked();
  }
  if (before != nullptr) kill_pubsub_clients(caller, *before, *after);
  return "";
}

int64_t Acl::delete_users(Client& caller, const std::vector<std::string_view>& names) {
  std::vector<std::string> deleted;
  {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    for (std::string_view name : names) {
      auto it = users_.find(name);
      if (it == users_.end()) continue;
      deleted.push_back(it->first);
      users_.erase(it);
    }
    if (!deleted.empty()) changed_locked();
  }
  if (!deleted.empty()) kill_clients_of(&caller, deleted, false);
  return static_cast<int64_t>(deleted.size());
}

void Acl::kill_clients_of(Client* caller, const std::vector<std::string>& names, bool all_but_default) {
  for (const std::shared_ptr<Client>& client : server_.clients()) {
    if (client->has_flag(kClientMaster)) continue;
    const std::string user = client->acl.user_name();
    bool hit = all_but_default ? user != "default" : false;
    for (const std::string& name : names) hit = hit || user == name;
    if (!hit) continue;
    if (client.get() == caller) {
      caller->set_flag(kClientCloseAfterReply);  // the reply goes out first
    } else {
      client->kill();
    }
  }
}

void Acl::kill_pubsub_clients(Client& caller, const AclUser& old_user, const AclUser& new_user) {
  if (new_user.any_selector_all_channels()) return;
  // Nothing to do when every pattern the user had is still there.
  const std::vector<std::string> upcoming = new_user.all_channel_patterns();
  bool superset = true;
  for (const std::string& pattern : old_user.all_channel_patterns()) {
    bool found = false;
    for (const std::string& candidate : upcoming) found = found || candidate == pattern;
    if (!found) {
      superset = false;
      break;
    }
  }
  if (superset) return;
  auto allowed = [&](std::string_view channel, bool literal) {
    for (const std::string& pattern : upcoming) {
      if (literal ? pattern == channel : acl_pattern_match(pattern, channel)) return true;
    }
    return false;
  };
  for (const std::shared_ptr<Client>& client : server_.clients()) {
    if (!client->has_flag(kClientPubSub) || client->acl.user_name() != old_user.name) continue;
    const PubSub::Subscriptions subs = server_.pubsub.subscriptions(*client);
    bool kill = false;
    for (const std::string& pattern : subs.patterns) kill = kill || !allowed(pattern, true);
    for (const std::string& channel : subs.channels) kill = kill || !allowed(channel, false);
    // Shard channels are checked like channels (Redis 7.0 kills those subscribers too).
    for (const std::string& channel : subs.shard_channels) kill = kill || !allowed(channel, false);
    if (!kill) continue;
    if (client.get() == &caller) {
      caller.set_flag(kClientCloseAfterReply);
    } else {
      client->kill();
    }
  }
}

// ---------------------------------------------------------------------------------------
// ACL LOG

void Acl::add_log_entry(Client& client, AclDenial reason, AclContext context, std::string object,
                        std::string username) {
  AclLogEntry entry;
  entry.reason = reason;
  entry.context = context;
  entry.object = std::move(object);
  entry.username = std::move(username);
  entry.created_ms = unix_time_ms();
  entry.client_info = client_info_line(client, entry.created_ms);
  const int64_t max_len = server_.config.get_int("acllog-max-len");
  constexpr int64_t kGroupingWindowMs = 60000;
  std::lock_guard<std::mutex> lock(log_mutex_);
  // The same denial again (among the 10 newest, within a minute): counted on that entry,
  // which becomes the newest.
  const size_t scan = std::min<size_t>(10, log_.size());
  for (size_t i = 0; i < scan; i++) {
    AclLogEntry& existing = log_[i];
    if (existing.reason != entry.reason || existing.context != entry.context ||
        std::llabs(existing.created_ms - entry.created_ms) > kGroupingWindowMs || existing.object != entry.object ||
        existing.username != entry.username) {
      continue;
    }
    AclLogEntry updated = std::move(existing);
    updated.count++;
    updated.client_info = std::move(entry.client_info);
    updated.created_ms = entry.created_ms;
    log_.erase(log_.begin() + static_cast<std::ptrdiff_t>(i));
    log_.push_front(std::move(updated));
    return;
  }
  log_.push_front(std::move(entry));
  while (static_cast<int64_t>(log_.size()) > max_len) log_.pop_back();
}

std::vector<AclLogEntry> Acl::log_entries(size_t count) const {
  std::lock_guard<std::mutex> lock(log_mutex_);
  count = std::min(count, log_.size());
  return std::vector<AclLogEntry>(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(count));
}

void Acl::reset_log() {
  std::lock_guard<std::mutex> lock(log_mutex_);
  log_.clear();
}

const char* acl_context_name(AclContext context) { return context_name(context); }

}  // namespace rd
