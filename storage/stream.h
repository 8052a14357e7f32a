// The stream type: entries ordered by ID (ms-seq), each a list of field/value pairs, plus
// the stream's metadata and its consumer groups.
//
// Layout. Entries live in nodes, the way Redis 7.0 packs them in listpacks: a node is created
// for the first entry that does not fit the tail node (stream-node-max-bytes, counted as
// Redis counts its listpack bytes, or stream-node-max-entries, counting tombstones). A node
// keeps its master entry (the fields of its first entry) and every entry appended to it,
// deleted ones included as tombstones, until its last live entry goes: then the node goes.
// Mirroring Redis's nodes keeps what depends on them identical: approximate trimming ("~"
// removes whole nodes only), XINFO's radix-tree-keys/-nodes, and the RDB image (one listpack
// per node). Nodes sit in an ordered map keyed by their master ID, so a range read is a seek,
// O(log n), then a walk of k entries.
//
// Within a node, field/value bytes are packed into one buffer; entries are small fixed-size
// records (ID, flags, offset into the buffer).
//
// Consumer groups: name -> last delivered ID, entries read, the group PEL (ID -> delivery
// time, delivery count, owning consumer) and consumers (name -> seen time and their own PEL,
// which points into the group's).
//
// Not thread-safe: guarded by the keyspace lock like the Db that holds it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rd {

struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;

  friend bool operator==(const StreamId&, const StreamId&) = default;
  friend auto operator<=>(const StreamId&, const StreamId&) = default;

  bool is_zero() const { return ms == 0 && seq == 0; }
  static constexpr StreamId max() { return {UINT64_MAX, UINT64_MAX}; }
  // The next / previous ID. False when there is none (the ID then wraps to 0-0 / max, as
  // Redis's streamIncrID/streamDecrID leave it).
  bool increment();
  bool decrement();
  // "ms-seq".
  std::string str() const;
};

// Parses a stream ID argument the way Redis does:
//  - the text is cut at its first NUL byte; more than 127 bytes is invalid;
//  - "-" is 0-0 and "+" the maximum ID, unless `strict` (then both are invalid);
//  - "<ms>" alone takes `missing_seq` as its sequence;
//  - each part is an unsigned 64-bit number in Redis's lenient string2ull form;
//  - "<ms>-*" is accepted only when `seq_given` is non-null, and sets *seq_given false
//    (sequence 0 in *out); otherwise *seq_given is set true.
bool parse_stream_id(std::string_view text, uint64_t missing_seq, bool strict, bool* seq_given, StreamId* out);

// One field/value pair of an entry (views into the stream: valid until it changes).
struct StreamField {
  std::string_view field;
  std::string_view value;
};

class StreamValue;

// Pending entry: delivered to a consumer of a group, not yet acknowledged.
struct StreamConsumer;
struct StreamPending {
  int64_t delivery_time = 0;  // unix ms of the last delivery
  uint64_t delivery_count = 0;
  StreamConsumer* consumer = nullptr;
};

struct StreamConsumer {
  std::string name;
  int64_t seen_time = 0;  // unix ms of the last interaction
  // The consumer's share of the group PEL (values point into StreamGroup::pel).
  std::map<StreamId, StreamPending*> pel;
};

inline constexpr int64_t kStreamEntriesReadInvalid = -1;  // SCG_INVALID_ENTRIES_READ

struct StreamGroup {
  StreamId last_id;
  int64_t entries_read = kStreamEntriesReadInvalid;
  std::map<StreamId, StreamPending> pel;
  // Ordered like Redis's radix tree (byte order of the names).
  std::map<std::string, std::unique_ptr<StreamConsumer>, std::less<>> consumers;

  StreamConsumer* find_consumer(std::string_view name) const;
  // Creates the consumer; nullptr if it exists.
  StreamConsumer* add_consumer(std::string_view name, int64_t now_ms);
  // Deletes the consumer and its pending entries (from the group PEL too); returns how many
  // pending entries it had.
  size_t delete_consumer(std::string_view name);
  // Adds or reassigns the pending entry `id` to `consumer`.
  StreamPending& assign_pending(StreamId id, StreamConsumer* consumer);
  // Removes the pending entry `id` (from its consumer's PEL too). False when absent.
  bool remove_pending(StreamId id);
};

// How big a node may grow (stream-node-max-bytes / stream-node-max-entries; 0 = no limit).
struct StreamNodeLimits {
  int64_t max_bytes = 4096;
  int64_t max_entries = 100;
};

// XADD MAXLEN/MINID and XTRIM arguments.
struct StreamTrimArgs {
  enum class Strategy { kNone, kMaxLen, kMinId };
  Strategy strategy = Strategy::kNone;
  bool approx = false;
  int64_t maxlen = 0;
  StreamId minid;
  int64_t limit = 0;  // 0: no limit
};

class StreamValue {
 private:
  struct Entry {
    StreamId id;
    size_t offset = 0;    // first byte of its fields/values in Node::data
    uint32_t pairs = 0;   // number of field/value pairs
    uint8_t flags = 0;    // kDeleted | kSameFields
  };
  struct Node {
    StreamId master;                        // the key: ID of the node's first entry
    std::vector<std::string> master_fields;
    int64_t live = 0;
    int64_t deleted = 0;
    size_t fixed_bytes = 0;                 // listpack bytes but the live/deleted counters
    std::vector<Entry> entries;             // in ID order, tombstones included
    std::string data;                       // packed fields/values
  };
  using NodeMap = std::map<StreamId, Node>;

