#include "storage/set.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace rd {
namespace set_detail {
namespace {

size_t width_for(int64_t value) {
  if (value >= INT16_MIN && value <= INT16_MAX) return 2;
  if (value >= INT32_MIN && value <= INT32_MAX) return 4;
  return 8;
}

int64_t read_at(const char* data, size_t width, size_t index) {
  const char* at = data + index * width;
  if (width == 2) {
    int16_t v;
    std::memcpy(&v, at, 2);
    return v;
  }
  if (width == 4) {
    int32_t v;
    std::memcpy(&v, at, 4);
    return v;
  }
  int64_t v;
  std::memcpy(&v, at, 8);
  return v;
}

void write_at(char* data, size_t width, size_t index, int64_t value) {
  char* at = data + index * width;
  if (width == 2) {
    auto v = static_cast<int16_t>(value);
    std::memcpy(at, &v, 2);
  } else if (width == 4) {
    auto v = static_cast<int32_t>(value);
    std::memcpy(at, &v, 4);
  } else {
    std::memcpy(at, &value, 8);
  }
}

}  // namespace

int64_t IntSet::at(size_t index) const { return read_at(buffer_.data(), width(), index); }

size_t IntSet::lower_bound(int64_t value) const {
  size_t low = 0;
  size_t high = size();
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    if (at(middle) < value) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

bool IntSet::contains(int64_t value) const {
  if (width_for(value) > width()) return false;
  size_t index = lower_bound(value);
  return index < size() && at(index) == value;
}

bool IntSet::insert(int64_t value) {
  if (width_for(value) > width()) widen(width_for(value));
  size_t index = lower_bound(value);
  if (index < size() && at(index) == value) return false;
  buffer_.insert(index * width(), width());
  write(index, value);
  return true;
}

bool IntSet::erase(int64_t value) {
  if (!contains(value)) return false;
  erase_at(lower_bound(value));
  return true;
}

void IntSet::erase_at(size_t index) {
  const size_t element_width = width();
  buffer_.erase(index * element_width, element_width);
  if (buffer_.empty()) buffer_.aux = 0;
}

void IntSet::write(size_t index, int64_t value) { write_at(buffer_.data(), width(), index, value); }

void IntSet::widen(size_t new_width) {
  const size_t count = size();
  CompactBuffer wider;
  if (count > 0) {
    char* out = wider.insert(0, count * new_width);
    for (size_t i = 0; i < count; i++) write_at(out, new_width, i, at(i));
  }
  wider.aux = static_cast<uint32_t>(new_width);
  buffer_ = std::move(wider);
}

SetNode* SetNode::create(std::string_view member) {
  // One allocation holds the node and its member bytes (like KeyEntry).
  void* memory = ::operator new(sizeof(SetNode) + member.size());
  auto* node = new (memory) SetNode();
  node->length = static_cast<uint32_t>(member.size());
  if (!member.empty()) std::memcpy(reinterpret_cast<char*>(node + 1), member.data(), member.size());
  return node;
}

void SetNode::destroy(SetNode* node) {
  node->~SetNode();
  ::operator delete(node);
}

}  // namespace set_detail

namespace {

// Redis caps the intset size whatever set-max-intset-entries says (intset internals); our
// buffers also stay under 2 GB.
constexpr size_t kIntsetHardLimit = size_t{1} << 28;

}  // namespace

using set_detail::SetNode;
using set_detail::SetTable;

std::unique_ptr<SetValue> SetValue::clone() const {
  auto copy = std::make_unique<SetValue>();
  if (!table_) {
    copy->ints_ = ints_;
    return copy;
  }
  copy->table_ = std::make_unique<SetTable>();
  copy->table_->reserve(table_->size());
  table_->for_each([&](const SetNode* node) { copy->table_->insert(SetNode::create(node->member())); });
  return copy;
}

void SetValue::for_each(const std::function<void(std::string_view)>& visit_member) const { visit(visit_member); }

bool SetValue::add(std::string_view member, const EncodingLimits& limits) {
  if (!table_) {
    int64_t value = 0;
    if (string_to_int64(member, &value)) {
      if (!ints_.insert(value)) return false;
      if (ints_.size() > std::min(limits.set_max_intset_entries, kIntsetHardLimit)) convert_to_table();
      return true;
    }
    convert_to_table();
  }
  if (table_->find(member) != nullptr) return false;
  table_->insert(SetNode::create(member));
  return true;
}

bool SetValue::contains(std::string_view member) const {
  if (table_) return table_->find(member) != nullptr;
  int64_t value = 0;
  return string_to_int64(member, &value) && ints_.contains(value);
}

bool SetValue::remove(std::string_view member) {
  if (table_) return table_->erase(member);
  int64_t value = 0;
  return string_to_int64(member, &value) && ints_.erase(value);
}

void SetValue::convert_to_table() {
  if (table_) return;
  auto table = std::make_unique<SetTable>();
  table->reserve(ints_.size());
  IntText text;
  for (size_t i = 0; i < ints_.size(); i++) table->insert(SetNode::create(text.format(ints_.at(i))));
  ints_ = set_detail::IntSet();
  table_ = std::move(table);
}

}  // namespace rd
