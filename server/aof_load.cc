// Loading the AOF at startup: the manifest, then the base (an RDB image or commands), then
// every incr file in order. Commands are replayed through the dispatcher by a fake client
// flagged as the master link, so nothing expires while loading and nothing is refused.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "server/aof.h"
#include "server/command_context.h"
#include "server/persistence_files.h"
#include "server/server.h"
#include "server/scripting/function_dump.h"
#include "server/scripting/scripting.h"

namespace rd {
namespace {

enum class ParseStatus { kCommand, kEnd, kTruncated, kBad };

// Parses the command at `*pos` in RESP multibulk form ("*N\r\n$len\r\narg\r\n...").
ParseStatus parse_command(std::string_view data, size_t* pos, std::vector<std::string_view>* argv) {
  argv->clear();
  size_t p = *pos;
  auto number_line = [&](char prefix, int64_t* out) -> ParseStatus {
    if (p >= data.size()) return ParseStatus::kTruncated;
    if (data[p] != prefix) return ParseStatus::kBad;
    size_t eol = data.find("\r\n", p);
    if (eol == std::string_view::npos) return ParseStatus::kTruncated;
    int64_t n = 0;
    for (size_t i = p + 1; i < eol; i++) {
      if (data[i] < '0' || data[i] > '9' || n > (INT64_MAX - 9) / 10) return ParseStatus::kBad;
      n = n * 10 + (data[i] - '0');
    }
    if (eol == p + 1) return ParseStatus::kBad;
    *out = n;
    p = eol + 2;
    return ParseStatus::kCommand;
  };
  while (p < data.size() && data[p] == '#') {  // annotations (aof-timestamp-enabled)
    size_t eol = data.find("\r\n", p);
    if (eol == std::string_view::npos) return ParseStatus::kTruncated;
    p = eol + 2;
  }
  if (p >= data.size()) {
    *pos = p;
    return ParseStatus::kEnd;
  }
  int64_t argc = 0;
  if (ParseStatus s = number_line('*', &argc); s != ParseStatus::kCommand) return s;
  if (argc < 1) return ParseStatus::kBad;
  for (int64_t i = 0; i < argc; i++) {
    int64_t len = 0;
    if (ParseStatus s = number_line('$', &len); s != ParseStatus::kCommand) return s;
    if (static_cast<uint64_t>(len) + 2 > data.size() - p) return ParseStatus::kTruncated;
    if (data.compare(p + static_cast<size_t>(len), 2, "\r\n") != 0) return ParseStatus::kBad;
    argv->push_back(data.substr(p, static_cast<size_t>(len)));
    p += static_cast<size_t>(len) + 2;
  }
  *pos = p;
  return ParseStatus::kCommand;
}

bool is_command(std::string_view arg, const char* name) {
  if (arg.size() != std::strlen(name)) return false;
  for (size_t i = 0; i < arg.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(arg[i])) != name[i]) return false;
  }
  return true;
}

}  // namespace

