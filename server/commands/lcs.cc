// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest common subsequence of
// two strings (missing keys are empty), its length, or the matching ranges (IDX), found with
// the classic dynamic programming table and walked back from the end the way Redis walks it,
// so ties between equally long subsequences resolve to the same answer.
#include <algorithm>
#include <new>
#include <string>
#include <vector>

#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"

namespace rd {
namespace {

struct LcsOptions {
  bool len = false;
  bool idx = false;
  bool with_match_len = false;
  int64_t min_match_len = 0;
};

bool parse_lcs_options(CommandContext& ctx, LcsOptions* options) {
  for (size_t j = 3; j < ctx.argc(); j++) {
    std::string_view opt = ctx.arg(j);
    if (equals_ignore_case(opt, "idx")) {
      options->idx = true;
    } else if (equals_ignore_case(opt, "len")) {
      options->len = true;
    } else if (equals_ignore_case(opt, "withmatchlen")) {
      options->with_match_len = true;
    } else if (equals_ignore_case(opt, "minmatchlen") && j + 1 < ctx.argc()) {
      if (!parse_int_arg(ctx, ctx.arg(++j), &options->min_match_len)) return false;
      if (options->min_match_len < 0) options->min_match_len = 0;
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  if (options->idx && options->len) {
    ctx.reply.error("ERR If you want both the length and indexes, please just use IDX.");
    return false;
  }
  return true;
}

// One matching range, inclusive on both strings.
struct Match {
  uint32_t a_start, a_end, b_start, b_end;
  uint32_t length() const { return a_end - a_start + 1; }
};

void reply_matches(CommandContext& ctx, const LcsOptions& options, const std::vector<Match>& matches,
                   uint32_t lcs_length) {
  ctx.reply.map(2);
  ctx.reply.bulk("matches");
  ctx.reply.array(matches.size());
  for (const Match& m : matches) {
    ctx.reply.array(options.with_match_len ? 3 : 2);
    ctx.reply.array(2);
    ctx.reply.integer(m.a_start);
    ctx.reply.integer(m.a_end);
    ctx.reply.array(2);
    ctx.reply.integer(m.b_start);
    ctx.reply.integer(m.b_end);
    if (options.with_match_len) ctx.reply.integer(m.length());
  }
  ctx.reply.bulk("len");
  ctx.reply.integer(lcs_length);
}

void cmd_lcs(CommandContext& ctx) {
  KeyEntry* entry_a = ctx.lookup_read(ctx.arg(1));
  KeyEntry* entry_b = ctx.lookup_read(ctx.arg(2));
  if ((entry_a != nullptr && !entry_a->value.is(ValueType::kString)) ||
      (entry_b != nullptr && !entry_b->value.is(ValueType::kString))) {
    return ctx.reply.error("ERR The specified keys must contain string values");
  }
  LcsOptions options;
  if (!parse_lcs_options(ctx, &options)) return;
  const std::string_view a = entry_a == nullptr ? std::string_view() : std::string_view(entry_a->value.str());
  const std::string_view b = entry_b == nullptr ? std::string_view() : std::string_view(entry_b->value.str());
  if (a.size() >= UINT32_MAX - 1 || b.size() >= UINT32_MAX - 1) return ctx.reply.error("ERR String too long for LCS");
  const size_t rows = a.size() + 1;
  const size_t cols = b.size() + 1;
  const unsigned __int128 bytes = static_cast<unsigned __int128>(rows) * cols * sizeof(uint32_t);
  if (bytes > static_cast<unsigned __int128>(ctx.server.proto_max_bulk_len.load())) {
    return ctx.reply.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  }
  std::vector<uint32_t> table;
  try {
    table.assign(rows * cols, 0);
  } catch (const std::bad_alloc&) {
    return ctx.reply.error("ERR Insufficient memory, failed allocating transient memory for LCS");
  }
  // table[i][j]: LCS length of a[0, i) and b[0, j).
  auto at = [&](size_t i, size_t j) -> uint32_t& { return table[i * cols + j]; };
  for (size_t i = 1; i < rows; i++) {
    for (size_t j = 1; j < cols; j++) {
      at(i, j) = a[i - 1] == b[j - 1] ? at(i - 1, j - 1) + 1 : std::max(at(i - 1, j), at(i, j - 1));
    }
  }
  const uint32_t length = at(rows - 1, cols - 1);
  if (options.len && !options.idx) return ctx.reply.integer(length);

  // Walk back from the end: a match extends the current range backwards; a step that skips a
  // character closes it (ranges shorter than MINMATCHLEN are dropped).
  std::string common(length, '\0');
  uint32_t remaining = length;
  std::vector<Match> matches;
  bool open = false;
  Match range{};
  auto close_range = [&] {
    if (options.min_match_len == 0 || range.length() >= options.min_match_len) matches.push_back(range);
    open = false;
  };
  size_t i = a.size();
  size_t j = b.size();
  while (i > 0 && j > 0) {
    if (a[i - 1] == b[j - 1]) {
      common[--remaining] = a[i - 1];
      const auto ai = static_cast<uint32_t>(i - 1);
      const auto bj = static_cast<uint32_t>(j - 1);
      if (!open) {
        range = {ai, ai, bj, bj};
        open = true;
      } else {
        range.a_start = ai;
        range.b_start = bj;
      }
      i--;
      j--;
      if (ai == 0 || bj == 0) close_range();  // the walk ends here
    } else {
      // Redis's tie rule: go up only when that keeps a strictly longer subsequence.
      if (at(i - 1, j) > at(i, j - 1)) {
        i--;
      } else {
        j--;
      }
      if (open) close_range();
    }
  }
  if (options.idx) return reply_matches(ctx, options, matches, length);
  ctx.reply.bulk(common);
}

}  // namespace

void register_lcs_commands(CommandTable& table) { table.add("lcs", cmd_lcs); }

}  // namespace rd
