#include "server/acl_user.h"

#include <cctype>
#include <climits>
#include <cstring>

#include "protocol/request_parser.h"
#include "server/acl_sha256.h"
#include "server/command_meta.h"
#include "storage/glob.h"
#include "storage/numbers.h"

namespace rd {

const char* const kAclCategoryNames[kAclCategoryCount] = {
    "keyspace", "read",  "write", "set",      "sortedset", "list",       "hash",
    "string",   "bitmap", "hyperloglog", "geo", "stream",  "pubsub",     "admin",
    "fast",     "slow",  "blocking", "dangerous", "connection", "transaction", "scripting",
};

namespace {

bool equals_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// What a key found by a key spec with these flags needs: reading for "access", writing for
// "insert"/"delete"/"update" (flags like RW/RO alone need nothing: any matching pattern does).
constexpr uint8_t kNotKey = 0xff;  // a key spec for something that is no key (shard channels)

uint8_t permissions_of(const std::vector<std::string>& flags) {
  uint8_t out = 0;
  for (const std::string& f : flags) {
    if (f == "not_key") return kNotKey;
    if (f == "access") out |= kAclKeyRead;
    if (f == "insert" || f == "delete" || f == "update") out |= kAclKeyWrite;
  }
  return out;
}

AclCommand::Special special_of(std::string_view name) {
  using S = AclCommand::Special;
  if (name == "sort") return S::kSort;
  if (name == "sort_ro") return S::kSortRo;
  if (name == "migrate") return S::kMigrate;
  if (name == "set") return S::kSet;
  if (name == "bitfield") return S::kBitfield;
  if (name == "publish" || name == "spublish") return S::kPublish;
  if (name == "subscribe" || name == "ssubscribe") return S::kSubscribe;
  if (name == "psubscribe") return S::kPsubscribe;
  return S::kNone;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The command index

AclCommands::AclCommands() {
  const std::vector<CommandMeta>& rows = command_meta();
  commands_.resize(rows.size());
  for (size_t i = 0; i < rows.size(); i++) {
    const CommandMeta& meta = rows[i];
    AclCommand& command = commands_[i];
    command.id = static_cast<int>(i);
    command.name = meta.name;
    command.arity = meta.arity;
    command.special = special_of(command.name);
    std::string flags = std::string(" ") + meta.flags + " ";
    command.no_auth = flags.find(" no_auth ") != std::string::npos;
    std::string categories = meta.acl_categories;
    size_t pos = 0;
    while (pos < categories.size()) {
      size_t end = categories.find(' ', pos);
      if (end == std::string::npos) end = categories.size();
      std::string_view word = std::string_view(categories).substr(pos, end - pos);
      if (!word.empty() && word[0] == '@') {
        int c = category(word.substr(1));
        if (c >= 0) command.categories |= 1u << c;
      }
      pos = end + 1;
    }
    command.key_specs = parse_key_specs(meta.info_reply);
    for (const KeySpec& spec : command.key_specs) command.key_permissions.push_back(permissions_of(spec.flags));
    command.has_keys = !command.key_specs.empty();
    by_name_[lowercase(command.name)] = command.id;
  }
  for (AclCommand& command : commands_) {
    size_t bar = command.name.find('|');
    if (bar == std::string::npos) {
      top_level_.push_back(command.id);
      continue;
    }
    auto it = by_name_.find(command.name.substr(0, bar));
    if (it == by_name_.end()) continue;
    command.parent = it->second;
    commands_[static_cast<size_t>(it->second)].subcommands.push_back(command.id);
  }
  for (int c = 0; c < kAclCategoryCount; c++) {
    for (int top : top_level_) {
      if (commands_[static_cast<size_t>(top)].categories & (1u << c)) members_[static_cast<size_t>(c)].push_back(top);
      for (int sub : commands_[static_cast<size_t>(top)].subcommands) {
        if (commands_[static_cast<size_t>(sub)].categories & (1u << c)) members_[static_cast<size_t>(c)].push_back(sub);
      }
    }
  }
}

const AclCommands& AclCommands::get() {
  static const AclCommands instance;
  return instance;
}

const AclCommand* AclCommands::find(std::string_view name) const {
  auto it = by_name_.find(lowercase(name));
  return it == by_name_.end() ? nullptr : &commands_[static_cast<size_t>(it->second)];
}

const AclCommand* AclCommands::find_subcommand(const AclCommand& parent, std::string_view name) const {
  const AclCommand* sub = find(parent.name + "|" + std::string(name));
  return sub != nullptr && sub->parent == parent.id ? sub : nullptr;
}

const AclCommand* AclCommands::lookup(const std::vector<std::string_view>& argv) const {
  if (argv.empty() || argv[0].find('|') != std::string_view::npos) return nullptr;
  const AclCommand* base = find(argv[0]);
  if (base == nullptr || argv.size() == 1 || base->subcommands.empty()) return base;
  if (argv[1].find('|') != std::string_view::npos) return nullptr;
  return find_subcommand(*base, argv[1]);
}

int AclCommands::category(std::string_view name) {
  for (int i = 0; i < kAclCategoryCount; i++) {
    if (equals_nocase(name, kAclCategoryNames[i])) return i;
  }
  return -1;
}

// Rule names like "+config|get" and "-config|set": one optional level of subcommand.
namespace {

const AclCommand* lookup_rule_command(std::string_view name) {
  const AclCommands& index = AclCommands::get();
  size_t bar = name.find('|');
  if (bar == std::string_view::npos) {
    const AclCommand* command = index.find(name);
    return command != nullptr && command->parent < 0 ? command : nullptr;
  }
  std::string_view base_name = name.substr(0, bar);
  std::string_view sub_name = name.substr(bar + 1);
  if (sub_name.find('|') != std::string_view::npos) return nullptr;
  const AclCommand* base = index.find(base_name);
  if (base == nullptr || base->parent >= 0 || base->subcommands.empty()) return nullptr;
  return index.find_subcommand(*base, sub_name);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Keys of a call

void acl_command_keys(const AclCommand& command, const std::vector<std::string_view>& argv,
                      std::vector<AclKeyRef>* keys) {
  const int argc = static_cast<int>(argv.size());
  using S = AclCommand::Special;
  switch (command.special) {
    case S::kSortRo:
      if (argc > 1) keys->push_back({1, kAclKeyRead});
      return;
    case S::kSort: {
      if (argc < 2) return;
      keys->push_back({1, kAclKeyRead});
      // The last STORE option's target; LIMIT, GET and BY skip their arguments.
      int store = -1;
      for (int i = 2; i < argc; i++) {
        if (equals_nocase(argv[static_cast<size_t>(i)], "limit")) {
          i += 2;
        } else if (equals_nocase(argv[static_cast<size_t>(i)], "store") && i + 1 < argc) {
          store = i + 1;
        } else if (equals_nocase(argv[static_cast<size_t>(i)], "get") || equals_nocase(argv[static_cast<size_t>(i)], "by")) {
          i += 1;
        }
      }
      if (store > 0) keys->push_back({store, kAclKeyWrite});
      return;
    }
    case S::kMigrate: {
      if (argc < 6) return;
      int first = 3;
      int count = 1;
      for (int i = 6; i < argc; i++) {
        std::string_view arg = argv[static_cast<size_t>(i)];
        if (equals_nocase(arg, "keys")) {
          if (!argv[3].empty()) return;  // a syntax error: no keys
          first = i + 1;
          count = argc - first;
          break;
        }
        if (equals_nocase(arg, "auth")) i += 1;
        else if (equals_nocase(arg, "auth2")) i += 2;
      }
      for (int i = 0; i < count; i++) keys->push_back({first + i, kAclKeyAll});
      return;
    }
    case S::kSet: {
      if (argc < 2) return;
      for (int i = 3; i < argc; i++) {
        if (equals_nocase(argv[static_cast<size_t>(i)], "get")) {
          keys->push_back({1, kAclKeyAll});
          return;
        }
      }
      keys->push_back({1, kAclKeyWrite});
      return;
    }
    case S::kBitfield: {
      if (argc < 2) return;
      bool read_only = true;
      for (int i = 2; i < argc; i++) {
        const int more = argc - i - 1;
        std::string_view arg = argv[static_cast<size_t>(i)];
        if (equals_nocase(arg, "get") && more >= 2) {
          i += 2;
        } else if ((equals_nocase(arg, "set") || equals_nocase(arg, "incrby")) && more >= 3) {
          read_only = false;
          break;
        } else if (equals_nocase(arg, "overflow") && more >= 1) {
          i += 1;
        }
      }
      keys->push_back({1, read_only ? uint8_t{kAclKeyRead} : uint8_t{kAclKeyAll}});
      return;
    }
    default:
      break;
  }
  if (!command.has_keys) return;
  std::vector<FoundKey> found;
  if (!find_keys(command.key_specs, argv, &found)) return;  // arguments the command will refuse
  for (const FoundKey& key : found) {
    const size_t spec_index = static_cast<size_t>(key.spec - command.key_specs.data());
    const uint8_t permissions = command.key_permissions[spec_index];
    if (permissions != kNotKey) keys->push_back({key.position, permissions});
  }
}

// ---------------------------------------------------------------------------------------
// Selectors

const char* acl_rule_error_text(AclRuleError error) {
  switch (error) {
    case AclRuleError::kUnknownCommand:
      return "Unknown command or category name in ACL";
    case AclRuleError::kSyntax:
      return "Syntax error";
    case AclRuleError::kKeyAfterAllKeys:
      return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any "
             "effect. Try 'resetkeys' to start with an empty list of patterns";
    case AclRuleError::kChannelAfterAll:
      return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have "
             "any effect. Try 'resetchannels' to start with an empty list of channels";
    case AclRuleError::kNoSuchPassword:
      return "The password you are trying to remove from the user does not exist";
    case AclRuleError::kBadHash:
      return "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
    case AclRuleError::kDuplicateUser:
      return "Duplicate user found. A user can only be defined once in config files";
    case AclRuleError::kSubcommandFirstArg:
      return "Allowing first-arg of a subcommand is not supported";
    case AclRuleError::kOk:
      break;
  }
  return "Wrong format";
}

bool acl_string_has_spaces(std::string_view text) {
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '\0') return true;
  }
  return false;
}

bool acl_pattern_match(std::string_view pattern, std::string_view text) { return glob_match(pattern, text, false); }

bool acl_hash_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); i++) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

void AclSelector::set_command_bit(int id, bool allow) {
  if (id < 0 || id >= kAclCommandBits) return;
  const uint64_t bit = uint64_t{1} << (id % 64);
  if (allow) {
    commands[static_cast<size_t>(id) / 64] |= bit;
  } else {
    commands[static_cast<size_t>(id) / 64] &= ~bit;
    flags &= ~kAllCommands;
  }
}

void AclSelector::change_permission(const AclCommand& command, bool allow) {
  set_command_bit(command.id, allow);
  first_args.erase(command.id);
  const AclCommands& index = AclCommands::get();
  for (int sub : command.subcommands) set_command_bit(index.at(sub).id, allow);
}

void AclSelector::set_category(int category, bool allow) {
  const AclCommands& index = AclCommands::get();
  for (int id : index.members(category)) change_permission(index.at(id), allow);
}

AclRuleError AclSelector::apply(std::string_view op) {
  if (equals_nocase(op, "allkeys") || equals_nocase(op, "~*")) {
    flags |= kAllKeys;
    keys.clear();
  } else if (equals_nocase(op, "resetkeys")) {
    flags &= ~kAllKeys;
    keys.clear();
  } else if (equals_nocase(op, "allchannels") || equals_nocase(op, "&*")) {
    flags |= kAllChannels;
    channels.clear();
  } else if (equals_nocase(op, "resetchannels")) {
    flags &= ~kAllChannels;
    channels.clear();
  } else if (equals_nocase(op, "allcommands") || equals_nocase(op, "+@all")) {
    commands.fill(~uint64_t{0});
    flags |= kAllCommands;
    first_args.clear();
  } else if (equals_nocase(op, "nocommands") || equals_nocase(op, "-@all")) {
    commands.fill(0);
    flags &= ~kAllCommands;
    first_args.clear();
  } else if (!op.empty() && (op[0] == '~' || op[0] == '%')) {
    if (has(kAllKeys)) return AclRuleError::kKeyAfterAllKeys;
    uint8_t permissions = 0;
    size_t offset = 1;
    if (op[0] == '%') {
      for (; offset < op.size(); offset++) {
        const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(op[offset])));
        if (c == 'R' && !(permissions & kAclKeyRead)) {
          permissions |= kAclKeyRead;
        } else if (c == 'W' && !(permissions & kAclKeyWrite)) {
          permissions |= kAclKeyWrite;
        } else if (op[offset] == '~') {
          offset++;
          break;
        } else {
          return AclRuleError::kSyntax;
        }
      }
      if (permissions == 0) return AclRuleError::kSyntax;
    } else {
      permissions = kAclKeyAll;
    }
    std::string_view pattern = op.substr(std::min(offset, op.size()));
    if (acl_string_has_spaces(pattern)) return AclRuleError::kSyntax;
    bool merged = false;
    for (AclKeyPattern& existing : keys) {
      if (existing.pattern == pattern) {
        existing.permissions |= permissions;
        merged = true;
        break;
      }
    }
    if (!merged) keys.push_back({permissions, std::string(pattern)});
    flags &= ~kAllKeys;
  } else if (!op.empty() && op[0] == '&') {
    if (has(kAllChannels)) return AclRuleError::kChannelAfterAll;
    std::string_view pattern = op.substr(1);
    if (acl_string_has_spaces(pattern)) return AclRuleError::kSyntax;
    bool present = false;
    for (const std::string& existing : channels) present = present || existing == pattern;
    if (!present) channels.emplace_back(pattern);
    flags &= ~kAllChannels;
  } else if (!op.empty() && op[0] == '+' && (op.size() < 2 || op[1] != '@')) {
    std::string_view name = op.substr(1);
    const size_t bar = name.rfind('|');
    if (bar == std::string_view::npos) {
      const AclCommand* command = lookup_rule_command(name);
      if (command == nullptr) return AclRuleError::kUnknownCommand;
      change_permission(*command, true);
    } else {
      std::string_view base_name = name.substr(0, bar);
      std::string_view sub = name.substr(bar + 1);
      const AclCommand* command = lookup_rule_command(base_name);
      if (command == nullptr) return AclRuleError::kUnknownCommand;
      if (command->parent >= 0) return AclRuleError::kSubcommandFirstArg;
      if (sub.empty()) return AclRuleError::kSyntax;
      if (!command->subcommands.empty()) {
        const AclCommand* subcommand = lookup_rule_command(name);
        if (subcommand == nullptr) return AclRuleError::kUnknownCommand;
        change_permission(*subcommand, true);
      } else {
        // "-select +select|0": a first argument allowed for an otherwise blocked command.
        std::vector<std::string>& allowed = first_args[command->id];
        bool present = false;
        for (const std::string& existing : allowed) present = present || equals_nocase(existing, sub);
        if (!present) allowed.emplace_back(sub);
      }
    }
  } else if (!op.empty() && op[0] == '-' && (op.size() < 2 || op[1] != '@')) {
    const AclCommand* command = lookup_rule_command(op.substr(1));
    if (command == nullptr) return AclRuleError::kUnknownCommand;
    change_permission(*command, false);
  } else if (op.size() >= 2 && (op[0] == '+' || op[0] == '-') && op[1] == '@') {
    const int category = AclCommands::category(op.substr(2));
    if (category < 0) return AclRuleError::kUnknownCommand;
    set_category(category, op[0] == '+');
  } else {
    return AclRuleError::kSyntax;
  }
  return AclRuleError::kOk;
}

