// CONFIG subcommands: GET, SET, RESETSTAT, REWRITE, HELP.
#include <fstream>
#include <set>

#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"

namespace rd {
namespace {

void cmd_config_get(CommandContext& ctx) {
  std::vector<std::pair<std::string, std::string>> found;
  std::set<std::string> seen;
  for (size_t i = 2; i < ctx.argc(); i++) {
    for (auto& [name, value] : ctx.server.config.matching(ctx.arg(i))) {
      if (seen.insert(name).second) found.emplace_back(std::move(name), std::move(value));
    }
  }
  ctx.reply.map(found.size());
  for (const auto& [name, value] : found) {
    ctx.reply.bulk(name);
    ctx.reply.bulk(value);
  }
}

void cmd_config_set(CommandContext& ctx) {
  if (ctx.argc() % 2 != 0) return ctx.reply.error("ERR wrong number of arguments for 'config|set' command");
  std::vector<const ParamSpec*> specs;
  for (size_t i = 2; i < ctx.argc(); i += 2) {
    const ParamSpec* spec = Config::find(ctx.arg(i));
    if (spec == nullptr) {
      return ctx.reply.error("ERR Unknown option or number of arguments for CONFIG SET - '" +
                             std::string(ctx.arg(i)) + "'");
    }
    for (const ParamSpec* earlier : specs) {
      if (earlier == spec) {
        return ctx.reply.error("ERR CONFIG SET failed (possibly related to argument '" + std::string(ctx.arg(i)) +
                               "') - duplicate parameter");
      }
    }
    specs.push_back(spec);
  }
  // All or nothing: remember the old values to roll back if one of them is refused.
  std::vector<std::string> previous;
  for (const ParamSpec* spec : specs) previous.push_back(ctx.server.config.get(spec->name));
  for (size_t n = 0; n < specs.size(); n++) {
    std::string_view value = ctx.arg(3 + 2 * n);
    std::string error = ctx.server.config.set(*specs[n], {std::string(value)}, false);
    if (error.empty()) error = ctx.server.config_changed(specs[n]->name);
    if (!error.empty()) {
      for (size_t k = 0; k <= n; k++) {
        ctx.server.config.set(*specs[k], {previous[k]}, true);
        ctx.server.config_changed(specs[k]->name);
      }
      return ctx.reply.error("ERR CONFIG SET failed (possibly related to argument '" +
                             std::string(ctx.arg(2 + 2 * n)) + "') - " + error);
    }
  }
  ctx.reply.ok();
}

void cmd_config_resetstat(CommandContext& ctx) {
  ctx.server.reset_stats();
  ctx.reply.ok();
}

void cmd_config_rewrite(CommandContext& ctx) {
  if (ctx.server.config_file.empty()) return ctx.reply.error("ERR The server is running without a config file");
  std::ofstream out(ctx.server.config_file, std::ios::trunc);
  for (const ParamSpec& spec : config_params()) {
    std::string value = ctx.server.config.get(spec.name);
    if (value == spec.default_value || spec.immutable) continue;
    out << spec.name << " \"" << value << "\"\n";
  }
  if (!out) return ctx.reply.error("ERR Rewriting config file: failed to write");
  ctx.reply.ok();
}

void cmd_config_help(CommandContext& ctx) { ctx.reply.raw(help_reply("config")); }

}  // namespace

void register_config_commands(CommandTable& table) {
  table.add("config|get", cmd_config_get);
  table.add("config|set", cmd_config_set);
  table.add("config|resetstat", cmd_config_resetstat);
  table.add("config|rewrite", cmd_config_rewrite);
  table.add("config|help", cmd_config_help);
}

}  // namespace rd
