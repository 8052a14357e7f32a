#include "storage/stream.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "storage/numbers.h"
#include "storage/rdb_codec.h"

namespace rd {

// ---- IDs ----

bool StreamId::increment() {
  if (seq == UINT64_MAX) {
    if (ms == UINT64_MAX) {
      ms = seq = 0;
      return false;
    }
    ms++;
    seq = 0;
  } else {
    seq++;
  }
  return true;
}

bool StreamId::decrement() {
  if (seq == 0) {
    if (ms == 0) {
      ms = seq = UINT64_MAX;
      return false;
    }
    ms--;
    seq = UINT64_MAX;
  } else {
    seq--;
  }
  return true;
}

std::string StreamId::str() const {
  char buf[48];
  char* p = std::to_chars(buf, buf + 24, ms).ptr;
  *p++ = '-';
  p = std::to_chars(p, buf + sizeof(buf), seq).ptr;
  return std::string(buf, static_cast<size_t>(p - buf));
}

bool parse_stream_id(std::string_view text, uint64_t missing_seq, bool strict, bool* seq_given, StreamId* out) {
  if (text.size() > 127) return false;
  const size_t nul = text.find('\0');
  if (nul != std::string_view::npos) text = text.substr(0, nul);
  if (strict && (text == "-" || text == "+")) return false;
  if (seq_given != nullptr) *seq_given = true;
  if (text == "-") {
    *out = StreamId{};
    return true;
  }
  if (text == "+") {
    *out = StreamId::max();
    return true;
  }
  const size_t dash = text.find('-');
  uint64_t ms = 0;
  uint64_t seq = missing_seq;
  if (!string_to_uint64_lenient(text.substr(0, dash), &ms)) return false;
  if (dash != std::string_view::npos) {
    std::string_view rest = text.substr(dash + 1);
    if (seq_given != nullptr && rest == "*") {
      seq = 0;
      *seq_given = false;
    } else if (!string_to_uint64_lenient(rest, &seq)) {
      return false;
    }
  }
  *out = StreamId{ms, seq};
  return true;
}

// ---- listpack sizes (what Redis's node listpacks take, byte for byte) ----

namespace {

constexpr size_t kListpackOverhead = 7;  // 6-byte header + end byte
constexpr int64_t kListpackMaxSize = int64_t{1} << 30;  // STREAM_LISTPACK_MAX_SIZE

size_t lp_backlen_size(size_t len) {
  return len <= 127 ? 1 : len < 16383 ? 2 : len < 2097151 ? 3 : len < 268435455 ? 4 : 5;
}

size_t lp_int_encoded(int64_t v) {
  if (v >= 0 && v <= 127) return 1;
  if (v >= -4096 && v <= 4095) return 2;
  if (v >= INT16_MIN && v <= INT16_MAX) return 3;
  if (v >= -8388608 && v <= 8388607) return 4;
  if (v >= INT32_MIN && v <= INT32_MAX) return 5;
  return 9;
}

size_t lp_int_size(int64_t v) {
  const size_t e = lp_int_encoded(v);
  return e + lp_backlen_size(e);
}

size_t lp_str_size(std::string_view s) {
  int64_t v = 0;
  if (rdb::exact_int64(s, &v)) return lp_int_size(v);
  const size_t e = s.size() + (s.size() < 64 ? 1 : s.size() < 4096 ? 2 : 5);
  return e + lp_backlen_size(e);
}

// Writes listpack elements.
class LpWriter {
 public:
  void add_int(int64_t v) {
    const size_t start = body_.size();
    const auto u = static_cast<uint64_t>(v);
    if (v >= 0 && v <= 127) {
      body_.push_back(static_cast<char>(v));
    } else if (v >= -4096 && v <= 4095) {
      const uint64_t code = u & 0x1fff;
      body_.push_back(static_cast<char>(0xc0 | (code >> 8)));
      body_.push_back(static_cast<char>(code & 0xff));
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
      body_.push_back(static_cast<char>(0xf1));
      put_le(u, 2);
    } else if (v >= -8388608 && v <= 8388607) {
      body_.push_back(static_cast<char>(0xf2));
      put_le(u, 3);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      body_.push_back(static_cast<char>(0xf3));
      put_le(u, 4);
    } else {
      body_.push_back(static_cast<char>(0xf4));
      put_le(u, 8);
    }
    finish(start);
  }
  void add_str(std::string_view s) {
    int64_t v = 0;
    if (rdb::exact_int64(s, &v)) return add_int(v);
    const size_t start = body_.size();
    if (s.size() < 64) {
      body_.push_back(static_cast<char>(0x80 | s.size()));
    } else if (s.size() < 4096) {
      body_.push_back(static_cast<char>(0xe0 | (s.size() >> 8)));
      body_.push_back(static_cast<char>(s.size() & 0xff));
    } else {
      body_.push_back(static_cast<char>(0xf0));
      put_le(s.size(), 4);
    }
    body_.append(s);
    finish(start);
  }
  std::string take() {
    std::string out;
    const uint64_t total = body_.size() + kListpackOverhead;
    const uint64_t count = count_ < 65535 ? count_ : 65535;
    out.reserve(total);
    for (int i = 0; i < 4; i++) out.push_back(static_cast<char>(total >> (8 * i)));
    for (int i = 0; i < 2; i++) out.push_back(static_cast<char>(count >> (8 * i)));
    out += body_;
    out.push_back(static_cast<char>(0xff));
    return out;
  }