namespace {

void append_key_pattern(std::string* out, const AclKeyPattern& pattern) {
  if (pattern.permissions == kAclKeyAll) {
    out->push_back('~');
  } else if (pattern.permissions == kAclKeyRead) {
    out->append("%R~");
  } else {
    out->append("%W~");
  }
  out->append(pattern.pattern);
}

// Emits "+cmd"/"-cmd" for each command whose bit still differs between the selector and the
// rules emitted so far (applied to `fake`), containers before their subcommands, then the
// allowed first arguments of blocked commands.
void describe_single_commands(const AclSelector& selector, AclSelector* fake, const AclCommand& command,
                              std::string* rules) {
  const AclCommands& index = AclCommands::get();
  const bool user_bit = selector.command_bit(command.id);
  if (user_bit != fake->command_bit(command.id)) {
    rules->push_back(user_bit ? '+' : '-');
    rules->append(command.name);
    rules->push_back(' ');
    fake->change_permission(command, user_bit);
  }
  for (int sub : command.subcommands) describe_single_commands(selector, fake, index.at(sub), rules);
  if (!user_bit) {
    auto it = selector.first_args.find(command.id);
    if (it != selector.first_args.end()) {
      for (const std::string& arg : it->second) {
        rules->append("+").append(command.name).append("|").append(arg).append(" ");
      }
    }
  }
}

}  // namespace

