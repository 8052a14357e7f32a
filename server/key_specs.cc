#include "server/key_specs.h"

#include <cctype>
#include <cstdlib>
#include <memory>

#include "storage/numbers.h"

namespace rd {
namespace {

// A tiny RESP2 reader for the metadata blobs (arrays, bulk/simple strings, integers).
struct Node {
  char type = 0;
  std::string text;
  int64_t number = 0;
  std::vector<Node> items;
};

bool read_node(std::string_view data, size_t* pos, Node* out) {
  if (*pos >= data.size()) return false;
  size_t line_end = data.find("\r\n", *pos);
  if (line_end == std::string_view::npos) return false;
  out->type = data[*pos];
  std::string_view line = data.substr(*pos + 1, line_end - *pos - 1);
  *pos = line_end + 2;
  switch (out->type) {
    case '+':
    case '-':
      out->text = std::string(line);
      return true;
    case ':':
      return string_to_int64(line, &out->number);
    case '$': {
      int64_t length = 0;
      if (!string_to_int64(line, &length)) return false;
      if (length < 0) return true;
      out->text = std::string(data.substr(*pos, static_cast<size_t>(length)));
      *pos += static_cast<size_t>(length) + 2;
      return true;
    }
    case '*': {
      int64_t count = 0;
      if (!string_to_int64(line, &count)) return false;
      for (int64_t i = 0; i < count; i++) {
        out->items.emplace_back();
        if (!read_node(data, pos, &out->items.back())) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

// A flat RESP2 map ["k1", v1, "k2", v2, ...]: the value for `key`, or nullptr.
const Node* field(const Node& map, std::string_view key) {
  for (size_t i = 0; i + 1 < map.items.size(); i += 2) {
    if (map.items[i].text == key) return &map.items[i + 1];
  }
  return nullptr;
}

int64_t number_field(const Node& map, std::string_view key) {
  const Node* n = field(map, key);
  return n == nullptr ? 0 : n->number;
}

KeySpec to_spec(const Node& map) {
  KeySpec spec;
  if (const Node* flags = field(map, "flags")) {
    for (const Node& f : flags->items) spec.flags.push_back(f.text);
  }
  if (const Node* begin = field(map, "begin_search")) {
    const Node* type = field(*begin, "type");
    const Node* details = field(*begin, "spec");
    if (type != nullptr && details != nullptr && type->text == "index") {
      spec.begin = KeySpec::Begin::kIndex;
      spec.index = static_cast<int>(number_field(*details, "index"));
    } else if (type != nullptr && details != nullptr && type->text == "keyword") {
      spec.begin = KeySpec::Begin::kKeyword;
      if (const Node* k = field(*details, "keyword")) spec.keyword = k->text;
      spec.start_from = static_cast<int>(number_field(*details, "startfrom"));
    }
  }
  if (const Node* find = field(map, "find_keys")) {
    const Node* type = field(*find, "type");
    const Node* details = field(*find, "spec");
    if (type != nullptr && details != nullptr && type->text == "range") {
      spec.find = KeySpec::Find::kRange;
      spec.last_key = static_cast<int>(number_field(*details, "lastkey"));
      spec.key_step = static_cast<int>(number_field(*details, "keystep"));
      spec.limit = static_cast<int>(number_field(*details, "limit"));
    } else if (type != nullptr && details != nullptr && type->text == "keynum") {
      spec.find = KeySpec::Find::kKeynum;
      spec.keynum_index = static_cast<int>(number_field(*details, "keynumidx"));
      spec.first_key = static_cast<int>(number_field(*details, "firstkey"));
      spec.key_step = static_cast<int>(number_field(*details, "keystep"));
    }
  }
  if (spec.key_step <= 0) spec.key_step = 1;
  return spec;
}

bool equals_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

std::vector<KeySpec> parse_key_specs(std::string_view info_reply) {
  Node root;
  size_t pos = 0;
  std::vector<KeySpec> specs;
  if (!read_node(info_reply, &pos, &root) || root.items.size() < 9) return specs;
  for (const Node& map : root.items[8].items) specs.push_back(to_spec(map));
  return specs;
}

bool find_keys(const std::vector<KeySpec>& specs, const std::vector<std::string_view>& args,
               std::vector<FoundKey>* keys) {
  const int argc = static_cast<int>(args.size());
  for (const KeySpec& spec : specs) {
    int first = 0;
    if (spec.begin == KeySpec::Begin::kIndex) {
      first = spec.index;
    } else if (spec.begin == KeySpec::Begin::kKeyword) {
      int start = spec.start_from >= 0 ? spec.start_from : argc + spec.start_from;
      int end = spec.start_from >= 0 ? argc - 1 : 0;
      int step = spec.start_from >= 0 ? 1 : -1;
      first = -1;
      for (int i = start; step > 0 ? i <= end : i >= end; i += step) {
        if (i <= 0 || i >= argc) break;
        if (equals_nocase(args[static_cast<size_t>(i)], spec.keyword)) {
          first = i + 1;
          break;
        }
      }
      if (first < 0) continue;
    } else {
      continue;
    }
    if (first >= argc) continue;
    int last = 0;
    int step = spec.key_step;
    if (spec.find == KeySpec::Find::kRange) {
      if (spec.last_key >= 0) {
        last = first + spec.last_key;
      } else if (spec.limit == 0) {
        last = argc + spec.last_key;
      } else {
        last = first + ((argc - first) / spec.limit + spec.last_key);
      }
    } else if (spec.find == KeySpec::Find::kKeynum) {
      int index = first + spec.keynum_index;
      int64_t count = 0;
      if (index >= argc || !string_to_int64(args[static_cast<size_t>(index)], &count) || count < 0 ||
          count > argc) {
        return false;
      }
      first += spec.first_key;
      last = first + static_cast<int>(count - 1) * step;
    } else {
      continue;
    }
    for (int i = first; i <= last; i += step) {
      if (i >= argc || i <= 0) return false;
      keys->push_back({i, &spec});
    }
  }
  return true;
}

}  // namespace rd
