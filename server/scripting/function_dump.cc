#include "server/scripting/function_dump.h"

#include <cstdint>
#include <cstring>

#include "server/scripting/function_engine.h"
#include "storage/rdb_codec.h"

namespace rd {
namespace {

constexpr size_t kMinCompressLength = 20;  // Redis never compresses shorter strings

void put_length(std::string* out, uint64_t length) {
  if (length < (1 << 6)) {
    out->push_back(static_cast<char>(length));
  } else if (length < (1 << 14)) {
    out->push_back(static_cast<char>((length >> 8) | 0x40));
    out->push_back(static_cast<char>(length & 0xff));
  } else {
    out->push_back(static_cast<char>(rdb::kLen32Bit));
    for (int i = 3; i >= 0; i--) out->push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  }
}

// An RDB string, LZF-compressed when that saves at least 4 bytes (as Redis writes it).
void put_string(std::string* out, std::string_view text) {
  if (text.size() > kMinCompressLength) {
    std::string compressed(text.size() - 4, '\0');
    const size_t size = rdb::lzf_compress(text.data(), text.size(), compressed.data(), compressed.size());
    if (size > 0) {
      out->push_back(static_cast<char>(0xC0 | rdb::kEncLzf));
      put_length(out, size);
      put_length(out, text.size());
      out->append(compressed.data(), size);
      return;
    }
  }
  put_length(out, text.size());
  out->append(text);
}

void put_le(std::string* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; i++) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// Reads RDB lengths and strings from a payload.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }

  bool byte(uint8_t* out) {
    if (pos_ >= data_.size()) return false;
    *out = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }

  // A length, or (encoded = true) the special encoding number.
  bool length(uint64_t* out, bool* encoded) {
    uint8_t first = 0;
    if (!byte(&first)) return false;
    *encoded = false;
    switch (first >> 6) {
      case rdb::kLen6Bit:
        *out = first & 0x3f;
        return true;
      case rdb::kLen14Bit: {
        uint8_t next = 0;
        if (!byte(&next)) return false;
        *out = (uint64_t{first & 0x3fu} << 8) | next;
        return true;
      }
      case rdb::kLenEncoded:
        *encoded = true;
        *out = first & 0x3f;
        return true;
      default:
        return wide_length(first, out);
    }
  }

  bool string(std::string* out) {
    uint64_t length = 0;
    bool encoded = false;
    if (!this->length(&length, &encoded)) return false;
    if (!encoded) return take(length, out);
    if (length == rdb::kEncLzf) return lzf_string(out);
    const int bytes = length == rdb::kEncInt8 ? 1 : length == rdb::kEncInt16 ? 2 : length == rdb::kEncInt32 ? 4 : 0;
    if (bytes == 0 || pos_ + static_cast<size_t>(bytes) > data_.size()) return false;
    uint64_t raw = 0;
    for (int i = 0; i < bytes; i++) raw |= uint64_t{static_cast<uint8_t>(data_[pos_++])} << (8 * i);
    const int shift = 64 - 8 * bytes;
    *out = std::to_string(static_cast<int64_t>(raw << shift) >> shift);
    return true;
  }

