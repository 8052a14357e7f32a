#include "replication/write_stream.h"

namespace rd {

void WriteStream::append(int db, const std::string_view* args, size_t count) {
  (void)db;
  (void)args;
  (void)count;
}

}  // namespace rd
