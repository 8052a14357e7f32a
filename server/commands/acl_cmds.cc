// ACL subcommands: SETUSER, GETUSER, DELUSER, USERS, LIST, WHOAMI, CAT, GENPASS, LOG, DRYRUN,
// LOAD, SAVE, HELP. The users, the checks and the log live in server/acl.h.
#include <random>

#include "server/acl.h"
#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/numbers.h"

namespace rd {
namespace {

// Redis's reply when a subcommand gets a number of arguments it does not take.
void wrong_arguments(CommandContext& ctx) {
  ctx.reply.error("ERR unknown subcommand or wrong number of arguments for '" +
                  std::string(ctx.arg(1).substr(0, 128)) + "'. Try ACL HELP.");
}

void cmd_acl_setuser(CommandContext& ctx) {
  std::vector<std::string> rules(ctx.argv.begin() + 3, ctx.argv.end());
  std::string error = ctx.server.acl->set_user(ctx.client, ctx.arg(2), rules);
  if (!error.empty()) return ctx.reply.error(error);
  ctx.reply.ok();
}

void cmd_acl_deluser(CommandContext& ctx) {
  std::vector<std::string_view> names(ctx.argv.begin() + 2, ctx.argv.end());
  for (std::string_view name : names) {
    if (name == "default") return ctx.reply.error("ERR The 'default' user cannot be removed");
  }
  ctx.reply.integer(ctx.server.acl->delete_users(ctx.client, names));
}

void reply_selector(CommandContext& ctx, const AclSelector& selector) {
  ctx.reply.bulk("commands");
  ctx.reply.bulk(selector.describe_commands());
  ctx.reply.bulk("keys");
  ctx.reply.bulk(selector.describe_keys());
  ctx.reply.bulk("channels");
  ctx.reply.bulk(selector.describe_channels());
}

void cmd_acl_getuser(CommandContext& ctx) {
  std::shared_ptr<const AclUser> user = ctx.server.acl->find_user(ctx.arg(2));
  if (user == nullptr) return ctx.reply.null();
  ctx.reply.map(6);
  ctx.reply.bulk("flags");
  static const std::pair<AclUser::Flag, const char*> kFlagNames[] = {
      {AclUser::kEnabled, "on"}, {AclUser::kDisabled, "off"}, {AclUser::kNoPass, "nopass"},
      {AclUser::kSkipSanitize, "skip-sanitize-payload"}, {AclUser::kSanitize, "sanitize-payload"},
  };
  size_t flag_count = 0;
  for (const auto& [flag, name] : kFlagNames) flag_count += user->has(flag) ? 1 : 0;
  ctx.reply.set(flag_count);
  for (const auto& [flag, name] : kFlagNames) {
    if (user->has(flag)) ctx.reply.bulk(name);
  }
  ctx.reply.bulk("passwords");
  ctx.reply.array(user->passwords.size());
  for (const std::string& hash : user->passwords) ctx.reply.bulk(hash);
  reply_selector(ctx, user->selectors[0]);
  ctx.reply.bulk("selectors");
  ctx.reply.array(user->selectors.size() - 1);
  for (size_t i = 1; i < user->selectors.size(); i++) {
    ctx.reply.map(3);
    reply_selector(ctx, user->selectors[i]);
  }
}

void cmd_acl_list(CommandContext& ctx) {
  std::vector<std::shared_ptr<const AclUser>> users = ctx.server.acl->all_users();
  ctx.reply.array(users.size());
  for (const std::shared_ptr<const AclUser>& user : users) ctx.reply.bulk("user " + user->name + " " + user->describe());
}

void cmd_acl_users(CommandContext& ctx) {
  std::vector<std::shared_ptr<const AclUser>> users = ctx.server.acl->all_users();
  ctx.reply.array(users.size());
  for (const std::shared_ptr<const AclUser>& user : users) ctx.reply.bulk(user->name);
}

void cmd_acl_whoami(CommandContext& ctx) { ctx.reply.bulk(ctx.server.acl->user_name(ctx.client)); }

void cmd_acl_cat(CommandContext& ctx) {
  if (ctx.argc() > 3) return wrong_arguments(ctx);
  if (ctx.argc() == 2) {
    ctx.reply.array(kAclCategoryCount);
    for (const char* name : kAclCategoryNames) ctx.reply.bulk(name);
    return;
  }
  const int category = AclCommands::category(ctx.arg(2));
  if (category < 0) return ctx.reply.error("ERR Unknown category '" + std::string(ctx.arg(2)) + "'");
  const AclCommands& index = AclCommands::get();
  const std::vector<int>& members = index.members(category);
  ctx.reply.array(members.size());
  for (int id : members) ctx.reply.bulk(index.at(id).name);
}

void cmd_acl_genpass(CommandContext& ctx) {
  if (ctx.argc() > 3) return wrong_arguments(ctx);
  constexpr int64_t kMaxBits = 4096;
  int64_t bits = 256;
  if (ctx.argc() == 3 && !parse_int_arg(ctx, ctx.arg(2), &bits, kNotIntegerError)) return;
  if (bits <= 0 || bits > kMaxBits) {
    return ctx.reply.error("ERR ACL GENPASS argument must be the number of bits for the output password, a "
                           "positive number up to 4096");
  }
  const size_t chars = static_cast<size_t>((bits + 3) / 4);
  static const char* const kHex = "0123456789abcdef";
  std::random_device random;  // the kernel's generator
  std::string password;
  password.reserve(chars);
  while (password.size() < chars) {
    uint32_t word = random();
    for (int i = 0; i < 8 && password.size() < chars; i++, word >>= 4) password.push_back(kHex[word & 15]);
  }
  ctx.reply.bulk(password);
}

const char* denial_name(AclDenial denial) {
  switch (denial) {
    case AclDenial::kKey:
      return "key";
    case AclDenial::kChannel:
      return "channel";
    case AclDenial::kAuth:
      return "auth";
    default:
      return "command";
  }
}

void cmd_acl_log(CommandContext& ctx) {
  if (ctx.argc() > 3) return wrong_arguments(ctx);
  int64_t count = 10;
  if (ctx.argc() == 3) {
    if (equals_ignore_case(ctx.arg(2), "reset")) {
      ctx.server.acl->reset_log();
      return ctx.reply.ok();
    }
    if (!parse_int_arg(ctx, ctx.arg(2), &count, kNotIntegerError)) return;
    if (count < 0) count = 0;
  }
  const int64_t now = unix_time_ms();
  std::vector<AclLogEntry> entries = ctx.server.acl->log_entries(static_cast<size_t>(count));
  ctx.reply.array(entries.size());
  for (const AclLogEntry& entry : entries) {
    ctx.reply.map(7);
    ctx.reply.bulk("count");
    ctx.reply.integer(static_cast<int64_t>(entry.count));
    ctx.reply.bulk("reason");
    ctx.reply.bulk(denial_name(entry.reason));
    ctx.reply.bulk("context");
    ctx.reply.bulk(acl_context_name(entry.context));
    ctx.reply.bulk("object");
    ctx.reply.bulk(entry.object);
    ctx.reply.bulk("username");
    ctx.reply.bulk(entry.username);
    ctx.reply.bulk("age-seconds");
    ctx.reply.dbl(static_cast<double>(now - entry.created_ms) / 1000.0);
    ctx.reply.bulk("client-info");
    ctx.reply.bulk(entry.client_info);
  }
}

void cmd_acl_dryrun(CommandContext& ctx) {
  std::shared_ptr<const AclUser> user = ctx.server.acl->find_user(ctx.arg(2));
  if (user == nullptr) return ctx.reply.error("ERR User '" + std::string(ctx.arg(2)) + "' not found");
  std::vector<std::string_view> argv(ctx.argv.begin() + 3, ctx.argv.end());
  const AclCommand* command = AclCommands::get().lookup(argv);
  if (command == nullptr) return ctx.reply.error("ERR Command '" + std::string(ctx.arg(3)) + "' not found");
  const int argc = static_cast<int>(argv.size());
  if ((command->arity > 0 && command->arity != argc) || argc < -command->arity) {
    return ctx.reply.error("ERR wrong number of arguments for '" + command->name + "' command");
  }
  AclVerdict verdict = user->check(*command, argv);
  switch (verdict.denial) {
    case AclDenial::kNone:
      return ctx.reply.ok();
    case AclDenial::kKey:
      return ctx.reply.bulk("This user has no permissions to access the '" +
                            std::string(argv[static_cast<size_t>(verdict.position)]) + "' key");
    case AclDenial::kChannel:
      return ctx.reply.bulk("This user has no permissions to access the '" +
                            std::string(argv[static_cast<size_t>(verdict.position)]) + "' channel");
    default:
      return ctx.reply.bulk("This user has no permissions to run the '" + command->name + "' command");
  }
}

void cmd_acl_load(CommandContext& ctx) {
  std::string error = ctx.server.acl->load_file(ctx.client);
  if (!error.empty()) return ctx.reply.error(error);
  ctx.reply.ok();
}

void cmd_acl_save(CommandContext& ctx) {
  std::string error = ctx.server.acl->save_file();
  if (!error.empty()) return ctx.reply.error(error);
  ctx.reply.ok();
}

void cmd_acl_help(CommandContext& ctx) { ctx.reply.raw(help_reply("acl")); }

}  // namespace

void register_acl_commands(CommandTable& table) {
  table.add("acl|setuser", cmd_acl_setuser);
  table.add("acl|getuser", cmd_acl_getuser);
  table.add("acl|deluser", cmd_acl_deluser);
  table.add("acl|list", cmd_acl_list);
  table.add("acl|users", cmd_acl_users);
  table.add("acl|whoami", cmd_acl_whoami);
  table.add("acl|cat", cmd_acl_cat);
  table.add("acl|genpass", cmd_acl_genpass);
  table.add("acl|log", cmd_acl_log);
  table.add("acl|dryrun", cmd_acl_dryrun);
  table.add("acl|load", cmd_acl_load);
  table.add("acl|save", cmd_acl_save);
  table.add("acl|help", cmd_acl_help);
}

}  // namespace rd
