#include "storage/list.h"

#include <algorithm>
#include <cstring>

namespace rd {
namespace {

using list_detail::entry_size;
using list_detail::read_length;
using list_detail::read_length_backward;

// Pushes start a new chunk past this many bytes (Redis's list-max-listpack-size -2 is 8 KB).
constexpr size_t kChunkBytes = 8192;
// The first buffer of a chunk: small lists stay small.
constexpr size_t kMinChunkBytes = 16;
// Inserts and replacements in the middle split a chunk that outgrew this.
constexpr size_t kSplitBytes = 2 * kChunkBytes;

size_t write_length(unsigned char* p, size_t n) {
  size_t i = 0;
  while (n >= 0x80) {
    p[i++] = static_cast<unsigned char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  p[i++] = static_cast<unsigned char>(n);
  return i;
}

// Writes [length][bytes][length reversed] at p (entry_size(element.size()) bytes).
void write_entry(unsigned char* p, std::string_view element) {
  const size_t header = write_length(p, element.size());
  if (!element.empty()) std::memcpy(p + header, element.data(), element.size());
  unsigned char* suffix = p + header + element.size();
  // Reversed, so a backward reader meets the low 7 bits first, as a forward reader does.
  for (size_t i = 0; i < header; i++) suffix[i] = p[header - 1 - i];
}

// Size of the entry starting at p.
size_t entry_bytes_at(const unsigned char* p) {
  size_t length = 0;
  size_t header = read_length(p, &length);
  return length + 2 * header;
}

// Size of the entry ending just before `end`.
size_t entry_bytes_before(const unsigned char* end) {
  size_t length = 0;
  size_t header = read_length_backward(end, &length);
  return length + 2 * header;
}

bool entry_equals(const unsigned char* p, std::string_view element, size_t* bytes) {
  size_t length = 0;
  size_t header = read_length(p, &length);
  *bytes = length + 2 * header;
  return length == element.size() && (length == 0 || std::memcmp(p + header, element.data(), length) == 0);
}

std::unique_ptr<unsigned char[]> allocate(size_t bytes) {
  return std::make_unique_for_overwrite<unsigned char[]>(bytes);
}

}  // namespace

ListValue::ListValue(const ListValue& other) : size_(other.size_) {
  chunks_.reserve(other.chunks_.size());
  for (const Chunk& from : other.chunks_) {
    Chunk to;
    to.capacity = from.used();
    to.data = allocate(to.capacity);
    std::memcpy(to.data.get(), from.data.get() + from.begin, from.used());
    to.begin = 0;
    to.end = from.used();
    to.count = from.count;
    chunks_.push_back(std::move(to));
  }
}

void ListValue::for_each(const std::function<void(std::string_view)>& visit) const {
  for (Cursor c = cursor_at_head(); c.valid(); c.next()) visit(c.value());
}

size_t ListValue::allocated_bytes() const {
  size_t bytes = sizeof(ListValue) + chunks_.capacity() * sizeof(Chunk);
  for (const Chunk& c : chunks_) bytes += c.capacity;
  return bytes;
}

ListValue::Chunk ListValue::new_chunk(size_t bytes, bool room_at_front) const {
  Chunk c;
  // A list that already filled a chunk is long: give the next one its full size at once.
  c.capacity = std::max(bytes, chunks_.empty() ? kMinChunkBytes : kChunkBytes);
  c.data = allocate(c.capacity);
  c.begin = c.end = room_at_front ? c.capacity : 0;
  return c;
}

void ListValue::make_room_back(Chunk& c, size_t bytes) {
  if (c.capacity - c.end >= bytes) return;
  const size_t used = c.used();
  const size_t want = used + bytes;
  const size_t grown = std::max(want, std::min(c.capacity * 2, kChunkBytes));
  // Slide in place when at least half the buffer is dead room left by pops at the front (so
  // the copy is paid for by those pops), or when the chunk may not grow any more.
  if (c.capacity >= want && (c.begin >= used || grown <= c.capacity)) {
    std::memmove(c.data.get(), c.data.get() + c.begin, used);
  } else {
    auto data = allocate(grown);
    std::memcpy(data.get(), c.data.get() + c.begin, used);
    c.data = std::move(data);
    c.capacity = grown;
  }
  c.begin = 0;
  c.end = used;
}

void ListValue::make_room_front(Chunk& c, size_t bytes) {
  if (c.begin >= bytes) return;
  const size_t used = c.used();
  const size_t want = used + bytes;
  const size_t grown = std::max(want, std::min(c.capacity * 2, kChunkBytes));
  if (c.capacity >= want && (c.capacity - c.end >= used || grown <= c.capacity)) {
    std::memmove(c.data.get() + c.capacity - used, c.data.get() + c.begin, used);
  } else {
    auto data = allocate(grown);
    std::memcpy(data.get() + grown - used, c.data.get() + c.begin, used);
    c.data = std::move(data);
    c.capacity = grown;
  }
  c.begin = c.capacity - used;
  c.end = c.capacity;
}

void ListValue::push_back(std::string_view element) {
  const size_t bytes = entry_size(element.size());
  if (chunks_.empty() || chunks_.back().used() + bytes > kChunkBytes) {
    chunks_.push_back(new_chunk(bytes, false));
  } else {
    make_room_back(chunks_.back(), bytes);
  }
  Chunk& c = chunks_.back();
  write_entry(c.data.get() + c.end, element);
  c.end += bytes;
  c.count++;
  size_++;
}

void ListValue::push_front(std::string_view element) {
  const size_t bytes = entry_size(element.size());
  if (chunks_.empty() || chunks_.front().used() + bytes > kChunkBytes) {
    chunks_.insert(chunks_.begin(), new_chunk(bytes, true));
  } else {
    make_room_front(chunks_.front(), bytes);
  }
  Chunk& c = chunks_.front();
  c.begin -= bytes;
  write_entry(c.data.get() + c.begin, element);
  c.count++;
  size_++;
}

void ListValue::erase_front(size_t count) {
  count = std::min(count, size_);
  size_ -= count;
  size_t whole = 0;  // chunks emptied entirely, dropped in one go
  while (count > 0 && count >= chunks_[whole].count) count -= chunks_[whole++].count;
  chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(whole));
  if (count == 0) return;
  Chunk& c = chunks_.front();
  for (; count > 0; count--) {
    c.begin += entry_bytes_at(c.data.get() + c.begin);
    c.count--;
  }
}

void ListValue::erase_back(size_t count) {
  count = std::min(count, size_);
  size_ -= count;
  size_t whole = 0;
  while (count > 0 && count >= chunks_[chunks_.size() - 1 - whole].count) {
    count -= chunks_[chunks_.size() - 1 - whole].count;
    whole++;
  }
  chunks_.erase(chunks_.end() - static_cast<std::ptrdiff_t>(whole), chunks_.end());
  if (count == 0) return;
  Chunk& c = chunks_.back();
  for (; count > 0; count--) {
    c.end -= entry_bytes_before(c.data.get() + c.end);
    c.count--;
  }
}

void ListValue::locate(size_t index, size_t* chunk, size_t* offset) const {
  size_t i = 0;
  if (index < size_ / 2) {
    while (index >= chunks_[i].count) index -= chunks_[i++].count;
  } else {
    size_t from_tail = size_ - 1 - index;
    i = chunks_.size() - 1;
    while (from_tail >= chunks_[i].count) from_tail -= chunks_[i--].count;
    index = chunks_[i].count - 1 - from_tail;
  }
  const Chunk& c = chunks_[i];
  const unsigned char* data = c.data.get();
  size_t at = 0;
  // Walk from whichever end of the chunk is nearer.
  if (index < c.count / 2) {
    at = c.begin;
    for (size_t k = 0; k < index; k++) at += entry_bytes_at(data + at);
  } else {
    at = c.end;
    for (size_t k = c.count; k > index; k--) at -= entry_bytes_before(data + at);
  }
  *chunk = i;
  *offset = at;
}

ListValue::Cursor ListValue::cursor_at(size_t index) const {
  size_t chunk = 0;
  size_t offset = 0;
  locate(index, &chunk, &offset);
  return {this, chunk, offset};
}

ListValue::Cursor ListValue::cursor_at_tail() const {
  const Chunk& c = chunks_.back();
  return {this, chunks_.size() - 1, c.end - entry_bytes_before(c.data.get() + c.end)};
}

size_t ListValue::splice(Chunk& c, size_t offset, size_t remove, size_t insert) {
  unsigned char* data = c.data.get();
  const size_t before = offset - c.begin;
  const size_t after = c.end - offset - remove;
  if (insert <= remove) {
    // Close the hole by moving the smaller side.
    const size_t shrink = remove - insert;
    if (before < after) {
      std::memmove(data + c.begin + shrink, data + c.begin, before);
      c.begin += shrink;
      return offset + shrink;
    }
    std::memmove(data + offset + insert, data + offset + remove, after);
    c.end -= shrink;
    return offset;
  }
  const size_t grow = insert - remove;
  const bool room_front = c.begin >= grow;
  const bool room_back = c.capacity - c.end >= grow;
  if (room_front && (before <= after || !room_back)) {
    std::memmove(data + c.begin - grow, data + c.begin, before);
    c.begin -= grow;
    return offset - grow;
  }
  if (room_back) {
    std::memmove(data + offset + insert, data + offset + remove, after);
    c.end += grow;
    return offset;
  }
  const size_t used = c.used() + grow;
  const size_t capacity = std::max(used, std::min(c.capacity * 2, kChunkBytes));
  auto fresh = allocate(capacity);
  const size_t begin = (capacity - used) / 2;  // room for growth either way
  std::memcpy(fresh.get() + begin, data + c.begin, before);
  std::memcpy(fresh.get() + begin + before + insert, data + offset + remove, after);
  c.data = std::move(fresh);
  c.capacity = capacity;
  c.begin = begin;
  c.end = begin + used;
  return begin + before;
}

void ListValue::split_if_oversized(size_t i) {
  if (chunks_[i].used() <= kSplitBytes || chunks_[i].count < 2) return;
  const Chunk& c = chunks_[i];
  const size_t first_count = c.count / 2;
  size_t middle = c.begin;
  for (size_t k = 0; k < first_count; k++) middle += entry_bytes_at(c.data.get() + middle);
  auto copy_range = [&](size_t from, size_t to, size_t count) {
    Chunk part;
    part.capacity = to - from;
    part.data = allocate(part.capacity);
    std::memcpy(part.data.get(), c.data.get() + from, to - from);
    part.end = to - from;
    part.count = count;
    return part;
  };
  Chunk first = copy_range(c.begin, middle, first_count);
  Chunk second = copy_range(middle, c.end, c.count - first_count);
  chunks_[i] = std::move(first);
  chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::move(second));
}

