#include "server/config.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "protocol/request_parser.h"
#include "server/acl.h"
#include "storage/glob.h"
#include "storage/numbers.h"

namespace rd {
namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<std::string> split_spaces(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  std::string word;
  while (in >> word) out.push_back(word);
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out.push_back(' ');
    out += p;
  }
  return out;
}

std::string range_error(int64_t min, int64_t max) {
  return "argument must be between " + std::to_string(min) + " and " + std::to_string(max) + " inclusive";
}

// Quotes a value for the FATAL report the way Redis echoes the offending line.
std::string quote_arg(std::string_view arg) {
  std::string out = "\"";
  for (char c : arg) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string fatal_report(int line_number, std::string_view line, std::string_view reason) {
  std::string out = "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n";
  out += "Reading the configuration file, at line " + std::to_string(line_number) + "\n";
  out += ">>> '" + std::string(line) + "'\n";
  out += std::string(reason) + "\n";
  return out;
}

bool is_multi_arg(const ParamSpec& spec) { return spec.type == ParamType::kSpecial; }

}  // namespace

bool parse_memory(std::string_view text, int64_t* bytes) {
  size_t digits_end = 0;
  if (!text.empty() && text[0] == '-') digits_end = 1;
  while (digits_end < text.size() && std::isdigit(static_cast<unsigned char>(text[digits_end]))) digits_end++;
  std::string unit = lowercase(text.substr(digits_end));
  int64_t multiplier = 1;
  if (unit.empty() || unit == "b") multiplier = 1;
  else if (unit == "k") multiplier = 1000;
  else if (unit == "kb") multiplier = 1024;
  else if (unit == "m") multiplier = 1000 * 1000;
  else if (unit == "mb") multiplier = 1024 * 1024;
  else if (unit == "g") multiplier = 1000LL * 1000 * 1000;
  else if (unit == "gb") multiplier = 1024LL * 1024 * 1024;
  else return false;
  int64_t number = 0;
  if (!string_to_int64(text.substr(0, digits_end), &number)) return false;
  if (number != 0 && (number > INT64_MAX / multiplier || number < INT64_MIN / multiplier)) return false;
  *bytes = number * multiplier;
  return true;
}

Config::Config() {
  for (const ParamSpec& spec : config_params()) values_[spec.name] = spec.default_value;
  char cwd[4096];
  if (getcwd(cwd, sizeof(cwd)) != nullptr) values_["dir"] = cwd;
}

const ParamSpec* Config::find(std::string_view name) {
  for (const ParamSpec& spec : config_params()) {
    if (equals_nocase(name, spec.name) || (spec.alias[0] != '\0' && equals_nocase(name, spec.alias))) {
      return &spec;
    }
  }
  return nullptr;
}

std::string Config::set(const ParamSpec& spec, const std::vector<std::string>& args, bool at_startup) {
  std::lock_guard<std::mutex> lock(mutex_);
  return set_locked(spec, args, at_startup);
}

std::string Config::set(std::string_view name, std::string_view value) {
  const ParamSpec* spec = find(name);
  if (spec == nullptr) return "Unknown option";
  return set(*spec, {std::string(value)}, false);
}

std::string Config::set_locked(const ParamSpec& spec, const std::vector<std::string>& args, bool at_startup) {
  if (spec.immutable && !at_startup) return "can't set immutable config";
  if (is_multi_arg(spec)) return set_special(spec, join(args), at_startup);
  if (args.size() != 1) return "wrong number of arguments";
  const std::string& value = args[0];
  switch (spec.type) {
    case ParamType::kBool: {
      std::string lower = lowercase(value);
      if (lower != "yes" && lower != "no") return "argument must be 'yes' or 'no'";
      values_[spec.name] = lower;
      return "";
    }
    case ParamType::kInt: {
      int64_t number = 0;
      if (!string_to_int64(value, &number)) return "argument couldn't be parsed into an integer";
      if (number < spec.min || number > spec.max) return range_error(spec.min, spec.max);
      values_[spec.name] = std::to_string(number);
      return "";
    }
    case ParamType::kMemory: {
      int64_t bytes = 0;
      if (!parse_memory(value, &bytes)) return "argument must be a memory value";
      if (bytes < spec.min || bytes > spec.max) return range_error(spec.min, spec.max);
      values_[spec.name] = std::to_string(bytes);
      return "";
    }
    case ParamType::kEnum: {
      std::vector<std::string> choices = split_spaces(spec.enum_values);
      for (const std::string& choice : choices) {
        if (equals_nocase(choice, value)) {
          values_[spec.name] = choice;
          return "";
        }
      }
      std::string message = "argument(s) must be one of the following: ";
      for (size_t i = 0; i < choices.size(); i++) message += (i ? ", " : "") + choices[i];
      return message;
    }
    case ParamType::kString:
    case ParamType::kSpecial:
      values_[spec.name] = value;
      return "";
  }
  return "";
}

