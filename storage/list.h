// Placeholder for the list type; replaced by the data-types work.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace rd {

class ListValue {
 public:
  size_t size() const { return 0; }
  std::string_view encoding_name() const { return "quicklist"; }
  std::unique_ptr<ListValue> clone() const { return std::make_unique<ListValue>(*this); }
};

}  // namespace rd
