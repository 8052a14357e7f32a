#!/usr/bin/env python3
"""DUMP/RESTORE payloads and MIGRATE between our server and real Redis 7.0, and the DEBUG
extras (which the differential harness cannot check: its Redis refuses DEBUG).

    python3 test/e2e/dump_restore_test.py [./redis-server] [--redis /usr/bin/redis-server] [-v]

1. Payloads both ways: values built by the same commands on both servers (every type and
   encoding, large ones included: hashtable sets/hashes, skip lists, multi-node lists, dense
   HLLs, streams with groups, PELs and consumers); each server's DUMP is RESTOREd into the
   other, and DEBUG DIGEST-VALUE of every copy must equal the original's.
2. MIGRATE, every scenario run in four directions (Redis->Redis as the reference, ours->Redis,
   Redis->ours, ours->ours): single key, KEYS with missing keys, COPY, REPLACE, BUSYKEY from
   the target, TTLs, another db, NOKEY, AUTH/AUTH2 (right and wrong), a target db out of range,
   an unreachable port and a target that never answers (IOERR ... timeout). The reply, what is
   left on the source and what arrived on the target must match the reference.
3. DEBUG PROTOCOL (RESP2 and RESP3), DEBUG RELOAD with NOSAVE/NOFLUSH/MERGE,
   DEBUG SET-SKIP-CHECKSUM-VALIDATION, DEBUG SLEEP 0 and DEBUG LOADAOF, replies compared with
   Redis command by command.

Standard library only; helpers from test/lib. Exits non-zero on failure.
"""

import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import checks  # noqa: E402
import resp  # noqa: E402
from checks import check, failures, log  # noqa: E402
from servers import Server  # noqa: E402

VERBOSE = False

ARGS = ["--enable-debug-command", "yes"]


def call(conn, *args):
    return conn.call(*args, timeout=30)


# ---------------------------------------------------------------------------------------------
# 1. payloads both ways

def build_values():
    """(key, commands) pairs building one value each, the same on both servers."""
    values = [
        ("str", [["SET", "str", "hello"]]),
        ("int", [["SET", "int", "123456"]]),
        ("bigstr", [["SET", "bigstr", "abc" * 5000]]),
        ("list", [["RPUSH", "list", "a", "1", "b", "-7", "x" * 100]]),
        ("lpushed", [["LPUSH", "lpushed"] + ["item-%d" % i for i in range(3000)]]),
        ("inserted", [["RPUSH", "inserted"] + ["v%d" % i for i in range(2000)],
                      ["LINSERT", "inserted", "BEFORE", "v1000", "x" * 3000],
                      ["LREM", "inserted", "0", "v5"]]),
        ("intset", [["SADD", "intset", "1", "2", "-70000", "5000000000"]]),
        ("bigset", [["SADD", "bigset"] + ["member-%d" % i for i in range(700)]]),
        ("zset", [["ZADD", "zset", "1", "a", "2.5", "b", "-inf", "c"]]),
        ("bigzset", [["ZADD", "bigzset"] + sum([[str(i / 3), "m%d" % i] for i in range(300)], [])]),
        ("hash", [["HSET", "hash", "f1", "v1", "f2", "22"]]),
        ("bighash", [["HSET", "bighash"] + sum([["field%d" % i, "value%d" % i] for i in range(600)], [])]),
        ("hll", [["PFADD", "hll", "a", "b", "c"]]),
        ("densehll", [["PFADD", "densehll"] + ["e%d" % i for i in range(5000)]]),
        ("stream", [["XADD", "stream", "1-1", "a", "1"], ["XADD", "stream", "1-2", "b", "2"],
                    ["XADD", "stream", "2-1", "c", "3", "d", "4"],
                    ["XGROUP", "CREATE", "stream", "g1", "0"],
                    ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "stream", ">"],
                    ["XGROUP", "CREATECONSUMER", "stream", "g1", "bob"],
                    ["XGROUP", "CREATE", "stream", "g2", "$"], ["XDEL", "stream", "1-2"]]),
    ]
    return values


