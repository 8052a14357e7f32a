// The AOF writer and the file lifecycle (see aof.h). Loading lives in aof_load.cc.
#include "server/aof.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "server/persistence_files.h"
#include "server/server.h"

namespace rd {
namespace {

// The stream offset just past the last command this thread appended: what its client's
// replies depend on (sync_before_reply).
thread_local uint64_t t_last_write_offset = 0;

void append_number(std::string* out, char prefix, size_t n) {
  char buf[24];
  buf[0] = prefix;
  auto end = std::to_chars(buf + 1, buf + sizeof(buf), n).ptr;
  out->append(buf, static_cast<size_t>(end - buf));
  out->append("\r\n", 2);
}

void append_command(std::string* out, const std::string_view* args, size_t count) {
  append_number(out, '*', count);
  for (size_t i = 0; i < count; i++) {
    append_number(out, '$', args[i].size());
    out->append(args[i]);
    out->append("\r\n", 2);
  }
}

}  // namespace

Aof::Aof(Server& server) : server_(server) {}
Aof::~Aof() = default;

std::string Aof::dir_path() const { return join_path(server_.config.get("dir"), dirname_); }

// ---- writing ----

void Aof::on_command(int db, const std::string_view* args, size_t count) {
  std::lock_guard<std::mutex> lock(buffer_mutex_);
  const size_t before = buffer_.size();
  if (db != selected_db_) {
    std::string number = std::to_string(db);
    std::string_view select[2] = {"SELECT", number};
    append_command(&buffer_, select, 2);
    selected_db_ = db;
  }
  append_command(&buffer_, args, count);
  appended_ += buffer_.size() - before;
  appended_atomic_.store(appended_, std::memory_order_release);
  t_last_write_offset = appended_;
}

bool Aof::write_buffer_locked() {
  std::string data;
  uint64_t end = 0;
  {
    std::lock_guard<std::mutex> lock(buffer_mutex_);
    data.swap(buffer_);
    end = appended_;
  }
  if (data.empty() || file_ == nullptr) return true;
  FdSink sink(file_->fd.get());
  if (!sink.write(data.data(), data.size())) {
    // Undo a partial write so the file never ends in half a command, and keep the data.
    if (::ftruncate(file_->fd.get(), file_->size) != 0) {
      server_.log('#', "Could not remove a short write from the AOF: " + std::string(std::strerror(errno)));
    }
    if (last_write_ok_.exchange(false)) {
      server_.log('#', "Error writing to the AOF file: " + std::string(std::strerror(sink.error())));
    }
    std::lock_guard<std::mutex> lock(buffer_mutex_);
    buffer_.insert(0, data);
    return false;
  }
  if (!last_write_ok_.exchange(true)) server_.log('*', "AOF write error looks solved, Redis can write again.");
  file_->size += static_cast<int64_t>(data.size());
  written_.store(end, std::memory_order_release);
  return true;
}

void Aof::sync_to(uint64_t target, bool fsync) {
  // Group commit: whoever gets the mutex first writes (and syncs) everybody's commands;
  // the threads queued behind it usually find their target already reached.
  std::lock_guard<std::mutex> lock(io_mutex_);
  if ((fsync ? synced_.load() : written_.load()) >= target) return;
  if (!write_buffer_locked() || !fsync || file_ == nullptr) return;
  if (::fdatasync(file_->fd.get()) != 0) {
    server_.log('#', "Can't fsync the AOF: " + std::string(std::strerror(errno)));
    return;
  }
  synced_.store(written_.load());
}

void Aof::sync_before_reply(Client& client) {
  if (!enabled()) return;
  uint64_t target = t_last_write_offset;
  // A blocked command was served (and propagated) by another client's thread: its reply
  // depends on whatever was appended before now.
  const CommandSpec* last = client.last_command.load(std::memory_order_relaxed);
  if (last != nullptr && last->has(kCmdBlocking)) target = appended_atomic_.load(std::memory_order_acquire);
  if (policy_.load(std::memory_order_relaxed) == FsyncPolicy::kAlways) {
    if (synced_.load(std::memory_order_acquire) < target) sync_to(target, true);
  } else if (written_.load(std::memory_order_acquire) < target) {
    sync_to(target, false);
  }
}

void Aof::cron() {
  if (!enabled()) return;
  std::shared_ptr<File> file;
  uint64_t upto = 0;
  {
    std::lock_guard<std::mutex> lock(io_mutex_);
    write_buffer_locked();
    file = file_;
    upto = written_.load();
  }
  const int64_t now = unix_time_ms();
  if (file == nullptr || policy_.load() != FsyncPolicy::kEverySec || now - last_fsync_ms_ < 1000) return;
  last_fsync_ms_ = now;
  if (synced_.load() >= upto) return;
  // Outside io_mutex_ (writers keep going); `file` stays open even if a rewrite swaps it.
  if (::fdatasync(file->fd.get()) == 0) {
    uint64_t current = synced_.load();
    while (current < upto && !synced_.compare_exchange_weak(current, upto)) {
    }
  }
}

void Aof::flush_and_sync() {
  std::lock_guard<std::mutex> lock(io_mutex_);
  write_buffer_locked();
  if (file_ != nullptr && ::fdatasync(file_->fd.get()) == 0) synced_.store(written_.load());
}

size_t Aof::buffer_length() {
  std::lock_guard<std::mutex> lock(buffer_mutex_);
  return buffer_.size();
}

// ---- files ----

std::string Aof::open_incr(const std::string& path, bool truncate) {
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  UniqueFd fd(::open(path.c_str(), flags, 0644));
  if (!fd.valid()) return "Can't open the append-only file " + path + ": " + std::strerror(errno);
  auto file = std::make_shared<File>();
  file->size = ::lseek(fd.get(), 0, SEEK_END);
  file->fd = std::move(fd);
  std::lock_guard<std::mutex> lock(io_mutex_);
  file_ = std::move(file);
  return "";
}

std::string Aof::persist_manifest() {
  const std::string text = manifest_.format();
  return write_file_atomically(join_path(dir_, "temp-" + aof_manifest_name(filename_)),
                               join_path(dir_, aof_manifest_name(filename_)),
                               [&](RdbSink& sink) { return sink.write(text.data(), text.size()); });
}

void Aof::delete_history() {
  if (manifest_.history.empty()) return;
  for (const AofFileInfo& old : manifest_.history) ::unlink(join_path(dir_, old.name).c_str());
  manifest_.history.clear();
  persist_manifest();
}

void Aof::read_config() {
  filename_ = server_.config.get("appendfilename");
  dirname_ = server_.config.get("appenddirname");
  dir_ = join_path(server_.config.get("dir"), dirname_);
  std::string policy = server_.config.get("appendfsync");
  set_policy(policy == "always" ? FsyncPolicy::kAlways : policy == "no" ? FsyncPolicy::kNo : FsyncPolicy::kEverySec);
}

std::string Aof::make_dir() {
  if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) {
    return "Can't open or create append-only dir " + dirname_ + ": " + std::strerror(errno);
  }
  return "";
}

