// The command table: the one place a command is declared. A family file registers
// `name -> handler`; arity, flags and key positions come from Redis's published metadata
// (command_meta.h), so the dispatcher's generic checks behave exactly like Redis's.
//
// Built once at startup, then read-only (apart from the atomic statistics): safe to share.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/command_meta.h"
#include "server/key_specs.h"

namespace rd {

class CommandContext;
using CommandHandler = void (*)(CommandContext& ctx);

// Redis's command flags, as COMMAND reports them.
enum CommandFlag : uint32_t {
  kCmdWrite = 1u << 0,
  kCmdReadonly = 1u << 1,
  kCmdDenyOom = 1u << 2,
  kCmdAdmin = 1u << 3,
  kCmdPubsub = 1u << 4,
  kCmdNoscript = 1u << 5,
  kCmdBlocking = 1u << 6,
  kCmdLoading = 1u << 7,
  kCmdStale = 1u << 8,
  kCmdSkipMonitor = 1u << 9,
  kCmdSkipSlowlog = 1u << 10,
  kCmdFast = 1u << 11,
  kCmdNoAuth = 1u << 12,
  kCmdMayReplicate = 1u << 13,
  kCmdNoMandatoryKeys = 1u << 14,
  kCmdNoMulti = 1u << 15,
  kCmdMovableKeys = 1u << 16,
  kCmdAllowBusy = 1u << 17,
  kCmdProtected = 1u << 18,
  // Not shown by COMMAND: EVAL/EVALSHA/FCALL and their _RO forms, whose flags the dispatcher
  // derives from the script's declared flags (Scripting::command_flags).
  kCmdScriptFlags = 1u << 19,
};

// How the dispatcher locks the keyspace around a handler.
enum class LockMode { kNone, kShared, kExclusive };

struct CommandStats {
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> usec{0};
  std::atomic<uint64_t> rejected_calls{0};
  std::atomic<uint64_t> failed_calls{0};
};

struct CommandSpec {
  std::string name;             // lowercase; "config|get" for subcommands
  const CommandMeta* meta = nullptr;
  int arity = 0;
  uint32_t flags = 0;
  int first_key = 0;
  int last_key = 0;
  int key_step = 0;
  std::vector<KeySpec> key_specs;  // from the metadata: where the keys are in the arguments
  LockMode lock = LockMode::kNone;
  CommandHandler handler = nullptr;  // null for containers such as CONFIG
  const CommandSpec* parent = nullptr;
  std::map<std::string, std::unique_ptr<CommandSpec>, std::less<>> subcommands;
  mutable CommandStats stats;

  bool has(CommandFlag flag) const { return (flags & flag) != 0; }
  bool is_write() const { return has(kCmdWrite); }
  // The name used in error messages: "get", "config|get".
  const std::string& display_name() const { return name; }
  // Argument positions of the keys in `argc` arguments (first_key..last_key by key_step).
  std::vector<int> key_positions(int argc) const;
};

class CommandTable {
 public:
  // Registers a handler for `name` ("get" or "config|get"); the metadata must exist.
  // `lock` overrides the lock mode derived from the flags (write: exclusive, readonly: shared).
  void add(std::string_view name, CommandHandler handler, LockMode lock);
  void add(std::string_view name, CommandHandler handler);

  // Case-insensitive lookup of a top-level command; nullptr when unknown.
  const CommandSpec* find(std::string_view name) const;
  // Every top-level command, sorted by name.
  std::vector<const CommandSpec*> all() const;
  size_t size() const { return commands_.size(); }

 private:
  CommandSpec* ensure(std::string_view name);

  std::map<std::string, std::unique_ptr<CommandSpec>, std::less<>> commands_;
};

// Registers every implemented command (server/commands/registry.cc).
void register_all_commands(CommandTable& table);

}  // namespace rd
