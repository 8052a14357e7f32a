// Configuration: every Redis 7.0 parameter, settable from a redis.conf file, the command line
// (`--name value ...`) and CONFIG SET, readable with CONFIG GET.
//
// Values are kept as canonical strings (what CONFIG GET prints). The server reads the few
// parameters it needs on hot paths into atomics when they change (Server::apply_config), so
// command execution never takes this lock.
//
// Thread-safe: all members lock mutex_.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rd {

enum class ParamType { kBool, kInt, kMemory, kEnum, kString, kSpecial };

struct ParamSpec {
  const char* name;
  const char* alias;          // the pre-7.0 name ("slaveof", "hash-max-ziplist-entries"), or ""
  ParamType type;
  const char* default_value;  // canonical form
  const char* enum_values;    // space-separated choices for kEnum
  int64_t min;                // range for kInt / kMemory
  int64_t max;
  bool immutable;             // settable only at startup
};

const std::vector<ParamSpec>& config_params();

class Config {
 public:
  Config();

  // The parameter named `name` (or its alias), case-insensitively; nullptr when unknown.
  static const ParamSpec* find(std::string_view name);

  // Validates and stores a value given as the arguments after the name. `at_startup` is true
  // for config files and the command line (where `save` lines accumulate and immutable
  // parameters may be set). Returns "" on success, else Redis's reason text.
  std::string set(const ParamSpec& spec, const std::vector<std::string>& args, bool at_startup);
  // Convenience for code and tests: one argument.
  std::string set(std::string_view name, std::string_view value);

  std::string get(std::string_view name) const;
  int64_t get_int(std::string_view name) const;
  bool get_bool(std::string_view name) const;

  // Loads redis.conf-style text. Returns "" or a FATAL CONFIG FILE ERROR report.
  std::string load_text(std::string_view text);
  // Applies `--name value ...` arguments (already grouped per option).
  std::string load_options(const std::vector<std::vector<std::string>>& options);

  // Every (name, value) whose name matches `pattern`, aliases included (CONFIG GET).
  std::vector<std::pair<std::string, std::string>> matching(std::string_view pattern) const;

  // The config file's `user <name> <rules...>` lines (ACL users), in order: checked when read
  // (acl_check_user_line), created by the ACL subsystem at startup (Acl::load_at_startup).
  std::vector<std::vector<std::string>> user_lines() const;

 private:
  std::string set_locked(const ParamSpec& spec, const std::vector<std::string>& args, bool at_startup);
  std::string set_special(const ParamSpec& spec, const std::string& joined, bool at_startup);

  mutable std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> values_;  // canonical name -> value
  bool save_set_at_startup_ = false;  // the first `save` line replaces the default
  std::vector<std::vector<std::string>> user_lines_;  // Protected by mutex_
};

// Parses a memory value like Redis: "100", "1k" (1000), "1kb" (1024), "2mb", "1gb".
bool parse_memory(std::string_view text, int64_t* bytes);

}  // namespace rd
