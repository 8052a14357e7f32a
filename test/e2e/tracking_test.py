#!/usr/bin/env python3
"""Client-side caching (CLIENT TRACKING) beyond what the diff corpus can compare.

    python3 test/e2e/tracking_test.py [./redis-server] [-v]

Against real Redis 7.0 (same script on both, values compared):
  - INFO tracking_clients / tracking_total_keys / tracking_total_items /
    tracking_total_prefixes through enabling, reading, changes, BCAST, OFF, FLUSHALL and
    disconnections;
  - CLIENT LIST flags (t, R, B) and redir= of tracking clients, a broken redirect included;
  - tracking-table-max-keys lowered below the table's size: the extra keys are reported by the
    cron (no command needed) until one remains.
Ours only (timing and concurrency):
  - a client idle in recv() gets its invalidation without sending anything, also when it only
    became a REDIRECT target while idle (the pusher writes to the idle socket);
  - a simulated client-side cache (RESP3 reader, values cached on replies, dropped on
    invalidations) against concurrent writers: once everything is quiet, every cached value
    equals the server's, i.e. no invalidation ever overtook the reply it makes stale.
Standard library only; helpers from test/lib. Exits non-zero on failure.
"""

import os
import random
import re
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import resp  # noqa: E402
from servers import Server  # noqa: E402

REDIS = "/usr/bin/redis-server"
VERBOSE = "-v" in sys.argv
failures = []
BATCH = 8  # the most GETs the cache test pipelines at once


