#!/usr/bin/env python3
"""Streams in RDB files and on the replication stream, against real Redis 7.0.

    python3 test/e2e/streams_persistence_test.py [./redis-server] [-v]

With real Redis (/usr/bin/redis-server) built at test time:
  - a dataset of streams (several node layouts, tombstones, empty streams, consumer groups
    with PELs, consumers, invalid entries-read counters) saved by real Redis loads in our
    server with every key's DUMP payload, XINFO STREAM FULL, XINFO GROUPS and XPENDING
    byte-identical, and the same DEBUG DIGEST / DIGEST-VALUE;
  - the same dataset, changed by both servers alike and saved by ours, passes
    redis-check-rdb and loads in real Redis with the same replies and digest again;
  - DEBUG RELOAD keeps everything (node layout included: approximate trims after it agree);
  - what reaches a replica (a SYNC client on each server) for a script of stream commands,
    XADD "*", consumer-group reads and blocked readers served by XADD included, is the same
    command stream once generated IDs and times are masked.

Standard library only; helpers from test/lib. Exits non-zero on failure.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import checks  # noqa: E402
import resp  # noqa: E402
from checks import check, failures, log  # noqa: E402
from servers import Server  # noqa: E402

REDIS = "/usr/bin/redis-server"
CHECK_RDB = "/usr/bin/redis-check-rdb"
VERBOSE = False


def check_eq(actual, expected, what):
    check(actual == expected, "%s:\n    expected %r\n    got      %r" % (what, expected, actual))


# Commands that build the dataset: fixed IDs, so both servers can replay them.
DATASET = [
    ["CONFIG", "SET", "stream-node-max-entries", "4"],
] + [["XADD", "small", "%d-%d" % (i // 3, i % 3), "f", str(i), "g", "x" * (i % 7)] for i in range(1, 30)] + [
    ["XDEL", "small", "0-1", "2-2", "5-0", "9-1"],
    ["XADD", "small", "100-0", "other", "fields", "here", "1"],
    ["XTRIM", "small", "MINID", "3-1"],
    ["CONFIG", "SET", "stream-node-max-entries", "100"],
] + [["XADD", "big", "%d-0" % i, "payload", "v" * (i % 300), "n", str(i * 1000003)] for i in range(1, 260)] + [
    ["XADD", "bin", "1-1", "\x00\xff", "a\r\nb"],
    ["XADD", "bin", "1-2", "", ""],
    ["XADD", "bin", "1-3", "k", "y" * 5000],
    ["XADD", "empty", "5-5", "f", "v"],
    ["XDEL", "empty", "5-5"],
    ["XGROUP", "CREATE", "empty", "g", "$"],
    ["XGROUP", "CREATE", "fresh", "g", "$", "MKSTREAM"],
    ["XGROUP", "CREATE", "big", "g1", "0"],
    ["XGROUP", "CREATE", "big", "g2", "$", "ENTRIESREAD", "7"],
    ["XGROUP", "CREATE", "big", "g3", "100-0"],
    ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", "big", ">"],
    ["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "3", "STREAMS", "big", ">"],
    ["XREADGROUP", "GROUP", "g1", "carol", "NOACK", "COUNT", "2", "STREAMS", "big", ">"],
    ["XGROUP", "CREATECONSUMER", "big", "g1", "idle"],
    ["XACK", "big", "g1", "2-0", "7-0"],
    ["XCLAIM", "big", "g1", "bob", "0", "1-0", "RETRYCOUNT", "9"],
    ["XREADGROUP", "GROUP", "g3", "x", "COUNT", "2", "STREAMS", "big", ">"],
    ["XGROUP", "CREATE", "small", "g", "0"],
    ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "small", ">"],
    ["XDEL", "small", "4-0"],
    ["XSETID", "bin", "7-7", "ENTRIESADDED", "40", "MAXDELETEDID", "1-0"],
]

# Applied to both servers after loading, before the second save.
CHANGES = [
    ["XADD", "big", "999-0", "after", "load"],
    ["XTRIM", "big", "MAXLEN", "~", "120"],
    ["XTRIM", "small", "MAXLEN", "~", "5"],
    ["XGROUP", "DELCONSUMER", "big", "g1", "alice"],
    ["XAUTOCLAIM", "big", "g1", "dave", "0", "0", "COUNT", "2", "JUSTID"],
    ["XADD", "empty", "6-0", "f", "v"],
]

KEYS = ["small", "big", "bin", "empty", "fresh"]


def run(conn, commands):
    for cmd in commands:
        reply = conn.call(*cmd)
        check(not reply.startswith(b"-"), "%s -> %r" % (" ".join(cmd[:4]), reply[:80]))


def snapshot(conn):
    """Everything that must agree between two servers holding the same data."""
    snap = {"digest": conn.call("DEBUG", "DIGEST")}
    for key in KEYS:
        snap[key] = {
            "dump": conn.call("DUMP", key),
            "full": conn.call("XINFO", "STREAM", key, "FULL", "COUNT", "0"),
            "info": conn.call("XINFO", "STREAM", key),
            "groups": conn.call("XINFO", "GROUPS", key),
            "digest": conn.call("DEBUG", "DIGEST-VALUE", key),
        }
        for group in ("g", "g1", "g2", "g3"):
            snap[key]["pending " + group] = conn.call("XPENDING", key, group)
    return snap


def compare(a, b, what):
    check_eq(b["digest"], a["digest"], "%s: DEBUG DIGEST" % what)
    for key in KEYS:
        for field in sorted(a[key]):
            check_eq(b[key][field], a[key][field], "%s: %s %s" % (what, key, field))


def load_dump(server, dump_path):
    """Replaces the server's dataset by the RDB at dump_path (DEBUG RELOAD NOSAVE)."""
    shutil.copy(dump_path, os.path.join(server.dir, "dump.rdb"))
    conn = server.connect()
    check_eq(conn.call("DEBUG", "RELOAD", "NOSAVE"), b"+OK\r\n", "%s loads the RDB" % server.name)
    return conn


