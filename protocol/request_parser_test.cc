#include "protocol/request_parser.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

namespace rd {
namespace {

using Args = std::vector<std::string>;

struct Outcome {
  std::vector<Args> commands;
  std::string error;  // set when the parser reported a protocol error
};

// Feeds `input` in the given chunk sizes, the way a connection does: consumed bytes are
// dropped, unconsumed ones stay at the front of the buffer.
Outcome feed(const std::string& input, const std::vector<size_t>& chunks) {
  RequestParser parser;
  Outcome outcome;
  std::string buffer;
  size_t offset = 0;
  size_t chunk_index = 0;
  while (offset < input.size()) {
    size_t n = chunks.empty() ? input.size() : chunks[chunk_index++ % chunks.size()];
    n = std::min(n, input.size() - offset);
    buffer.append(input, offset, n);
    offset += n;
    while (true) {
      RequestParser::Status status = parser.parse(buffer);
      // The arguments are views into `buffer`: copy them before dropping consumed bytes.
      if (status == RequestParser::Status::kCommand) {
        outcome.commands.emplace_back(parser.args().begin(), parser.args().end());
      }
      buffer.erase(0, parser.consumed());
      if (status == RequestParser::Status::kNeedMore) break;
      if (status == RequestParser::Status::kError) {
        outcome.error = parser.error();
        return outcome;
      }
    }
  }
  return outcome;
}

Outcome feed_all(const std::string& input) { return feed(input, {}); }

std::string multibulk(const Args& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

const std::vector<Args> kSample = {
    {"SET", "key", "value"},
    {"GET", std::string("bin\0ary\r\n", 9)},
    {"PING"},
    {"MSET", "a", "", "b", std::string(70000, 'x')},
    {"ECHO", "*3\r\n$3\r\n"},
};

std::string sample_stream() {
  std::string out;
  for (const Args& a : kSample) out += multibulk(a);
  out += "PING\r\n";             // inline
  out += "SET  k  \"a b\"\n";     // inline, LF only, quoted
  out += "\r\n";                 // empty inline line: skipped
  out += "*0\r\n*-1\r\n";        // empty multibulks: skipped
  out += multibulk({"LAST"});
  return out;
}

std::vector<Args> sample_expected() {
  std::vector<Args> expected = kSample;
  expected.push_back({"PING"});
  expected.push_back({"SET", "k", "a b"});
  expected.push_back({"LAST"});
  return expected;
}

TEST_CASE("whole buffer parses into every command") {
  Outcome o = feed_all(sample_stream());
  CHECK(o.error.empty());
  CHECK(o.commands == sample_expected());
}

TEST_CASE("byte by byte gives the same commands") {
  Outcome o = feed(sample_stream(), {1});
  CHECK(o.error.empty());
  CHECK(o.commands == sample_expected());
}

TEST_CASE("random splits give the same commands") {
  std::mt19937 rng(12345);
  std::string stream = sample_stream();
  for (int round = 0; round < 200; round++) {
    std::vector<size_t> chunks;
    for (int i = 0; i < 50; i++) chunks.push_back(1 + rng() % 300);
    Outcome o = feed(stream, chunks);
    REQUIRE(o.error.empty());
    REQUIRE(o.commands == sample_expected());
  }
}

TEST_CASE("every split point of a small stream") {
  std::string stream = multibulk({"SET", "k", "v"}) + "GET k\r\n" + multibulk({"DEL", "k"});
  for (size_t cut = 1; cut < stream.size(); cut++) {
    Outcome o = feed(stream, {cut, stream.size()});
    REQUIRE(o.commands.size() == 3);
    CHECK(o.commands[1] == Args{"GET", "k"});
  }
}

TEST_CASE("protocol errors use Redis's texts") {
  CHECK(feed_all("*abc\r\n").error == "ERR Protocol error: invalid multibulk length");
  CHECK(feed_all("*2147483648\r\n").error == "ERR Protocol error: invalid multibulk length");
  CHECK(feed_all("*1\r\nfoo\r\n").error == "ERR Protocol error: expected '$', got 'f'");
  CHECK(feed_all("*1\r\n$-1\r\n").error == "ERR Protocol error: invalid bulk length");
  CHECK(feed_all("*1\r\n$abc\r\n").error == "ERR Protocol error: invalid bulk length");
  CHECK(feed_all("*1\r\n$536870913\r\n").error == "ERR Protocol error: invalid bulk length");
  CHECK(feed_all("SET \"abc\r\n").error == "ERR Protocol error: unbalanced quotes in request");
  CHECK(feed_all("SET \"a\"b\r\n").error == "ERR Protocol error: unbalanced quotes in request");
  CHECK(feed_all(std::string(70 * 1024, 'a')).error == "ERR Protocol error: too big inline request");
  CHECK(feed_all("*" + std::string(70 * 1024, '1')).error == "ERR Protocol error: too big mbulk count string");
  CHECK(feed_all("*1\r\n$" + std::string(70 * 1024, '1')).error ==
        "ERR Protocol error: too big bulk count string");
  // A CR/LF in the offending byte is turned into a space, keeping the reply one line.
  CHECK(feed_all("*1\r\n\r\n\r\n").error == "ERR Protocol error: expected '$', got ' '");
}

TEST_CASE("announced sizes are not trusted: nothing is reserved before the data arrives") {
  RequestParser parser;
  std::string header = "*2147483647\r\n";
  CHECK(parser.parse(header) == RequestParser::Status::kNeedMore);
  RequestParser bulk;
  std::string big = "*1\r\n$536870912\r\n";
  CHECK(bulk.parse(big) == RequestParser::Status::kNeedMore);
}

TEST_CASE("unauthenticated clients get Redis's lower limits") {
  RequestParser parser;
  parser.set_auth_required(true);
  std::string many = "*11\r\n";
  CHECK(parser.parse(many) == RequestParser::Status::kError);
  CHECK(parser.error() == "ERR Protocol error: unauthenticated multibulk length");
  RequestParser bulk;
  bulk.set_auth_required(true);
  std::string large = "*1\r\n$16385\r\n";
  CHECK(bulk.parse(large) == RequestParser::Status::kError);
  CHECK(bulk.error() == "ERR Protocol error: unauthenticated bulk length");
}

TEST_CASE("inline argument splitting follows Redis's quoting rules") {
  std::vector<std::string> out;
  REQUIRE(RequestParser::split_args("set \"a\\x41\\n\" 'it\\'s' plain", &out));
  CHECK(out == std::vector<std::string>{"set", "aA\n", "it's", "plain"});
  out.clear();
  REQUIRE(RequestParser::split_args("  a\t\tb  ", &out));
  CHECK(out == std::vector<std::string>{"a", "b"});
  out.clear();
  CHECK_FALSE(RequestParser::split_args("'unterminated", &out));
  out.clear();
  CHECK_FALSE(RequestParser::split_args("\"x\"y", &out));
}

TEST_CASE("bulk trailer bytes are skipped without checking, as Redis does") {
  Outcome o = feed_all("*1\r\n$4\r\nPINGxx");
  CHECK(o.error.empty());
  CHECK(o.commands == std::vector<Args>{{"PING"}});
}

}  // namespace
}  // namespace rd