std::string AclSelector::describe_commands() const {
  // Start from +@all (the selector may run future commands) or -@all, then greedily apply the
  // category that best matches what is left, then fix single commands. The same derivation
  // as Redis 7.0, so ACL LIST and ACL GETUSER print the same rules.
  const AclCommands& index = AclCommands::get();
  const bool additive = !command_bit(kAclFutureCommandsBit);
  std::string rules = additive ? "-@all " : "+@all ";
  AclSelector fake;
  fake.apply(additive ? "-@all" : "+@all");
  AclSelector temp;
  temp.commands = commands;
  bool applied[kAclCategoryCount] = {};
  while (true) {
    int best = -1;
    size_t min_diff = INT_MAX;
    size_t max_same = 0;
    for (int c = 0; c < kAclCategoryCount; c++) {
      if (applied[c]) continue;
      size_t on = 0, off = 0;
      for (int id : index.members(c)) {
        if (temp.command_bit(id)) on++;
        else off++;
      }
      const size_t diff = additive ? off : on;
      const size_t same = additive ? on : off;
      if (same > diff && (diff < min_diff || (diff == min_diff && same > max_same))) {
        best = c;
        min_diff = diff;
        max_same = same;
      }
    }
    if (best < 0) break;
    fake.set_category(best, additive);
    temp.set_category(best, !additive);
    rules.append(additive ? "+@" : "-@").append(kAclCategoryNames[best]).append(" ");
    applied[best] = true;
  }
  for (int top : index.top_level()) describe_single_commands(*this, &fake, index.at(top), &rules);
  rules.pop_back();  // the trailing space
  return rules;
}