std::string Config::set_special(const ParamSpec& spec, const std::string& joined, bool at_startup) {
  std::string name = spec.name;
  std::vector<std::string> words = split_spaces(joined);
  if (name == "save") {
    if (words.size() % 2 != 0) return "Invalid save parameters";
    for (const std::string& word : words) {
      int64_t number = 0;
      if (!string_to_int64(word, &number) || number < 0) return "Invalid save parameters";
    }
    std::string canonical = join(words);
    // In a config file every `save` line adds save points; the first one drops the defaults.
    if (at_startup && save_set_at_startup_ && !words.empty() && !values_[name].empty()) {
      canonical = values_[name] + " " + canonical;
    }
    if (at_startup) save_set_at_startup_ = true;
    values_[name] = canonical;
    return "";
  }
  if (name == "replicaof") {
    if (words.size() != 2) return "wrong number of arguments";
    if (equals_nocase(words[0], "no") && equals_nocase(words[1], "one")) {
      values_[name] = "";
      return "";
    }
    int64_t port = 0;
    if (!string_to_int64(words[1], &port) || port < 0 || port > 65535) return "Invalid master port";
    values_[name] = words[0] + " " + words[1];
    return "";
  }
  if (name == "bind") {
    if (words.empty() || words.size() > 16) return "Too many bind addresses specified.";
    values_[name] = join(words);
    return "";
  }
  if (name == "dir") {
    if (words.size() != 1 && joined.empty()) return "wrong number of arguments";
    if (chdir(joined.c_str()) != 0) return std::strerror(errno);
    char cwd[4096];
    values_[name] = getcwd(cwd, sizeof(cwd)) != nullptr ? cwd : joined;
    return "";
  }
  if (name == "client-output-buffer-limit") {
    if (words.empty() || words.size() % 4 != 0) return "Wrong number of arguments in buffer limit configuration.";
    std::map<std::string, std::vector<int64_t>> limits;
    std::vector<std::string> current = split_spaces(values_[name]);
    for (size_t i = 0; i + 3 < current.size(); i += 4) {
      limits[current[i]] = {std::stoll(current[i + 1]), std::stoll(current[i + 2]), std::stoll(current[i + 3])};
    }
    for (size_t i = 0; i < words.size(); i += 4) {
      std::string cls = lowercase(words[i]);
      if (cls == "replica") cls = "slave";
      if (cls != "normal" && cls != "slave" && cls != "pubsub") return "Invalid client class specified in buffer limit configuration.";
      int64_t hard = 0, soft = 0, seconds = 0;
      if (!parse_memory(words[i + 1], &hard) || !parse_memory(words[i + 2], &soft) ||
          !string_to_int64(words[i + 3], &seconds) || hard < 0 || soft < 0 || seconds < 0) {
        return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
      }
      limits[cls] = {hard, soft, seconds};
    }
    std::string canonical;
    for (const char* cls : {"normal", "slave", "pubsub"}) {
      const auto& l = limits[cls];
      if (l.size() != 3) continue;
      if (!canonical.empty()) canonical += " ";
      canonical += std::string(cls) + " " + std::to_string(l[0]) + " " + std::to_string(l[1]) + " " + std::to_string(l[2]);
    }
    values_[name] = canonical;
    return "";
  }
  if (name == "list-max-listpack-size") {
    int64_t number = 0;
    if (words.size() != 1 || !string_to_int64(words[0], &number)) return "argument couldn't be parsed into an integer";
    if (number < -5 || number > INT32_MAX) return range_error(-5, INT32_MAX);
    values_[name] = std::to_string(number);
    return "";
  }
  if (name == "maxmemory-clients") {
    int64_t bytes = 0;
    if (words.size() != 1) return "wrong number of arguments";
    bool percent = !words[0].empty() && words[0].back() == '%';
    if (percent) {  // Redis's percent form: an integer 0..100 of maxmemory
      int64_t value = 0;
      if (!string_to_int64(std::string_view(words[0]).substr(0, words[0].size() - 1), &value) || value < 0) {
        return "argument must be a memory or percent value";
      }
      if (value > 100) return "percentage argument must be less or equal to 100";
    } else if (!parse_memory(words[0], &bytes)) {
      return "argument must be a memory or percent value";
    }
    values_[name] = words[0];
    return "";
  }
  if (name == "notify-keyspace-events") {
    for (char c : joined) {
      if (std::strchr("KEg$lshzxetmdAn", c) == nullptr) return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
    }
    values_[name] = joined;
    return "";
  }
  // Other multi-word parameters are stored as given.
  values_[name] = joined;
  return "";
}

