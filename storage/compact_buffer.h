// A growable byte buffer with a 16-byte handle, for the small encodings of hashes and sets
// (listpack, intset), where per-collection overhead is what decides memory use: a std::string
// or std::vector handle is 24-32 bytes and doubles its capacity. Here the capacity lives in
// the allocation's first 4 bytes, growth is by half (the first allocation is exact), and the
// handle's otherwise-padding 32 bits are left to the owner (`aux`: an element count, a width).
//
// Not thread-safe; sizes are limited to 4 GB (callers convert to their large encodings well
// before that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace rd {

class CompactBuffer {
 public:
  CompactBuffer() = default;
  CompactBuffer(const CompactBuffer& other) : aux(other.aux) {
    if (other.size_ > 0) std::memcpy(insert(0, other.size_), other.data(), other.size_);
  }
  CompactBuffer& operator=(const CompactBuffer& other) {
    if (this != &other) *this = CompactBuffer(other);
    return *this;
  }
  CompactBuffer(CompactBuffer&& other) noexcept
      : aux(other.aux), bytes_(std::move(other.bytes_)), size_(other.size_) {
    other.size_ = 0;
  }
  CompactBuffer& operator=(CompactBuffer&& other) noexcept {
    bytes_ = std::move(other.bytes_);
    size_ = other.size_;
    aux = other.aux;
    other.size_ = 0;
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const char* data() const { return bytes_ ? bytes_.get() + kHeader : nullptr; }
  char* data() { return bytes_ ? bytes_.get() + kHeader : nullptr; }

  // Opens `count` uninitialized bytes at `offset` (shifting what follows); returns them.
  char* insert(size_t offset, size_t count) {
    if (count == 0) return data() + offset;
    const size_t needed = size_ + count;
    if (needed > capacity()) reallocate(grown_capacity(needed));
    char* at = data() + offset;
    std::memmove(at + count, at, size_ - offset);
    size_ = static_cast<uint32_t>(needed);
    return at;
  }

  // Removes `count` bytes at `offset`, giving memory back once the buffer is mostly empty.
  void erase(size_t offset, size_t count) {
    char* at = data() + offset;
    std::memmove(at, at + count, size_ - offset - count);
    size_ -= static_cast<uint32_t>(count);
    if (size_ == 0) {
      bytes_.reset();
    } else if (capacity() > 2 * static_cast<size_t>(size_) + 64) {
      reallocate(size_);
    }
  }

  // Free for the owner: fills what would be padding in this handle.
  uint32_t aux = 0;

 private:
  static constexpr size_t kHeader = sizeof(uint32_t);

  size_t capacity() const {
    if (!bytes_) return 0;
    uint32_t capacity = 0;
    std::memcpy(&capacity, bytes_.get(), kHeader);
    return capacity;
  }

  size_t grown_capacity(size_t needed) const {
    const size_t current = capacity();
    const size_t grown = current + current / 2;
    return grown > needed ? grown : needed;
  }

  void reallocate(size_t capacity) {
    auto fresh = std::make_unique_for_overwrite<char[]>(kHeader + capacity);
    const auto stored = static_cast<uint32_t>(capacity);
    std::memcpy(fresh.get(), &stored, kHeader);
    if (size_ > 0) std::memcpy(fresh.get() + kHeader, data(), size_);
    bytes_ = std::move(fresh);
  }

  std::unique_ptr<char[]> bytes_;  // [capacity: uint32][bytes...]
  uint32_t size_ = 0;
};

}  // namespace rd