std::string AclSelector::describe_keys() const {
  if (has(kAllKeys)) return "~*";
  std::string out;
  for (const AclKeyPattern& pattern : keys) {
    if (!out.empty()) out.push_back(' ');
    append_key_pattern(&out, pattern);
  }
  return out;
}

std::string AclSelector::describe_channels() const {
  if (has(kAllChannels)) return "&*";
  std::string out;
  for (const std::string& pattern : channels) {
    if (!out.empty()) out.push_back(' ');
    out.push_back('&');
    out += pattern;
  }
  return out;
}

std::string AclSelector::describe() const {
  std::string out;
  if (has(kAllKeys)) {
    out += "~* ";
  } else {
    for (const AclKeyPattern& pattern : keys) {
      append_key_pattern(&out, pattern);
      out.push_back(' ');
    }
  }
  if (has(kAllChannels)) {
    out += "&* ";
  } else {
    out += "resetchannels ";
    for (const std::string& pattern : channels) out.append("&").append(pattern).append(" ");
  }
  out += describe_commands();
  return out;
}

// ---------------------------------------------------------------------------------------
// Users

AclUser::AclUser(std::string user_name, bool all_channels_default)
    : name(std::move(user_name)), channels_default_all(all_channels_default) {
  AclSelector root;
  root.flags = AclSelector::kRoot | (all_channels_default ? uint32_t{AclSelector::kAllChannels} : 0u);
  selectors.push_back(std::move(root));
}