 private:
  void put_le(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) body_.push_back(static_cast<char>(v >> (8 * i)));
  }
  void finish(size_t start) {
    const size_t len = body_.size() - start;
    const size_t n = lp_backlen_size(len);
    for (size_t i = 0; i < n; i++) {
      auto bits = static_cast<unsigned char>((len >> (7 * (n - 1 - i))) & 127);
      body_.push_back(static_cast<char>(i == 0 ? bits : bits | 128));
    }
    count_++;
  }
  std::string body_;
  uint64_t count_ = 0;
};

// Field/value bytes inside a node: each string as a LEB128 length then its bytes.
void put_string(std::string& out, std::string_view s) {
  uint64_t n = s.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  out.append(s);
}

std::string_view get_string(const std::string& data, size_t* pos) {
  uint64_t n = 0;
  int shift = 0;
  while (true) {
    const auto b = static_cast<unsigned char>(data[(*pos)++]);
    n |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) break;
    shift += 7;
  }
  std::string_view s(data.data() + *pos, static_cast<size_t>(n));
  *pos += static_cast<size_t>(n);
  return s;
}

// Listpack bytes of one entry (flags through lp-count).
size_t entry_lp_bytes(StreamId master, StreamId id, uint8_t flags, const std::string_view* fv, size_t pairs,
                      bool same_fields) {
  size_t bytes = lp_int_size(flags) + lp_int_size(static_cast<int64_t>(id.ms - master.ms)) +
                 lp_int_size(static_cast<int64_t>(id.seq - master.seq));
  int64_t lp_count = static_cast<int64_t>(pairs) + 3;
  if (!same_fields) {
    bytes += lp_int_size(static_cast<int64_t>(pairs));
    lp_count += static_cast<int64_t>(pairs) + 1;
  }
  for (size_t i = 0; i < pairs; i++) {
    if (!same_fields) bytes += lp_str_size(fv[2 * i]);
    bytes += lp_str_size(fv[2 * i + 1]);
  }
  return bytes + lp_int_size(lp_count);
}

}  // namespace

// ---- StreamValue: entries ----

StreamValue::StreamValue() = default;
StreamValue::~StreamValue() = default;

std::string StreamValue::encode_node_key(StreamId id) {
  std::string key(16, '\0');
  for (int i = 0; i < 8; i++) {
    key[static_cast<size_t>(i)] = static_cast<char>(id.ms >> (56 - 8 * i));
    key[static_cast<size_t>(8 + i)] = static_cast<char>(id.seq >> (56 - 8 * i));
  }
  return key;
}

size_t StreamValue::node_lp_bytes(const Node& node) {
  return kListpackOverhead + node.fixed_bytes + lp_int_size(node.live) + lp_int_size(node.deleted);
}

bool StreamValue::next_id(uint64_t now_ms, StreamId* out) const {
  if (now_ms > last_id_.ms) {
    *out = StreamId{now_ms, 0};
    return true;
  }
  *out = last_id_;
  return out->increment();
}

