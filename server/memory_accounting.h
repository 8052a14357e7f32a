// Memory accounting: what INFO's used_memory reports and what maxmemory is compared with.
//
// Like Redis's zmalloc, every heap allocation made through C++'s global operator new/delete
// (replaced in memory_accounting.cc) adds or subtracts the allocator's usable size of the block
// to a process-wide counter. Nearly all of the server's memory goes through operator new: keys
// and values (KeyEntry, containers, strings), client buffers, the replication buffer. Memory
// that does not (Lua's allocator, libc's own buffers, thread stacks) is not counted, which is
// also true of Redis's used_memory.
//
// The counter is split into cache-line-sized shards so that threads allocating concurrently do
// not fight over one line; a thread picks its shard once. Reading sums the shards: a few
// relaxed loads, cheap enough to run before every command and after every evicted key. Freed
// memory is reflected at once (no allocator statistics walk, no malloc_trim needed).
#pragma once

#include <cstdint>

namespace rd {

// Bytes currently allocated through operator new (usable sizes, as the allocator reports them).
int64_t allocated_bytes();

}  // namespace rd
