// The replication stream's bytes: one buffer shared by the backlog and every attached replica.
//
// OFFSETS. The replication stream is one endless byte sequence per replication ID. Its bytes
// are numbered from 1; end_offset() is the number of the last byte produced (INFO's
// master_repl_offset). A replica that has processed every byte up to N asks to continue with
// `PSYNC <replid> N+1`; "+FULLRESYNC <replid> N" tells a replica that the snapshot it is about
// to receive contains exactly the effects of bytes 1..N, so it starts at N+1.
//
// ONE BUFFER, MANY READERS. Redis 7.0 keeps a single list of blocks that both the backlog and
// the replicas' output buffers point into; we do the same. The bytes live in fixed-size blocks
// (a deque). A Reader is one replica's position: the offset of the last byte handed to it. The
// backlog is not a reader: it is simply "the last backlog_size bytes", so
//
//     logical backlog start = max(oldest byte still held, end_offset - backlog_size)
//
// and PSYNC can resume at any offset in [first_offset(), end_offset() + 1]. A block is freed
// once every byte in it is older than both the logical backlog start and every reader's
// position, so a slow replica keeps exactly the bytes it still needs, no copy per replica.
//
// WHO WRITES, WHO READS. The master appends each propagated command while it holds the
// keyspace lock exclusively (so bytes are in execution order); a replica appends the exact
// bytes it received from its master (so offsets agree along a chain of replicas); pings and
// GETACKs are appended from the cron and WAIT paths. Each replica's connection thread copies
// its next chunk out under the lock and sends it without the lock, so a slow or dead replica
// never blocks a writer or another replica.
//
// LIMITS. A reader that falls more than `hard` bytes behind, or more than `soft` bytes for
// `soft_seconds`, is cut off (client-output-buffer-limit replica): its on_cut callback runs
// (it shuts the socket down, so the replica's thread wakes up from any blocking send) and
// the buffer stops holding bytes for it.
//
// Thread-safety: every member is guarded by mutex_ (a leaf lock: nothing is taken while it is
// held, except that append() writes to readers' eventfds). end_offset() is also an atomic,
// readable without the lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <string_view>

namespace rd {

class ReplBuffer {
 public:
  // One replica's position. Handles are owned by the buffer and valid until remove_reader().
  class Reader;

  struct Limits {
    int64_t hard = 0;          // bytes; 0 = no limit
    int64_t soft = 0;          // bytes; 0 = no limit
    int64_t soft_seconds = 0;  // how long `soft` may be exceeded
  };

  static constexpr size_t kBlockSize = 64 * 1024;

  explicit ReplBuffer(int64_t backlog_size = 1024 * 1024);
  ~ReplBuffer();
  ReplBuffer(const ReplBuffer&) = delete;
  ReplBuffer& operator=(const ReplBuffer&) = delete;

  // ---- writer side ----
  // Appends bytes to the stream, wakes idle readers and cuts off readers past their limits.
  void append(std::string_view bytes);
  // Forgets every byte: the next byte appended gets offset `offset + 1`. Readers still
  // registered are cut off (the history they were following is gone).
  void reset(int64_t offset);
  void set_backlog_size(int64_t size);
  void set_limits(const Limits& limits);

  // ---- positions ----
  int64_t end_offset() const { return end_.load(std::memory_order_acquire); }
  // repl_backlog_first_byte_offset: the oldest byte a PSYNC can still resume from.
  int64_t first_offset() const;
  // repl_backlog_histlen: how many bytes of history PSYNC can use.
  int64_t history_length() const;
  int64_t backlog_size() const;
  // Bytes held in memory (the backlog plus what lagging readers still need).
  int64_t memory() const;
  // True when a replica that has every byte before `next` can continue from here.
  bool can_resume_from(int64_t next) const;

  // ---- readers ----
  // Registers a reader whose next byte is `offset + 1`. `wake_fd`: an eventfd written when
  // bytes arrive while the reader waits (see arm_wakeup). `on_cut`: called (under the buffer
  // lock: it must not take locks) when the reader exceeds its limits.
  Reader* add_reader(int64_t offset, int wake_fd, std::function<void()> on_cut);
  // add_reader for a partial resync: nullptr (nothing registered) unless the byte after
  // `offset` can still be served (can_resume_from), checked atomically with the registration.
  Reader* add_reader_if_resumable(int64_t offset, int wake_fd, std::function<void()> on_cut);
  void remove_reader(Reader* reader);
  // Replaces *out with up to `max` bytes following the reader's position and advances it.
  // Returns how many bytes were copied (0: caught up, or cut off).
  size_t read(Reader* reader, std::string* out, size_t max);
  // Asks for a wake-up on the reader's eventfd at the next append. Returns false (nothing
  // armed) when bytes are already waiting, so the caller reads instead of sleeping.
  bool arm_wakeup(Reader* reader);
  bool cut_off(const Reader* reader) const;
  // Bytes appended but not yet read by this reader (its "output buffer").
  int64_t lag(const Reader* reader) const;

 private:
  struct Block {
    int64_t start;     // offset of the byte before the first one held here
    std::string data;  // bytes start+1 .. start+data.size()
  };

  int64_t logical_start_locked() const;
  void enforce_limits_locked(Reader& reader, int64_t now_ms);
  void cut_locked(Reader& reader);
  void trim_locked();

  mutable std::mutex mutex_;
  std::deque<Block> blocks_;   // Guarded by mutex_
  int64_t start_ = 0;          // offset before the first byte held. Guarded by mutex_
  std::atomic<int64_t> end_{0};  // written under mutex_
  int64_t backlog_size_;       // Guarded by mutex_
  Limits limits_;              // Guarded by mutex_
  std::list<Reader> readers_;  // Guarded by mutex_ (a list: handles stay valid)
};

class ReplBuffer::Reader {
 public:
  Reader(int64_t offset, int fd, std::function<void()> cut) : position(offset), wake_fd(fd), on_cut(std::move(cut)) {}

 private:
  friend class ReplBuffer;

  int64_t position;  // offset of the last byte handed out
  int wake_fd;
  std::function<void()> on_cut;
  bool waiting = false;       // arm_wakeup() was called and nothing arrived since
  bool cut = false;
  int64_t soft_since_ms = 0;  // when the soft limit started being exceeded (0: it is not)
};

}  // namespace rd
