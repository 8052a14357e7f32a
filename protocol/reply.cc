#include "protocol/reply.h"

#include <charconv>
#include <cstring>

#include "storage/numbers.h"

namespace rd {

void Reply::header(char prefix, int64_t value) {
  char buf[24];
  buf[0] = prefix;
  char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, value).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out_->append(buf, static_cast<size_t>(end - buf));
}

void Reply::insert_header(size_t position, char prefix, int64_t value) {
  char buf[24];
  buf[0] = prefix;
  char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, value).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out_->insert(position, buf, static_cast<size_t>(end - buf));
}

void Reply::simple(std::string_view text) {
  out_->push_back('+');
  out_->append(text);
  out_->append("\r\n", 2);
}

void Reply::error(std::string_view message) {
  out_->push_back('-');
  size_t start = out_->size();
  out_->append(message);
  // An error is one line: Redis turns embedded CR/LF into spaces.
  for (size_t i = start; i < out_->size(); i++) {
    char& c = (*out_)[i];
    if (c == '\r' || c == '\n') c = ' ';
  }
  out_->append("\r\n", 2);
}

void Reply::integer(int64_t value) { header(':', value); }

void Reply::bulk(std::string_view data) {
  header('$', static_cast<int64_t>(data.size()));
  out_->append(data);
  out_->append("\r\n", 2);
}

void Reply::bulk_int(int64_t value) {
  char digits[24];
  char* end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
  bulk(std::string_view(digits, static_cast<size_t>(end - digits)));
}

void Reply::null() {
  if (protocol_ >= 3) {
    out_->append("_\r\n", 3);
  } else {
    out_->append("$-1\r\n", 5);
  }
}

void Reply::null_array() {
  if (protocol_ >= 3) {
    out_->append("_\r\n", 3);
  } else {
    out_->append("*-1\r\n", 5);
  }
}

void Reply::array(size_t length) { header('*', static_cast<int64_t>(length)); }

void Reply::map(size_t pairs) {
  if (protocol_ >= 3) {
    header('%', static_cast<int64_t>(pairs));
  } else {
    header('*', static_cast<int64_t>(pairs * 2));
  }
}

void Reply::set(size_t length) { header(protocol_ >= 3 ? '~' : '*', static_cast<int64_t>(length)); }

void Reply::push(size_t length) { header(protocol_ >= 3 ? '>' : '*', static_cast<int64_t>(length)); }

void Reply::dbl(double value) {
  char buf[64];
  size_t length = format_double(value, buf);
  if (protocol_ >= 3) {
    out_->push_back(',');
    out_->append(buf, length);
    out_->append("\r\n", 2);
  } else {
    bulk(std::string_view(buf, length));
  }
}

void Reply::boolean(bool value) {
  if (protocol_ >= 3) {
    out_->append(value ? "#t\r\n" : "#f\r\n", 4);
  } else {
    integer(value ? 1 : 0);
  }
}

void Reply::verbatim(std::string_view text, std::string_view format) {
  if (protocol_ >= 3) {
    header('=', static_cast<int64_t>(text.size() + 4));
    out_->append(format.substr(0, 3));
    out_->push_back(':');
    out_->append(text);
    out_->append("\r\n", 2);
  } else {
    bulk(text);
  }
}

void Reply::end_deferred_array(size_t position, size_t length) {
  insert_header(position, '*', static_cast<int64_t>(length));
}

void Reply::end_deferred_map(size_t position, size_t pairs) {
  if (protocol_ >= 3) {
    insert_header(position, '%', static_cast<int64_t>(pairs));
  } else {
    insert_header(position, '*', static_cast<int64_t>(pairs * 2));
  }
}

void Reply::end_deferred_set(size_t position, size_t length) {
  insert_header(position, protocol_ >= 3 ? '~' : '*', static_cast<int64_t>(length));
}

void append_multibulk(std::string* out, const std::string_view* args, size_t count) {
  Reply writer(out);
  writer.array(count);
  for (size_t i = 0; i < count; i++) writer.bulk(args[i]);
}

}  // namespace rd
