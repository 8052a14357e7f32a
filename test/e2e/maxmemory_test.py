#!/usr/bin/env python3
"""maxmemory, eviction policies and OOM errors (Redis 7.0 semantics).

    python3 test/e2e/maxmemory_test.py [./redis-server] [-v]
    MAXMEMORY_TEST=lru python3 test/e2e/maxmemory_test.py     (only tests whose name contains it)

Against real Redis 7.0.15 (/usr/bin/redis-server), byte for byte: the OOM replies of a
noeviction server (plain commands, commands queued in MULTI, EXEC of a transaction queued
before memory ran out, DISCARD under OOM, the subscribed context), INFO errorstats after them,
OBJECT FREQ with lfu-log-factor 0, and INFO's maxmemory fields.

Ours only (eviction is approximate, so these check properties, not exact replies): Redis's
"is the memory limit honoured" test for every policy; only allkeys-* remove keys without a
TTL; volatile-* never remove keys without one; volatile-ttl evicts the shortest TTLs first;
allkeys-lru keeps recently read keys; allkeys-lfu keeps frequently read keys; used_memory stays
near maxmemory under a multi-client write load and evicted_keys counts exactly what vanished;
a replica ignores maxmemory (replica-ignore-maxmemory yes) and receives the master's evictions
as DELs; used_memory comes back down after UNLINK of a big value.
Standard library only; helpers from test/lib. Exits non-zero on failure.
"""

import os
import random
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import resp  # noqa: E402
from servers import Server  # noqa: E402
import replication_lib  # noqa: E402

REDIS = "/usr/bin/redis-server"
ARGS = [a for a in sys.argv[1:] if not a.startswith("-")]
BINARY = os.path.abspath(ARGS[0] if ARGS else "./redis-server")
VERBOSE = "-v" in sys.argv
ONLY = os.environ.get("MAXMEMORY_TEST", "")
OOM = "OOM command not allowed when used memory > 'maxmemory'."

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("  FAIL: " + message)
    elif VERBOSE:
        print("  ok: " + message)


def info(conn, section="memory"):
    text = conn.call_decoded("INFO", section).decode()
    fields = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            fields[key] = value
    return fields


def used_memory(conn):
    return int(info(conn)["used_memory"])


def evicted_keys(conn):
    return int(info(conn, "stats")["evicted_keys"])


def call(conn, *args):
    return conn.call_decoded(*args)


# ---------------------------------------------------------------------------------------
# Against real Redis

def oom_script(server):
    """Replies (raw bytes) of a noeviction server going over its limit."""
    a = server.connect()
    b = server.connect()
    out = []

    def c(conn, *args):
        out.append((args, conn.call(*args)))

    c(a, "config", "set", "maxmemory-policy", "noeviction")
    c(a, "config", "get", "maxmemory-policy")
    c(a, "set", "k", "v")
    c(a, "config", "set", "maxmemory", "1")
    c(a, "set", "x", "1")
    c(a, "setex", "x", "10", "1")
    c(a, "get", "k")
    c(a, "incr", "counter")
    c(a, "exists", "k")
    c(a, "ping")
    c(a, "del", "k")
    c(a, "set", "k", "v")
    # Everything queued inside MULTI is refused (queuing takes memory), but DISCARD/EXEC.
    c(a, "multi")
    c(a, "set", "x", "1")
    c(a, "get", "k")
    c(a, "ping")
    c(a, "multi")
    c(a, "watch", "k")
    c(a, "exec")
    c(a, "multi")
    c(a, "get", "k")
    c(a, "discard")
    c(a, "multi")
    c(a, "psync", "x", "1")   # no-multi is checked before memory
    c(a, "nosuch")            # unknown commands and arity too
    c(a, "get")
    c(a, "exec")
    # A transaction queued before memory ran out: EXEC is refused if it holds a denyoom
    # command, and the transaction is gone.
    c(a, "config", "set", "maxmemory", "0")
    c(a, "set", "k", "v")
    c(a, "multi")
    c(a, "set", "x", "1")
    c(a, "get", "k")
    c(b, "config", "set", "maxmemory", "1")
    c(a, "exec")
    c(a, "exec")
    c(a, "get", "x")
    # ... but runs when it holds only reads.
    c(b, "config", "set", "maxmemory", "0")
    c(a, "multi")
    c(a, "get", "k")
    c(a, "exists", "k")
    c(b, "config", "set", "maxmemory", "1")
    c(a, "exec")
    # Memory is checked before the subscribed-context rule.
    c(a, "subscribe", "ch")
    c(a, "set", "x", "y")
    c(a, "get", "k")
    c(a, "reset")
    c(a, "config", "set", "maxmemory", "0")
    c(a, "set", "x", "y")
    c(a, "info", "errorstats")
    a.close()
    b.close()
    return out


