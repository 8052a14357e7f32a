// The list type: a sequence of byte strings with cheap pushes and pops at both ends.
//
// Representation (why not std::deque<std::string>: 32+ bytes of overhead per element, and a
// 600-byte minimum per list): elements are packed into chunks of at most ~8 KB, like Redis's
// quicklist of listpacks. Inside a chunk an element is
//     [length as LEB128][bytes][length as LEB128, bytes reversed]
// so a chunk can be walked from either end, and a 3-byte element costs 5 bytes. The used bytes
// sit anywhere inside the chunk's buffer (a "gap buffer" with free room at both ends), so
// pushing at the head is as cheap as pushing at the tail. Invariant: no chunk is empty.
//
// Element views (front(), at(), Cursor::value()) stay valid until the next change to the list.
// Not thread-safe: guarded by the keyspace lock like the database that holds it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace rd {

namespace list_detail {

// Bytes of a LEB128-encoded length.
inline size_t varint_size(size_t n) {
  size_t bytes = 1;
  while (n >= 0x80) {
    n >>= 7;
    bytes++;
  }
  return bytes;
}

// Bytes an element of `length` bytes takes in a chunk.
inline size_t entry_size(size_t length) { return length + 2 * varint_size(length); }

// Decodes the length prefix at `p`; returns the prefix size.
inline size_t read_length(const unsigned char* p, size_t* length) {
  if (p[0] < 0x80) {
    *length = p[0];
    return 1;
  }
  size_t value = 0;
  size_t bytes = 0;
  int shift = 0;
  unsigned char byte = 0;
  do {
    byte = p[bytes++];
    value |= static_cast<size_t>(byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  *length = value;
  return bytes;
}

// Decodes the reversed length suffix that ends just before `end`; returns the suffix size.
inline size_t read_length_backward(const unsigned char* end, size_t* length) {
  if (end[-1] < 0x80) {
    *length = end[-1];
    return 1;
  }
  size_t value = 0;
  size_t bytes = 0;
  int shift = 0;
  unsigned char byte = 0;
  do {
    byte = *(end - 1 - bytes);
    bytes++;
    value |= static_cast<size_t>(byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  *length = value;
  return bytes;
}

}  // namespace list_detail

class ListValue {
  struct Chunk {
    std::unique_ptr<unsigned char[]> data;
    size_t capacity = 0;
    size_t begin = 0;  // first used byte
    size_t end = 0;    // one past the last used byte
    size_t count = 0;  // elements
    size_t used() const { return end - begin; }
  };

 public:
  // A position in the list for walking it element by element in either direction.
  // Invalidated by any change to the list.
  class Cursor {
   public:
    bool valid() const { return list_ != nullptr && chunk_ < list_->chunks_.size(); }
    std::string_view value() const {
      const unsigned char* p = list_->chunks_[chunk_].data.get() + offset_;
      size_t length = 0;
      size_t header = list_detail::read_length(p, &length);
      return {reinterpret_cast<const char*>(p + header), length};
    }
    // Towards the tail; the cursor becomes invalid past the last element.
    void next() {
      const Chunk& c = list_->chunks_[chunk_];
      size_t length = 0;
      size_t header = list_detail::read_length(c.data.get() + offset_, &length);
      offset_ += length + 2 * header;
      if (offset_ == c.end) {
        chunk_++;
        if (chunk_ < list_->chunks_.size()) offset_ = list_->chunks_[chunk_].begin;
      }
    }
    // Towards the head; the cursor becomes invalid past the first element.
    void prev() {
      if (offset_ == list_->chunks_[chunk_].begin) {
        if (chunk_ == 0) {
          chunk_ = list_->chunks_.size();
          return;
        }
        chunk_--;
        offset_ = list_->chunks_[chunk_].end;
      }
      const unsigned char* base = list_->chunks_[chunk_].data.get();
      size_t length = 0;
      size_t header = list_detail::read_length_backward(base + offset_, &length);
      offset_ -= length + 2 * header;
    }

   private:
    friend class ListValue;
    Cursor(const ListValue* list, size_t chunk, size_t offset) : list_(list), chunk_(chunk), offset_(offset) {}
    const ListValue* list_;
    size_t chunk_;
    size_t offset_;
  };

  ListValue() = default;
  ListValue(const ListValue& other);  // deep copy, chunks trimmed to fit
  ListValue& operator=(const ListValue&) = delete;
  ListValue(ListValue&&) noexcept = default;
  ListValue& operator=(ListValue&&) noexcept = default;

  // ---- the interface persistence and other modules rely on ----
  size_t size() const { return size_; }
  std::string_view encoding_name() const { return "quicklist"; }
  std::unique_ptr<ListValue> clone() const { return std::make_unique<ListValue>(*this); }
  // Visits every element from head to tail.
  void for_each(const std::function<void(std::string_view)>& visit) const;
  // Appends at the tail (RDB load, RPUSH).
  void push_back(std::string_view element);

  bool empty() const { return size_ == 0; }
  // Bytes held by the representation (MEMORY USAGE and the like).
  size_t allocated_bytes() const;

  // ---- the ends ----
  void push_front(std::string_view element);
  std::string_view front() const { return cursor_at_head().value(); }  // REQUIRES: !empty()
  std::string_view back() const { return cursor_at_tail().value(); }   // REQUIRES: !empty()
  void pop_front() { erase_front(1); }                                  // REQUIRES: !empty()
  void pop_back() { erase_back(1); }                                    // REQUIRES: !empty()
  // Remove the first / last min(count, size()) elements.
  void erase_front(size_t count);
  void erase_back(size_t count);

  // ---- by position (0 = head) ----
  std::string_view at(size_t index) const { return cursor_at(index).value(); }  // REQUIRES: index < size()
  void set(size_t index, std::string_view element);                            // REQUIRES: index < size()
  // Inserts before the element at `index`; index == size() appends.
  void insert(size_t index, std::string_view element);
  // Removes up to `limit` elements equal to `element` (0: every one), scanning from the head,
  // or from the tail when from_tail. Returns how many were removed.
  size_t remove(std::string_view element, size_t limit, bool from_tail);

  // ---- walking ----
  Cursor cursor_at(size_t index) const;  // REQUIRES: index < size()
  Cursor cursor_at_head() const { return {this, 0, chunks_.empty() ? 0 : chunks_.front().begin}; }
  Cursor cursor_at_tail() const;  // REQUIRES: !empty()

  // For tests: checks the internal invariants (counts, no empty chunk, encodings).
  bool check_invariants() const;
  size_t chunk_count() const { return chunks_.size(); }

 private:
  // Finds the chunk holding element `index` and the byte offset of that element.
  void locate(size_t index, size_t* chunk, size_t* offset) const;
  // Makes `bytes` of free room at the end (or the start) of chunk i, growing or sliding it.
  void make_room_back(Chunk& c, size_t bytes);
  void make_room_front(Chunk& c, size_t bytes);
  // Replaces `remove` bytes at `offset` of chunk i by a gap of `insert` bytes; returns the
  // gap's offset (the chunk may move its data).
  size_t splice(Chunk& c, size_t offset, size_t remove, size_t insert);
  // Splits chunk i in two when edits in the middle made it much larger than a chunk should be.
  void split_if_oversized(size_t i);
  Chunk new_chunk(size_t bytes, bool room_at_front) const;

  std::vector<Chunk> chunks_;
  size_t size_ = 0;
};

}  // namespace rd
