// Placeholder for the zset type; replaced by the data-types work.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace rd {

class ZSetValue {
 public:
  size_t size() const { return 0; }
  std::string_view encoding_name() const { return "skiplist"; }
  std::unique_ptr<ZSetValue> clone() const { return std::make_unique<ZSetValue>(*this); }
};

}  // namespace rd
