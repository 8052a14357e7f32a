// DEBUG DIGEST / DIGEST-VALUE: a fingerprint of the dataset, used by tests to compare a master
// with its replicas or a dataset before and after a reload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/db.h"

namespace rd {

// 40 hex characters; all zeros for an empty keyspace. REQUIRES: keyspace lock held.
std::string keyspace_digest_hex(const Keyspace& keyspace, int64_t now_ms);
// The digest of one value (DEBUG DIGEST-VALUE), which like Redis's notes whether the key has
// an expiry.
std::string value_digest_hex(const Value& value, bool has_expire = false);
// What the value takes in an RDB file as we write it (DEBUG OBJECT serializedlength).
size_t serialized_length_estimate(const Value& value);
// Number of elements (1 for strings).
size_t value_length(const Value& value);
// SHA-1 of `data` as 40 lowercase hex characters (script SHAs, redis.sha1hex).
std::string sha1_hex(std::string_view data);

}  // namespace rd