void StreamValue::append(StreamId id, const std::string_view* fv, size_t pairs, const StreamNodeLimits& limits) {
  size_t total_len = 0;
  for (size_t i = 0; i < 2 * pairs; i++) total_len += fv[i].size();
  Node* tail = nodes_.empty() ? nullptr : &std::prev(nodes_.end())->second;
  if (tail != nullptr) {
    int64_t max_bytes = limits.max_bytes;
    if (max_bytes <= 0 || max_bytes > kListpackMaxSize) max_bytes = kListpackMaxSize;
    if (node_lp_bytes(*tail) + total_len >= static_cast<size_t>(max_bytes)) {
      tail = nullptr;
    } else if (limits.max_entries > 0 && tail->live + tail->deleted >= limits.max_entries) {
      tail = nullptr;
    }
  }
  bool same_fields = true;
  if (tail == nullptr) {
    tail = &nodes_[id];
    tail->master = id;
    tail->master_fields.reserve(pairs);
    tail->fixed_bytes = lp_int_size(static_cast<int64_t>(pairs)) + lp_int_size(0);
    for (size_t i = 0; i < pairs; i++) {
      tail->master_fields.emplace_back(fv[2 * i]);
      tail->fixed_bytes += lp_str_size(fv[2 * i]);
    }
  } else {
    same_fields = pairs == tail->master_fields.size();
    for (size_t i = 0; same_fields && i < pairs; i++) same_fields = fv[2 * i] == tail->master_fields[i];
  }
  Entry entry;
  entry.id = id;
  entry.offset = tail->data.size();
  entry.pairs = static_cast<uint32_t>(pairs);
  entry.flags = same_fields ? kSameFields : 0;
  for (size_t i = 0; i < pairs; i++) {
    if (!same_fields) put_string(tail->data, fv[2 * i]);
    put_string(tail->data, fv[2 * i + 1]);
  }
  tail->fixed_bytes += entry_lp_bytes(tail->master, id, entry.flags, fv, pairs, same_fields);
  tail->entries.push_back(entry);
  tail->live++;
  length_++;
  entries_added_++;
  last_id_ = id;
  if (length_ == 1) first_id_ = id;
}

StreamValue::NodeMap::iterator StreamValue::node_for(StreamId id) {
  auto it = nodes_.upper_bound(id);
  if (it == nodes_.begin()) return nodes_.end();
  return std::prev(it);
}

StreamValue::NodeMap::const_iterator StreamValue::node_for(StreamId id) const {
  auto it = nodes_.upper_bound(id);
  if (it == nodes_.begin()) return nodes_.end();
  return std::prev(it);
}

namespace {

template <typename Entries>
size_t lower_index(const Entries& entries, StreamId id) {
  auto it = std::lower_bound(entries.begin(), entries.end(), id,
                             [](const auto& e, StreamId target) { return e.id < target; });
  return static_cast<size_t>(it - entries.begin());
}

}  // namespace

bool StreamValue::contains(StreamId id) const {
  auto node = node_for(id);
  if (node == nodes_.end()) return false;
  const auto& entries = node->second.entries;
  const size_t i = lower_index(entries, id);
  return i < entries.size() && entries[i].id == id && (entries[i].flags & kDeleted) == 0;
}

bool StreamValue::delete_entry(NodeMap::iterator node, size_t index) {
  Node& n = node->second;
  n.entries[index].flags |= kDeleted;
  length_--;
  if (n.live == 1) {
    nodes_.erase(node);
    return true;
  }
  n.live--;
  n.deleted++;
  return false;
}

bool StreamValue::erase(StreamId id) {
  auto node = node_for(id);
  if (node == nodes_.end()) return false;
  auto& entries = node->second.entries;
  const size_t i = lower_index(entries, id);
  if (i >= entries.size() || entries[i].id != id || (entries[i].flags & kDeleted) != 0) return false;
  delete_entry(node, i);
  return true;
}