std::string Aof::write_base(int64_t seq) {
  RdbSaveOptions options;
  options.now_ms = unix_time_ms();
  options.aof_base = true;
  options.compress = server_.config.get_bool("rdbcompression");
  options.checksum = server_.config.get_bool("rdbchecksum");
  options.skip_expired = false;
  std::string name = aof_base_name(filename_, seq);
  std::string error = write_file_atomically(join_path(dir_, "temp-" + name), join_path(dir_, name), [&](RdbSink& sink) {
    return rdb_save(server_.keyspace, options, sink);
  });
  if (!error.empty()) return error;
  manifest_.base = AofFileInfo{name, seq, 'b'};
  manifest_.base_seq = seq;
  base_size_ = file_size(join_path(dir_, name));
  server_.log('*', "Creating AOF base file " + name + " on server start");
  return "";
}

// ---- lifecycle ----

void Aof::start_consuming(State state) {
  selected_db_ = -1;
  server_.write_stream.add_consumer(this);
  state_.store(state, std::memory_order_release);
}

std::string Aof::start_at_startup() {
  read_config();
  if (std::string error = make_dir(); !error.empty()) return error;
  if (!manifest_.base && manifest_.incrs.empty()) {
    if (std::string error = write_base(1); !error.empty()) return error;
  }
  int64_t existing_incr_bytes = 0;
  for (const AofFileInfo& incr : manifest_.incrs) existing_incr_bytes += std::max<int64_t>(0, file_size(join_path(dir_, incr.name)));
  if (manifest_.incrs.empty()) {
    manifest_.incr_seq++;
    manifest_.incrs.push_back(AofFileInfo{aof_incr_name(filename_, manifest_.incr_seq), manifest_.incr_seq, 'i'});
    if (std::string error = open_incr(join_path(dir_, manifest_.incrs.back().name), true); !error.empty()) return error;
  } else if (std::string error = open_incr(join_path(dir_, manifest_.incrs.back().name), false); !error.empty()) {
    return error;
  }
  if (std::string error = persist_manifest(); !error.empty()) return error;
  delete_history();
  if (manifest_.base) base_size_ = std::max<int64_t>(0, file_size(join_path(dir_, manifest_.base->name)));
  incr_start_ = static_cast<int64_t>(written_.load()) - existing_incr_bytes;
  start_consuming(State::kOn);
  return "";
}

