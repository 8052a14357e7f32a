// The hash type. (Placeholder representation; the hashes work replaces it, keeping at least
// this public interface, which persistence and other modules rely on.)
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "storage/value.h"

namespace rd {

class HashValue {
 public:
  size_t size() const { return fields_.size(); }
  std::string_view encoding_name() const { return "hashtable"; }  // "listpack" or "hashtable"
  std::unique_ptr<HashValue> clone() const { return std::make_unique<HashValue>(*this); }
  // Visits every (field, value) pair (in no particular order).
  void for_each(const std::function<void(std::string_view, std::string_view)>& visit) const {
    for (const auto& [field, value] : fields_) visit(field, value);
  }
  // Sets field to value, converting the encoding as `limits` say; returns true if the field is new.
  bool set(std::string_view field, std::string_view value, const EncodingLimits& limits) {
    (void)limits;
    return fields_.insert_or_assign(std::string(field), std::string(value)).second;
  }

 private:
  std::map<std::string, std::string, std::less<>> fields_;
};

}  // namespace rd
