"""Helpers for the replication end-to-end tests (standard library only).

    python3 test/e2e/replication_test.py ./redis-server   (REPLICATION_TEST=name runs one)

A Node is a server (ours or real Redis 7.0.15) on a free port in its own temp dir, with a
persistent connection for commands. Real Redis gets DEBUG enabled (for DEBUG DIGEST) and no
diskless-sync delay, so tests stay fast.
"""

import os
import random
import socket
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import resp  # noqa: E402
import servers  # noqa: E402

REAL_REDIS = "/usr/bin/redis-server"
REAL_ARGS = ["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]


def binary_from_argv():
    path = sys.argv[1] if len(sys.argv) > 1 else "./redis-server"
    return os.path.abspath(path)


def wait_until(predicate, timeout=10.0, message="condition"):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except (OSError, resp.ConnectionClosed, resp.ReplyTimeout):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % message)
        time.sleep(0.02)


class Node(servers.Server):
    """A server with a lazily opened connection and replication helpers."""

    def __init__(self, binary, args=(), name=None, fixed_dir=None):
        real = os.path.realpath(binary) == os.path.realpath(REAL_REDIS)
        super().__init__(binary, list(REAL_ARGS if real else []) + list(args), name=name,
                         keep_dir=fixed_dir is not None)
        self.real = real
        self.fixed_dir = fixed_dir  # the same directory at every start (restarts keep files)
        self._conn = None

    def _start_once(self):
        if self.fixed_dir is None:
            return super()._start_once()
        original = servers.tempfile.mkdtemp
        servers.tempfile.mkdtemp = lambda **kwargs: self.fixed_dir
        try:
            return super()._start_once()
        finally:
            servers.tempfile.mkdtemp = original

    def conn(self):
        if self._conn is None or self._conn.closed:
            self._conn = self.connect(timeout=30.0)
        return self._conn

    def call(self, *args, timeout=None):
        reply = self.conn().call_decoded(*args, timeout=timeout)
        if isinstance(reply, resp.RespError):
            raise AssertionError("%s: %s -> %s" % (self.name, args, reply.message))
        return reply

    def raw(self, *args):
        return self.conn().call(*args)

    def info(self, section="replication"):
        text = self.call("INFO", section).decode()
        fields = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                key, value = line.split(":", 1)
                fields[key] = value
        return fields

    def digest(self):
        return self.call("DEBUG", "DIGEST")

    def replicaof(self, master):
        assert self.call("REPLICAOF", "127.0.0.1", str(master.port)) in ("OK", "OK Already connected to specified master")

    def wait_link_up(self, timeout=15.0):
        wait_until(lambda: self.info().get("master_link_status") == "up", timeout, "%s link up" % self.name)

    def offset(self):
        return int(self.info()["master_repl_offset"])

    def stop(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        super().stop()

    def kill9(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._cleanup_process()


class Cluster:
    """Every node a test starts; all are stopped at the end, whatever happens."""

    def __init__(self):
        self.nodes = []

    def start(self, binary, *args, name=None, fixed_dir=None):
        node = Node(binary, args, name=name or "n%d" % len(self.nodes), fixed_dir=fixed_dir)
        self.nodes.append(node)
        node.start()
        return node

    def replica(self, binary, master, *args, name=None, fixed_dir=None):
        node = self.start(binary, "--replicaof", "127.0.0.1", str(master.port), *args, name=name,
                          fixed_dir=fixed_dir)
        node.wait_link_up()
        return node

    def close(self):
        for node in reversed(self.nodes):
            try:
                node.stop()
            except Exception:  # noqa: BLE001 (best effort cleanup)
                node.kill9()


def wait_in_sync(master, replicas, timeout=15.0):
    """WAIT for every replica, then compare datasets until they match (the master's active
    expiry may still be deleting, and propagating, expired keys)."""
    assert master.call("WAIT", str(len(replicas)), "5000") == len(replicas), "WAIT did not reach every replica"
    wait_until(lambda: all(master.digest() == r.digest() for r in replicas), timeout,
               "replicas' DEBUG DIGEST to match the master's")
    wait_until(lambda: all(r.offset() == master.offset() for r in replicas), timeout,
               "replicas' offsets to match the master's")


class WriteLoad:
    """Client threads sending a mix of writes (pipelined) until stopped."""

    def __init__(self, node, threads=3, seed=1, types=("string", "list", "hash", "set", "zset")):
        self.node = node
        self.types = types
        self.stop_flag = threading.Event()
        self.errors = []
        self.commands = 0
        self.threads = [threading.Thread(target=self._run, args=(seed + i,), daemon=True) for i in range(threads)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(30)
        assert not self.errors, "write load failed: %s" % self.errors[:3]

    def _batch(self, rng):
        key = "k%d" % rng.randrange(300)
        choice = rng.randrange(16)
        if choice == 0:
            return [("SELECT", str(rng.randrange(3)))]
        if choice == 1:
            return [("SET", key, "v%d" % rng.randrange(1000), "EX", str(rng.randrange(50, 500)))]
        if choice == 2:
            return [("SET", "short:%d" % rng.randrange(50), "x", "PX", str(rng.randrange(1, 300)))]
        if choice == 3:
            return [("MULTI",), ("INCR", "counter"), ("APPEND", key, "a"), ("EXEC",)]
        if choice == 4:
            return [("DEL", key)]
        if choice == 5:
            return [("EXPIRE", key, str(rng.randrange(100, 1000)))]
        if choice == 6 and "list" in self.types:
            return [("RPUSH", "list%d" % rng.randrange(10), str(rng.random())), ("LPOP", "list%d" % rng.randrange(10))]
        if choice == 7 and "hash" in self.types:
            return [("HSET", "hash%d" % rng.randrange(10), "f%d" % rng.randrange(50), str(rng.randrange(100)))]
        if choice == 8 and "set" in self.types:
            return [("SADD", "set%d" % rng.randrange(10), str(rng.randrange(200))), ("SPOP", "set%d" % rng.randrange(10))]
        if choice == 9 and "zset" in self.types:
            return [("ZADD", "zset%d" % rng.randrange(10), str(rng.random()), "m%d" % rng.randrange(100))]
        if choice == 10:
            return [("INCRBY", "counter%d" % rng.randrange(5), str(rng.randrange(-10, 10)))]
        return [("SET", key, "%d" % rng.randrange(1 << 30))]

    def _run(self, seed):
        rng = random.Random(seed)
        try:
            with self.node.connect(timeout=30.0) as c:
                while not self.stop_flag.is_set():
                    batch = []
                    for _ in range(20):
                        batch.extend(self._batch(rng))
                    c.send_raw(b"".join(resp.encode_command(*cmd) for cmd in batch))
                    for _ in batch:
                        reply = resp.decode(c.read_reply(timeout=30.0))
                        if isinstance(reply, resp.RespError) and "WRONGTYPE" not in reply.message:
                            self.errors.append(reply.message)
                    self.commands += len(batch)
                c.call("SELECT", "0")
        except Exception as exc:  # noqa: BLE001
            self.errors.append(repr(exc))


def supported_types(node):
    """The data types the server under test implements (others join as they land)."""
    probes = {"list": ("LLEN", "x"), "hash": ("HLEN", "x"), "set": ("SCARD", "x"), "zset": ("ZCARD", "x")}
    types = ["string"]
    for name, probe in probes.items():
        if not isinstance(resp.decode(node.raw(*probe)), resp.RespError):
            types.append(name)
    return tuple(types)


# ---------------------------------------------------------------------------
# Raw sockets: scripted fake masters and replicas

def command(*args):
    return resp.encode_command(*args)


class RawPeer:
    """A raw socket with exact-byte reads, for scripted fake masters and replicas."""

    def __init__(self, sock, timeout=10.0):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""

    @classmethod
    def connect(cls, port, timeout=10.0):
        return cls(socket.create_connection(("127.0.0.1", port), timeout=timeout), timeout)

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise resp.ConnectionClosed("peer closed")
        self.buf += chunk

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_line(self):
        while b"\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def read_command(self):
        """One RESP multibulk command: (raw bytes, [args])."""
        while True:
            try:
                value, end = resp.parse(self.buf, 0)
                raw, self.buf = self.buf[:end], self.buf[end:]
                return raw, value
            except resp.Incomplete:
                self._fill()

    def expect(self, data):
        got = self.read_exact(len(data))
        assert got == data, "expected %r, got %r" % (data, got)

    def nothing_within(self, seconds):
        self.sock.settimeout(seconds)
        try:
            chunk = self.sock.recv(1 << 16)
            self.buf += chunk
            return False
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(10.0)

    def close(self):
        self.sock.close()


class FakeMaster:
    """A listening socket playing a master for one replica connection at a time."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.listener.settimeout(15.0)
        self.port = self.listener.getsockname()[1]

    def accept(self):
        sock, _ = self.listener.accept()
        return RawPeer(sock)

    def close(self):
        self.listener.close()


def run_tests(tests):
    """Runs each test(binary, cluster); prints PASS/FAIL and the closing count line."""
    binary = binary_from_argv()
    only = os.environ.get("REPLICATION_TEST")
    passed, failed = 0, []
    for test in tests:
        if only and only not in test.__name__:
            continue
        cluster = Cluster()
        started = time.monotonic()
        try:
            test(binary, cluster)
            passed += 1
            print("PASS %-50s %.1fs" % (test.__name__, time.monotonic() - started), flush=True)
        except Exception as exc:  # noqa: BLE001 (report every failure and go on)
            failed.append(test.__name__)
            print("FAIL %s: %s" % (test.__name__, exc), flush=True)
            traceback.print_exc()
            for node in cluster.nodes:
                print("---- log of %s (port %s) ----\n%s" % (node.name, node.port, node.log_tail(3000)))
        finally:
            cluster.close()
    print("%d passed, %d failed" % (passed, len(failed)))
    if failed:
        print("failed: %s" % ", ".join(failed))
        sys.exit(1)
