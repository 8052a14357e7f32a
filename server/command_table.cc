#include "server/command_table.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>

namespace rd {
namespace {

// Flags Redis 7.0 gives these commands without listing them in COMMAND's reply: MAY_REPLICATE
// (CLIENT PAUSE WRITE holds them; found by pausing real Redis and trying every non-write
// command), and the script commands whose flags depend on the script.
uint32_t hidden_flags(std::string_view name) {
  uint32_t flags = 0;
  for (std::string_view n : {"publish", "spublish", "eval", "evalsha", "fcall", "pfcount"}) {
    if (name == n) flags |= kCmdMayReplicate;
  }
  for (std::string_view n : {"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"}) {
    if (name == n) flags |= kCmdScriptFlags;
  }
  return flags;
}

const CommandMeta* find_meta(std::string_view name) {
  static const std::map<std::string_view, const CommandMeta*> by_name = [] {
    std::map<std::string_view, const CommandMeta*> index;
    for (const CommandMeta& meta : command_meta()) index[meta.name] = &meta;
    return index;
  }();
  auto it = by_name.find(name);
  return it == by_name.end() ? nullptr : it->second;
}

uint32_t parse_flags(const char* text) {
  static const std::map<std::string, CommandFlag> names = {
      {"write", kCmdWrite},         {"readonly", kCmdReadonly},
      {"denyoom", kCmdDenyOom},     {"admin", kCmdAdmin},
      {"pubsub", kCmdPubsub},       {"noscript", kCmdNoscript},
      {"blocking", kCmdBlocking},   {"loading", kCmdLoading},
      {"stale", kCmdStale},         {"skip_monitor", kCmdSkipMonitor},
      {"skip_slowlog", kCmdSkipSlowlog}, {"fast", kCmdFast},
      {"no_auth", kCmdNoAuth},      {"may_replicate", kCmdMayReplicate},
      {"no_mandatory_keys", kCmdNoMandatoryKeys}, {"no_multi", kCmdNoMulti},
      {"movablekeys", kCmdMovableKeys}, {"allow_busy", kCmdAllowBusy},
      {"protected", kCmdProtected},
  };
  uint32_t flags = 0;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    auto it = names.find(word);
    if (it != names.end()) flags |= it->second;
  }
  return flags;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::vector<int> CommandSpec::key_positions(int argc) const {
  std::vector<int> positions;
  if (first_key <= 0) return positions;
  int last = last_key < 0 ? argc + last_key : last_key;
  for (int i = first_key; i <= last && i < argc; i += (key_step > 0 ? key_step : 1)) positions.push_back(i);
  return positions;
}

CommandSpec* CommandTable::ensure(std::string_view name) {
  const CommandMeta* meta = find_meta(name);
  if (meta == nullptr) {
    std::cerr << "command table: no Redis metadata for '" << name << "'\n";
    std::abort();
  }
  std::string_view parent_name = meta->parent;
  std::map<std::string, std::unique_ptr<CommandSpec>, std::less<>>* siblings = &commands_;
  CommandSpec* parent = nullptr;
  if (!parent_name.empty()) {
    parent = ensure(parent_name);
    siblings = &parent->subcommands;
  }
  std::string key(name.substr(parent_name.empty() ? 0 : parent_name.size() + 1));
  auto it = siblings->find(key);
  if (it != siblings->end()) return it->second.get();
  auto spec = std::make_unique<CommandSpec>();
  spec->name = std::string(name);
  spec->meta = meta;
  spec->arity = meta->arity;
  spec->flags = parse_flags(meta->flags) | hidden_flags(spec->name);
  spec->first_key = meta->first_key;
  spec->last_key = meta->last_key;
  spec->key_step = meta->key_step;
  spec->key_specs = parse_key_specs(meta->info_reply);
  spec->parent = parent;
  if (spec->is_write()) {
    spec->lock = LockMode::kExclusive;
  } else if (spec->has(kCmdReadonly)) {
    spec->lock = LockMode::kShared;
  }
  CommandSpec* raw = spec.get();
  siblings->emplace(std::move(key), std::move(spec));
  return raw;
}

void CommandTable::add(std::string_view name, CommandHandler handler) {
  CommandSpec* spec = ensure(lowercase(name));
  spec->handler = handler;
}

void CommandTable::add(std::string_view name, CommandHandler handler, LockMode lock) {
  CommandSpec* spec = ensure(lowercase(name));
  spec->handler = handler;
  spec->lock = lock;
}

const CommandSpec* CommandTable::find(std::string_view name) const {
  char lower[64];
  if (name.size() >= sizeof(lower)) return nullptr;
  for (size_t i = 0; i < name.size(); i++) {
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  }
  auto it = commands_.find(std::string_view(lower, name.size()));
  return it == commands_.end() ? nullptr : it->second.get();
}

std::vector<const CommandSpec*> CommandTable::all() const {
  std::vector<const CommandSpec*> out;
  for (const auto& [name, spec] : commands_) out.push_back(spec.get());
  return out;
}

}  // namespace rd