 private:
  bool wide_length(uint8_t first, uint64_t* out) {
    const int bytes = first == rdb::kLen32Bit ? 4 : first == rdb::kLen64Bit ? 8 : 0;
    if (bytes == 0 || pos_ + static_cast<size_t>(bytes) > data_.size()) return false;
    *out = 0;
    for (int i = 0; i < bytes; i++) *out = (*out << 8) | static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool take(uint64_t length, std::string* out) {
    if (length > data_.size() - pos_) return false;
    out->assign(data_.substr(pos_, length));
    pos_ += length;
    return true;
  }
  bool lzf_string(std::string* out) {
    uint64_t compressed = 0;
    uint64_t length = 0;
    bool encoded = false;
    if (!this->length(&compressed, &encoded) || encoded) return false;
    if (!this->length(&length, &encoded) || encoded || compressed > data_.size() - pos_) return false;
    if (length > (uint64_t{1} << 32)) return false;
    out->assign(length, '\0');
    if (!rdb::lzf_decompress(data_.data() + pos_, compressed, out->data(), length)) return false;
    pos_ += compressed;
    return true;
  }

  std::string_view data_;
  size_t pos_ = 0;
};

bool verify_footer(std::string_view payload) {
  if (payload.size() < 10) return false;
  const size_t body = payload.size() - 10;
  const unsigned version = static_cast<uint8_t>(payload[body]) | (static_cast<uint8_t>(payload[body + 1]) << 8);
  if (version > static_cast<unsigned>(rdb::kMaxLoadVersion)) return false;
  uint64_t stored = 0;
  for (int i = 0; i < 8; i++) stored |= uint64_t{static_cast<uint8_t>(payload[payload.size() - 8 + i])} << (8 * i);
  return rdb::crc64(0, payload.data(), payload.size() - 8) == stored;
}

std::vector<std::string> library_codes(const FunctionEngine& engine) {
  std::vector<std::string> codes;
  for (const auto& [name, library] : engine.libraries()) codes.push_back(library.code);
  return codes;
}

void reload(FunctionEngine& engine, const std::vector<std::string>& codes) {
  engine.flush();
  std::string name;
  std::string error;
  for (const std::string& code : codes) engine.load(code, false, &name, &error);
}

}  // namespace

std::vector<std::string> function_library_codes(const FunctionEngine& engine) { return library_codes(engine); }

bool load_rdb_functions(FunctionEngine& engine, const std::vector<std::string>& codes, bool flush, bool replace,
                        std::string* error) {
  if (codes.empty() && !flush) return true;
  const std::vector<std::string> before = library_codes(engine);
  if (flush) engine.flush();
  for (const std::string& code : codes) {
    std::string name;
    std::string reason;
    if (!engine.load(code, replace, &name, &reason)) {
      *error = "Failed loading library: " + reason;
      reload(engine, before);
      return false;
    }
  }
  return true;
}

std::string dump_functions(const FunctionEngine& engine) {
  std::string out;
  for (const auto& [name, library] : engine.libraries()) {
    out.push_back(static_cast<char>(rdb::kOpFunction2));
    put_string(&out, library.code);
  }
  put_le(&out, rdb::kVersion, 2);
  put_le(&out, rdb::crc64(0, out.data(), out.size()), 8);
  return out;
}

bool parse_function_payload(std::string_view payload, std::vector<std::string>* codes, std::string* error) {
  if (!verify_footer(payload)) {
    *error = "ERR DUMP payload version or checksum are wrong";
    return false;
  }
  PayloadReader reader(payload.substr(0, payload.size() - 10));
  while (!reader.done()) {
    uint8_t type = 0;
    reader.byte(&type);
    if (type == rdb::kOpFunctionPreGa) {
      *error = "ERR Pre-GA function format not supported";
      return false;
    }
    if (type != rdb::kOpFunction2) {
      *error = "ERR given type is not a function";
      return false;
    }
    std::string code;
    if (!reader.string(&code)) {
      *error = "ERR failed loading the given functions payload";
      return false;
    }
    codes->push_back(std::move(code));
  }
  return true;
}

bool restore_functions(FunctionEngine& engine, std::string_view payload, RestorePolicy policy, std::string* error) {
  std::vector<std::string> codes;
  if (!parse_function_payload(payload, &codes, error)) return false;
  if (policy == RestorePolicy::kAppend) {
    for (const std::string& code : codes) {
      std::string name;
      size_t length = 0;
      if (parse_library_shebang(code, &name, &length, error) && engine.libraries().count(name) != 0) {
        *error = "ERR Library " + name + " already exists";
        return false;
      }
    }
  }
  // All or nothing: on any failure the libraries as they were are loaded back.
  const std::vector<std::string> before = library_codes(engine);
  if (policy == RestorePolicy::kFlush) engine.flush();
  for (const std::string& code : codes) {
    std::string name;
    if (!engine.load(code, policy == RestorePolicy::kReplace, &name, error)) {
      reload(engine, before);
      return false;
    }
  }
  return true;
}

}  // namespace rd
