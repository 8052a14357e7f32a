// The sorted set type. (Placeholder representation; the sorted-sets work replaces it, keeping
// at least this public interface, which persistence and other modules rely on.)
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "storage/value.h"

namespace rd {

class ZSetValue {
 public:
  size_t size() const { return scores_.size(); }
  std::string_view encoding_name() const { return "skiplist"; }  // "listpack" or "skiplist"
  std::unique_ptr<ZSetValue> clone() const { return std::make_unique<ZSetValue>(*this); }
  // Visits every (member, score) in ascending (score, member) order.
  void for_each(const std::function<void(std::string_view, double)>& visit) const {
    for (const auto& [member, score] : scores_) visit(member, score);
  }
  // Adds or updates `member`, converting the encoding as `limits` say; true if it is new.
  bool add(std::string_view member, double score, const EncodingLimits& limits) {
    (void)limits;
    return scores_.insert_or_assign(std::string(member), score).second;
  }

 private:
  std::map<std::string, double, std::less<>> scores_;
};

}  // namespace rd
