// ACL users as Redis 7.0 models them: flags, password hashes and selectors (a root selector
// plus any number of "(...)" ones), each with a command bitmap over every Redis command and
// subcommand, allowed first arguments, key patterns with read/write permissions and channel
// patterns. Also: the rule language of ACL SETUSER, the canonical description ACL LIST and
// ACL GETUSER print, and the permission check.
//
// Pure data and functions: no server, no locks. A user is built, then published as an
// immutable snapshot (server/acl.h).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "server/key_specs.h"

namespace rd {

// ---------------------------------------------------------------------------------------
// Commands as ACL rules see them: every row of Redis's command metadata (commands and
// subcommands, implemented here or not), each with a bit in the selectors' bitmaps.

inline constexpr int kAclCommandBits = 1024;
inline constexpr int kAclFutureCommandsBit = kAclCommandBits - 1;  // set only by +@all
inline constexpr int kAclCategoryCount = 21;

// Redis's categories, in its order (ACL CAT, and the order ACL LIST derives rules in).
extern const char* const kAclCategoryNames[kAclCategoryCount];

enum AclKeyPermission : uint8_t { kAclKeyRead = 1, kAclKeyWrite = 2, kAclKeyAll = 3 };

struct AclCommand {
  // How the keys and channels of a call are found (Redis's getkeys procedures where the key
  // specs are not enough, and the pub/sub commands).
  enum class Special : uint8_t { kNone, kSort, kSortRo, kMigrate, kSet, kBitfield, kPublish, kSubscribe, kPsubscribe };

  int id = 0;                 // bit in the bitmaps: the metadata row
  std::string name;           // "get", "config|get"
  int parent = -1;            // container's id for a subcommand
  std::vector<int> subcommands;
  uint32_t categories = 0;    // bit i: kAclCategoryNames[i]
  int arity = 0;
  bool no_auth = false;       // AUTH, HELLO: always allowed
  bool has_keys = false;
  Special special = Special::kNone;
  std::vector<KeySpec> key_specs;
  std::vector<uint8_t> key_permissions;  // per key spec: what a key it finds needs
};

class AclCommands {
 public:
  static const AclCommands& get();

  size_t size() const { return commands_.size(); }
  const AclCommand& at(int id) const { return commands_[static_cast<size_t>(id)]; }
  const std::vector<int>& top_level() const { return top_level_; }
  // A command by name, case-insensitively; "config|get" names a subcommand. nullptr if unknown.
  const AclCommand* find(std::string_view name) const;
  const AclCommand* find_subcommand(const AclCommand& parent, std::string_view name) const;
  // The command named by a call's arguments, as Redis's lookupCommand: a container with at
  // least two arguments resolves its subcommand (nullptr if unknown).
  const AclCommand* lookup(const std::vector<std::string_view>& argv) const;
  // Category index by name (case-insensitive), or -1.
  static int category(std::string_view name);
  // Commands (and subcommands) in a category, containers before their subcommands.
  const std::vector<int>& members(int category) const { return members_[static_cast<size_t>(category)]; }

 private:
  AclCommands();

  std::vector<AclCommand> commands_;
  std::vector<int> top_level_;
  std::map<std::string, int, std::less<>> by_name_;  // lowercase full names
  std::array<std::vector<int>, kAclCategoryCount> members_;
};

// The keys of a call and what each needs (kAclKeyRead / kAclKeyWrite bits), as Redis finds
// them for ACL checks (key specs, or SORT/MIGRATE/SET/BITFIELD's own procedures).
struct AclKeyRef {
  int position;
  uint8_t permissions;
};
void acl_command_keys(const AclCommand& command, const std::vector<std::string_view>& argv,
                      std::vector<AclKeyRef>* keys);

// ---------------------------------------------------------------------------------------
// Users

// Why a rule was refused (Redis's errno values in ACLSetUser), with Redis's texts.
enum class AclRuleError {
  kOk,
  kUnknownCommand,      // ENOENT
  kSyntax,              // EINVAL
  kKeyAfterAllKeys,     // EEXIST
  kChannelAfterAll,     // EISDIR
  kNoSuchPassword,      // ENODEV
  kBadHash,             // EBADMSG
  kDuplicateUser,       // EALREADY
  kSubcommandFirstArg,  // ECHILD
};
const char* acl_rule_error_text(AclRuleError error);

struct AclKeyPattern {
  uint8_t permissions;  // kAclKeyRead | kAclKeyWrite
  std::string pattern;
};

struct AclSelector {
  enum Flag : uint32_t { kRoot = 1, kAllKeys = 2, kAllChannels = 4, kAllCommands = 8 };