int64_t StreamValue::trim(const StreamTrimArgs& args) {
  using Strategy = StreamTrimArgs::Strategy;
  if (args.strategy == Strategy::kNone) return 0;
  int64_t deleted = 0;
  auto it = nodes_.begin();
  while (it != nodes_.end()) {
    if (args.strategy == Strategy::kMaxLen && static_cast<int64_t>(length_) <= args.maxlen) break;
    Node& node = it->second;
    const int64_t entries = node.live;
    if (args.limit != 0 && deleted + entries > args.limit) break;
    bool remove_node;
    if (args.strategy == Strategy::kMaxLen) {
      remove_node = static_cast<int64_t>(length_) - entries >= args.maxlen;
    } else {
      remove_node = node.entries.back().id < args.minid;
    }
    if (remove_node) {
      length_ -= static_cast<size_t>(entries);
      deleted += entries;
      it = nodes_.erase(it);
      continue;
    }
    if (args.approx) break;
    // Mark entries deleted inside this node; the node stays even if none is left live.
    int64_t from_node = 0;
    for (Entry& e : node.entries) {
      const bool stop = args.strategy == Strategy::kMaxLen ? static_cast<int64_t>(length_) <= args.maxlen
                                                            : e.id >= args.minid;
      if (stop) break;
      if ((e.flags & kDeleted) == 0) {
        e.flags |= kDeleted;
        from_node++;
        length_--;
      }
    }
    node.live -= from_node;
    node.deleted += from_node;
    deleted += from_node;
    break;
  }
  first_id_ = length_ == 0 ? StreamId{} : edge_id(true, true);
  return deleted;
}

StreamId StreamValue::edge_id(bool first, bool skip_tombstones) const {
  Iterator it(*this, StreamId{}, StreamId::max(), !first, !skip_tombstones);
  if (it.next()) return it.id();
  return first ? StreamId::max() : StreamId{};
}

// ---- iteration ----

StreamValue::Iterator::Iterator(const StreamValue& stream, StreamId start, StreamId end, bool reverse,
                                bool include_deleted)
    : stream_(stream), start_(start), end_(end), reverse_(reverse), include_deleted_(include_deleted) {
  const NodeMap& nodes = stream.nodes_;
  if (start > end || nodes.empty()) {
    done_ = true;
    return;
  }
  if (!reverse) {
    node_ = stream.node_for(start);
    if (node_ == nodes.end()) node_ = nodes.begin();
    index_ = lower_index(node_->second.entries, start);
  } else {
    node_ = stream.node_for(end);
    if (node_ == nodes.end()) {
      done_ = true;
      return;
    }
    const auto& entries = node_->second.entries;
    auto it = std::upper_bound(entries.begin(), entries.end(), end,
                               [](StreamId target, const Entry& e) { return target < e.id; });
    index_ = static_cast<size_t>(it - entries.begin());  // one past the candidate
  }
}

bool StreamValue::Iterator::next() {
  if (done_) return false;
  if (started_) {
    if (reverse_) {
      index_--;
    } else {
      index_++;
    }
  }
  started_ = true;
  const NodeMap& nodes = stream_.nodes_;
  while (true) {
    const Entry* e = nullptr;
    if (!reverse_) {
      while (node_ != nodes.end() && index_ >= node_->second.entries.size()) {
        ++node_;
        index_ = 0;
      }
      if (node_ == nodes.end()) break;
      e = &node_->second.entries[index_];
      if (e->id > end_) break;
    } else {
      while (index_ == 0) {
        if (node_ == nodes.begin()) {
          done_ = true;
          return false;
        }
        --node_;
        index_ = node_->second.entries.size();
      }
      e = &node_->second.entries[index_ - 1];
      if (e->id < start_) break;
    }
    if ((e->flags & kDeleted) != 0 && !include_deleted_) {
      if (reverse_) {
        index_--;
      } else {
        index_++;
      }
      continue;
    }
    entry_ = e;
    return true;
  }
  done_ = true;
  return false;
}

const std::vector<StreamField>& StreamValue::Iterator::fields() {
  fields_.clear();
  const Node& node = node_->second;
  size_t pos = entry_->offset;
  const bool same = (entry_->flags & kSameFields) != 0;
  for (uint32_t i = 0; i < entry_->pairs; i++) {
    StreamField f;
    f.field = same ? std::string_view(node.master_fields[i]) : get_string(node.data, &pos);
    f.value = get_string(node.data, &pos);
    fields_.push_back(f);
  }
  return fields_;
}

// ---- groups ----