AclUser AclUser::make_default() {
  AclUser user("default", false);
  user.apply("+@all");
  user.apply("~*");
  user.apply("&*");
  user.apply("on");
  user.apply("nopass");
  return user;
}

AclRuleError AclUser::apply(std::string_view op) {
  if (op.empty()) return AclRuleError::kOk;
  if (equals_nocase(op, "on")) {
    flags = (flags | kEnabled) & ~kDisabled;
  } else if (equals_nocase(op, "off")) {
    flags = (flags | kDisabled) & ~kEnabled;
  } else if (equals_nocase(op, "skip-sanitize-payload")) {
    flags = (flags | kSkipSanitize) & ~kSanitize;
  } else if (equals_nocase(op, "sanitize-payload")) {
    flags = (flags | kSanitize) & ~kSkipSanitize;
  } else if (equals_nocase(op, "nopass")) {
    flags |= kNoPass;
    passwords.clear();
  } else if (equals_nocase(op, "resetpass")) {
    flags &= ~kNoPass;
    passwords.clear();
  } else if (op[0] == '>' || op[0] == '#') {
    std::string hash;
    if (op[0] == '>') {
      hash = sha256_hex(op.substr(1));
    } else {
      std::string_view given = op.substr(1);
      if (given.size() != 64) return AclRuleError::kBadHash;
      for (char c : given) {
        if (!((c >= 'a' && c <= 'f') || (c >= '0' && c <= '9'))) return AclRuleError::kBadHash;
      }
      hash = std::string(given);
    }
    bool present = false;
    for (const std::string& existing : passwords) present = present || existing == hash;
    if (!present) passwords.push_back(std::move(hash));
    flags &= ~kNoPass;
  } else if (op[0] == '<' || op[0] == '!') {
    std::string hash;
    if (op[0] == '<') {
      hash = sha256_hex(op.substr(1));
    } else {
      std::string_view given = op.substr(1);
      if (given.size() != 64) return AclRuleError::kBadHash;
      for (char c : given) {
        if (!((c >= 'a' && c <= 'f') || (c >= '0' && c <= '9'))) return AclRuleError::kBadHash;
      }
      hash = std::string(given);
    }
    for (auto it = passwords.begin(); it != passwords.end(); ++it) {
      if (*it == hash) {
        passwords.erase(it);
        return AclRuleError::kOk;
      }
    }
    return AclRuleError::kNoSuchPassword;
  } else if (op[0] == '(' && op.back() == ')') {
    AclSelector selector;
    selector.flags = channels_default_all ? uint32_t{AclSelector::kAllChannels} : 0u;
    std::vector<std::string> parts;
    if (RequestParser::split_args(op.substr(1, op.size() - 2), &parts)) {
      for (const std::string& part : parts) {
        AclRuleError error = selector.apply(part);
        if (error != AclRuleError::kOk) return error;
      }
    }
    selectors.push_back(std::move(selector));
  } else if (equals_nocase(op, "clearselectors")) {
    selectors.resize(1);
  } else if (equals_nocase(op, "reset")) {
    apply("resetpass");
    apply("resetkeys");
    apply("resetchannels");
    if (channels_default_all) apply("allchannels");
    apply("off");
    apply("sanitize-payload");
    apply("clearselectors");
    apply("-@all");
  } else {
    return selectors[0].apply(op);
  }
  return AclRuleError::kOk;
}