 public:
  static constexpr uint8_t kDeleted = 1;
  static constexpr uint8_t kSameFields = 2;

  StreamValue();
  ~StreamValue();
  StreamValue(const StreamValue&) = delete;
  StreamValue& operator=(const StreamValue&) = delete;

  std::unique_ptr<StreamValue> clone() const;

  // ---- metadata ----
  size_t length() const { return length_; }
  StreamId last_id() const { return last_id_; }
  StreamId first_id() const { return first_id_; }
  StreamId max_deleted_id() const { return max_deleted_id_; }
  uint64_t entries_added() const { return entries_added_; }
  void set_last_id(StreamId id) { last_id_ = id; }
  void set_first_id(StreamId id) { first_id_ = id; }
  void set_max_deleted_id(StreamId id) { max_deleted_id_ = id; }
  void set_entries_added(uint64_t n) { entries_added_ = n; }

  // The ID XADD * would generate at `now_ms`; false when the stream's last ID is the maximum.
  bool next_id(uint64_t now_ms, StreamId* out) const;

  // ---- entries ----
  // Appends an entry. REQUIRES: id > last_id(); `fv` holds field, value, field, value...
  void append(StreamId id, const std::string_view* fv, size_t pairs, const StreamNodeLimits& limits);
  // Whether a live entry has this ID.
  bool contains(StreamId id) const;
  // XDEL of one ID: marks it deleted. Updates length; not first_id/max_deleted_id (the
  // command does, like Redis). Returns false when there was no live entry.
  bool erase(StreamId id);
  // XTRIM / XADD trimming. Returns the number of entries removed; updates first_id.
  int64_t trim(const StreamTrimArgs& args);
  // The first (or last) entry's ID, tombstones included unless `skip_tombstones`. For an
  // empty stream: the maximum ID when asking for the first, 0-0 for the last (as Redis).
  StreamId edge_id(bool first, bool skip_tombstones) const;

  // Walks entries with start <= id <= end. Invalidated by any change to the entries.
  class Iterator {
   public:
    Iterator(const StreamValue& stream, StreamId start, StreamId end, bool reverse, bool include_deleted = false);
    // Moves to the next entry; false when there is none.
    bool next();
    StreamId id() const { return entry_->id; }
    bool deleted() const { return (entry_->flags & kDeleted) != 0; }
    size_t pair_count() const { return entry_->pairs; }
    // The entry's pairs (decoded on demand, valid until the next call).
    const std::vector<StreamField>& fields();

   private:
    const StreamValue& stream_;
    StreamId start_, end_;
    bool reverse_;
    bool include_deleted_;
    bool started_ = false;
    bool done_ = false;
    NodeMap::const_iterator node_;
    size_t index_ = 0;
    const Entry* entry_ = nullptr;
    std::vector<StreamField> fields_;
  };

  // ---- groups ----
  using GroupMap = std::map<std::string, std::unique_ptr<StreamGroup>, std::less<>>;
  const GroupMap& groups() const { return groups_; }
  StreamGroup* find_group(std::string_view name) const;
  // Creates a group; nullptr if one with that name exists.
  StreamGroup* add_group(std::string_view name, StreamId last_id, int64_t entries_read);
  bool delete_group(std::string_view name);

  // Consumer-group lag bookkeeping (Redis 7.0's streamRangeHasTombstones and
  // streamEstimateDistanceFromFirstEverEntry). `end` null means "to the end".
  bool range_has_tombstones(StreamId start, const StreamId* end) const;
  int64_t estimate_distance_from_first_ever_entry(StreamId id) const;
  // XINFO GROUPS/STREAM "lag": false when it cannot be known (null reply).
  bool group_lag(const StreamGroup& group, int64_t* lag) const;
  // XREADGROUP delivered `id` (> group.last_id): advance the group's counters.
  void group_delivered(StreamGroup& group, StreamId id) const;

  // ---- introspection and persistence ----
  size_t node_count() const { return nodes_.size(); }
  // The number of nodes of Redis's radix tree holding the nodes (XINFO radix-tree-nodes).
  size_t rax_node_count() const;
  // A rough size in bytes (MEMORY USAGE).
  size_t memory_usage() const;
  // Each node as Redis stores it: its key (master ID, 16 bytes big-endian) and its listpack.
  template <typename F>
  void for_each_node(F&& visit) const {
    for (const auto& [master, node] : nodes_) visit(encode_node_key(master), node_listpack(node));
  }
  // Loads one node from its RDB form. Returns "" or what is wrong with it. Nodes must come in
  // key order; the stream's length is the sum of their live entries.
  std::string load_node(std::string_view key, std::string_view listpack);
  // Listpack byte count of a node as Redis would have it (tests).
  size_t node_listpack_bytes_for_test(size_t index) const;

  static std::string encode_node_key(StreamId id);

 private:
  static size_t node_lp_bytes(const Node& node);
  std::string node_listpack(const Node& node) const;
  NodeMap::iterator node_for(StreamId id);
  NodeMap::const_iterator node_for(StreamId id) const;
  // Marks the entry at node/index deleted (it must be live). Returns true if the node went.
  bool delete_entry(NodeMap::iterator node, size_t index);

  NodeMap nodes_;
  size_t length_ = 0;
  StreamId last_id_;
  StreamId first_id_;
  StreamId max_deleted_id_;
  uint64_t entries_added_ = 0;
  GroupMap groups_;
};

}  // namespace rd