  uint32_t flags = 0;
  std::array<uint64_t, kAclCommandBits / 64> commands{};
  std::map<int, std::vector<std::string>> first_args;  // command id -> allowed argv[1] values
  std::vector<AclKeyPattern> keys;
  std::vector<std::string> channels;

  bool has(Flag flag) const { return (flags & flag) != 0; }
  bool command_bit(int id) const { return (commands[static_cast<size_t>(id) / 64] >> (id % 64)) & 1; }
  void set_command_bit(int id, bool allow);
  // A command and, for a container, all its subcommands (resets the command's first args).
  void change_permission(const AclCommand& command, bool allow);
  void set_category(int category, bool allow);
  // One selector rule (keys, channels, commands). `channels_default_all`: acl-pubsub-default.
  AclRuleError apply(std::string_view op);

  std::string describe_commands() const;  // "+@all -get", "-@all +@read +config|get"
  std::string describe_keys() const;      // GETUSER form: "~a %R~b"
  std::string describe_channels() const;  // GETUSER form: "&a &b"
  std::string describe() const;           // ACL LIST form: keys, channels, commands
};

// What ACL-checking a call concluded. The order matters (Redis picks the "most relevant"
// denial among selectors): command < key < auth < channel.
enum class AclDenial : uint8_t { kNone = 0, kCommand = 1, kKey = 2, kAuth = 3, kChannel = 4 };

struct AclVerdict {
  AclDenial denial = AclDenial::kNone;
  int position = 0;  // argument index of the denied key or channel
};

struct AclUser {
  enum Flag : uint32_t { kEnabled = 1, kDisabled = 2, kNoPass = 4, kSkipSanitize = 8, kSanitize = 16 };

  std::string name;
  uint64_t id = 0;  // identity for connected clients; kept across modifications
  uint32_t flags = kDisabled;
  std::vector<std::string> passwords;  // SHA-256 hex
  std::vector<AclSelector> selectors;  // [0] is the root selector
  bool channels_default_all = false;   // acl-pubsub-default when the user was made

  // A new user as ACL SETUSER creates it: off, no passwords, nothing allowed.
  AclUser(std::string name, bool channels_default_all);
  // The default user: on, nopass, ~* &* +@all.
  static AclUser make_default();

  bool has(Flag flag) const { return (flags & flag) != 0; }
  // One rule of ACL SETUSER / a `user` line, already merged when it is a "(...)" selector.
  AclRuleError apply(std::string_view op);
  // True when some selector allows every command, key and channel: nothing to check.
  bool unrestricted() const;
  bool password_matches(std::string_view password) const;

  std::string describe() const;  // ACL LIST form, without "user <name> "
  AclVerdict check(const AclCommand& command, const std::vector<std::string_view>& argv) const;
  // Whether the channel (or, `literal`, the pattern) is allowed by some selector.
  bool channel_allowed(std::string_view channel, bool literal) const;
  // Every channel pattern of every selector (pub/sub clients to disconnect on SETUSER).
  bool any_selector_all_channels() const;
  std::vector<std::string> all_channel_patterns() const;
};

// Merges selector rules spread across arguments ("(~x" "+get)" -> "(~x +get)"), as ACL SETUSER
// and `user` lines do. Returns false on an unmatched "(", with *bad_index its argument.
bool acl_merge_selector_args(const std::vector<std::string>& args, std::vector<std::string>* merged,
                             size_t* bad_index);

bool acl_string_has_spaces(std::string_view text);
// Constant-time-ish comparison of two password hashes.
bool acl_hash_equal(std::string_view a, std::string_view b);
// Glob matching of keys and channels (Redis's stringmatchlen, case-sensitive).
bool acl_pattern_match(std::string_view pattern, std::string_view text);

}  // namespace rd
