// The list type. (Placeholder representation; the lists work replaces it, keeping at least
// this public interface, which persistence and other modules rely on.)
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace rd {

class ListValue {
 public:
  size_t size() const { return items_.size(); }
  std::string_view encoding_name() const { return "quicklist"; }
  std::unique_ptr<ListValue> clone() const { return std::make_unique<ListValue>(*this); }
  // Visits every element from head to tail.
  void for_each(const std::function<void(std::string_view)>& visit) const {
    for (const std::string& item : items_) visit(item);
  }
  // Appends at the tail (RDB load, RPUSH).
  void push_back(std::string_view element) { items_.emplace_back(element); }

 private:
  std::deque<std::string> items_;
};

}  // namespace rd
