// The set type. (Placeholder representation; the sets work replaces it, keeping at least
// this public interface, which persistence and other modules rely on.)
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "storage/value.h"

namespace rd {

class SetValue {
 public:
  size_t size() const { return members_.size(); }
  std::string_view encoding_name() const { return "hashtable"; }  // "intset" or "hashtable"
  std::unique_ptr<SetValue> clone() const { return std::make_unique<SetValue>(*this); }
  // Visits every member (in no particular order).
  void for_each(const std::function<void(std::string_view)>& visit) const {
    for (const std::string& m : members_) visit(m);
  }
  // Adds `member`, converting the encoding as `limits` say; returns false if already present.
  bool add(std::string_view member, const EncodingLimits& limits) {
    (void)limits;
    return members_.emplace(member).second;
  }

 private:
  std::set<std::string, std::less<>> members_;
};

}  // namespace rd
