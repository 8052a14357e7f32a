// Reply writer: the one place that knows the wire format of replies (RESP2, and RESP3 for the
// types whose encoding differs). Commands describe replies with these calls; the bytes are
// appended to the connection's output buffer and written out in one batch.
//
// Not thread-safe: one writer per connection (or per message being built).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rd {

class Reply {
 public:
  explicit Reply(std::string* out, int protocol = 2) : out_(out), protocol_(protocol) {}

  int protocol() const { return protocol_; }
  void set_protocol(int protocol) { protocol_ = protocol; }
  std::string& buffer() { return *out_; }

  void ok() { out_->append("+OK\r\n", 5); }
  void simple(std::string_view text);
  // `message` is the whole error line without '-', e.g. "ERR syntax error" or "WRONGTYPE ...".
  void error(std::string_view message);
  void integer(int64_t value);
  void bulk(std::string_view data);
  void bulk_int(int64_t value);  // an integer sent as a bulk string
  void null();                   // a missing value: $-1 (RESP2) or _ (RESP3)
  void null_array();             // a missing array: *-1 (RESP2) or _ (RESP3)
  void array(size_t length);
  void map(size_t pairs);        // RESP2 sends a flat array of 2*pairs elements
  void set(size_t length);       // RESP2 sends an array
  void push(size_t length);      // out-of-band data (pub/sub in RESP3); RESP2 sends an array
  void dbl(double value);        // RESP2: bulk string in Redis's double format
  void boolean(bool value);      // RESP2: integer 1/0
  void verbatim(std::string_view text, std::string_view format = "txt");
  void empty_array() { out_->append("*0\r\n", 4); }

  // For replies whose length is known only at the end: write a placeholder, fill it later.
  size_t begin_deferred() const { return out_->size(); }
  void end_deferred_array(size_t position, size_t length);
  void end_deferred_map(size_t position, size_t pairs);
  void end_deferred_set(size_t position, size_t length);

  // Raw protocol bytes (pre-encoded replies).
  void raw(std::string_view bytes) { out_->append(bytes); }

 private:
  void header(char prefix, int64_t value);
  void insert_header(size_t position, char prefix, int64_t value);

  std::string* out_;
  int protocol_;
};

// Encodes a command as a RESP multibulk (replication stream, AOF, MONITOR-free uses).
void append_multibulk(std::string* out, const std::string_view* args, size_t count);

}  // namespace rd
