// SORT and SORT_RO: sort the elements of a list, set or sorted set numerically or by bytes
// (ALPHA), optionally by the values of other keys (BY pattern, hash fields with "->"), fetch
// other keys for each element (GET, "#" is the element itself), take a LIMIT window, and
// reply or STORE the result as a list.
//
// Redis's special cases kept here:
// - BY with a pattern without '*' means "don't sort": lists and sorted sets keep their own
//   order (DESC walks them backwards, LIMIT picks the window directly); a set is sorted ALPHA
//   anyway when the result is STOREd, so replicas get the same list.
// - A sorted set is converted to its skip list encoding (OBJECT ENCODING shows it), even by
//   SORT_RO, which therefore takes the keyspace lock exclusively.
// - Numeric ties are broken by comparing the elements' bytes; ALPHA compares like strcoll (up
//   to the first NUL byte) when replying and byte-wise when storing.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "storage/hash.h"
#include "storage/list.h"
#include "storage/set.h"
#include "storage/zset.h"

namespace rd {
namespace {

struct SortOptions {
  bool desc = false;
  bool alpha = false;
  bool dont_sort = false;
  int64_t limit_start = 0;
  int64_t limit_count = -1;
  std::optional<std::string_view> store;
  std::optional<std::string_view> by;
  std::vector<std::string_view> gets;
};

struct SortItem {
  std::string element;
  double score = 0;
  std::optional<std::string> by_value;  // ALPHA with BY: the value to compare (none sorts first)
};

// Redis handles patterns as C strings when looking for '*' and "->".
std::string_view c_string_part(std::string_view text) { return text.substr(0, text.find('\0')); }

bool parse_sort_options(CommandContext& ctx, bool read_only, SortOptions* options) {
  for (size_t j = 2; j < ctx.argc(); j++) {
    const size_t left = ctx.argc() - j - 1;
    std::string_view opt = ctx.arg(j);
    if (equals_ignore_case(opt, "asc")) {
      options->desc = false;
    } else if (equals_ignore_case(opt, "desc")) {
      options->desc = true;
    } else if (equals_ignore_case(opt, "alpha")) {
      options->alpha = true;
    } else if (equals_ignore_case(opt, "limit") && left >= 2) {
      if (!parse_int_arg(ctx, ctx.arg(j + 1), &options->limit_start) ||
          !parse_int_arg(ctx, ctx.arg(j + 2), &options->limit_count)) {
        return false;
      }
      j += 2;
    } else if (!read_only && equals_ignore_case(opt, "store") && left >= 1) {
      options->store = ctx.arg(++j);
    } else if (equals_ignore_case(opt, "by") && left >= 1) {
      options->by = ctx.arg(++j);
      // A pattern without '*' can't name other keys: it means "don't sort" (and it sticks).
      if (c_string_part(*options->by).find('*') == std::string_view::npos) options->dont_sort = true;
    } else if (equals_ignore_case(opt, "get") && left >= 1) {
      options->gets.push_back(ctx.arg(++j));
    } else {
      ctx.reply.error(kSyntaxError);
      return false;
    }
  }
  return true;
}

// The value a BY/GET pattern names for `element`: "#" is the element itself; otherwise the
// first '*' is replaced by the element and the key's string value (or, with "->field", the
// field of the hash at that key) is returned. nullopt when there is no such value.
std::optional<std::string_view> lookup_by_pattern(CommandContext& ctx, std::string_view pattern,
                                                  std::string_view element) {
  const std::string_view c_pattern = c_string_part(pattern);
  if (c_pattern == "#") return element;
  const size_t star = c_pattern.find('*');
  if (star == std::string_view::npos) return std::nullopt;
  const size_t arrow = c_pattern.find("->", star + 1);
  const bool has_field = arrow != std::string_view::npos && arrow + 2 < c_pattern.size();
  const size_t key_end = has_field ? arrow : pattern.size();
  std::string key;
  key.reserve(pattern.size() + element.size());
  key.append(pattern.substr(0, star)).append(element).append(pattern.substr(star + 1, key_end - star - 1));
  KeyEntry* entry = ctx.lookup_read(key);
  if (entry == nullptr) return std::nullopt;
  if (!has_field) {
    if (!entry->value.is(ValueType::kString)) return std::nullopt;
    return std::string_view(entry->value.str());
  }
  if (!entry->value.is(ValueType::kHash)) return std::nullopt;
  std::string_view value;
  if (!entry->value.hash().get(pattern.substr(arrow + 2), &value)) return std::nullopt;
  return value;
}

// strtod's view of a score, as Redis checks it: the whole C string must parse, no ERANGE, no
// NaN. (An empty string is 0.)
bool parse_sort_score(std::string_view text, double* score) {
  std::string copy(c_string_part(text));
  char* end = nullptr;
  errno = 0;
  *score = std::strtod(copy.c_str(), &end);
  return *end == '\0' && errno != ERANGE && !std::isnan(*score);
}

int compare_bytes(std::string_view a, std::string_view b) {
  int cmp = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  if (cmp != 0) return cmp;
  return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

// strcoll in the C locale: bytes up to the first NUL.
int compare_collated(std::string_view a, std::string_view b) {
  return compare_bytes(c_string_part(a), c_string_part(b));
}

// Sorted sets are sorted through their skip list encoding in Redis, which converts small ones
// for good.
void convert_zset_to_skiplist(KeyEntry* entry) {
  const ZSetValue& zset = entry->value.zset();
  if (!zset.is_listpack()) return;
  std::vector<std::pair<std::string_view, double>> sorted;
  sorted.reserve(zset.size());
  zset.for_each([&](std::string_view member, double score) { sorted.emplace_back(member, score); });
  EncodingLimits skiplist_always;
  skiplist_always.zset_max_listpack_entries = 0;
  std::unique_ptr<ZSetValue> converted = ZSetValue::from_sorted(sorted, skiplist_always);
  entry->value = Value(std::move(converted));
}

// Loads the elements to sort. For a "don't sort" list or sorted set only the LIMIT window is
// loaded, in the requested direction, and [*start, *end] is rebased onto it.
std::vector<SortItem> load_items(KeyEntry* entry, const SortOptions& options, int64_t* start, int64_t* end) {
  std::vector<SortItem> items;
  if (entry == nullptr) return items;
  const Value& value = entry->value;
  const bool window = options.dont_sort && (value.is(ValueType::kList) || value.is(ValueType::kZSet));
  if (window) {
    const int64_t count = *end - *start + 1;
    if (count > 0) items.reserve(static_cast<size_t>(count));
    if (value.is(ValueType::kList) && count > 0) {
      const ListValue& list = value.list();
      const size_t first = options.desc ? list.size() - 1 - static_cast<size_t>(*start) : static_cast<size_t>(*start);
      ListValue::Cursor cursor = list.cursor_at(first);
      for (int64_t i = 0; i < count && cursor.valid(); i++) {
        items.push_back({std::string(cursor.value()), 0, std::nullopt});
        options.desc ? cursor.prev() : cursor.next();
      }
    } else if (value.is(ValueType::kZSet) && count > 0) {
      const ZSetValue& zset = value.zset();
      const size_t first = options.desc ? zset.size() - 1 - static_cast<size_t>(*start) : static_cast<size_t>(*start);
      ZSetCursor cursor = zset.at(first);
      for (int64_t i = 0; i < count && cursor.valid(); i++) {
        items.push_back({std::string(cursor.member()), 0, std::nullopt});
        options.desc ? cursor.prev() : cursor.next();
      }
    }
    *end -= *start;
    *start = 0;
    return items;
  }
  auto add = [&](std::string_view element) { items.push_back({std::string(element), 0, std::nullopt}); };
  if (value.is(ValueType::kList)) {
    items.reserve(value.list().size());
    value.list().for_each(add);
  } else if (value.is(ValueType::kSet)) {
    items.reserve(value.set().size());
    value.set().visit(add);
  } else {
    items.reserve(value.zset().size());
    value.zset().for_each([&](std::string_view member, double) { add(member); });
  }
  return items;
}

// Fills the sort keys and sorts. Returns false when a score is not a number.
bool sort_items(CommandContext& ctx, const SortOptions& options, std::vector<SortItem>* items) {
  bool bad_score = false;
  for (SortItem& item : *items) {
    std::optional<std::string_view> by_value = item.element;
    if (options.by) {
      by_value = lookup_by_pattern(ctx, *options.by, item.element);
      if (!by_value) continue;  // missing: scores 0, or sorts first with ALPHA
    }
    if (options.alpha) {
      if (options.by) item.by_value = std::string(*by_value);
    } else if (!parse_sort_score(*by_value, &item.score)) {
      bad_score = true;
    }
  }
  if (bad_score) return false;
  const bool storing = options.store.has_value();
  auto compare = [&](const SortItem& a, const SortItem& b) {
    int cmp = 0;
    if (!options.alpha) {
      cmp = a.score < b.score ? -1 : a.score > b.score ? 1 : compare_bytes(a.element, b.element);
    } else if (options.by) {
      if (!a.by_value || !b.by_value) {
        cmp = a.by_value.has_value() == b.by_value.has_value() ? 0 : a.by_value ? 1 : -1;
      } else {
        cmp = storing ? compare_bytes(*a.by_value, *b.by_value) : compare_collated(*a.by_value, *b.by_value);
      }
    } else {
      cmp = storing ? compare_bytes(a.element, b.element) : compare_collated(a.element, b.element);
    }
    return options.desc ? cmp > 0 : cmp < 0;
  };
  // Stable, like glibc's qsort (a merge sort) that Redis uses: ties keep the loading order.
  std::stable_sort(items->begin(), items->end(), compare);
  return true;
}

void reply_sorted(CommandContext& ctx, const SortOptions& options, const std::vector<SortItem>& items,
                  int64_t start, int64_t end) {
  const int64_t count = end - start + 1;
  ctx.reply.array(static_cast<size_t>(count * static_cast<int64_t>(options.gets.empty() ? 1 : options.gets.size())));
  for (int64_t j = start; j <= end; j++) {
    const std::string& element = items[static_cast<size_t>(j)].element;
    if (options.gets.empty()) ctx.reply.bulk(element);
    for (std::string_view pattern : options.gets) {
      std::optional<std::string_view> value = lookup_by_pattern(ctx, pattern, element);
      value ? ctx.reply.bulk(*value) : ctx.reply.null();
    }
  }
}

void store_sorted(CommandContext& ctx, const SortOptions& options, const std::vector<SortItem>& items,
                  int64_t start, int64_t end) {
  auto list = std::make_unique<ListValue>();
  for (int64_t j = start; j <= end; j++) {
    const std::string& element = items[static_cast<size_t>(j)].element;
    if (options.gets.empty()) list->push_back(element);
    for (std::string_view pattern : options.gets) {
      list->push_back(lookup_by_pattern(ctx, pattern, element).value_or(""));  // missing: ""
    }
  }
  const int64_t length = static_cast<int64_t>(list->size());
  std::string_view target = *options.store;
  KeyEntry* existing = ctx.lookup_write(target);
  if (length > 0) {
    ctx.db().set(target, Value(std::move(list)));  // replaces any type, clears the TTL
    ctx.key_modified(target);
    ctx.add_dirty(length - 1);  // Redis counts one change per stored element
    ctx.signal_ready(target);
    if (existing == nullptr) ctx.notify(NotifyClass::kNew, "new", target);
    ctx.notify(NotifyClass::kList, "sortstore", target);
  } else if (existing != nullptr) {
    ctx.db().erase(target);
    ctx.key_modified(target);
    ctx.notify(NotifyClass::kGeneric, "del", target);
  }
  ctx.reply.integer(length);
}

void sort_generic(CommandContext& ctx, bool read_only) {
  SortOptions options;
  if (!parse_sort_options(ctx, read_only, &options)) return;
  KeyEntry* entry = ctx.lookup_read(ctx.arg(1));
  if (entry != nullptr && !entry->value.is(ValueType::kList) && !entry->value.is(ValueType::kSet) &&
      !entry->value.is(ValueType::kZSet)) {
    return ctx.reply.error(kWrongTypeError);
  }
  // An unsorted set would reach replicas (or a script's later commands) in another order:
  // sort it when storing or when a script asks, as Redis does.
  if (options.dont_sort && entry != nullptr && entry->value.is(ValueType::kSet) &&
      (options.store || ctx.client.has_flag(kClientScript))) {
    options.dont_sort = false;
    options.alpha = true;
    options.by.reset();
  }
  if (entry != nullptr && entry->value.is(ValueType::kZSet)) convert_zset_to_skiplist(entry);

  int64_t size = 0;
  if (entry != nullptr) {
    const Value& v = entry->value;
    size = static_cast<int64_t>(v.is(ValueType::kList)  ? v.list().size()
                                : v.is(ValueType::kSet) ? v.set().size()
                                                        : v.zset().size());
  }
  // The LIMIT window, clamped to the collection first so nothing can overflow.
  int64_t start = std::min(std::max<int64_t>(options.limit_start, 0), size);
  const int64_t count = std::min(std::max<int64_t>(options.limit_count, -1), size);
  int64_t end = count < 0 ? size - 1 : start + count - 1;
  if (start >= size) {
    start = size - 1;
    end = size - 2;
  }
  if (end >= size) end = size - 1;

  std::vector<SortItem> items = load_items(entry, options, &start, &end);
  if (!options.dont_sort && !sort_items(ctx, options, &items)) {
    return ctx.reply.error("ERR One or more scores can't be converted into double");
  }
  if (options.store) return store_sorted(ctx, options, items, start, end);
  reply_sorted(ctx, options, items, start, end);
}

void cmd_sort(CommandContext& ctx) { sort_generic(ctx, false); }
void cmd_sort_ro(CommandContext& ctx) { sort_generic(ctx, true); }

}  // namespace

void register_sort_commands(CommandTable& table) {
  table.add("sort", cmd_sort);
  // Exclusive although read-only: sorting converts a small sorted set's encoding.
  table.add("sort_ro", cmd_sort_ro, LockMode::kExclusive);
}

}  // namespace rd
