#include "storage/hash.h"

#include <cstring>
#include <new>

namespace rd {
namespace hash_detail {
namespace {

// Redis converts a listpack that would outgrow 1 GB whatever the limits say (lpSafeToAdd).
constexpr size_t kMaxPackedBytes = size_t{1} << 30;

size_t length_prefix_size(size_t length) {
  size_t bytes = 1;
  while (length >= 0x80) {
    length >>= 7;
    bytes++;
  }
  return bytes;
}

// LEB128: 7 bits per byte, high bit set on every byte but the last. Returns the end.
char* write_length(char* out, size_t length) {
  while (length >= 0x80) {
    *out++ = static_cast<char>((length & 0x7F) | 0x80);
    length >>= 7;
  }
  *out++ = static_cast<char>(length);
  return out;
}

// Decodes the length prefix at `offset`, advancing it past the prefix.
size_t read_length(const char* data, size_t* offset) {
  size_t length = 0;
  unsigned shift = 0;
  while (true) {
    auto byte = static_cast<unsigned char>(data[(*offset)++]);
    length |= static_cast<size_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return length;
    shift += 7;
  }
}

// Writes [length][bytes] at `out`; returns the end.
char* write_string(char* out, std::string_view text) {
  out = write_length(out, text.size());
  if (!text.empty()) std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

}  // namespace

PackedPairs::Pair PackedPairs::at(size_t offset) const {
  const char* data = buffer_.data();
  Pair pair;
  pair.begin = offset;
  size_t field_length = read_length(data, &offset);
  pair.field = std::string_view(data + offset, field_length);
  offset += field_length;
  size_t value_length = read_length(data, &offset);
  pair.value = std::string_view(data + offset, value_length);
  pair.end = offset + value_length;
  return pair;
}

size_t PackedPairs::find(std::string_view field) const {
  const char* data = buffer_.data();
  size_t offset = 0;
  while (offset < buffer_.size()) {
    const size_t begin = offset;
    size_t field_length = read_length(data, &offset);
    if (field_length == field.size() && (field_length == 0 || std::memcmp(data + offset, field.data(), field_length) == 0)) {
      return begin;
    }
    offset += field_length;
    offset += read_length(data, &offset);
  }
  return kNotFound;
}

void PackedPairs::append(std::string_view field, std::string_view value) {
  const size_t bytes = length_prefix_size(field.size()) + field.size() + length_prefix_size(value.size()) + value.size();
  char* out = buffer_.insert(buffer_.size(), bytes);
  write_string(write_string(out, field), value);
  buffer_.aux++;
}

void PackedPairs::replace_value(const Pair& pair, std::string_view value) {
  const size_t value_begin = static_cast<size_t>(pair.value.data() - buffer_.data());
  if (value.size() == pair.value.size()) {
    // The common HSET-overwrite case: same length, patch the bytes in place.
    if (!value.empty()) std::memcpy(buffer_.data() + value_begin, value.data(), value.size());
    return;
  }
  // Resize the prefix+value slot in place, then write the new bytes.
  const size_t slot_begin = value_begin - length_prefix_size(pair.value.size());
  const size_t old_slot = pair.end - slot_begin;
  const size_t new_slot = length_prefix_size(value.size()) + value.size();
  if (new_slot > old_slot) {
    buffer_.insert(pair.end, new_slot - old_slot);
  } else {
    buffer_.erase(slot_begin + new_slot, old_slot - new_slot);
  }
  write_string(buffer_.data() + slot_begin, value);
}

void PackedPairs::erase(const Pair& pair) {
  buffer_.erase(pair.begin, pair.end - pair.begin);
  buffer_.aux--;
}

HashNode* HashNode::create(std::string_view field, std::string_view value) {
  // One allocation holds the node, its field and its value (like KeyEntry).
  void* memory = ::operator new(sizeof(HashNode) + field.size() + value.size());
  auto* node = new (memory) HashNode();
  node->field_length = static_cast<uint32_t>(field.size());
  node->value_length = static_cast<uint32_t>(value.size());
  if (!field.empty()) std::memcpy(node->bytes(), field.data(), field.size());
  if (!value.empty()) std::memcpy(node->bytes() + field.size(), value.data(), value.size());
  return node;
}

void HashNode::destroy(HashNode* node) {
  node->~HashNode();
  ::operator delete(node);
}

}  // namespace hash_detail

using hash_detail::HashNode;
using hash_detail::HashTable;
using hash_detail::PackedPairs;

std::unique_ptr<HashValue> HashValue::clone() const {
  auto copy = std::make_unique<HashValue>();
  if (!table_) {
    copy->packed_ = packed_;
    return copy;
  }
  copy->table_ = std::make_unique<HashTable>();
  copy->table_->reserve(table_->size());
  table_->for_each([&](const HashNode* node) { copy->table_->insert(HashNode::create(node->field(), node->value())); });
  return copy;
}

void HashValue::for_each(const std::function<void(std::string_view, std::string_view)>& visit_pair) const {
  visit(visit_pair);
}

bool HashValue::set(std::string_view field, std::string_view value, const EncodingLimits& limits) {
  if (!table_) {
    convert_if_longer_than_limit(field.size() > value.size() ? field.size() : value.size(), limits);
    if (packed_.bytes() + field.size() + value.size() > hash_detail::kMaxPackedBytes) convert_to_table();
  }
  if (!table_) {
    bool added = false;
    size_t offset = packed_.find(field);
    if (offset == PackedPairs::kNotFound) {
      packed_.append(field, value);
      added = true;
    } else {
      packed_.replace_value(packed_.at(offset), value);
    }
    if (packed_.size() > limits.hash_max_listpack_entries) convert_to_table();
    return added;
  }
  HashNode* node = table_->find(field);
  if (node == nullptr) {
    table_->insert(HashNode::create(field, value));
    return true;
  }
  if (node->value_length == value.size()) {
    node->overwrite_value(value);
  } else {
    HashNode::destroy(table_->replace(node, HashNode::create(field, value)));
  }
  return false;
}

void HashValue::convert_if_longer_than_limit(size_t longest, const EncodingLimits& limits) {
  if (!table_ && longest > limits.hash_max_listpack_value) convert_to_table();
}

void HashValue::convert_to_table() {
  if (table_) return;
  auto table = std::make_unique<HashTable>();
  table->reserve(packed_.size());
  packed_.for_each([&](std::string_view field, std::string_view value) { table->insert(HashNode::create(field, value)); });
  packed_ = PackedPairs();
  table_ = std::move(table);
}

bool HashValue::get(std::string_view field, std::string_view* value) const {
  if (table_) {
    const HashNode* node = table_->find(field);
    if (node == nullptr) return false;
    *value = node->value();
    return true;
  }
  size_t offset = packed_.find(field);
  if (offset == PackedPairs::kNotFound) return false;
  *value = packed_.at(offset).value;
  return true;
}

bool HashValue::contains(std::string_view field) const {
  return table_ ? table_->find(field) != nullptr : packed_.find(field) != PackedPairs::kNotFound;
}

bool HashValue::erase(std::string_view field) {
  if (table_) return table_->erase(field);
  size_t offset = packed_.find(field);
  if (offset == PackedPairs::kNotFound) return false;
  packed_.erase(packed_.at(offset));
  return true;
}

std::vector<HashValue::FieldValue> HashValue::pairs() const {
  std::vector<FieldValue> all;
  all.reserve(size());
  visit([&](std::string_view field, std::string_view value) { all.emplace_back(field, value); });
  return all;
}

}  // namespace rd