def lfu_script(server):
    a = server.connect()
    out = []

    def c(*args):
        out.append((args, a.call(*args)))

    c("set", "plain", "abc")
    c("object", "freq", "plain")
    c("object", "freq", "missing")
    c("config", "set", "lfu-log-factor", "0")
    c("config", "set", "maxmemory-policy", "allkeys-lfu")
    c("set", "f", "value")
    c("object", "freq", "f")
    for _ in range(3):
        c("get", "f")
    c("object", "freq", "f")
    c("object", "idletime", "f")
    c("object", "freq", "missing")
    c("set", "f", "other")        # an overwrite keeps the frequency
    c("object", "freq", "f")
    c("append", "f", "more")      # writes count as accesses
    c("object", "freq", "f")
    c("config", "set", "maxmemory-policy", "volatile-lfu")
    c("object", "freq", "f")
    c("config", "set", "maxmemory-policy", "allkeys-lru")
    c("object", "freq", "f")
    c("config", "set", "maxmemory-policy", "noeviction")
    c("config", "set", "lfu-log-factor", "10")
    a.close()
    return out


def info_script(server):
    a = server.connect()
    out = []
    for limit, policy in (("10mb", "allkeys-lru"), ("123456", "volatile-ttl"), ("2gb", "allkeys-random"),
                          ("0", "noeviction")):
        a.call("config", "set", "maxmemory", limit)
        a.call("config", "set", "maxmemory-policy", policy)
        fields = info(a)
        out.append(("maxmemory", fields.get("maxmemory"), fields.get("maxmemory_human"),
                    fields.get("maxmemory_policy")))
        out.append(("config get", a.call("config", "get", "maxmemory"), a.call("config", "get", "maxmemory-policy")))
    stats = info(a, "stats")
    out.append(("stats fields", "evicted_keys" in stats, "total_eviction_exceeded_time" in stats,
                "current_eviction_exceeded_time" in stats))
    mem = info(a)
    out.append(("memory fields", sorted(k for k in ("used_memory", "used_memory_peak", "used_memory_startup",
                                                     "used_memory_dataset", "mem_not_counted_for_evict")
                                        if k in mem)))
    a.close()
    return out


def compare_with_redis(name, script):
    with Server(BINARY, name="ours") as ours, Server(REDIS, name="redis") as redis:
        got = script(ours)
        want = script(redis)
    check(len(got) == len(want), "%s: same number of steps" % name)
    for ours_step, redis_step in zip(got, want):
        check(ours_step == redis_step, "%s: ours %r, redis %r" % (name, ours_step, redis_step))


def test_oom_replies_like_redis():
    compare_with_redis("oom", oom_script)


def test_object_freq_like_redis():
    compare_with_redis("lfu", lfu_script)


def test_info_fields_like_redis():
    compare_with_redis("info", info_script)


# ---------------------------------------------------------------------------------------
# Eviction on our server

def set_limit(conn, policy, extra=100 * 1024):
    """Redis's tests: a limit just above what is used now."""
    call(conn, "flushall")
    call(conn, "config", "set", "maxmemory", "0")
    time.sleep(0.05)
    limit = used_memory(conn) + extra
    call(conn, "config", "set", "maxmemory-policy", policy)
    call(conn, "config", "set", "maxmemory", str(limit))
    return limit


def fill_until_near(conn, limit, add, check_every=4):
    """Adds keys with add(conn, i) until used_memory is within 4 KB of the limit."""
    n = 0
    while True:
        for _ in range(check_every):
            add(conn, n)
            n += 1
        if used_memory(conn) + 4096 > limit:
            return n
        if n > 200000:
            raise AssertionError("memory never approached the limit")


def random_key():
    return "key:%d" % random.randrange(10 ** 9)


POLICIES = ["allkeys-random", "allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu", "volatile-random",
            "volatile-ttl"]