StreamConsumer* StreamGroup::find_consumer(std::string_view name) const {
  auto it = consumers.find(name);
  return it == consumers.end() ? nullptr : it->second.get();
}

StreamConsumer* StreamGroup::add_consumer(std::string_view name, int64_t now_ms) {
  auto [it, inserted] = consumers.try_emplace(std::string(name));
  if (!inserted) return nullptr;
  it->second = std::make_unique<StreamConsumer>();
  it->second->name = std::string(name);
  it->second->seen_time = now_ms;
  return it->second.get();
}

size_t StreamGroup::delete_consumer(std::string_view name) {
  auto it = consumers.find(name);
  if (it == consumers.end()) return 0;
  const size_t pending = it->second->pel.size();
  for (const auto& [id, nack] : it->second->pel) pel.erase(id);
  consumers.erase(it);
  return pending;
}

StreamPending& StreamGroup::assign_pending(StreamId id, StreamConsumer* consumer) {
  auto [it, inserted] = pel.try_emplace(id);
  if (!inserted && it->second.consumer != nullptr) it->second.consumer->pel.erase(id);
  it->second.consumer = consumer;
  consumer->pel[id] = &it->second;
  return it->second;
}

bool StreamGroup::remove_pending(StreamId id) {
  auto it = pel.find(id);
  if (it == pel.end()) return false;
  if (it->second.consumer != nullptr) it->second.consumer->pel.erase(id);
  pel.erase(it);
  return true;
}

StreamGroup* StreamValue::find_group(std::string_view name) const {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : it->second.get();
}

StreamGroup* StreamValue::add_group(std::string_view name, StreamId last_id, int64_t entries_read) {
  auto [it, inserted] = groups_.try_emplace(std::string(name));
  if (!inserted) return nullptr;
  it->second = std::make_unique<StreamGroup>();
  it->second->last_id = last_id;
  it->second->entries_read = entries_read;
  return it->second.get();
}

bool StreamValue::delete_group(std::string_view name) {
  auto it = groups_.find(name);
  if (it == groups_.end()) return false;
  groups_.erase(it);
  return true;
}

bool StreamValue::range_has_tombstones(StreamId start, const StreamId* end) const {
  if (length_ == 0 || max_deleted_id_.is_zero()) return false;
  if (first_id_ > max_deleted_id_) return false;
  const StreamId end_id = end != nullptr ? *end : StreamId::max();
  return start <= max_deleted_id_ && max_deleted_id_ <= end_id;
}

int64_t StreamValue::estimate_distance_from_first_ever_entry(StreamId id) const {
  if (entries_added_ == 0) return 0;
  const auto added = static_cast<int64_t>(entries_added_);
  if (length_ == 0 && id <= last_id_) return added;
  if (id == last_id_) return added;
  if (id > last_id_) return kStreamEntriesReadInvalid;
  if (max_deleted_id_.is_zero() || max_deleted_id_ < first_id_) {
    if (id < first_id_) return added - static_cast<int64_t>(length_);
    if (id == first_id_) return added - static_cast<int64_t>(length_) + 1;
  }
  return kStreamEntriesReadInvalid;
}

bool StreamValue::group_lag(const StreamGroup& group, int64_t* lag) const {
  if (entries_added_ == 0) {
    *lag = 0;
    return true;
  }
  if (group.entries_read != kStreamEntriesReadInvalid && !range_has_tombstones(group.last_id, nullptr)) {
    *lag = static_cast<int64_t>(entries_added_) - group.entries_read;
    return true;
  }
  const int64_t read = estimate_distance_from_first_ever_entry(group.last_id);
  if (read == kStreamEntriesReadInvalid) return false;
  *lag = static_cast<int64_t>(entries_added_) - read;
  return true;
}

void StreamValue::group_delivered(StreamGroup& group, StreamId id) const {
  if (group.entries_read != kStreamEntriesReadInvalid && !range_has_tombstones(id, nullptr)) {
    group.entries_read++;
  } else if (entries_added_ != 0) {
    group.entries_read = estimate_distance_from_first_ever_entry(id);
  }
  group.last_id = id;
}

// ---- introspection ----