def test_rdb_interop(ours_binary):
    real = Server(REDIS, extra_args=["--enable-debug-command", "yes"], name="redis")
    with real:
        conn = real.connect()
        run(conn, DATASET)
        redis_snapshot = snapshot(conn)
        check_eq(conn.call("SAVE"), b"+OK\r\n", "real Redis SAVE")
        redis_dump = os.path.join(real.dir, "dump.rdb")
        saved = tempfile.mkdtemp(prefix="streams-rdb-")
        shutil.copy(redis_dump, os.path.join(saved, "redis.rdb"))
        # Changes on real Redis, for the comparison after our save.
        run(conn, CHANGES)
        redis_changed = snapshot(conn)
        conn.close()

    ours = Server(ours_binary, extra_args=["--enable-debug-command", "yes"], name="ours")
    with ours:
        conn = load_dump(ours, os.path.join(saved, "redis.rdb"))
        check_eq(conn.call("DBSIZE"), b":%d\r\n" % len(KEYS), "our server loaded every key")
        compare(redis_snapshot, snapshot(conn), "Redis's RDB loaded in ours")
        check_eq(conn.call("DEBUG", "RELOAD"), b"+OK\r\n", "DEBUG RELOAD")
        compare(redis_snapshot, snapshot(conn), "after DEBUG RELOAD")
        run(conn, CHANGES)
        compare(redis_changed, snapshot(conn), "same changes on both")
        check_eq(conn.call("SAVE"), b"+OK\r\n", "our SAVE")
        shutil.copy(os.path.join(ours.dir, "dump.rdb"), os.path.join(saved, "ours.rdb"))
        conn.close()

    if os.path.exists(CHECK_RDB):
        out = subprocess.run([CHECK_RDB, os.path.join(saved, "ours.rdb")], capture_output=True, text=True)
        check("RDB looks OK" in out.stdout, "redis-check-rdb accepts our RDB:\n%s" % out.stdout[-2000:])

    real2 = Server(REDIS, extra_args=["--enable-debug-command", "yes"], name="redis")
    with real2:
        conn = load_dump(real2, os.path.join(saved, "ours.rdb"))
        compare(redis_changed, snapshot(conn), "our RDB loaded in real Redis")
        conn.close()
    shutil.rmtree(saved, ignore_errors=True)