bool AclUser::unrestricted() const {
  constexpr uint32_t kEverything = AclSelector::kAllCommands | AclSelector::kAllKeys | AclSelector::kAllChannels;
  for (const AclSelector& selector : selectors) {
    if ((selector.flags & kEverything) == kEverything) return true;
  }
  return false;
}

bool AclUser::password_matches(std::string_view password) const {
  if (has(kNoPass)) return true;
  const std::string hash = sha256_hex(password);
  bool matched = false;
  for (const std::string& candidate : passwords) matched = acl_hash_equal(hash, candidate) || matched;
  return matched;
}

std::string AclUser::describe() const {
  std::string out;
  static const std::pair<Flag, const char*> kFlagNames[] = {
      {kEnabled, "on"}, {kDisabled, "off"}, {kNoPass, "nopass"},
      {kSkipSanitize, "skip-sanitize-payload"}, {kSanitize, "sanitize-payload"},
  };
  for (const auto& [flag, text] : kFlagNames) {
    if (has(flag)) out.append(text).append(" ");
  }
  for (const std::string& hash : passwords) out.append("#").append(hash).append(" ");
  for (const AclSelector& selector : selectors) {
    if (selector.has(AclSelector::kRoot)) {
      out += selector.describe();
    } else {
      out.append(" (").append(selector.describe()).append(")");
    }
  }
  return out;
}