void ListValue::set(size_t index, std::string_view element) {
  size_t i = 0;
  size_t offset = 0;
  locate(index, &i, &offset);
  Chunk& c = chunks_[i];
  const size_t old_bytes = entry_bytes_at(c.data.get() + offset);
  const size_t bytes = entry_size(element.size());
  if (bytes != old_bytes) offset = splice(c, offset, old_bytes, bytes);
  write_entry(c.data.get() + offset, element);
  split_if_oversized(i);
}

void ListValue::insert(size_t index, std::string_view element) {
  if (index >= size_) return push_back(element);
  if (index == 0) return push_front(element);
  size_t i = 0;
  size_t offset = 0;
  locate(index, &i, &offset);
  Chunk& c = chunks_[i];
  const size_t bytes = entry_size(element.size());
  offset = splice(c, offset, 0, bytes);
  write_entry(c.data.get() + offset, element);
  c.count++;
  size_++;
  split_if_oversized(i);
}

size_t ListValue::remove(std::string_view element, size_t limit, bool from_tail) {
  size_t removed = 0;
  auto done = [&] { return limit != 0 && removed == limit; };
  // Each chunk is compacted in one pass: kept entries slide over the removed ones.
  if (!from_tail) {
    for (size_t i = 0; i < chunks_.size() && !done();) {
      Chunk& c = chunks_[i];
      unsigned char* data = c.data.get();
      size_t read = c.begin;
      size_t write = c.begin;
      while (read < c.end && !done()) {
        size_t bytes = 0;
        if (entry_equals(data + read, element, &bytes)) {
          removed++;
          c.count--;
        } else {
          if (write != read) std::memmove(data + write, data + read, bytes);
          write += bytes;
        }
        read += bytes;
      }
      if (write != read) {
        std::memmove(data + write, data + read, c.end - read);
        c.end -= read - write;
      }
      if (c.count == 0) {
        chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        i++;
      }
    }
  } else {
    for (size_t i = chunks_.size(); i-- > 0 && !done();) {
      Chunk& c = chunks_[i];
      unsigned char* data = c.data.get();
      size_t read = c.end;
      size_t write = c.end;
      while (read > c.begin && !done()) {
        const size_t bytes = entry_bytes_before(data + read);
        const size_t start = read - bytes;
        size_t ignored = 0;
        if (entry_equals(data + start, element, &ignored)) {
          removed++;
          c.count--;
        } else {
          write -= bytes;
          if (write != start) std::memmove(data + write, data + start, bytes);
        }
        read = start;
      }
      if (write != read) {
        const size_t head = read - c.begin;
        std::memmove(data + write - head, data + c.begin, head);
        c.begin = write - head;
      }
      if (c.count == 0) chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  size_ -= removed;
  return removed;
}

bool ListValue::check_invariants() const {
  size_t total = 0;
  for (const Chunk& c : chunks_) {
    if (c.count == 0 || c.begin > c.end || c.end > c.capacity) return false;
    size_t at = c.begin;
    size_t forward = 0;
    while (at < c.end) {
      at += entry_bytes_at(c.data.get() + at);
      forward++;
    }
    if (at != c.end || forward != c.count) return false;
    size_t back = c.end;
    size_t backward = 0;
    while (back > c.begin) {
      back -= entry_bytes_before(c.data.get() + back);
      backward++;
    }
    if (back != c.begin || backward != c.count) return false;
    total += c.count;
  }
  return total == size_;
}

}  // namespace rd
