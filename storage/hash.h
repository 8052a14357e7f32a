// Placeholder for the hash type; replaced by the data-types work.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace rd {

class HashValue {
 public:
  size_t size() const { return 0; }
  std::string_view encoding_name() const { return "hashtable"; }
  std::unique_ptr<HashValue> clone() const { return std::make_unique<HashValue>(*this); }
};

}  // namespace rd