std::string Config::get(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = values_.find(name);
  return it == values_.end() ? std::string() : it->second;
}

int64_t Config::get_int(std::string_view name) const {
  int64_t number = 0;
  string_to_int64(get(name), &number);
  return number;
}

bool Config::get_bool(std::string_view name) const { return get(name) == "yes"; }

std::string Config::load_text(std::string_view text) {
  int line_number = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    line_number++;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') {
      if (end == text.size()) break;
      continue;
    }
    std::vector<std::string> args;
    if (!RequestParser::split_args(line, &args)) {
      return fatal_report(line_number, line, "Unbalanced quotes in configuration line");
    }
    if (args.empty()) continue;
    if (equals_nocase(args[0], "user") && args.size() >= 2) {  // an ACL user (server/acl.h)
      std::lock_guard<std::mutex> lock(mutex_);
      std::string error = acl_check_user_line(args, user_lines_);
      if (!error.empty()) return fatal_report(line_number, line, error);
      user_lines_.push_back(std::move(args));
      if (end == text.size()) break;
      continue;
    }
    const ParamSpec* spec = find(args[0]);
    if (spec == nullptr) return fatal_report(line_number, line, "Bad directive or wrong number of arguments");
    std::vector<std::string> values(args.begin() + 1, args.end());
    std::string error = set(*spec, values, true);
    if (!error.empty()) {
      if (error == "wrong number of arguments") error = "Bad directive or wrong number of arguments";
      return fatal_report(line_number, line, error);
    }
    if (end == text.size()) break;
  }
  return "";
}

std::string Config::load_options(const std::vector<std::vector<std::string>>& options) {
  int line_number = 0;
  for (const std::vector<std::string>& option : options) {
    line_number++;
    std::string line = option.empty() ? "" : option[0];
    for (size_t i = 1; i < option.size(); i++) line += " " + quote_arg(option[i]);
    const ParamSpec* spec = option.empty() ? nullptr : find(option[0]);
    if (spec == nullptr) return fatal_report(line_number, line, "Bad directive or wrong number of arguments");
    // `--replicaof "host port"` and `--replicaof host port` mean the same.
    std::vector<std::string> values;
    for (size_t i = 1; i < option.size(); i++) {
      std::vector<std::string> words = split_spaces(option[i]);
      if (is_multi_arg(*spec) && words.size() > 1) {
        values.insert(values.end(), words.begin(), words.end());
      } else {
        values.push_back(option[i]);
      }
    }
    std::string error = set(*spec, values, true);
    if (!error.empty()) {
      if (error == "wrong number of arguments") error = "Bad directive or wrong number of arguments";
      return fatal_report(line_number, line, error);
    }
  }
  return "";
}

std::vector<std::vector<std::string>> Config::user_lines() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return user_lines_;
}

std::vector<std::pair<std::string, std::string>> Config::matching(std::string_view pattern) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<std::string, std::string>> out;
  // A plain name (no glob characters) is answered under the name as the client spelled it.
  if (pattern.find_first_of("*?[\\") == std::string_view::npos) {
    if (const ParamSpec* spec = find(pattern)) out.emplace_back(std::string(pattern), values_.at(spec->name));
    return out;
  }
  // Redis's hidden configs (test-suite knobs) answer only when asked by name.
  constexpr std::string_view kHidden[] = {"key-load-delay", "rdb-key-save-delay",
                                          "loading-process-events-interval-bytes"};
  for (const ParamSpec& spec : config_params()) {
    if (std::find(std::begin(kHidden), std::end(kHidden), spec.name) != std::end(kHidden)) continue;
    const std::string& value = values_.at(spec.name);
    if (glob_match(pattern, spec.name, true)) out.emplace_back(spec.name, value);
    if (spec.alias[0] != '\0' && glob_match(pattern, spec.alias, true)) out.emplace_back(spec.alias, value);
  }
  return out;
}

}  // namespace rd
