// The AOF manifest: one line per file, `file <name> seq <n> type <b|h|i>`, as Redis 7 writes
// it. Keys may come in any order; names with spaces or quotes are written quoted.
#include <sstream>

#include "protocol/request_parser.h"
#include "server/aof.h"

namespace rd {
namespace {

bool needs_quotes(const std::string& name) {
  for (char c : name) {
    if (c == ' ' || c == '"' || c == '\'' || c == '\\' || static_cast<unsigned char>(c) < 32) return true;
  }
  return name.empty();
}

std::string quoted(const std::string& name) {
  if (!needs_quotes(name)) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

void format_line(std::string* out, const AofFileInfo& info, char type) {
  *out += "file " + quoted(info.name) + " seq " + std::to_string(info.seq) + " type " + std::string(1, type) + "\n";
}

}  // namespace

std::string aof_base_name(const std::string& filename, int64_t seq) {
  return filename + "." + std::to_string(seq) + ".base.rdb";
}
std::string aof_incr_name(const std::string& filename, int64_t seq) {
  return filename + "." + std::to_string(seq) + ".incr.aof";
}
std::string aof_manifest_name(const std::string& filename) { return filename + ".manifest"; }

std::string AofManifest::format() const {
  std::string out;
  if (base) format_line(&out, *base, 'b');
  for (const AofFileInfo& h : history) format_line(&out, h, 'h');
  for (const AofFileInfo& i : incrs) format_line(&out, i, 'i');
  return out;
}

std::string AofManifest::parse(std::string_view text, AofManifest* out) {
  *out = AofManifest();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) return "The AOF manifest file is invalid format (no newline at the end)";
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> words;
    if (!RequestParser::split_args(line, &words) || words.size() % 2 != 0) {
      return "Invalid AOF manifest file format";
    }
    AofFileInfo info;
    std::string type;
    for (size_t i = 0; i < words.size(); i += 2) {
      if (words[i] == "file") info.name = words[i + 1];
      else if (words[i] == "seq") info.seq = std::strtoll(words[i + 1].c_str(), nullptr, 10);
      else if (words[i] == "type") type = words[i + 1];
    }
    if (info.name.empty() || info.seq <= 0 || type.size() != 1) return "Invalid AOF manifest file format";
    info.type = type[0];
    if (info.type == 'b') {
      if (out->base) return "Found duplicate base file information";
      out->base = info;
      out->base_seq = info.seq;
    } else if (info.type == 'i') {
      if (info.seq <= out->incr_seq) return "Found a non-monotonic sequence number";
      out->incrs.push_back(info);
      out->incr_seq = info.seq;
    } else if (info.type == 'h') {
      out->history.push_back(info);
    } else {
      return "Unknown AOF file type";
    }
  }
  if (!out->base && out->incrs.empty()) return "Found an empty AOF manifest";
  return "";
}

}  // namespace rd