def test_payloads(ours, redis):
    log("payloads both ways")
    o, r = ours.connect(), redis.connect()
    for conn in (o, r):
        call(conn, "FLUSHALL")
    for key, commands in build_values():
        for command in commands:
            ro, rr = call(o, *command), call(r, *command)
            check(ro == rr, "%s: %s replies %r vs Redis %r" % (key, command[0], ro[:80], rr[:80]))
        digest = call(r, "DEBUG", "DIGEST-VALUE", key)
        check(call(o, "DEBUG", "DIGEST-VALUE", key) == digest, "%s: same value on both servers" % key)
        from_ours = resp.decode(call(o, "DUMP", key))
        from_redis = resp.decode(call(r, "DUMP", key))
        check(call(r, "RESTORE", key + ":fromours", "0", from_ours) == b"+OK\r\n", "%s: Redis restores our payload" % key)
        check(call(o, "RESTORE", key + ":fromredis", "0", from_redis) == b"+OK\r\n", "%s: we restore Redis's payload" % key)
        check(call(r, "DEBUG", "DIGEST-VALUE", key + ":fromours") == digest, "%s: our payload restored by Redis" % key)
        check(call(o, "DEBUG", "DIGEST-VALUE", key + ":fromredis") == digest, "%s: Redis's payload restored here" % key)
        # And back: what we restored from Redis dumps to something Redis restores identically.
        again = resp.decode(call(o, "DUMP", key + ":fromredis"))
        check(call(r, "RESTORE", key + ":roundtrip", "0", again) == b"+OK\r\n", "%s: round trip restores" % key)
        check(call(r, "DEBUG", "DIGEST-VALUE", key + ":roundtrip") == digest, "%s: round trip keeps the value" % key)
        for suffix in (":fromours", ":fromredis"):
            conn = r if suffix == ":fromours" else o
            enc_copy = call(conn, "OBJECT", "ENCODING", key + suffix)
            enc_ref = call(r, "OBJECT", "ENCODING", key + ":fromours")
            check(enc_copy == enc_ref, "%s%s: encoding %r vs %r" % (key, suffix, enc_copy, enc_ref))
    o.close()
    r.close()


# ---------------------------------------------------------------------------------------------
# 2. MIGRATE

