// Client-side caching commands: CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO. The
// tracking table and the invalidation messages are in server/tracking.h.
#include <algorithm>

#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/numbers.h"

namespace rd {
namespace {

// Redis formats these names with %s: they end at a NUL byte.
std::string printable(std::string_view text) { return std::string(text.substr(0, text.find('\0'))); }

std::string overlap_error(std::string_view prefix, std::string_view other, std::string_view which) {
  return "ERR Prefix '" + printable(prefix) + "' overlaps with " + std::string(which) + " prefix '" +
         printable(other) + "'. Prefixes for a single client must not overlap.";
}

// CLIENT TRACKING's options, parsed in order as Redis does (the REDIRECT target must exist
// now, even with OFF). Replies the error and returns false on a bad option.
bool parse_tracking_options(CommandContext& ctx, TrackingOptions* options) {
  for (size_t j = 3; j < ctx.argc(); j++) {
    std::string_view option = ctx.arg(j);
    const bool more = j + 1 < ctx.argc();
    if (equals_ignore_case(option, "redirect") && more) {
      j++;
      if (options->redirect != 0) {
        ctx.reply.error("ERR A client can only redirect to a single other client");
        return false;
      }
      int64_t id = 0;
      if (!parse_int_arg(ctx, ctx.arg(j), &id)) return false;
      if (id <= 0 || ctx.server.find_client(static_cast<uint64_t>(id)) == nullptr) {
        ctx.reply.error("ERR The client ID you want redirect to does not exist");
        return false;
      }
      options->redirect = static_cast<uint64_t>(id);
    } else if (equals_ignore_case(option, "bcast")) {
      options->bcast = true;
    } else if (equals_ignore_case(option, "optin")) {
      options->optin = true;
    } else if (equals_ignore_case(option, "optout")) {
      options->optout = true;
    } else if (equals_ignore_case(option, "noloop")) {
      options->noloop = true;
    } else if (equals_ignore_case(option, "prefix") && more) {
      j++;
      options->prefixes.emplace_back(ctx.arg(j));
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  return true;
}

// The checks of CLIENT TRACKING ON against the options and the client's current mode.
bool tracking_mode_allowed(CommandContext& ctx, const TrackingOptions& options) {
  const Client& client = ctx.client;
  if (!options.bcast && !options.prefixes.empty()) {
    ctx.reply.error("ERR PREFIX option requires BCAST mode to be enabled");
    return false;
  }
  if (client.has_flag(kClientTracking) && client.has_flag(kClientTrackingBcast) != options.bcast) {
    ctx.reply.error(
        "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then "
        "re-enabling it with a different mode.");
    return false;
  }
  if (options.bcast && (options.optin || options.optout)) {
    ctx.reply.error("ERR OPTIN and OPTOUT are not compatible with BCAST");
    return false;
  }
  if (options.optin && options.optout) {
    ctx.reply.error("ERR You can't specify both OPTIN mode and OPTOUT mode");
    return false;
  }
  if ((options.optin && client.has_flag(kClientTrackingOptout)) ||
      (options.optout && client.has_flag(kClientTrackingOptin))) {
    ctx.reply.error(
        "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then "
        "re-enabling it with a different mode.");
    return false;
  }
  return true;
}

// BCAST prefixes must not overlap each other nor the client's. Like Redis 7.0, an overlap
// between two given prefixes is only fatal when the first of them is the first prefix given:
// otherwise the error is replied and tracking is enabled anyway, "+OK" following the error.
bool prefixes_allowed(CommandContext& ctx, const std::vector<std::string>& prefixes) {
  for (size_t i = 0; i < prefixes.size(); i++) {
    const std::string& prefix = prefixes[i];
    std::string existing;
    if (ctx.server.tracking.overlapping_prefix(ctx.client, prefix, &existing)) {
      ctx.reply.error(overlap_error(prefix, existing, "an existing"));
      return false;
    }
    for (size_t j = i + 1; j < prefixes.size(); j++) {
      const std::string& other = prefixes[j];
      const size_t common = std::min(prefix.size(), other.size());
      if (prefix.compare(0, common, other, 0, common) != 0) continue;
      ctx.reply.error(overlap_error(prefix, other, "another provided"));
      return i != 0;
    }
  }
  return true;
}

void cmd_client_tracking(CommandContext& ctx) {
  TrackingOptions options;
  if (!parse_tracking_options(ctx, &options)) return;
  if (equals_ignore_case(ctx.arg(2), "on")) {
    if (!tracking_mode_allowed(ctx, options)) return;
    if (options.bcast && !prefixes_allowed(ctx, options.prefixes)) return;
    ctx.server.tracking.enable(ctx.client, options);
  } else if (equals_ignore_case(ctx.arg(2), "off")) {
    ctx.server.tracking.disable(ctx.client);
  } else {
    return ctx.reply.error(kSyntaxError);
  }
  ctx.reply.ok();
}

void cmd_client_caching(CommandContext& ctx) {
  Client& client = ctx.client;
  if (!client.has_flag(kClientTracking)) {
    return ctx.reply.error(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode "
        "enabled");
  }
  if (equals_ignore_case(ctx.arg(2), "yes")) {
    if (!client.has_flag(kClientTrackingOptin)) {
      return ctx.reply.error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
    }
  } else if (equals_ignore_case(ctx.arg(2), "no")) {
    if (!client.has_flag(kClientTrackingOptout)) {
      return ctx.reply.error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
    }
  } else {
    return ctx.reply.error(kSyntaxError);
  }
  client.tracking_caching = true;  // the dispatcher clears it after the next command
  ctx.reply.ok();
}

int64_t redirect_id(const Client& client) {
  if (!client.has_flag(kClientTracking)) return -1;
  return static_cast<int64_t>(client.tracking_redirect.load(std::memory_order_relaxed));
}

void cmd_client_getredir(CommandContext& ctx) { ctx.reply.integer(redirect_id(ctx.client)); }

void cmd_client_trackinginfo(CommandContext& ctx) {
  const Client& client = ctx.client;
  std::vector<std::string_view> flags = {client.has_flag(kClientTracking) ? "on" : "off"};
  if (client.has_flag(kClientTrackingBcast)) flags.push_back("bcast");
  if (client.has_flag(kClientTrackingOptin)) {
    flags.push_back("optin");
    if (client.tracking_caching) flags.push_back("caching-yes");
  }
  if (client.has_flag(kClientTrackingOptout)) {
    flags.push_back("optout");
    if (client.tracking_caching) flags.push_back("caching-no");
  }
  if (client.has_flag(kClientTrackingNoloop)) flags.push_back("noloop");
  if (client.has_flag(kClientTrackingBrokenRedir)) flags.push_back("broken_redirect");
  ctx.reply.map(3);
  ctx.reply.bulk("flags");
  ctx.reply.set(flags.size());
  for (std::string_view flag : flags) ctx.reply.bulk(flag);
  ctx.reply.bulk("redirect");
  ctx.reply.integer(redirect_id(client));
  ctx.reply.bulk("prefixes");
  const std::vector<std::string> prefixes = ctx.server.tracking.prefixes(client);
  ctx.reply.array(prefixes.size());
  for (const std::string& prefix : prefixes) ctx.reply.bulk(prefix);
}

}  // namespace

void register_client_tracking_commands(CommandTable& table) {
  table.add("client|tracking", cmd_client_tracking);
  table.add("client|caching", cmd_client_caching);
  table.add("client|getredir", cmd_client_getredir);
  table.add("client|trackinginfo", cmd_client_trackinginfo);
}

}  // namespace rd