namespace {

// Nodes of a path-compressed trie over sorted, distinct, equal-length keys from `depth` on:
// what Redis's radix tree holds for the stream's 16-byte node keys.
size_t trie_nodes(const std::vector<std::string>& keys, size_t begin, size_t end, size_t depth) {
  const size_t width = keys[begin].size();
  if (end - begin == 1) return depth == width ? 1 : 2;
  // The prefix all keys share from `depth` (first and last suffice: they are sorted).
  const std::string& first = keys[begin];
  const std::string& last = keys[end - 1];
  size_t common = depth;
  while (common < width && first[common] == last[common]) common++;
  size_t count = common > depth ? 1 : 0;  // a compressed node for the shared run
  count++;                                 // the branching node
  size_t i = begin;
  while (i < end) {
    size_t j = i + 1;
    while (j < end && keys[j][common] == keys[i][common]) j++;
    count += trie_nodes(keys, i, j, common + 1);
    i = j;
  }
  return count;
}

}  // namespace

size_t StreamValue::rax_node_count() const {
  if (nodes_.empty()) return 1;
  std::vector<std::string> keys;
  keys.reserve(nodes_.size());
  for (const auto& [master, node] : nodes_) keys.push_back(encode_node_key(master));
  return trie_nodes(keys, 0, keys.size(), 0);
}

size_t StreamValue::memory_usage() const {
  size_t bytes = sizeof(StreamValue) + 16;
  for (const auto& [master, node] : nodes_) bytes += node_lp_bytes(node) + 48;
  for (const auto& [name, group] : groups_) {
    bytes += name.size() + 64 + group->pel.size() * 40;
    for (const auto& [cname, consumer] : group->consumers) bytes += cname.size() + 48 + consumer->pel.size() * 24;
  }
  return bytes;
}

size_t StreamValue::node_listpack_bytes_for_test(size_t index) const {
  auto it = nodes_.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(index));
  return node_lp_bytes(it->second);
}

// ---- RDB form of a node ----

std::string StreamValue::node_listpack(const Node& node) const {
  LpWriter lp;
  lp.add_int(node.live);
  lp.add_int(node.deleted);
  lp.add_int(static_cast<int64_t>(node.master_fields.size()));
  for (const std::string& f : node.master_fields) lp.add_str(f);
  lp.add_int(0);
  for (const Entry& e : node.entries) {
    const bool same = (e.flags & kSameFields) != 0;
    lp.add_int(e.flags);
    lp.add_int(static_cast<int64_t>(e.id.ms - node.master.ms));
    lp.add_int(static_cast<int64_t>(e.id.seq - node.master.seq));
    if (!same) lp.add_int(e.pairs);
    size_t pos = e.offset;
    for (uint32_t i = 0; i < e.pairs; i++) {
      if (!same) lp.add_str(get_string(node.data, &pos));
      lp.add_str(get_string(node.data, &pos));
    }
    lp.add_int(same ? int64_t{e.pairs} + 3 : 2 * int64_t{e.pairs} + 4);
  }
  return lp.take();
}