def test_limit_honoured(srv):
    conn = srv.connect()
    for policy in POLICIES:
        limit = set_limit(conn, policy)
        before = evicted_keys(conn)
        numkeys = fill_until_near(conn, limit, lambda c, i: c.call("setex", random_key(), "10000", "x"))
        check(numkeys > 10, "%s: more than 10 keys fit in 100 KB (%d)" % (policy, numkeys))
        errors = 0
        for _ in range(numkeys):
            if isinstance(conn.call_decoded("setex", random_key(), "10000", "x"), resp.RespError):
                errors += 1
        used = used_memory(conn)
        check(errors == 0, "%s: no OOM error while keys can be evicted (%d)" % (policy, errors))
        check(used < limit + 4096, "%s: used_memory %d stays under the limit %d + 4 KB" % (policy, used, limit))
        check(evicted_keys(conn) > before, "%s: evicted_keys grew" % policy)
    call(conn, "config", "set", "maxmemory", "0")
    conn.close()


def test_only_allkeys_remove_persistent_keys(srv):
    conn = srv.connect()
    for policy in POLICIES:
        limit = set_limit(conn, policy)
        numkeys = fill_until_near(conn, limit, lambda c, i: c.call("set", random_key(), "x"))
        oom = 0
        for _ in range(numkeys):
            reply = conn.call_decoded("set", random_key(), "x")
            if isinstance(reply, resp.RespError) and reply.message == OOM:
                oom += 1
        if policy.startswith("allkeys-"):
            used = used_memory(conn)
            check(used < limit + 4096, "%s: persistent keys evicted: used %d < limit %d + 4 KB" % (policy, used, limit))
        else:
            check(oom > 0, "%s: keys without a TTL are not evicted: OOM errors (%d)" % (policy, oom))
    call(conn, "config", "set", "maxmemory", "0")
    conn.close()


def test_volatile_policies_keep_persistent_keys(srv):
    conn = srv.connect()
    for policy in [p for p in POLICIES if p.startswith("volatile-")]:
        limit = set_limit(conn, policy)

        def add(c, i):
            if i % 2:
                c.call("setex", "key:%d" % i, "10000", "x")
            else:
                c.call("set", "key:%d" % i, "x")

        numkeys = fill_until_near(conn, limit, add, check_every=2)
        for j in range(numkeys):
            conn.call("setex", "foo:%d" % j, "10000", "x")
        used = used_memory(conn)
        check(used < limit + 4096, "%s: used %d < limit %d + 4 KB" % (policy, used, limit))
        missing = [j for j in range(0, numkeys, 2) if call(conn, "exists", "key:%d" % j) != 1]
        check(not missing, "%s: every key without a TTL is still there (missing %d)" % (policy, len(missing)))
    call(conn, "config", "set", "maxmemory", "0")
    conn.close()