namespace {

bool channel_in_list(const std::vector<std::string>& patterns, std::string_view channel, bool literal) {
  for (const std::string& pattern : patterns) {
    if (literal ? pattern == channel : acl_pattern_match(pattern, channel)) return true;
  }
  return false;
}

struct KeyCache {
  bool ready = false;
  std::vector<AclKeyRef> keys;
};

AclVerdict check_selector(const AclSelector& selector, const AclCommand& command,
                          const std::vector<std::string_view>& argv, KeyCache* cache) {
  if (!selector.has(AclSelector::kAllCommands) && !command.no_auth && !selector.command_bit(command.id)) {
    auto it = selector.first_args.find(command.id);
    if (argv.size() < 2 || it == selector.first_args.end()) return {AclDenial::kCommand, 0};
    const size_t index = command.parent >= 0 ? 2 : 1;
    bool matched = false;
    for (const std::string& arg : it->second) matched = matched || (index < argv.size() && equals_nocase(argv[index], arg));
    if (!matched) return {AclDenial::kCommand, 0};
  }
  if (!selector.has(AclSelector::kAllKeys) && (command.has_keys || command.special != AclCommand::Special::kNone)) {
    if (!cache->ready) {
      acl_command_keys(command, argv, &cache->keys);
      cache->ready = true;
    }
    for (const AclKeyRef& key : cache->keys) {
      const std::string_view name = argv[static_cast<size_t>(key.position)];
      bool allowed = false;
      for (const AclKeyPattern& pattern : selector.keys) {
        if ((pattern.permissions & key.permissions) != key.permissions) continue;
        if (acl_pattern_match(pattern.pattern, name)) {
          allowed = true;
          break;
        }
      }
      if (!allowed) return {AclDenial::kKey, key.position};
    }
  }
  using S = AclCommand::Special;
  if (!selector.has(AclSelector::kAllChannels) &&
      (command.special == S::kPublish || command.special == S::kSubscribe || command.special == S::kPsubscribe)) {
    const size_t last = command.special == S::kPublish ? std::min<size_t>(2, argv.size()) : argv.size();
    const bool literal = command.special == S::kPsubscribe;
    for (size_t i = 1; i < last; i++) {
      if (!channel_in_list(selector.channels, argv[i], literal)) return {AclDenial::kChannel, static_cast<int>(i)};
    }
  }
  return {};
}

}  // namespace

AclVerdict AclUser::check(const AclCommand& command, const std::vector<std::string_view>& argv) const {
  // Any selector may allow the call. Otherwise report the most relevant denial: a channel over
  // a key over the command, and among equals the one furthest in the arguments.
  AclVerdict relevant{AclDenial::kCommand, 0};
  KeyCache cache;
  for (const AclSelector& selector : selectors) {
    AclVerdict verdict = check_selector(selector, command, argv, &cache);
    if (verdict.denial == AclDenial::kNone) return verdict;
    if (verdict.denial > relevant.denial ||
        (verdict.denial == relevant.denial && verdict.position > relevant.position)) {
      relevant = verdict;
    }
  }
  return relevant;
}

bool AclUser::channel_allowed(std::string_view channel, bool literal) const {
  for (const AclSelector& selector : selectors) {
    if (selector.has(AclSelector::kAllChannels)) return true;
    if (channel_in_list(selector.channels, channel, literal)) return true;
  }
  return false;
}

bool AclUser::any_selector_all_channels() const {
  for (const AclSelector& selector : selectors) {
    if (selector.has(AclSelector::kAllChannels)) return true;
  }
  return false;
}

std::vector<std::string> AclUser::all_channel_patterns() const {
  std::vector<std::string> out;
  for (const AclSelector& selector : selectors) out.insert(out.end(), selector.channels.begin(), selector.channels.end());
  return out;
}

bool acl_merge_selector_args(const std::vector<std::string>& args, std::vector<std::string>* merged,
                             size_t* bad_index) {
  merged->clear();
  std::string selector;
  bool open = false;
  size_t open_at = 0;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& op = args[i];
    // A "(" that does not close on the same argument starts a selector (restarting one left
    // open, as Redis does).
    if (!op.empty() && op[0] == '(' && op.back() != ')') {
      selector = op;
      open = true;
      open_at = i;
      continue;
    }
    if (open) {
      selector += " " + op;
      if (!op.empty() && op.back() == ')') {
        open = false;
        merged->push_back(std::move(selector));
        selector.clear();
      }
      continue;
    }
    merged->push_back(op);
  }
  if (open) {
    if (bad_index != nullptr) *bad_index = open_at;
    return false;
  }
  return true;
}

}  // namespace rd