def check(name, ok, detail=""):
    if VERBOSE or not ok:
        print("%s %s %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)
    if not ok:
        failures.append(name)


def info_fields(c):
    text = resp.decode(c.call("INFO", "everything")).decode()
    wanted = ("tracking_clients", "tracking_total_keys", "tracking_total_items", "tracking_total_prefixes")
    return tuple(int(re.search(r"^%s:(\d+)" % name, text, re.M).group(1)) for name in wanted)


def client_fields(c, ids):
    """flags= and redir= of every client, ids replaced by their names in `ids`."""
    names = {str(v): k for k, v in ids.items()}
    out = {}
    for line in resp.decode(c.call("CLIENT", "LIST")).decode().splitlines():
        fields = dict(f.split("=", 1) for f in line.split(" ") if "=" in f)
        if fields["id"] in names:
            out[names[fields["id"]]] = (fields["flags"], names.get(fields["redir"], fields["redir"]))
    return out


def client_id(c):
    return resp.decode(c.call("CLIENT", "ID"))


def info_script(srv):
    """Observations compared with Redis: INFO tracking fields and CLIENT LIST after each step."""
    seen = []
    admin, a, b, target, writer = (srv.connect() for _ in range(5))
    ids = {name: client_id(c) for name, c in
           (("admin", admin), ("a", a), ("b", b), ("target", target), ("writer", writer))}

    def observe(step):
        seen.append((step, info_fields(admin), client_fields(admin, ids)))

    observe("start")
    a.call("HELLO", "3")
    a.call("CLIENT", "TRACKING", "on")
    a.call("MGET", "k1", "k2", "k3")
    observe("a reads three keys")
    b.call("CLIENT", "TRACKING", "on", "REDIRECT", str(ids["target"]))
    b.call("GET", "k1")
    b.call("GET", "k4")
    observe("b reads, redirected")
    writer.call("SET", "k1", "x")
    a.read_reply()
    observe("k1 changed")
    b.call("CLIENT", "TRACKING", "off")
    observe("b off: its keys stay")
    b.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p:", "PREFIX", "q:")
    a.call("CLIENT", "TRACKING", "off")
    a.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p:", "NOLOOP")
    observe("two BCAST clients, two prefixes")
    b.call("CLIENT", "TRACKING", "off")
    b.call("CLIENT", "TRACKING", "on", "REDIRECT", str(ids["target"]))
    b.call("GET", "k5")
    target.call("QUIT")
    target.close()
    time.sleep(0.1)
    writer.call("SET", "k5", "x")
    observe("b's redirect broken")
    b.call("RESET")
    observe("b reset")
    writer.call("FLUSHALL")
    a.read_reply()
    observe("flushall")
    c = srv.connect()
    c.call("CLIENT", "TRACKING", "on")
    c.call("GET", "gone")
    c.close()
    time.sleep(0.1)
    observe("a tracking client disconnected")
    # tracking-table-max-keys: the cron reports the extra keys; nobody sends a command.
    admin.call("FLUSHALL")
    a.read_reply()
    d = srv.connect()
    d.call("HELLO", "3")
    d.call("CLIENT", "TRACKING", "on")
    for i in range(10):
        d.call("GET", "lim%d" % i)
    admin.call("CONFIG", "SET", "tracking-table-max-keys", "3")
    reported = set()
    for _ in range(7):
        push = resp.decode(d.read_reply(timeout=2))
        reported.update(push[1])
    seen.append(("evicted by the limit", len(reported)))
    admin.call("CONFIG", "SET", "tracking-table-max-keys", "1000000")
    observe("after the limit")
    return seen


def compare_with_redis(ours_binary):
    with Server(REDIS) as redis_srv:
        theirs = info_script(redis_srv)
    with Server(ours_binary) as ours_srv:
        ours = info_script(ours_srv)
    check("same number of observations", len(theirs) == len(ours))
    for t, o in zip(theirs, ours):
        check("observation '%s'" % t[0], t == o, "\n    redis %r\n    ours  %r" % (t, o))


def idle_delivery(binary):
    with Server(binary) as srv:
        reader, target, writer = srv.connect(), srv.connect(), srv.connect()
        reader.call("HELLO", "3")
        reader.call("CLIENT", "TRACKING", "on")
        reader.call("GET", "k")
        time.sleep(0.2)  # the reader's thread is back in recv()
        started = time.monotonic()
        writer.call("SET", "k", "1")
        push = resp.decode(reader.read_reply(timeout=2))
        check("idle RESP3 reader gets its push", push == [b"invalidate", [b"k"]], repr(push))
        check("without delay", time.monotonic() - started < 0.5)
        # The target only becomes one while it waits in recv().
        target.call("HELLO", "3")
        time.sleep(0.2)
        other = srv.connect()
        other.call("CLIENT", "TRACKING", "on", "REDIRECT", str(client_id(target)))
        other.call("GET", "j")
        writer.call("SET", "j", "1")
        push = resp.decode(target.read_reply(timeout=2))
        check("idle redirect target gets the push", push == [b"invalidate", [b"j"]], repr(push))
        check("nothing else pending on the target", target.call("PING") == b"+PONG\r\n")


def cache_consistency(binary, seconds=2.0, keys=20, writers=4):
    """Invalidations never overtake replies: a client-side cache ends up consistent."""
    with Server(binary) as srv:
        names = ["key%d" % i for i in range(keys)]
        setup = srv.connect()
        for name in names:
            setup.call("SET", name, "0")
        stop = threading.Event()
        errors = []

        def write_loop(seed):
            rng = random.Random(seed)
            c = srv.connect()
            n = 0
            try:
                while not stop.is_set():
                    n += 1
                    name = rng.choice(names)
                    if n % 7 == 0:
                        c.call("MSET", name, str(n), rng.choice(names), str(n))
                    elif n % 11 == 0:
                        c.call("DEL", name)
                    else:
                        c.call("SET", name, "%d-%d" % (seed, n))
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))

        threads = [threading.Thread(target=write_loop, args=(i,)) for i in range(writers)]
        reader = srv.connect()
        reader.call("HELLO", "3")
        reader.call("CLIENT", "TRACKING", "on")
        cache = {}
        rng = random.Random(99)
        reads = invalidations = 0

        def handle(raw):
            nonlocal invalidations
            value = resp.decode(raw)
            if isinstance(value, resp.Push):
                invalidations += 1
                for key in value[1] or []:
                    cache.pop(key.decode(), None)
                return None
            return value

        for t in threads:
            t.start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            batch = [rng.choice(names) for _ in range(rng.randint(1, BATCH))]
            for name in batch:  # pipelined reads
                reader.send_command("GET", name)
            for name in batch:
                value = None
                while True:
                    raw = reader.read_reply(timeout=5)
                    if raw.startswith(b">"):
                        handle(raw)
                        continue
                    value = resp.decode(raw)
                    break
                cache[name] = value
                reads += 1
        stop.set()
        for t in threads:
            t.join()
        # Drain: a PING's reply comes after every push sent before it.
        reader.send_command("PING")
        raw = reader.read_reply(timeout=5)
        while raw.startswith(b">"):
            handle(raw)
            raw = reader.read_reply(timeout=5)
        stale = {k: v for k, v in cache.items() if resp.decode(setup.call("GET", k)) != v}
        check("writers ran without errors", not errors, repr(errors[:3]))
        check("cache consistent after %d reads, %d invalidations" % (reads, invalidations), not stale,
              "stale: %r" % list(stale.items())[:5])
        check("the test exercised invalidations", invalidations > 100, str(invalidations))


def main():
    ours_binary = os.path.abspath(next((a for a in sys.argv[1:] if a != "-v"), "./redis-server"))
    if os.path.exists(REDIS):
        compare_with_redis(ours_binary)
    else:
        print("SKIP comparison: %s not found" % REDIS)
    idle_delivery(ours_binary)
    cache_consistency(ours_binary)
    if failures:
        print("FAILED: %d check(s): %s" % (len(failures), ", ".join(failures)))
        return 1
    print("tracking_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
