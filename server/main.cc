// Entry point: `redis-server [/path/to/redis.conf] [--directive value ...]`, as Redis.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <thread>

#include "server/config.h"
#include "server/server.h"
#include "server/version.h"
#include "storage/hashing.h"

namespace {

constexpr const char* kUsage =
    "Usage: ./redis-server [/path/to/redis.conf] [options] [-]\n"
    "       ./redis-server - (read config from stdin)\n"
    "       ./redis-server -v or --version\n"
    "       ./redis-server -h or --help\n\n"
    "Examples:\n"
    "       ./redis-server (run the server with default conf)\n"
    "       echo 'maxmemory 128mb' | ./redis-server -\n"
    "       ./redis-server /etc/redis/6379.conf\n"
    "       ./redis-server --port 7777\n"
    "       ./redis-server --port 7777 --replicaof 127.0.0.1 8888\n"
    "       ./redis-server /etc/myredis.conf --loglevel verbose -\n";

std::string read_file(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  *ok = static_cast<bool>(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Parses the command line with CLI11: one option per Redis directive (and alias), each taking
// any number of values, plus the optional config file path. Like Redis, every occurrence of an
// option is one config line, applied in order after the file (`--port 1 --port 2` keeps 2,
// repeated `--save` lines add up), and a trailing `-` reads more config from stdin.
int load_configuration(int argc, char** argv, rd::Config& config, std::string* config_file) {
  bool read_stdin = argc > 1 && std::string_view(argv[argc - 1]) == "-";
  if (read_stdin) argc--;
  CLI::App app{"Redis-compatible server"};
  app.set_help_flag();  // Redis's own -h/--help text below
  app.allow_extras(false);
  bool want_version = false;
  bool want_help = false;
  app.add_flag("-v,--version", want_version);
  app.add_flag("-h,--help", want_help);
  std::vector<std::string> positional;
  app.add_option("config", positional)->expected(0, -1);
  std::vector<std::vector<std::string>> options;  // {name, values...} per occurrence
  for (const rd::ParamSpec& spec : rd::config_params()) {
    for (const char* name : {spec.name, spec.alias}) {
      if (name[0] == '\0') continue;
      std::string directive = name;
      app.add_option_function<std::vector<std::string>>(
             "--" + directive,
             [&options, directive](const std::vector<std::string>& values) {
               std::vector<std::string> option = {directive};
               option.insert(option.end(), values.begin(), values.end());
               if (values.empty()) option.emplace_back();  // `--save ""` or a bare `--save`
               options.push_back(std::move(option));
             })
          ->expected(0, -1)
          ->allow_extra_args()
          ->trigger_on_parse();
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    std::cerr << "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
              << "Reading the configuration file, at line 2\n>>> '" << error.what() << "'\n"
              << "Bad directive or wrong number of arguments\n";
    return 1;
  }
  if (want_version) {
    std::printf("Redis server v=%s sha=00000000:0 malloc=libc bits=64 build=%s\n", rd::kRedisVersion,
                rd::kServerVersion);
    std::exit(0);
  }
  if (want_help) {
    std::fputs(kUsage, stderr);
    std::exit(1);  // as Redis does
  }

  std::string text;
  for (const std::string& path : positional) {
    if (path == "-") {
      read_stdin = true;
      continue;
    }
    bool ok = false;
    std::string content = read_file(path, &ok);
    if (!ok) {
      std::cerr << "Fatal error, can't open config file '" << path << "': No such file or directory\n";
      return 1;
    }
    if (config_file->empty()) {
      char resolved[PATH_MAX];
      *config_file = realpath(path.c_str(), resolved) != nullptr ? resolved : path;
    }
    text += content + "\n";
  }
  if (read_stdin) text += std::string(std::istreambuf_iterator<char>(std::cin), {}) + "\n";
  std::string error = config.load_text(text);
  if (error.empty()) error = config.load_options(options);
  if (!error.empty()) {
    std::cerr << error;
    return 1;
  }
  return 0;
}

void raise_open_file_limit(int64_t maxclients) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlim_t wanted = static_cast<rlim_t>(maxclients) * 2 + 64;  // a socket and an eventfd each
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = std::min(wanted, limit.rlim_max);
  setrlimit(RLIMIT_NOFILE, &limit);
}

void daemonize() {
  if (fork() != 0) std::exit(0);
  setsid();
  int null_fd = open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    if (null_fd > STDERR_FILENO) close(null_fd);
  }
}

}  // namespace

int main(int argc, char** argv) {
  rd::Config config;
  std::string config_file;
  if (int rc = load_configuration(argc, argv, config, &config_file); rc != 0) return rc;

  if (config.get_bool("daemonize")) daemonize();
  std::string pidfile = config.get("pidfile");
  if (pidfile.empty() && config.get_bool("daemonize")) pidfile = "/var/run/redis.pid";
  if (!pidfile.empty()) std::ofstream(pidfile) << getpid() << "\n";

  // Every thread inherits this mask: only the signal thread below receives these signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  rd::hash_seed() = std::random_device{}() * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(getpid());
  raise_open_file_limit(config.get_int("maxclients"));

  rd::Server server(config);
  server.config_file = config_file;
  server.log('#', "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo");
  server.log('#', std::string("Redis version=") + rd::kRedisVersion + ", bits=64, commit=00000000, modified=0, pid=" +
                      std::to_string(getpid()) + ", just started");
  server.log('*', "Running mode=standalone, port=" + config.get("port") + ".");

  std::thread signal_thread([&server, signals] {
    while (!server.shutting_down()) {
      timespec wait{0, 100 * 1000 * 1000};
      int sig = sigtimedwait(&signals, nullptr, &wait);
      if (sig == SIGINT || sig == SIGTERM) {
        server.log('#', std::string("Received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                            " scheduling shutdown...");
        server.request_shutdown(0);
      }
    }
  });
  int exit_code = server.run();
  server.request_shutdown(exit_code);
  signal_thread.join();
  if (!pidfile.empty()) unlink(pidfile.c_str());
  return exit_code;
}
