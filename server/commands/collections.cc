#include "server/commands/collections.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "server/server.h"
#include "storage/glob.h"

namespace rd {

CommandRandom command_random(CommandContext& ctx) { return CommandRandom(ctx.server.random64()); }

bool ScanOptions::matches(std::string_view element) const {
  return !has_pattern || glob_match(pattern, element);
}

bool parse_collection_cursor(CommandContext& ctx, std::string_view text, uint64_t* cursor) {
  // strtoul needs a NUL-terminated copy; like Redis, parsing stops at an embedded NUL.
  std::string copy(text);
  errno = 0;
  char* end = nullptr;
  unsigned long long value = std::strtoull(copy.c_str(), &end, 10);
  const bool leading_space = !copy.empty() && std::isspace(static_cast<unsigned char>(copy[0]));
  if (leading_space || *end != '\0' || errno == ERANGE) {
    ctx.reply.error("ERR invalid cursor");
    return false;
  }
  *cursor = value;
  return true;
}

bool parse_collection_scan_options(CommandContext& ctx, size_t first, ScanOptions* options) {
  for (size_t i = first; i < ctx.argc(); i += 2) {
    std::string_view option = ctx.arg(i);
    const bool has_value = i + 1 < ctx.argc();
    if (has_value && equals_ignore_case(option, "count")) {
      if (!parse_int_arg(ctx, ctx.arg(i + 1), &options->count)) return false;
      if (options->count < 1) {
        ctx.reply.error(kSyntaxError);
        return false;
      }
    } else if (has_value && equals_ignore_case(option, "match")) {
      options->pattern = ctx.arg(i + 1);
      options->has_pattern = options->pattern != "*";
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  return true;
}

void reply_empty_scan(Reply& reply) {
  reply.array(2);
  reply.bulk("0");
  reply.array(0);
}

}  // namespace rd