void Aof::read_manifest_from_disk() {
  // Keeps the sequence numbers (and the files to retire) of what is already there.
  manifest_ = AofManifest();
  std::string text;
  if (read_whole_file(join_path(dir_, aof_manifest_name(filename_)), &text)) {
    AofManifest existing;
    if (AofManifest::parse(text, &existing).empty()) manifest_ = existing;
  }
}

std::string Aof::start_waiting_for_rewrite() {
  read_config();
  if (std::string error = make_dir(); !error.empty()) return error;
  read_manifest_from_disk();
  temp_incr_ = join_path(dir_, "temp-" + filename_ + ".incr");
  if (std::string error = open_incr(temp_incr_, true); !error.empty()) return error;
  pending_incr_start_ = static_cast<int64_t>(written_.load());
  start_consuming(State::kWaitRewrite);
  return "";
}

void Aof::stop() {
  if (!enabled()) return;
  server_.write_stream.remove_consumer(this);
  flush_and_sync();
  {
    std::lock_guard<std::mutex> lock(io_mutex_);
    file_.reset();
  }
  if (state_.load() == State::kWaitRewrite) ::unlink(temp_incr_.c_str());
  state_.store(State::kOff, std::memory_order_release);
  manifest_ = AofManifest();
}

// ---- rewrite ----

std::string Aof::prepare_rewrite(std::string* temp_base) {
  {
    std::lock_guard<std::mutex> lock(io_mutex_);
    write_buffer_locked();
    if (file_ != nullptr && ::fdatasync(file_->fd.get()) == 0) synced_.store(written_.load());
  }
  if (state_.load() == State::kOff) {  // BGREWRITEAOF with appendonly no: only a new base
    read_config();
    if (std::string error = make_dir(); !error.empty()) return error;
    read_manifest_from_disk();
  } else if (state_.load() == State::kOn) {
    const int64_t seq = manifest_.incr_seq + 1;
    const std::string name = aof_incr_name(filename_, seq);
    if (std::string error = open_incr(join_path(dir_, name), true); !error.empty()) return error;
    manifest_.incr_seq = seq;
    manifest_.incrs.push_back(AofFileInfo{name, seq, 'i'});
    if (std::string error = persist_manifest(); !error.empty()) return error;
    selected_db_ = -1;
    pending_incr_start_ = static_cast<int64_t>(written_.load());
  }
  *temp_base = join_path(dir_, "temp-rewriteaof-bg-" + std::to_string(getpid()) + ".aof");
  return "";
}

std::string Aof::finish_rewrite(bool child_ok, const std::string& temp_base) {
  if (!child_ok) {
    ::unlink(temp_base.c_str());
    return "Background AOF rewrite failed";
  }
  const int64_t base_seq = manifest_.base_seq + 1;
  const std::string base_name = aof_base_name(filename_, base_seq);
  if (::rename(temp_base.c_str(), join_path(dir_, base_name).c_str()) != 0) {
    ::unlink(temp_base.c_str());
    return "Error trying to rename the temporary AOF base file: " + std::string(std::strerror(errno));
  }
  if (manifest_.base) manifest_.history.push_back(AofFileInfo{manifest_.base->name, manifest_.base->seq, 'h'});
  if (state_.load() == State::kWaitRewrite) {
    for (const AofFileInfo& old : manifest_.incrs) manifest_.history.push_back(AofFileInfo{old.name, old.seq, 'h'});
    manifest_.incrs.clear();
    const int64_t seq = manifest_.incr_seq + 1;
    const std::string name = aof_incr_name(filename_, seq);
    if (::rename(temp_incr_.c_str(), join_path(dir_, name).c_str()) != 0) {
      return "Error trying to rename the temporary AOF incr file: " + std::string(std::strerror(errno));
    }
    manifest_.incr_seq = seq;
    manifest_.incrs.push_back(AofFileInfo{name, seq, 'i'});
  } else if (state_.load() == State::kOff) {
    for (const AofFileInfo& old : manifest_.incrs) manifest_.history.push_back(AofFileInfo{old.name, old.seq, 'h'});
    manifest_.incrs.clear();
  } else {
    // Every incr before the one opened at the fork is covered by the new base.
    while (manifest_.incrs.size() > 1) {
      const AofFileInfo& old = manifest_.incrs.front();
      manifest_.history.push_back(AofFileInfo{old.name, old.seq, 'h'});
      manifest_.incrs.erase(manifest_.incrs.begin());
    }
  }
  manifest_.base = AofFileInfo{base_name, base_seq, 'b'};
  manifest_.base_seq = base_seq;
  fsync_dir(dir_);
  if (std::string error = persist_manifest(); !error.empty()) return error;
  if (state_.load() == State::kWaitRewrite) state_.store(State::kOn, std::memory_order_release);
  delete_history();
  base_size_ = std::max<int64_t>(0, file_size(join_path(dir_, base_name)));
  incr_start_ = pending_incr_start_;
  return "";
}

}  // namespace rd