def bytes_per_key(conn, add, count):
    before = used_memory(conn)
    for i in range(count):
        add(i)
    return max(1, (used_memory(conn) - before) // count)


def lower_limit_by(conn, nkeys, per_key):
    """Sets maxmemory so that about nkeys keys must go, and lets a command evict them."""
    used = used_memory(conn)
    call(conn, "config", "set", "maxmemory", str(used - nkeys * per_key))
    call(conn, "ping")  # any command evicts first


def test_volatile_ttl_shortest_first(srv):
    conn = srv.connect()
    call(conn, "flushall")
    call(conn, "config", "set", "maxmemory", "0")
    call(conn, "config", "set", "maxmemory-samples", "10")
    call(conn, "config", "set", "maxmemory-policy", "volatile-ttl")
    pipe = []
    for i in range(1500):
        ttl = 1000 + i if i % 5 == 0 else 100000 + i   # every fifth key expires much sooner
        pipe.append(("setex", "k:%d" % i, str(ttl), "v"))
    send_pipeline(conn, pipe)
    per_key = bytes_per_key(conn, lambda i: conn.call("setex", "extra:%d" % i, "200000", "v"), 200)
    lower_limit_by(conn, 150, per_key)
    gone = [i for i in range(1500) if call(conn, "exists", "k:%d" % i) == 0]
    short = [i for i in gone if i % 5 == 0]
    check(len(gone) >= 50, "volatile-ttl: keys were evicted (%d)" % len(gone))
    check(len(short) >= 0.8 * len(gone),
          "volatile-ttl: mostly the shortest TTLs went first (%d of %d)" % (len(short), len(gone)))
    extra_gone = sum(1 for i in range(200) if call(conn, "exists", "extra:%d" % i) == 0)
    check(extra_gone <= len(gone) // 10, "volatile-ttl: the longest TTLs stayed (%d evicted)" % extra_gone)
    call(conn, "config", "set", "maxmemory", "0")
    call(conn, "config", "set", "maxmemory-samples", "5")
    conn.close()


def send_pipeline(conn, commands, chunk=200):
    for start in range(0, len(commands), chunk):
        part = commands[start:start + chunk]
        conn.send_raw(b"".join(resp.encode_command(*cmd) for cmd in part))
        for _ in part:
            conn.read_reply()


def test_allkeys_lru_keeps_recently_read(srv):
    conn = srv.connect()
    call(conn, "flushall")
    call(conn, "config", "set", "maxmemory", "0")
    call(conn, "config", "set", "maxmemory-policy", "allkeys-lru")
    n = 1000
    before = used_memory(conn)
    send_pipeline(conn, [("set", "k:%d" % i, "v" * 20) for i in range(n)])
    per_key = max(1, (used_memory(conn) - before) // n)
    time.sleep(2.1)  # the access clock counts seconds
    hot = list(range(0, n, 4))
    send_pipeline(conn, [("get", "k:%d" % i) for i in hot])
    lower_limit_by(conn, 300, per_key)
    gone = [i for i in range(n) if call(conn, "exists", "k:%d" % i) == 0]
    hot_gone = [i for i in gone if i % 4 == 0]
    check(len(gone) >= 100, "allkeys-lru: keys were evicted (%d)" % len(gone))
    check(len(hot_gone) <= len(gone) // 20,
          "allkeys-lru: recently read keys stay (%d of %d evicted were read)" % (len(hot_gone), len(gone)))
    call(conn, "config", "set", "maxmemory", "0")
    conn.close()


def test_allkeys_lfu_keeps_frequently_read(srv):
    conn = srv.connect()
    call(conn, "flushall")
    call(conn, "config", "set", "maxmemory", "0")
    call(conn, "config", "set", "maxmemory-policy", "allkeys-lfu")
    n = 1000
    before = used_memory(conn)
    send_pipeline(conn, [("set", "k:%d" % i, "v" * 20) for i in range(n)])
    per_key = max(1, (used_memory(conn) - before) // n)
    hot = list(range(0, n, 4))
    send_pipeline(conn, [("get", "k:%d" % i) for i in hot for _ in range(5)])
    freq = call(conn, "object", "freq", "k:0")
    check(freq > 5, "allkeys-lfu: a key read 5 times has a higher frequency (%r)" % freq)
    lower_limit_by(conn, 300, per_key)
    gone = [i for i in range(n) if call(conn, "exists", "k:%d" % i) == 0]
    hot_gone = [i for i in gone if i % 4 == 0]
    check(len(gone) >= 100, "allkeys-lfu: keys were evicted (%d)" % len(gone))
    check(len(hot_gone) <= len(gone) // 20,
          "allkeys-lfu: frequently read keys stay (%d of %d evicted were hot)" % (len(hot_gone), len(gone)))
    call(conn, "config", "set", "maxmemory", "0")
    call(conn, "config", "set", "maxmemory-policy", "noeviction")
    conn.close()


def test_write_load_stays_near_limit(srv):
    conn = srv.connect()
    call(conn, "flushall")
    call(conn, "config", "set", "maxmemory", "0")
    call(conn, "config", "resetstat")
    limit = used_memory(conn) + 2 * 1024 * 1024
    call(conn, "config", "set", "maxmemory-policy", "allkeys-lru")
    call(conn, "config", "set", "maxmemory", str(limit))
    written = set()
    lock = threading.Lock()
    errors = []
    peaks = []

    def writer(t):
        try:
            c = srv.connect()
            value = "x" * 1000
            keys = ["t%d:%d" % (t, i) for i in range(4000)]
            send_pipeline(c, [("set", k, value) for k in keys], chunk=50)
            with lock:
                written.update(keys)
            c.close()
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peaks.append(used_memory(conn))
        time.sleep(0.05)
    for t in threads:
        t.join()
    check(not errors, "write load: no client errors %r" % errors[:3])
    used = used_memory(conn)
    # Connections' buffers count too: allow each writer's pipelined batch and replies.
    slack = 256 * 1024
    check(used <= limit + slack, "write load: used_memory %d stays near maxmemory %d" % (used, limit))
    check(max(peaks or [0]) <= limit + slack,
          "write load: used_memory never went far over the limit (max %d, limit %d)" % (max(peaks or [0]), limit))
    dbsize = call(conn, "dbsize")
    evicted = evicted_keys(conn)
    check(evicted > 0, "write load: keys were evicted")
    check(dbsize + evicted == len(written),
          "write load: evicted_keys %d + dbsize %d == keys written %d" % (evicted, dbsize, len(written)))
    call(conn, "config", "set", "maxmemory", "0")
    call(conn, "config", "set", "maxmemory-policy", "noeviction")
    conn.close()


def test_unlink_gives_memory_back(srv):
    conn = srv.connect()
    call(conn, "flushall")
    time.sleep(0.05)
    orig = used_memory(conn)
    conn.call("sadd", "myset", *[str(i) for i in range(100000)])
    check(call(conn, "scard", "myset") == 100000, "unlink: the set was filled")
    peak = used_memory(conn)
    check(call(conn, "unlink", "myset") == 1, "unlink: deleted")
    check(peak > orig + 1000000, "unlink: the set took memory (%d -> %d)" % (orig, peak))
    deadline = time.monotonic() + 5
    used = used_memory(conn)
    while not (used < peak and used < orig * 2) and time.monotonic() < deadline:
        time.sleep(0.1)
        used = used_memory(conn)
    check(used < peak and used < orig * 2, "unlink: used_memory came back (orig %d, peak %d, now %d)"
          % (orig, peak, used))
    mem = info(conn)
    check(int(mem["used_memory_peak"]) >= peak, "unlink: used_memory_peak kept the peak")
    conn.close()


def test_replica_ignores_maxmemory():
    cluster = replication_lib.Cluster()
    try:
        master = cluster.start(BINARY, name="master")
        replica = cluster.replica(BINARY, master, name="replica")
        replica.call("CONFIG", "SET", "maxmemory", "1")
        replica.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
        m = master.conn()
        send_pipeline(m, [("set", "k:%d" % i, "v" * 50) for i in range(2000)])
        replication_lib.wait_in_sync(master, [replica])
        check(replica.call("DBSIZE") == 2000, "replica: kept every key despite maxmemory 1")
        check(int(replica.info("stats")["evicted_keys"]) == 0, "replica: evicted nothing")
        check(replica.call("GET", "k:7") == b"v" * 50, "replica: reads work over the limit")
        # The master's evictions reach the replica as DELs.
        limit = used_memory(m) - 50 * 1024
        master.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
        master.call("CONFIG", "SET", "maxmemory", str(limit))
        master.call("SET", "trigger", "1")
        evicted = int(master.info("stats")["evicted_keys"])
        check(evicted > 0, "replica test: the master evicted keys (%d)" % evicted)
        master.call("CONFIG", "SET", "maxmemory", "0")
        replication_lib.wait_in_sync(master, [replica])
        check(replica.call("DBSIZE") == master.call("DBSIZE"),
              "replica: the master's evictions were propagated (dbsize %r vs %r)"
              % (replica.call("DBSIZE"), master.call("DBSIZE")))
    finally:
        cluster.close()


def main():
    tests_with_server = [test_limit_honoured, test_only_allkeys_remove_persistent_keys,
                         test_volatile_policies_keep_persistent_keys, test_volatile_ttl_shortest_first,
                         test_allkeys_lru_keeps_recently_read, test_allkeys_lfu_keeps_frequently_read,
                         test_write_load_stays_near_limit, test_unlink_gives_memory_back]
    standalone = [test_oom_replies_like_redis, test_object_freq_like_redis, test_info_fields_like_redis,
                  test_replica_ignores_maxmemory]
    for test in standalone:
        if ONLY and ONLY not in test.__name__:
            continue
        print(test.__name__)
        try:
            test()
        except Exception:  # noqa: BLE001
            failures.append(test.__name__ + ": " + traceback.format_exc())
            print(traceback.format_exc())
    selected = [t for t in tests_with_server if not ONLY or ONLY in t.__name__]
    if selected:
        with Server(BINARY, name="ours") as srv:
            for test in selected:
                print(test.__name__)
                try:
                    test(srv)
                except Exception:  # noqa: BLE001
                    failures.append(test.__name__ + ": " + traceback.format_exc())
                    print(traceback.format_exc())
                if not srv.alive():
                    failures.append("server died during " + test.__name__ + "\n" + srv.log_tail())
                    break
    if failures:
        print("maxmemory_test: %d failure(s)" % len(failures))
        return 1
    print("maxmemory_test: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
