#include "replication/stream_encoder.h"

#include "protocol/reply.h"

namespace rd {

void StreamEncoder::encode(int db, const std::string_view* args, size_t count, std::string* out) {
  if (db != selected_db_) {
    const std::string number = std::to_string(db);
    const std::string_view select[2] = {"SELECT", number};
    append_multibulk(out, select, 2);
    selected_db_ = db;
  }
  append_multibulk(out, args, count);
}

}  // namespace rd
