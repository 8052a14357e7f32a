// COMMAND and its subcommands: the command table as Redis 7.0 reports it (metadata from
// command_meta.h), limited to the commands this server implements.
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

void cmd_command_getkeys(CommandContext& ctx) {
  std::vector<std::string_view> args(ctx.argv.begin() + 2, ctx.argv.end());
  const CommandSpec* spec = ctx.server.commands.find(args[0]);
  if (spec != nullptr && !spec->subcommands.empty() && spec->handler == nullptr && args.size() >= 2) {
    std::string sub(args[1]);
    for (char& c : sub) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto it = spec->subcommands.find(sub);
    spec = it == spec->subcommands.end() ? nullptr : it->second.get();
  }
  if (spec == nullptr) return ctx.reply.error("ERR Invalid command specified");
  const int argc = static_cast<int>(args.size());
  if ((spec->arity > 0 && argc != spec->arity) || argc < -spec->arity) {
    return ctx.reply.error("ERR Invalid number of arguments specified for command");
  }
  std::vector<int> positions = command_key_positions(*spec, args);
  if (positions.empty()) return ctx.reply.error("ERR The command has no key arguments");
  ctx.reply.array(positions.size());
  for (int position : positions) ctx.reply.bulk(args[static_cast<size_t>(position)]);
}

void cmd_command_help(CommandContext& ctx) { ctx.reply.raw(help_reply("command")); }

}  // namespace

std::vector<int> command_key_positions(const CommandSpec& spec, const std::vector<std::string_view>& args) {
  const int argc = static_cast<int>(args.size());
  if (!spec.has(kCmdMovableKeys)) return spec.key_positions(argc);
  // Commands whose keys depend on the arguments: a count argument says how many follow.
  std::vector<int> positions;
  int64_t count = 0;
  auto numkeys_at = [&](int index, int first) {
    if (index < argc && string_to_int64(args[static_cast<size_t>(index)], &count) && count > 0) {
      for (int i = first; i < first + count && i < argc; i++) positions.push_back(i);
    }
  };
  const std::string& name = spec.name;
  if (name == "zunionstore" || name == "zinterstore" || name == "zdiffstore") {
    positions.push_back(1);
    numkeys_at(2, 3);
  } else if (name == "zunion" || name == "zinter" || name == "zdiff" || name == "sintercard" ||
             name == "zintercard" || name == "lmpop" || name == "zmpop" || name == "eval" || name == "evalsha" ||
             name == "eval_ro" || name == "evalsha_ro" || name == "fcall" || name == "fcall_ro") {
    numkeys_at(1, 2);
  } else if (name == "blmpop" || name == "bzmpop") {
    numkeys_at(2, 3);
  } else if (name == "sort" || name == "sort_ro") {
    positions.push_back(1);
    for (int i = 2; i + 1 < argc; i++) {
      if (equals_ignore_case(args[static_cast<size_t>(i)], "store")) positions.push_back(++i);
    }
  } else {
    positions = spec.key_positions(argc);
  }
  return positions;
}

void register_command_commands(CommandTable& table) {
  table.add("command", cmd_command);
  table.add("command|count", cmd_command_count);
  table.add("command|info", cmd_command_info);
  table.add("command|docs", cmd_command_docs);
  table.add("command|list", cmd_command_list);
  table.add("command|getkeys", cmd_command_getkeys);
  table.add("command|help", cmd_command_help);
}

}  // namespace rd
