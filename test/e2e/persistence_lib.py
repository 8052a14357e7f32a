"""Helpers for the persistence end-to-end tests (standard library only).

Unlike test/lib/servers.Server, a Node keeps its directory across restarts (that is the point
of persistence) and can be stopped in every way a server dies: SHUTDOWN [NOSAVE|SAVE],
SIGTERM, kill -9.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import resp  # noqa: E402
import servers  # noqa: E402

REAL_REDIS = "/usr/bin/redis-server"
CHECK_RDB = "/usr/bin/redis-check-rdb"
CHECK_AOF = "/usr/bin/redis-check-aof"


def binary_from_argv():
    path = sys.argv[1] if len(sys.argv) > 1 else "./redis-server"
    return os.path.abspath(path)


class Node:
    """One server process with a persistent directory."""

    def __init__(self, binary, directory, args=(), name=None):
        self.binary = binary
        self.dir = directory
        self.args = list(args)
        self.name = name or os.path.basename(binary)
        self.proc = None
        self.port = None
        self.conn = None
        self.log_path = os.path.join(directory, "server.log")

    def start(self, expect_failure=False, timeout=20.0, extra=()):
        self.port = servers.free_port()
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                "--enable-debug-command", "yes"] + self.args + list(extra)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if expect_failure:
                    return self.proc.returncode
                raise AssertionError("%s exited with %s at startup:\n%s" % (self.name, self.proc.returncode, self.log()))
            try:
                self.conn = resp.RespConnection("127.0.0.1", self.port, timeout=60)
                if self.conn.call("PING") == b"+PONG\r\n":
                    if expect_failure:
                        raise AssertionError("%s started but was expected to refuse:\n%s" % (self.name, self.log()))
                    return self
            except (OSError, resp.ConnectionClosed, resp.ProtocolError, resp.ReplyTimeout):
                self.conn = None
            time.sleep(0.05)
        raise AssertionError("%s did not start in time:\n%s" % (self.name, self.log()))

    def call(self, *args):
        value = resp.decode(self.conn.call(*args))
        if isinstance(value, resp.RespError):
            raise AssertionError("%s: %r -> %s" % (self.name, args, value))
        return value

    def call_raw(self, *args):
        return resp.decode(self.conn.call(*args))

    def connect(self):
        return resp.RespConnection("127.0.0.1", self.port, timeout=30)

    def digest(self):
        return self.call("DEBUG", "DIGEST")

    def info(self, section="persistence"):
        text = self.call("INFO", section).decode()
        fields = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                key, value = line.split(":", 1)
                fields[key] = value
        return fields

    def wait_info(self, field, value, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.info().get(field) == value:
                return
            time.sleep(0.05)
        raise AssertionError("%s: %s never became %s (%r)" % (self.name, field, value, self.info()))

    def shutdown(self, *options):
        try:
            self.conn.send_command("SHUTDOWN", *options)
            self.conn.read_reply(timeout=30)
        except (resp.ConnectionClosed, OSError, resp.ReplyTimeout, resp.ProtocolError):
            pass
        return self.wait_exit()

    def signal(self, sig):
        os.kill(self.proc.pid, sig)
        return self.wait_exit()

    def kill9(self):
        return self.signal(signal.SIGKILL)

    def wait_exit(self, timeout=30.0):
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.conn is not None:
                self.conn.close()
                self.conn = None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""


class Workspace:
    """Temp directories and the nodes started in them; everything is removed at the end."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="rd-persistence-")
        self.nodes = []

    def path(self, name):
        p = os.path.join(self.root, name)
        os.makedirs(p, exist_ok=True)
        return p

    def node(self, binary, name, args=()):
        n = Node(binary, self.path(name), args, name)
        self.nodes.append(n)
        return n

    def close(self):
        for n in self.nodes:
            n.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def run_tests(tests):
    """Runs each test(binary, workspace); prints PASS/FAIL; exits 1 on any failure."""
    binary = binary_from_argv()
    failed = []
    only = os.environ.get("PERSISTENCE_TEST")
    for test in tests:
        if only and only not in test.__name__:
            continue
        ws = Workspace()
        started = time.monotonic()
        try:
            test(binary, ws)
            print("PASS %-45s %.1fs" % (test.__name__, time.monotonic() - started), flush=True)
        except Exception as exc:  # noqa: BLE001 (report every failure and go on)
            failed.append(test.__name__)
            print("FAIL %s: %s" % (test.__name__, exc), flush=True)
            import traceback
            traceback.print_exc()
        finally:
            ws.close()
    if failed:
        print("failed: %s" % ", ".join(failed))
        sys.exit(1)


def fill_every_encoding(node):
    """Data in every encoding Redis 7.0 writes (run on real Redis): listpacks, intsets,
    quicklists with plain and LZF-compressed nodes, hashtables, skiplists, integer and
    LZF-compressed strings, expiries, several databases."""
    c = node.call
    c("CONFIG", "SET", "list-compress-depth", "1")
    c("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000")
    c("SET", "int", "12345")
    c("SET", "neg", "-7")
    c("SET", "bigint", "9223372036854775807")
    c("SET", "str", "hello")
    c("SET", "compressible", "abc" * 500)
    c("SET", "binary", bytes(range(256)) * 3)
    c("SET", "empty", "")
    c("RPUSH", "list:small", "a", "b", "1", "-2", "300000")
    c("RPUSH", "list:big", *["element-%d" % i for i in range(3000)])
    c("RPUSH", "list:plain", "x" * 2000, "small", "y" * 5000)
    c("RPUSH", "list:medium", "m" * 300, "n" * 900, "7", "-70000", "1099511627776")  # multi-byte back-lengths
    c("SADD", "set:intset", *range(100))
    c("SADD", "set:strings", "a", "b", "c")
    c("SADD", "set:big", *["m%d" % i for i in range(1000)])
    c("SADD", "set:bigint", *range(1000))
    c("ZADD", "zset:small", "1", "a", "2.5", "b", "-inf", "c", "inf", "d", "0.1", "e")
    args = []
    for i in range(300):
        args += [str(i * 1.5), "member-%d" % i]
    c("ZADD", "zset:big", *args)
    c("HSET", "hash:small", "f1", "v1", "f2", "2", "f3", "-3")
    args = []
    for i in range(1000):
        args += ["field-%d" % i, "value-%d" % i]
    c("HSET", "hash:big", *args)
    c("HSET", "hash:longvalue", "f", "v" * 200)
    c("SET", "volatile", "soon", "PX", "3600000")
    c("HSET", "volatile:hash", "f", "v")
    c("EXPIRE", "volatile:hash", "100000")
    c("DEBUG", "POPULATE", "2000", "pop", "20")
    c("SELECT", "3")
    c("SET", "in-db-3", "x")
    c("RPUSH", "list-db-3", "a")
    c("SELECT", "15")
    c("SET", "in-db-15", "y")
    c("SELECT", "0")