std::string Aof::replay(const std::string& path, bool is_last, CommandContext* nested) {
  std::string data;
  if (!read_whole_file(path, &data)) return "Fatal error: can't open the append log file " + path + " for reading";
  const std::string name = path.substr(path.rfind('/') + 1);
  Client fake(0, UniqueFd(), "aof", "aof");
  fake.set_flag(kClientMaster);
  fake.authenticated = true;
  std::vector<std::string_view> argv;
  std::vector<std::vector<std::string_view>> transaction;
  bool in_multi = false;
  size_t pos = 0;
  size_t valid_up_to = 0;
  size_t before_multi = 0;
  auto run = [&](const std::vector<std::string_view>& command) -> std::string {
    const CommandSpec* spec = server_.commands.find(command[0]);
    if (spec == nullptr) {
      return "Unknown command '" + std::string(command[0]) + "' reading the append only file " + name;
    }
    if (nested == nullptr) {
      server_.execute(fake, command);
      fake.output.clear();
      return "";
    }
    // Under the caller's lock: resolve the subcommand and check the arity as the dispatcher
    // would, then run the handler nested; what it propagates stays in `sink` (dropped).
    if (!spec->subcommands.empty() && command.size() >= 2) {
      std::string sub(command[1]);
      for (char& ch : sub) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      auto it = spec->subcommands.find(sub);
      if (it == spec->subcommands.end()) return "Unknown command '" + std::string(command[0]) + " " + sub + "' reading the append only file " + name;
      spec = it->second.get();
    }
    const int argc = static_cast<int>(command.size());
    if (spec->handler == nullptr || (spec->arity > 0 && argc != spec->arity) || argc < -spec->arity) {
      return "Wrong number of arguments for '" + spec->name + "' reading the append only file " + name;
    }
    Reply reply(&fake.output, 2);
    CommandContext sink(server_, fake, *spec, command, reply, 0);
    sink.now_ms = nested->now_ms;
    server_.execute_nested(sink, fake, reply, *spec, command);
    fake.output.clear();
    return "";
  };
  while (true) {
    const size_t start = pos;
    ParseStatus status = parse_command(data, &pos, &argv);
    if (status == ParseStatus::kEnd) break;
    if (status == ParseStatus::kBad) {
      return "Bad file format reading the append only file " + name +
             ": make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>";
    }
    if (status == ParseStatus::kTruncated) {
      if (!is_last || !server_.config.get_bool("aof-load-truncated")) {
        return "Unexpected end of file reading the append only file " + name +
               ". You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. "
               "2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the "
               "server.";
      }
      server_.log('#', "!!! Warning: short read while loading the AOF file " + name + "!!!");
      server_.log('#', "!!! Truncating the AOF " + name + " at offset " + std::to_string(in_multi ? before_multi : valid_up_to) + " !!!");
      in_multi = false;
      if (::truncate(path.c_str(), static_cast<off_t>(valid_up_to)) != 0) {
        return "Error truncating the AOF file " + name + ": " + std::strerror(errno);
      }
      server_.log('#', "AOF " + name + " loaded anyway because aof-load-truncated is enabled");
      break;
    }
    if (is_command(argv[0], "multi")) {
      in_multi = true;
      before_multi = start;
      transaction.clear();
      continue;
    }
    if (in_multi && !is_command(argv[0], "exec")) {
      transaction.push_back(argv);
      continue;
    }
    if (in_multi) {
      for (const auto& queued : transaction) {
        if (std::string error = run(queued); !error.empty()) return error;
      }
      in_multi = false;
    } else if (std::string error = run(argv); !error.empty()) {
      return error;
    }
    valid_up_to = pos;
  }
  if (in_multi) {  // MULTI without EXEC at the end: the transaction never completed
    if (!is_last || !server_.config.get_bool("aof-load-truncated")) {
      return "Unexpected end of file reading the append only file " + name + " (an incomplete MULTI/EXEC)";
    }
    server_.log('#', "Revert incomplete MULTI/EXEC transaction in AOF file " + name);
    if (::truncate(path.c_str(), static_cast<off_t>(before_multi)) != 0) {
      return "Error truncating the AOF file " + name + ": " + std::strerror(errno);
    }
  }
  return "";
}

std::string Aof::load() {
  read_config();
  std::string error = load_files(nullptr);
  if (error.empty()) server_.reset_stats();
  return error;
}

std::string Aof::debug_load(CommandContext& ctx) {
  if (enabled()) {
    flush_and_sync();
  } else {
    read_config();
  }
  return load_files(&ctx);
}

std::string Aof::load_files(CommandContext* nested) {
  const std::string manifest_path = join_path(dir_, aof_manifest_name(filename_));
  std::string text;
  if (!read_whole_file(manifest_path, &text)) {  // no AOF yet: start empty (DEBUG LOADAOF: an error)
    return nested == nullptr ? "" : "The AOF manifest file " + manifest_path + " doesn't exist";
  }
  if (std::string error = AofManifest::parse(text, &manifest_); !error.empty()) {
    return "Invalid AOF manifest file " + manifest_path + ": " + error;
  }
  std::vector<AofFileInfo> files;
  if (manifest_.base) files.push_back(*manifest_.base);
  files.insert(files.end(), manifest_.incrs.begin(), manifest_.incrs.end());
  const int64_t started = unix_time_ms();
  for (size_t i = 0; i < files.size(); i++) {
    const std::string path = join_path(dir_, files[i].name);
    const bool is_last = i + 1 == files.size();
    if (!file_exists(path)) return "The AOF file " + files[i].name + " doesn't exist";
    if (file_size(path) == 0) continue;
    std::string head;
    {
      UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      char magic[5] = {};
      if (fd.valid() && ::read(fd.get(), magic, 5) == 5) head.assign(magic, 5);
    }
    if (head == "REDIS") {
      RdbLoadResult result;
      if (load_rdb_file(path, server_.keyspace, server_.encoding_limits(), unix_time_ms(), false, &result) !=
          LoadStatus::kLoaded) {
        return "Bad file format reading the append only file " + files[i].name + ": " + result.error;
      }
      std::string function_error;
      if (!load_rdb_functions(server_.scripting->functions(), result.function_libraries, false, false, &function_error)) {
        return "Bad file format reading the append only file " + files[i].name + ": " + function_error;
      }
      server_.log('*', "Reading RDB base file on AOF loading...");
    } else if (std::string error = replay(path, is_last, nested); !error.empty()) {
      return error;
    }
    server_.log('*', "DB loaded from " + std::string(files[i].type == 'b' ? "base" : "incr") + " file " + files[i].name);
  }
  char took[96];
  std::snprintf(took, sizeof(took), "DB loaded from append only file: %.3f seconds", static_cast<double>(unix_time_ms() - started) / 1000);
  server_.log('*', took);
  return "";
}

}  // namespace rd