std::string StreamValue::load_node(std::string_view key, std::string_view listpack) {
  if (key.size() != 16) return "Stream node key entry is not the size of a stream ID";
  StreamId master;
  for (int i = 0; i < 8; i++) {
    master.ms = (master.ms << 8) | static_cast<unsigned char>(key[static_cast<size_t>(i)]);
    master.seq = (master.seq << 8) | static_cast<unsigned char>(key[static_cast<size_t>(8 + i)]);
  }
  std::vector<std::string> items;
  if (!rdb::decode_listpack(listpack, [&](std::string_view item) { items.emplace_back(item); })) {
    return "Stream listpack integrity check failed";
  }
  if (items.empty()) return "Empty listpack inside stream";
  size_t pos = 0;
  auto next_int = [&](int64_t* v) { return pos < items.size() && string_to_int64(items[pos++], v); };
  Node node;
  node.master = master;
  int64_t live = 0, deleted = 0, master_count = 0, zero = -1;
  if (!next_int(&live) || !next_int(&deleted) || !next_int(&master_count) || live < 0 || deleted < 0 ||
      master_count < 0 || static_cast<uint64_t>(master_count) > items.size()) {
    return "Stream listpack master entry is invalid";
  }
  for (int64_t i = 0; i < master_count; i++) {
    if (pos >= items.size()) return "Stream listpack master entry is invalid";
    node.master_fields.push_back(items[pos++]);
  }
  if (!next_int(&zero) || zero != 0) return "Stream listpack master entry is invalid";
  node.fixed_bytes = lp_int_size(master_count) + lp_int_size(0);
  for (const std::string& f : node.master_fields) node.fixed_bytes += lp_str_size(f);
  StreamId previous;
  bool have_previous = false;
  if (!nodes_.empty()) {
    previous = std::prev(nodes_.end())->second.entries.back().id;
    have_previous = true;
    if (master <= previous) return "Stream node keys are not in order";
  }
  int64_t seen_live = 0, seen_deleted = 0;
  std::vector<std::string_view> fv;
  while (pos < items.size()) {
    int64_t flags = 0, ms_delta = 0, seq_delta = 0, pairs = 0, lp_count = 0;
    if (!next_int(&flags) || !next_int(&ms_delta) || !next_int(&seq_delta) || flags < 0 || flags > 3) {
      return "Stream listpack entry is invalid";
    }
    const bool same = (flags & kSameFields) != 0;
    if (same) {
      pairs = master_count;
    } else if (!next_int(&pairs) || pairs < 0) {
      return "Stream listpack entry is invalid";
    }
    if (static_cast<uint64_t>(pairs) > items.size() - pos) return "Stream listpack entry is invalid";
    fv.clear();
    for (int64_t i = 0; i < pairs; i++) {
      if (same) {
        fv.emplace_back(node.master_fields[static_cast<size_t>(i)]);
      } else {
        if (pos >= items.size()) return "Stream listpack entry is invalid";
        fv.emplace_back(items[pos++]);
      }
      if (pos >= items.size()) return "Stream listpack entry is invalid";
      fv.emplace_back(items[pos++]);
    }
    if (!next_int(&lp_count) || lp_count != (same ? pairs + 3 : 2 * pairs + 4)) {
      return "Stream listpack entry is invalid";
    }
    Entry e;
    e.id = StreamId{master.ms + static_cast<uint64_t>(ms_delta), master.seq + static_cast<uint64_t>(seq_delta)};
    if (have_previous && e.id <= previous) return "Stream listpack entries are not in order";
    if (e.id < master) return "Stream node entry is before its node key";
    previous = e.id;
    have_previous = true;
    e.offset = node.data.size();
    e.pairs = static_cast<uint32_t>(pairs);
    e.flags = static_cast<uint8_t>(flags);
    for (int64_t i = 0; i < pairs; i++) {
      if (!same) put_string(node.data, fv[static_cast<size_t>(2 * i)]);
      put_string(node.data, fv[static_cast<size_t>(2 * i + 1)]);
    }
    node.fixed_bytes += entry_lp_bytes(master, e.id, e.flags, fv.data(), static_cast<size_t>(pairs), same);
    node.entries.push_back(e);
    if ((flags & kDeleted) != 0) {
      seen_deleted++;
    } else {
      seen_live++;
    }
  }
  if (node.entries.empty()) return "Empty listpack inside stream";
  if (seen_live != live || seen_deleted != deleted) return "Stream listpack counters are inconsistent";
  node.live = live;
  node.deleted = deleted;
  length_ += static_cast<size_t>(live);
  nodes_.emplace(master, std::move(node));
  return "";
}

// ---- copy ----

std::unique_ptr<StreamValue> StreamValue::clone() const {
  auto copy = std::make_unique<StreamValue>();
  copy->nodes_ = nodes_;
  copy->length_ = length_;
  copy->last_id_ = last_id_;
  copy->first_id_ = first_id_;
  copy->max_deleted_id_ = max_deleted_id_;
  copy->entries_added_ = entries_added_;
  for (const auto& [name, group] : groups_) {
    StreamGroup* g = copy->add_group(name, group->last_id, group->entries_read);
    for (const auto& [cname, consumer] : group->consumers) {
      StreamConsumer* c = g->add_consumer(cname, consumer->seen_time);
      for (const auto& [id, nack] : consumer->pel) {
        StreamPending& p = g->assign_pending(id, c);
        p.delivery_time = nack->delivery_time;
        p.delivery_count = nack->delivery_count;
      }
    }
    // Pending entries without an owner cannot exist; every one belongs to a consumer.
  }
  return copy;
}

}  // namespace rd
