"""Start and stop redis-compatible servers for tests (standard library only).

    from servers import Server

    with Server("/usr/bin/redis-server") as srv:      # starts, waits for PING
        conn = srv.connect()                           # a resp.RespConnection
        ...
    # leaving the block sends SHUTDOWN NOSAVE, SIGKILLs after 2 s if needed,
    # and removes the temp dir

Each server runs as
    <binary> --port N --bind 127.0.0.1 --save '' --appendonly no --dir <tmpdir> [extra args]
in a fresh temporary directory, with stdout/stderr going to <tmpdir>/server.log.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp  # noqa: E402  (sibling module)


class ServerError(Exception):
    """The server could not be started (message includes its log)."""


def free_port(host="127.0.0.1"):
    """Return a TCP port that is currently free on `host`.

    There is an unavoidable race between closing our probe socket and the
    server binding the port; Server.start() retries with a new port if the
    server fails to come up.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _tail(path, max_bytes=4000):
    """The last max_bytes of a file, decoded leniently ('' if missing)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


class Server:
    """One server process on a free port in its own temp dir."""

    def __init__(self, binary, extra_args=(), name=None, host="127.0.0.1",
                 start_timeout=5.0, keep_dir=False):
        self.binary = binary
        self.extra_args = list(extra_args)
        self.name = name or os.path.basename(binary)
        self.host = host
        self.start_timeout = start_timeout
        self.keep_dir = keep_dir
        self.port = None
        self.dir = None
        self.proc = None
        self.log_path = None
        self._log_file = None

    # -- context manager ---------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- lifecycle ---------------------------------------------------------
    def start(self, attempts=3):
        """Start the server and wait until it answers PING.

        Retries on a fresh port if the process exits early (most likely a
        port race); raises ServerError with the log tail otherwise.
        """
        if not (os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)):
            raise ServerError("%s: binary %r not found or not executable"
                              % (self.name, self.binary))
        last_error = None
        for _ in range(attempts):
            try:
                self._start_once()
                return self
            except ServerError as exc:
                last_error = exc
                self._cleanup_process()
                log = _tail(self.log_path) if self.log_path else ""
                self._cleanup_dir(force=True)
                # Only retry when the failure looks like a port clash.
                if "in use" not in log.lower():
                    break
        raise last_error

    def _start_once(self):
        self.port = free_port(self.host)
        self.dir = tempfile.mkdtemp(prefix="difftest-%s-" % self.name.replace("/", "_"))
        self.log_path = os.path.join(self.dir, "server.log")
        self._log_file = open(self.log_path, "wb")
        argv = [self.binary,
                "--port", str(self.port),
                "--bind", self.host,
                "--save", "",
                "--appendonly", "no",
                "--dir", self.dir] + self.extra_args
        self.proc = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while True:
            code = self.proc.poll()
            if code is not None:
                raise ServerError(
                    "%s exited with code %s during startup (port %d)\n"
                    "command: %s\n--- log (%s) ---\n%s"
                    % (self.name, code, self.port, " ".join(repr(a) for a in argv),
                       self.log_path, _tail(self.log_path)))
            if self._ping():
                return
            if time.monotonic() > deadline:
                raise ServerError(
                    "%s did not answer PING within %.1fs (port %d)\n"
                    "command: %s\n--- log (%s) ---\n%s"
                    % (self.name, self.start_timeout, self.port,
                       " ".join(repr(a) for a in argv), self.log_path,
                       _tail(self.log_path)))
            time.sleep(0.05)

    def _ping(self):
        """True if the server answers PING with +PONG right now."""
        try:
            with resp.RespConnection(self.host, self.port, timeout=1.0) as c:
                return c.call("PING") == b"+PONG\r\n"
        except (OSError, resp.ConnectionClosed, resp.ReplyTimeout, resp.ProtocolError):
            return False

    def alive(self):
        """True while the process is running."""
        return self.proc is not None and self.proc.poll() is None

    def exit_code(self):
        return None if self.proc is None else self.proc.poll()

    def log_tail(self, max_bytes=4000):
        return _tail(self.log_path, max_bytes) if self.log_path else ""

    def connect(self, timeout=5.0):
        """Open a new raw RESP connection to the server."""
        return resp.RespConnection(self.host, self.port, timeout=timeout)

    def stop(self):
        """SHUTDOWN NOSAVE, then SIGKILL if still alive after 2 s; remove dir."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                with resp.RespConnection(self.host, self.port, timeout=1.0) as c:
                    c.send_command("SHUTDOWN", "NOSAVE")
                    try:
                        c.read_reply(timeout=2.0)   # normally: connection closes
                    except (resp.ConnectionClosed, resp.ReplyTimeout, resp.ProtocolError):
                        pass
            except OSError:
                pass
            try:
                self.proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                pass
        self._cleanup_process()
        self._cleanup_dir()

    def _cleanup_process(self):
        """SIGKILL the process if it is still running and reap it."""
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.kill(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(timeout=5.0)
                except subprocess.TimeoutExpired:
                    pass
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _cleanup_dir(self, force=False):
        if self.dir and (force or not self.keep_dir):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def restart(self):
        """Stop (if running) and start again on a new port."""
        self.stop()
        return self.start()

    def __repr__(self):
        return "<Server %s port=%s pid=%s>" % (
            self.name, self.port, self.proc.pid if self.proc else None)