class SilentTarget:
    """A TCP listener that accepts connections and never answers (timeouts)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
            except OSError:
                continue

    def close(self):
        self.stop = True
        self.thread.join()
        for c in self.conns:
            c.close()
        self.sock.close()


def unused_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# Each scenario: setup on the source, setup on the target, the MIGRATE arguments after
# "host port" ({db} placeholders allowed), and which target to use ("plain", "auth",
# "silent", "closed").
SCENARIOS = [
    ("single key", [["SET", "k", "v"]], [], ["k", "0", "5000"], "plain"),
    ("keys with missing ones", [["SET", "a", "1"], ["RPUSH", "l", "x", "y"], ["PFADD", "h", "q"]], [],
     ["", "0", "5000", "KEYS", "a", "missing", "l", "h"], "plain"),
    ("copy", [["SET", "k", "v"], ["ZADD", "z", "1", "m"]], [], ["", "0", "5000", "COPY", "KEYS", "k", "z"], "plain"),
    ("replace", [["SET", "k", "new"]], [["SET", "k", "old"]], ["k", "0", "5000", "REPLACE"], "plain"),
    ("busykey", [["SET", "k", "new"], ["SET", "k2", "v2"]], [["SET", "k", "old"]],
     ["", "0", "5000", "KEYS", "k2", "k"], "plain"),
    ("busykey copy", [["SET", "k", "new"]], [["SET", "k", "old"]], ["k", "0", "5000", "COPY"], "plain"),
    ("ttl", [["SET", "k", "v", "EX", "1000"], ["SET", "p", "v"]], [], ["", "0", "5000", "KEYS", "k", "p"], "plain"),
    ("other db", [["SET", "k", "v"]], [], ["k", "3", "5000"], "plain"),
    ("db out of range", [["SET", "k", "v"]], [], ["k", "99", "5000"], "plain"),
    ("nokey", [], [], ["missing", "0", "5000"], "plain"),
    ("nokey keys", [], [], ["", "0", "5000", "KEYS", "m1", "m2"], "plain"),
    ("auth", [["SET", "k", "v"]], [], ["k", "0", "5000", "AUTH", "secret"], "auth"),
    ("auth wrong", [["SET", "k", "v"]], [], ["k", "0", "5000", "AUTH", "nope"], "auth"),
    ("auth2", [["SET", "k", "v"]], [], ["k", "0", "5000", "AUTH2", "default", "secret"], "auth"),
    ("auth2 wrong", [["SET", "k", "v"]], [], ["k", "0", "5000", "AUTH2", "someone", "secret"], "auth"),
    ("no auth given", [["SET", "k", "v"]], [], ["k", "0", "5000"], "auth"),
    ("closed port", [["SET", "k", "v"]], [], ["k", "0", "300"], "closed"),
    ("silent target", [["SET", "k", "v"]], [], ["k", "0", "300"], "silent"),
]


def snapshot(conn, dbs=(0, 3)):
    """Keys, digests and TTL classes of a server (db 0 and 3)."""
    state = {}
    for db in dbs:
        call(conn, "SELECT", str(db))
        for key in sorted(resp.decode(call(conn, "KEYS", "*"))):
            pttl = resp.decode(call(conn, "PTTL", key))
            ttl_class = "none" if pttl == -1 else ("ok" if 990000 < pttl <= 1000000 else "bad:%d" % pttl)
            state[(db, key)] = (call(conn, "DEBUG", "DIGEST-VALUE", key), ttl_class)
    call(conn, "SELECT", "0")
    return state


def test_migrate(binary, redis_binary):
    log("MIGRATE in four directions")
    with Server(redis_binary, ARGS, name="redis-src") as rsrc, Server(binary, ARGS, name="ours-src") as osrc, \
            Server(redis_binary, ARGS, name="redis-dst") as rdst, Server(binary, ARGS, name="ours-dst") as odst, \
            Server(redis_binary, ARGS, name="redis-auth") as rauth, Server(binary, ARGS, name="ours-auth") as oauth:
        silent = SilentTarget()
        # The password is set once the servers run (the launcher waits for a PONG) and removed
        # before they stop (it stops them with SHUTDOWN).
        auth_conns = [rauth.connect(), oauth.connect()]
        for conn in auth_conns:
            call(conn, "CONFIG", "SET", "requirepass", "secret")
        try:
            sources = {"redis": rsrc, "ours": osrc}
            targets = {"redis": {"plain": rdst, "auth": rauth}, "ours": {"plain": odst, "auth": oauth}}
            for name, src_setup, dst_setup, margs, kind in SCENARIOS:
                results = {}
                for s_name, d_name in (("redis", "redis"), ("ours", "redis"), ("redis", "ours"), ("ours", "ours")):
                    src = sources[s_name].connect()
                    call(src, "FLUSHALL")
                    dst = None
                    if kind in ("plain", "auth"):
                        target = targets[d_name][kind]
                        dst = target.connect()
                        if kind == "auth":
                            call(dst, "AUTH", "secret")
                        call(dst, "FLUSHALL")
                        port = target.port
                    elif kind == "silent":
                        port = silent.port
                    else:
                        port = unused_port()
                    for command in src_setup:
                        call(src, *command)
                    for command in dst_setup:
                        call(dst, *command)
                    started = time.monotonic()
                    reply = call(src, "MIGRATE", "127.0.0.1", str(port), *margs)
                    elapsed = time.monotonic() - started
                    results[(s_name, d_name)] = (reply, snapshot(src), snapshot(dst) if dst else None)
                    if kind in ("silent", "closed"):
                        check(elapsed < 5, "%s: %s->%s took %.1fs" % (name, s_name, d_name, elapsed))
                    src.close()
                    if dst:
                        dst.close()
                reference = results[("redis", "redis")]
                if VERBOSE:
                    log("  %s: Redis replies %r" % (name, reference[0]))
                for direction, result in results.items():
                    if direction == ("redis", "redis"):
                        continue
                    label = "%s (%s->%s)" % (name, direction[0], direction[1])
                    check(result[0] == reference[0], "%s: reply %r, Redis %r" % (label, result[0], reference[0]))
                    check(result[1] == reference[1], "%s: source %r, Redis %r" % (label, result[1], reference[1]))
                    check(result[2] == reference[2], "%s: target %r, Redis %r" % (label, result[2], reference[2]))
        finally:
            silent.close()
            for conn in auth_conns:
                call(conn, "CONFIG", "SET", "requirepass", "")
                conn.close()


# ---------------------------------------------------------------------------------------------
# 3. DEBUG extras

def payload_of(conn, *setup):
    call(conn, *setup)
    return resp.decode(call(conn, "DUMP", setup[1]))


def debug_script(good, bad_crc, version_11):
    protocol = [["DEBUG", "PROTOCOL", t] for t in
                "string integer double bignum null array set map attrib push verbatim true false bogus".split()]
    script = protocol + [["DEBUG", "PROTOCOL"], ["DEBUG", "protocol", "MAP"], ["@HELLO3"]] + protocol + [
        ["@HELLO2"],
        ["DEBUG", "SLEEP", "0"], ["DEBUG", "SLEEP", "0.01"],
        ["RESTORE", "c1", "0", bad_crc],
        ["DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1"],
        ["RESTORE", "c1", "0", bad_crc], ["GET", "c1"],
        ["RESTORE", "c2", "0", version_11],
        ["RESTORE", "c3", "0", b"\x00\x01a\x0a\x00" + b"\x00" * 8], ["GET", "c3"],
        ["DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0"],
        ["RESTORE", "c4", "0", bad_crc],
        ["FLUSHALL"],
        ["DEBUG", "RELOAD", "NOSAVE"],
        ["SET", "a", "1"], ["DEBUG", "RELOAD"], ["GET", "a"],
        ["SET", "b", "2"], ["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"], ["DBSIZE"],
        ["SET", "a", "changed"], ["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"], ["GET", "a"], ["GET", "b"],
        ["SET", "a", "changed"], ["DEBUG", "RELOAD", "NOSAVE"], ["GET", "a"], ["GET", "b"],
        ["DEBUG", "RELOAD", "NOSAVE", "MERGE"], ["DEBUG", "RELOAD", "FOO"], ["DEBUG", "RELOAD", "NOSAVE", "x"],
        ["PFADD", "h", "a", "b"], ["PFCOUNT", "h"],
        ["ZADD", "z"] + sum([[str(i), "m%d" % i] for i in range(200)], []),
        ["RPUSH", "l"] + ["e%d" % i for i in range(3000)],
        ["DEBUG", "RELOAD"], ["GET", "h"], ["DUMP", "z"], ["DUMP", "l"], ["OBJECT", "ENCODING", "z"],
        ["CONFIG", "SET", "appendonly", "yes"], ["@WAITAOF"],
        ["SET", "x", "1"], ["INCR", "x"], ["EXPIRE", "x", "1000"], ["PFADD", "h", "c"],
        ["MULTI"], ["RPUSH", "q", "1"], ["RPUSH", "q", "2"], ["EXEC"], ["SELECT", "5"], ["SET", "in5", "v"],
        ["SELECT", "0"],
        ["DEBUG", "LOADAOF"], ["DBSIZE"], ["GET", "x"], ["TTL", "x"], ["GET", "h"], ["LRANGE", "q", "0", "-1"],
        ["SELECT", "5"], ["GET", "in5"], ["SELECT", "0"], ["DUMP", "z"],
        ["SET", "after", "1"], ["DEBUG", "LOADAOF"], ["GET", "after"], ["DBSIZE"],
    ]
    return script


def wait_aof(conn):
    for _ in range(200):
        info = resp.decode(call(conn, "INFO", "persistence")).decode()
        if "aof_enabled:1" in info and "aof_rewrite_in_progress:0" in info and "aof_rewrite_scheduled:0" in info:
            return True
        time.sleep(0.05)
    return False


def test_debug(binary, redis_binary):
    log("DEBUG extras")
    with Server(redis_binary, ARGS, name="redis-debug") as rs, Server(binary, ARGS, name="ours-debug") as os_:
        r, o = rs.connect(), os_.connect()
        good = payload_of(r, "SET", "p", "hello")
        bad_crc = good[:-1] + bytes([good[-1] ^ 0xFF])
        version_11 = good[:-10] + b"\x0b\x00" + b"\x00" * 8
        for conn in (r, o):
            call(conn, "FLUSHALL")
        for step in debug_script(good, bad_crc, version_11):
            if step[0] == "@HELLO3" or step[0] == "@HELLO2":
                proto = "3" if step[0] == "@HELLO3" else "2"
                for conn in (r, o):
                    call(conn, "HELLO", proto)
                continue
            if step[0] == "@WAITAOF":
                check(wait_aof(r) and wait_aof(o), "appendonly yes took effect")
                continue
            rr = call(r, *step)
            if step[:3] == ["DEBUG", "PROTOCOL", "push"] and rr.startswith(b">"):
                rr += r.read_reply(timeout=5)  # the push, then the real reply
                ro = call(o, *step) + o.read_reply(timeout=5)
            else:
                ro = call(o, *step)
            shown = " ".join(a if isinstance(a, str) else repr(a) for a in step)[:80]
            check(ro == rr, "%s: ours %r, Redis %r" % (shown, ro[:120], rr[:120]))
        r.close()
        o.close()


def main():
    global VERBOSE
    args = [a for a in sys.argv[1:]]
    redis_binary = "/usr/bin/redis-server"
    if "--redis" in args:
        i = args.index("--redis")
        redis_binary = args[i + 1]
        del args[i:i + 2]
    if "-v" in args:
        VERBOSE = True
        checks.verbose = VERBOSE
        args.remove("-v")
    binary = os.path.abspath(args[0] if args else "./redis-server")
    with Server(binary, ARGS, name="ours") as ours, Server(redis_binary, ARGS, name="redis") as redis:
        test_payloads(ours, redis)
    test_migrate(binary, redis_binary)
    test_debug(binary, redis_binary)
    if failures:
        log("dump_restore_test: %d failure(s)" % len(failures))
        sys.exit(1)
    log("dump_restore_test: all checks passed")


if __name__ == "__main__":
    main()
