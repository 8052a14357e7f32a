// MEMORY USAGE's estimate of what a key costs, in Redis's accounting: what Redis 7.0 with
// jemalloc would allocate for the same key and value in the same encoding (object header, sds
// strings, listpacks, hash tables, skip list nodes), so numbers are comparable with Redis's
// (exact for the common string cases). Collections are sampled like Redis: the first
// `samples` elements (or list nodes), averaged and multiplied (0 = all).
//
// Not thread-safe: reads the value under the caller's keyspace lock.
#pragma once

#include <cstddef>
#include <string_view>

#include "storage/value.h"

namespace rd {

// The size class jemalloc rounds an allocation of `bytes` up to.
size_t jemalloc_size_class(size_t bytes);
// An sds string of `length` bytes as Redis allocates it (header + bytes + NUL).
size_t sds_allocation(size_t length);
// A listpack entry holding `element` (integers are packed, like Redis's listpack).
size_t listpack_entry_size(std::string_view element);

size_t estimate_memory_usage(std::string_view key, const Value& value, bool string_is_raw, size_t samples);

// Redis's estimate of the work freeing `value` takes (allocations: quicklist nodes, hash table
// entries, skip list nodes, stream nodes and group PELs; 1 for compact encodings). Above
// kLazyFreeThreshold, UNLINK and the asynchronous flushes count it in INFO lazyfreed_objects.
inline constexpr size_t kLazyFreeThreshold = 64;
size_t lazy_free_effort(const Value& value);

}  // namespace rd