# ---- replication stream ----

class SyncClient:
    """A replica as far as the master can tell: SYNC, skip the RDB, then read commands."""

    def __init__(self, server):
        self.conn = server.connect(timeout=10)
        self.conn.send_command("SYNC")
        self.buf = b""
        # Keep-alive newlines, then "$<len>\r\n" and the RDB (no trailing CRLF).
        while True:
            self._fill()
            self.buf = self.buf.lstrip(b"\n")
            if b"\r\n" in self.buf:
                break
        header, _, rest = self.buf.partition(b"\r\n")
        length = int(header[1:])
        self.buf = rest
        while len(self.buf) < length:
            self._fill()
        self.buf = self.buf[length:]

    def _fill(self):
        data = self.conn.sock.recv(65536)
        if not data:
            raise resp.ConnectionClosed("master closed the link")
        self.buf += data

    def commands_until(self, marker, timeout=10):
        out = []
        deadline = time.monotonic() + timeout
        self.conn.sock.settimeout(1.0)
        while time.monotonic() < deadline:
            try:
                value, end = resp.parse(self.buf, 0)
            except resp.Incomplete:
                try:
                    self._fill()
                except OSError:
                    pass
                continue
            self.buf = self.buf[end:]
            cmd = [v.decode("latin-1") for v in value]
            if cmd[0].lower() in ("ping", "select", "replconf"):
                continue
            if cmd == ["set", marker, "1"] or cmd == ["SET", marker, "1"]:
                return out
            out.append(cmd)
        check(False, "the replication stream did not reach the marker")
        return out


