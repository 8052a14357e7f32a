// Building blocks of the RDB format shared by the encoder (rdb_save.cc), the decoder
// (rdb_load.cc) and their tests: opcodes and type bytes, LZF, CRC64 and the decoders of the
// compact blobs older and current Redis versions embed (ziplist, listpack, intset, zipmap).
// Internal to storage/; the public interface is storage/rdb.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace rd::rdb {

inline constexpr int kVersion = 10;        // what Redis 7.0 writes
inline constexpr int kMaxLoadVersion = 12;  // Redis 7.4 (same encodings for our types)

// Value types (the byte before a key).
enum Type : uint8_t {
  kTypeString = 0,
  kTypeList = 1,
  kTypeSet = 2,
  kTypeZSet = 3,
  kTypeHash = 4,
  kTypeZSet2 = 5,
  kTypeModule = 6,
  kTypeModule2 = 7,
  kTypeHashZipmap = 9,
  kTypeListZiplist = 10,
  kTypeSetIntset = 11,
  kTypeZSetZiplist = 12,
  kTypeHashZiplist = 13,
  kTypeListQuicklist = 14,
  kTypeStreamListpacks = 15,
  kTypeHashListpack = 16,
  kTypeZSetListpack = 17,
  kTypeListQuicklist2 = 18,
  kTypeStreamListpacks2 = 19,
  kTypeSetListpack = 20,  // Redis 7.2
};

// Opcodes (bytes that are not value types).
enum Opcode : uint8_t {
  kOpSlotInfo = 244,  // Redis 7.4 cluster hint: three lengths
  kOpFunction2 = 245,
  kOpFunctionPreGa = 246,
  kOpModuleAux = 247,
  kOpIdle = 248,
  kOpFreq = 249,
  kOpAux = 250,
  kOpResizeDb = 251,
  kOpExpireTimeMs = 252,
  kOpExpireTime = 253,
  kOpSelectDb = 254,
  kOpEof = 255,
};

// Length encoding: the two top bits of the first byte.
inline constexpr uint8_t kLen6Bit = 0;
inline constexpr uint8_t kLen14Bit = 1;
inline constexpr uint8_t kLen32Bit = 0x80;
inline constexpr uint8_t kLen64Bit = 0x81;
inline constexpr uint8_t kLenEncoded = 3;  // "special" string encodings follow
inline constexpr uint8_t kEncInt8 = 0;
inline constexpr uint8_t kEncInt16 = 1;
inline constexpr uint8_t kEncInt32 = 2;
inline constexpr uint8_t kEncLzf = 3;

// Quicklist 2 node containers.
inline constexpr uint64_t kQuicklistNodePlain = 1;
inline constexpr uint64_t kQuicklistNodePacked = 2;

// ---- LZF (rdb_lzf.cc) ----
// Compresses `in` into `out` (capacity out_len). Returns the compressed size, or 0 when the
// result would not fit (the caller then stores the data uncompressed).
size_t lzf_compress(const char* in, size_t in_len, char* out, size_t out_len);
// Decompresses exactly `out_len` bytes. False when `in` is not a valid stream of that size.
bool lzf_decompress(const char* in, size_t in_len, char* out, size_t out_len);

// ---- CRC64 (rdb_crc64.cc): Jones polynomial, reflected, as the RDB footer uses ----
uint64_t crc64(uint64_t crc, const void* data, size_t length);

// ---- compact blobs (rdb_packed.cc) ----
// Each decoder calls visit(element) for every entry in order (integers as decimal text; the
// view is only valid during the call) and returns false when the blob is malformed.
using ElementVisitor = std::function<void(std::string_view)>;
bool decode_ziplist(std::string_view blob, const ElementVisitor& visit);
bool decode_listpack(std::string_view blob, const ElementVisitor& visit);
bool decode_intset(std::string_view blob, const ElementVisitor& visit);
// Zipmap: field, value, field, value...
bool decode_zipmap(std::string_view blob, const ElementVisitor& visit);

// Parses a decimal integer exactly as Redis would store it as an int (no leading zeros, no
// '+', fits in int64). Used to choose integer encodings.
bool exact_int64(std::string_view text, int64_t* value);

}  // namespace rd::rdb
