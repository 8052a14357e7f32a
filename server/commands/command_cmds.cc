// COMMAND and its subcommands: the command table as Redis 7.0 reports it (metadata from
// command_meta.h), limited to the commands this server implements.
#include <algorithm>

#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/glob.h"
#include "storage/numbers.h"

namespace rd {
namespace {

std::string_view info_of(const CommandContext& ctx, const CommandSpec& spec) {
  return ctx.reply.protocol() >= 3 ? spec.meta->info_reply3 : spec.meta->info_reply;
}

void cmd_command(CommandContext& ctx) {
  std::vector<const CommandSpec*> all = ctx.server.commands.all();
  ctx.reply.array(all.size());
  for (const CommandSpec* spec : all) ctx.reply.raw(info_of(ctx, *spec));
}

void cmd_command_count(CommandContext& ctx) { ctx.reply.integer(static_cast<int64_t>(ctx.server.commands.size())); }

const CommandSpec* find_command(CommandContext& ctx, std::string_view name) {
  // "config|get" names a subcommand.
  size_t bar = name.find('|');
  const CommandSpec* spec = ctx.server.commands.find(name.substr(0, bar));
  if (spec == nullptr || bar == std::string_view::npos) return spec;
  std::string sub(name.substr(bar + 1));
  for (char& c : sub) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = spec->subcommands.find(sub);
  return it == spec->subcommands.end() ? nullptr : it->second.get();
}

void cmd_command_info(CommandContext& ctx) {
  if (ctx.argc() == 2) return cmd_command(ctx);
  ctx.reply.array(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); i++) {
    const CommandSpec* spec = find_command(ctx, ctx.arg(i));
    if (spec == nullptr) {
      ctx.reply.null_array();
    } else {
      ctx.reply.raw(info_of(ctx, *spec));
    }
  }
}

void cmd_command_docs(CommandContext& ctx) {
  std::vector<const CommandSpec*> chosen;
  if (ctx.argc() == 2) {
    chosen = ctx.server.commands.all();
  } else {
    for (size_t i = 2; i < ctx.argc(); i++) {
      const CommandSpec* spec = ctx.server.commands.find(ctx.arg(i));
      if (spec != nullptr) chosen.push_back(spec);
    }
  }
  ctx.reply.map(chosen.size());
  for (const CommandSpec* spec : chosen) {
    ctx.reply.bulk(spec->name);
    ctx.reply.raw(ctx.reply.protocol() >= 3 ? spec->meta->docs_reply3 : spec->meta->docs_reply);
  }
}

bool in_category(const CommandSpec& spec, std::string_view category) {
  std::string wanted = "@" + std::string(category);
  std::string_view categories = spec.meta->acl_categories;
  size_t pos = 0;
  while (pos < categories.size()) {
    size_t end = categories.find(' ', pos);
    if (end == std::string_view::npos) end = categories.size();
    if (equals_ignore_case(categories.substr(pos, end - pos), wanted)) return true;
    pos = end + 1;
  }
  return false;
}

void cmd_command_list(CommandContext& ctx) {
  std::string_view filter;
  std::string_view value;
  if (ctx.argc() == 5 && equals_ignore_case(ctx.arg(2), "filterby")) {
    filter = ctx.arg(3);
    value = ctx.arg(4);
    if (!equals_ignore_case(filter, "module") && !equals_ignore_case(filter, "aclcat") &&
        !equals_ignore_case(filter, "pattern")) {
      return ctx.reply.error(kSyntaxError);
    }
  } else if (ctx.argc() != 2) {
    return ctx.reply.error(kSyntaxError);
  }
  std::vector<std::string> names;
  for (const CommandSpec* spec : ctx.server.commands.all()) {
    std::vector<const CommandSpec*> family = {spec};
    for (const auto& [sub_name, sub] : spec->subcommands) family.push_back(sub.get());
    for (const CommandSpec* member : family) {
      if (equals_ignore_case(filter, "module")) continue;
      if (equals_ignore_case(filter, "aclcat") && !in_category(*member, value)) continue;
      if (equals_ignore_case(filter, "pattern") && !glob_match(value, member->name, true)) continue;
      names.push_back(member->name);
    }
  }
  ctx.reply.array(names.size());
  for (const std::string& name : names) ctx.reply.bulk(name);
}

// The command (or subcommand) named by args[0..1] for GETKEYS; replies the error when none.
const CommandSpec* getkeys_target(CommandContext& ctx, const std::vector<std::string_view>& args) {
  const CommandSpec* spec = ctx.server.commands.find(args[0]);
  if (spec != nullptr && !spec->subcommands.empty() && args.size() >= 2) {
    std::string sub(args[1]);
    for (char& c : sub) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto it = spec->subcommands.find(sub);
    if (it != spec->subcommands.end()) spec = it->second.get();
  }
  if (spec == nullptr) {
    ctx.reply.error("ERR Invalid command specified");
    return nullptr;
  }
  // Specs flagged not_key (the shard channels of SPUBLISH/SSUBSCRIBE/SUNSUBSCRIBE, there for
  // cluster slot routing) name no keys: Redis treats such commands as keyless here.
  const bool has_real_key = std::any_of(spec->key_specs.begin(), spec->key_specs.end(), [](const KeySpec& ks) {
    return std::find(ks.flags.begin(), ks.flags.end(), "not_key") == ks.flags.end();
  });
  if (!has_real_key) {
    ctx.reply.error("ERR The command has no key arguments");
    return nullptr;
  }
  const int argc = static_cast<int>(args.size());
  if ((spec->arity > 0 && argc != spec->arity) || argc < -spec->arity) {
    ctx.reply.error("ERR Invalid number of arguments specified for command");
    return nullptr;
  }
  return spec;
}

// Flags of one key as GETKEYSANDFLAGS reports them; SET and BITFIELD decide per call.
std::vector<std::string> key_flags(const CommandSpec& spec, const KeySpec& key_spec,
                                   const std::vector<std::string_view>& args) {
  auto has_arg = [&](std::string_view word) {
    for (size_t i = 2; i < args.size(); i++) {
      if (equals_ignore_case(args[i], word)) return true;
    }
    return false;
  };
  if (spec.name == "set") {
    if (has_arg("get")) return {"RW", "access", "update"};
    return {"OW", "update"};
  }
  if (spec.name == "bitfield") {
    if (has_arg("set") || has_arg("incrby")) return {"RW", "access", "update"};
    return {"RO", "access"};
  }
  std::vector<std::string> flags;
  for (const std::string& f : key_spec.flags) {
    if (f != "variable_flags") flags.push_back(f);
  }
  return flags;
}

// SORT's STORE destination is not described by its key specs (Redis finds it with code):
// walk the options, skipping their arguments, and take the last STORE's target.
void add_sort_store_key(const std::vector<KeySpec>& specs, const std::vector<std::string_view>& args,
                        std::vector<FoundKey>* keys) {
  const KeySpec* store_spec = &specs.back();  // the last spec describes STORE
  int store_at = -1;
  for (size_t i = 2; i < args.size(); i++) {
    if (equals_ignore_case(args[i], "limit")) {
      i += 2;
    } else if (equals_ignore_case(args[i], "get") || equals_ignore_case(args[i], "by")) {
      i += 1;
    } else if (equals_ignore_case(args[i], "store") && i + 1 < args.size()) {
      store_at = static_cast<int>(++i);
    }
  }
  if (store_at > 0) keys->push_back({store_at, store_spec});
}

void getkeys_generic(CommandContext& ctx, bool with_flags) {
  std::vector<std::string_view> args(ctx.argv.begin() + 2, ctx.argv.end());
  const CommandSpec* spec = getkeys_target(ctx, args);
  if (spec == nullptr) return;
  std::vector<FoundKey> keys;
  bool valid = find_keys(spec->key_specs, args, &keys);
  if (valid && (spec->name == "sort" || spec->name == "sort_ro")) add_sort_store_key(spec->key_specs, args, &keys);
  if (!valid || keys.empty()) {
    // Commands whose keys are optional (EVAL with 0 keys) answer an empty list instead.
    if (spec->has(kCmdNoMandatoryKeys)) return ctx.reply.empty_array();
    return ctx.reply.error("ERR Invalid arguments specified for command");
  }
  ctx.reply.array(keys.size());
  for (const FoundKey& key : keys) {
    if (!with_flags) {
      ctx.reply.bulk(args[static_cast<size_t>(key.position)]);
      continue;
    }
    ctx.reply.array(2);
    ctx.reply.bulk(args[static_cast<size_t>(key.position)]);
    std::vector<std::string> flags = key_flags(*spec, *key.spec, args);
    ctx.reply.set(flags.size());
    for (const std::string& f : flags) ctx.reply.simple(f);
  }
}

void cmd_command_getkeys(CommandContext& ctx) { getkeys_generic(ctx, false); }
void cmd_command_getkeysandflags(CommandContext& ctx) { getkeys_generic(ctx, true); }

void cmd_command_help(CommandContext& ctx) { ctx.reply.raw(help_reply("command")); }

}  // namespace

void register_command_commands(CommandTable& table) {
  table.add("command", cmd_command);
  table.add("command|count", cmd_command_count);
  table.add("command|info", cmd_command_info);
  table.add("command|docs", cmd_command_docs);
  table.add("command|list", cmd_command_list);
  table.add("command|getkeys", cmd_command_getkeys);
  table.add("command|getkeysandflags", cmd_command_getkeysandflags);
  table.add("command|help", cmd_command_help);
}

}  // namespace rd