SCRIPT = [
    ["XADD", "s", "*", "a", "1"],
    ["XADD", "s", "MAXLEN", "~", "1", "*", "a", "2"],
    ["XADD", "s", "MINID", "~", "0", "*", "a", "3"],
    ["XADD", "t", "5-*", "f", "v"],
    ["XADD", "t", "5-*", "f", "v"],
    ["XADD", "t", "MAXLEN", "1", "6-0", "f", "v"],
    ["XGROUP", "CREATE", "s", "g", "0"],
    ["XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"],
    ["XREADGROUP", "GROUP", "g", "c2", "NOACK", "STREAMS", "s", ">"],
    ["XREADGROUP", "GROUP", "g", "c3", "STREAMS", "s", "0"],
    ["XREADGROUP", "GROUP", "g", "c4", "NOACK", "STREAMS", "s", "0"],
    ["XADD", "s", "*", "b", "2"],
    ["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"],
    ["XAUTOCLAIM", "s", "g", "c5", "0", "0", "COUNT", "1"],
    ["XCLAIM", "s", "g", "c6", "0", "5-0", "5-1"],
    ["XCLAIM", "s", "g", "c6", "0", "0-1", "LASTID", "999999999999999-0"],
    ["XGROUP", "CREATECONSUMER", "s", "g", "c9"],
    ["XGROUP", "CREATECONSUMER", "s", "g", "c9"],
    ["XGROUP", "DELCONSUMER", "s", "g", "c9"],
    ["XGROUP", "DELCONSUMER", "s", "g", "c9"],
    ["XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "0"],
    ["XREADGROUP", "GROUP", "g", "c7", "STREAMS", "s", ">"],
    ["XDEL", "s", "1-1"],
    ["XACK", "s", "g", "0-1"],
    ["XTRIM", "s", "MAXLEN", "~", "0"],
    ["XTRIM", "s", "MINID", "~", "0"],
    ["XADD", "u", "1-1", "f", "v"],
    ["XADD", "u", "1-2", "f", "v"],
    ["XGROUP", "CREATE", "u", "g", "0"],
    ["XREADGROUP", "GROUP", "g", "a", "STREAMS", "u", ">"],
    ["XDEL", "u", "1-1"],
    ["XCLAIM", "u", "g", "b", "0", "1-1", "1-2", "JUSTID"],
    ["XAUTOCLAIM", "u", "g", "c", "0", "0"],
    ["MULTI"],
    ["XADD", "u", "*", "in", "multi"],
    ["XREADGROUP", "GROUP", "g", "m", "STREAMS", "u", ">"],
    ["EXEC"],
    ["XSETID", "u", "99999999999999-0"],
    ["XGROUP", "DESTROY", "u", "g"],
    ["XGROUP", "DESTROY", "u", "g"],
]

TIME_LIKE = re.compile(r"^1\d{12}$")
ID_LIKE = re.compile(r"^1\d{12}-\d+$")


def mask(cmd):
    out = []
    for arg in cmd:
        if TIME_LIKE.match(arg):
            out.append("<ms>")
        elif ID_LIKE.match(arg):
            out.append("<id>")  # "*" IDs: time-based, the sequence depends on the clock too
        else:
            out.append(arg)
    return out


# Blocked readers served by a later XADD: (blocking command, then the write that serves it).
BLOCKED = [
    (["XREADGROUP", "GROUP", "g", "newc", "NOACK", "BLOCK", "0", "STREAMS", "b", ">"], ["XADD", "b", "1-1", "f", "v"]),
    (["XREADGROUP", "GROUP", "g", "other", "BLOCK", "0", "STREAMS", "b", ">"], ["XADD", "b", "*", "f", "v"]),
    (["XREADGROUP", "GROUP", "g", "other", "COUNT", "1", "BLOCK", "0", "STREAMS", "x", "b", ">", ">"],
     ["XADD", "b", "MAXLEN", "~", "1", "*", "f", "v"]),
    (["XREAD", "BLOCK", "0", "STREAMS", "b", "$"], ["XADD", "b", "*", "f", "v"]),
]


def blocked_clients(conn):
    for line in conn.call("INFO", "clients").decode().split("\r\n"):
        if line.startswith("blocked_clients:"):
            return int(line.split(":")[1])
    return -1


def propagated(binary, name):
    with Server(binary, name=name) as server:
        replica = SyncClient(server)
        conn = server.connect()
        for cmd in SCRIPT:
            conn.call(*cmd)
        waiter = server.connect()
        conn.call("XGROUP", "CREATE", "b", "g", "$", "MKSTREAM")
        conn.call("XGROUP", "CREATE", "x", "g", "$", "MKSTREAM")
        for blocking, write in BLOCKED:
            waiter.send_command(*blocking)
            deadline = time.monotonic() + 5
            while blocked_clients(conn) != 1 and time.monotonic() < deadline:
                time.sleep(0.005)
            conn.call(*write)
            check(not waiter.read_reply(timeout=5).startswith(b"-"), "%s: %s served" % (name, blocking[0]))
        waiter.close()
        conn.call("SET", "__end__", "1")
        cmds = replica.commands_until("__end__")
        conn.close()
        replica.conn.close()
    return [mask(c) for c in cmds]


def test_propagation(ours_binary):
    expected = propagated(REDIS, "redis")
    actual = propagated(ours_binary, "ours")
    for i in range(max(len(expected), len(actual))):
        e = expected[i] if i < len(expected) else None
        a = actual[i] if i < len(actual) else None
        check_eq(a, e, "propagated command %d" % i)
        if a != e:
            break


def main():
    global VERBOSE
    args = [a for a in sys.argv[1:] if a != "-v"]
    VERBOSE = len(args) != len(sys.argv) - 1
    checks.verbose = VERBOSE
    binary = os.path.abspath(args[0] if args else os.path.join(HERE, "..", "..", "redis-server"))
    if not os.path.exists(REDIS):
        log("SKIP: %s not installed" % REDIS)
        return
    for name, fn in (("rdb interop", test_rdb_interop), ("propagation", test_propagation)):
        log("== %s" % name)
        fn(binary)
    if failures:
        log("%d failure(s)" % len(failures))
        sys.exit(1)
    log("all passed")


if __name__ == "__main__":
    main()
