#!/usr/bin/env python3
"""Many clients at once: no lost update, atomic transactions, ordered pub/sub.

    python3 test/e2e/concurrency_test.py ./redis-server [-v]

Environment: CONCURRENCY_SCALE (default 1.0) multiplies every iteration count; the TSan
build runs with a smaller scale (see the Makefile's check-tsan). CONCURRENCY_CLIENTS
(default 50) is the number of hammering clients.

Each section uses its own keys on one server, and checks exact results:
  counters     INCR / INCRBY / DECRBY / APPEND / INCRBYFLOAT on shared keys, SET/DEL/EXPIRE churn
  transfers    MULTI/EXEC moving amounts between accounts; concurrent MGETs always see the total
  watch        WATCH/GET/MULTI/SET/EXEC optimistic increments: no update lost
  pubsub       several subscribers (channel and pattern) get every message in publish order
  lists        LPUSH producers / BLPOP + RPOP consumers: every element delivered once
               (only if the server has BLPOP)
  admin        CLIENT LIST / INFO / DBSIZE / SCAN / KEYS / CONFIG GET while all of the above run
Runs against /usr/bin/redis-server too (that is how the expectations were checked).
"""

import argparse
import os
import random
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import resp  # noqa: E402
from servers import Server  # noqa: E402

SCALE = float(os.environ.get("CONCURRENCY_SCALE", "1"))
CLIENTS = int(os.environ.get("CONCURRENCY_CLIENTS", "50"))
failures = []
VERBOSE = False
lock = threading.Lock()


def n(count):
    return max(1, int(count * SCALE))


def log(msg):
    with lock:
        print(msg, flush=True)


def check(cond, what):
    if cond:
        log("  ok   %s" % what)
    else:
        with lock:
            failures.append(what)
        log("  FAIL %s" % what)


def run_threads(targets):
    """Runs callables in threads; an exception in one is a failure (with its traceback)."""
    errors = []

    def wrap(fn):
        try:
            fn()
        except Exception:  # noqa: BLE001 - any error in a client thread fails the test
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=wrap, args=(t,), daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    for e in errors[:3]:
        log(e)
    check(not errors, "%d client threads finished without error (%d errors)" % (len(threads), len(errors)))
    return not errors


def val(conn, *args):
    return resp.decode(conn.call(*args, timeout=60))


# ---------------------------------------------------------------------------------------------

def section_counters(srv):
    log("-- counters: %d clients x %d rounds" % (CLIENTS, n(200)))
    rounds = n(200)

    def client(i):
        def run():
            rnd = random.Random(i)
            with srv.connect(timeout=60) as c:
                for r in range(rounds):
                    if r % 10 == 0:
                        # Pipelined burst: the parser sees several commands per read.
                        c.send_raw(b"".join([
                            resp.encode_command("INCR", "ctr:incr"),
                            resp.encode_command("INCRBY", "ctr:by", i + 1),
                            resp.encode_command("APPEND", "ctr:append", "ab"),
                            resp.encode_command("DECRBY", "ctr:decr", 3),
                        ]))
                        for _ in range(4):
                            reply = c.read_reply(timeout=60)
                            assert not reply.startswith(b"-"), reply
                    else:
                        assert c.call("INCR", "ctr:incr", timeout=60).startswith(b":")
                        assert c.call("INCRBY", "ctr:by", i + 1, timeout=60).startswith(b":")
                        assert c.call("APPEND", "ctr:append", "ab", timeout=60).startswith(b":")
                        assert c.call("DECRBY", "ctr:decr", 3, timeout=60).startswith(b":")
                    c.call("INCRBYFLOAT", "ctr:float", "0.5", timeout=60)
                    # Churn on a few shared keys: any interleaving is fine, the server must cope.
                    k = "churn:%d" % rnd.randrange(5)
                    op = rnd.randrange(5)
                    if op == 0:
                        c.call("SET", k, "v%d" % i)
                    elif op == 1:
                        c.call("DEL", k)
                    elif op == 2:
                        c.call("EXPIRE", k, 1000)
                    elif op == 3:
                        c.call("GET", k)
                    else:
                        c.call("SET", k, "x", "PX", 5)
                    # A TTL on a counter that keeps counting.
                    c.call("EXPIRE", "ctr:incr", 100000)
        return run

    run_threads([client(i) for i in range(CLIENTS)])
    with srv.connect() as c:
        total = CLIENTS * rounds
        check(val(c, "GET", "ctr:incr") == b"%d" % total, "INCR total %d (got %s)" % (total, val(c, "GET", "ctr:incr")))
        by = rounds * sum(i + 1 for i in range(CLIENTS))
        check(val(c, "GET", "ctr:by") == b"%d" % by, "INCRBY total %d (got %s)" % (by, val(c, "GET", "ctr:by")))
        check(val(c, "STRLEN", "ctr:append") == 2 * total, "APPEND length %d" % (2 * total))
        check(val(c, "GET", "ctr:append") == b"ab" * total, "APPEND content is whole 'ab' pairs")
        check(val(c, "GET", "ctr:decr") == b"%d" % (-3 * total), "DECRBY total %d" % (-3 * total))
        check(float(val(c, "GET", "ctr:float")) == total * 0.5, "INCRBYFLOAT total %s" % (total * 0.5))
        ttl = val(c, "TTL", "ctr:incr")
        check(99990 <= ttl <= 100000, "EXPIRE on the shared counter kept (TTL %s)" % ttl)


def section_transfers(srv):
    accounts = 10
    start_balance = 1000
    total = accounts * start_balance
    rounds = n(150)
    writers = max(2, CLIENTS // 2)
    log("-- transfers: %d clients x %d MULTI/EXEC, MGET readers" % (writers, rounds))
    keys = ["acct:%d" % i for i in range(accounts)]
    with srv.connect() as c:
        c.call("MSET", *[x for k in keys for x in (k, start_balance)])
    done = threading.Event()
    bad_sums = []
    reads = [0]

    def writer(i):
        def run():
            rnd = random.Random(1000 + i)
            with srv.connect(timeout=60) as c:
                for _ in range(rounds):
                    a, b = rnd.sample(keys, 2)
                    amount = rnd.randrange(1, 50)
                    assert c.call("MULTI") == b"+OK\r\n"
                    assert c.call("DECRBY", a, amount) == b"+QUEUED\r\n"
                    assert c.call("INCRBY", b, amount) == b"+QUEUED\r\n"
                    reply = resp.decode(c.call("EXEC", timeout=60))
                    assert isinstance(reply, list) and len(reply) == 2, reply
        return run

    def reader():
        with srv.connect(timeout=60) as c:
            while not done.is_set():
                balances = val(c, "MGET", *keys)
                s = sum(int(x) for x in balances)
                reads[0] += 1
                if s != total:
                    bad_sums.append(s)
                # A transaction that only reads sees a consistent state as well.
                c.call("MULTI")
                for k in keys:
                    c.call("GET", k)
                s2 = sum(int(x) for x in val(c, "EXEC"))
                if s2 != total:
                    bad_sums.append(s2)

    readers = [threading.Thread(target=reader, daemon=True) for _ in range(3)]
    for t in readers:
        t.start()
    run_threads([writer(i) for i in range(writers)])
    done.set()
    for t in readers:
        t.join(timeout=60)
    with srv.connect() as c:
        final = sum(int(x) for x in val(c, "MGET", *keys))
    check(final == total, "sum of balances after transfers is %d (got %d)" % (total, final))
    check(not bad_sums, "%d concurrent reads all saw the total (bad: %s)" % (reads[0], bad_sums[:5]))


def section_watch(srv):
    rounds = n(40)
    clients = max(2, CLIENTS // 5)
    log("-- watch: %d clients x %d optimistic increments" % (clients, rounds))
    retries = [0]

    def client(i):
        def run():
            with srv.connect(timeout=60) as c:
                for _ in range(rounds):
                    while True:
                        assert c.call("WATCH", "opt:ctr") == b"+OK\r\n"
                        current = val(c, "GET", "opt:ctr")
                        current = int(current) if current is not None else 0
                        c.call("MULTI")
                        c.call("SET", "opt:ctr", current + 1)
                        c.call("SET", "opt:last", i)
                        reply = c.call("EXEC", timeout=60)
                        if reply == b"*-1\r\n":
                            with lock:
                                retries[0] += 1
                            continue
                        assert resp.decode(reply) == ["OK", "OK"], reply
                        break
        return run

    run_threads([client(i) for i in range(clients)])
    with srv.connect() as c:
        got = val(c, "GET", "opt:ctr")
    check(got == b"%d" % (clients * rounds),
          "WATCH increments: %d (got %s, %d retries)" % (clients * rounds, got, retries[0]))


def section_pubsub(srv):
    messages = n(1000)
    log("-- pubsub: 2 publishers x %d messages, 4 subscribers" % messages)
    # First, alone: the last UNSUBSCRIBE's reply arrives, then the client is a normal one again.
    with srv.connect(timeout=5) as c:
        c.send_command("SUBSCRIBE", "solo")
        c.read_reply()
        c.send_command("UNSUBSCRIBE", "solo")
        try:
            reply = c.read_reply()
        except resp.ReplyTimeout:
            reply = b"<no reply within 5 s>"
        check(reply == b"*3\r\n$11\r\nunsubscribe\r\n$4\r\nsolo\r\n:0\r\n",
              "reply to the UNSUBSCRIBE that leaves no subscription (got %r)" % reply)
    subs = []
    for i in range(4):
        c = srv.connect(timeout=60)
        if i == 3:
            c.send_command("PSUBSCRIBE", "ps:*")
            assert resp.decode(c.read_reply()) == [b"psubscribe", b"ps:*", 1]
        else:
            c.send_command("SUBSCRIBE", "ps:a", "ps:b")
            assert resp.decode(c.read_reply()) == [b"subscribe", b"ps:a", 1]
            assert resp.decode(c.read_reply()) == [b"subscribe", b"ps:b", 2]
        subs.append(c)
    received = [[] for _ in subs]

    def subscriber(i):
        def run():
            c = subs[i]
            while len(received[i]) < 2 * messages:
                msg = resp.decode(c.read_reply(timeout=60))
                if msg[0] == b"message":
                    received[i].append((msg[1], msg[2]))
                elif msg[0] == b"pmessage":
                    received[i].append((msg[2], msg[3]))
                else:
                    raise AssertionError("unexpected %r" % (msg,))
        return run

    counts = []

    def publisher(channel):
        def run():
            with srv.connect(timeout=60) as c:
                for m in range(messages):
                    counts.append(val(c, "PUBLISH", channel, "%s-%d" % (channel, m)))
        return run

    # Extra noise: clients subscribing and unsubscribing to the same channels meanwhile.
    def churner():
        for _ in range(n(50)):
            with srv.connect(timeout=10) as c:
                c.send_command("SUBSCRIBE", "ps:a")
                assert resp.decode(c.read_reply())[0] == b"subscribe"
                c.send_command("UNSUBSCRIBE")
                reply = resp.decode(c.read_reply())
                while reply[0] == b"message":   # published before the unsubscribe
                    reply = resp.decode(c.read_reply())
                assert reply == [b"unsubscribe", b"ps:a", 0], reply
                assert c.call("PING") == b"+PONG\r\n"

    run_threads([subscriber(i) for i in range(4)] + [publisher("ps:a"), publisher("ps:b"), churner])
    for c in subs:
        c.close()
    for i, got in enumerate(received):
        for ch in (b"ps:a", b"ps:b"):
            seq = [m for (chan, m) in got if chan == ch]
            want = [b"%s-%d" % (ch, m) for m in range(messages)]
            check(seq == want, "subscriber %d: %d messages on %s, in publish order" % (i, messages, ch.decode()))
    check(counts and min(counts) >= 4, "PUBLISH counted at least the 4 steady receivers (min %s)"
          % (min(counts) if counts else None))


def section_lists(srv):
    with srv.connect() as c:
        if val(c, "COMMAND", "INFO", "blpop") == [None]:
            log("-- lists: skipped (no BLPOP in this server yet)")
            return
    items = n(500)
    producers = 5
    consumers = 5
    log("-- lists: %d producers x %d LPUSH, %d BLPOP/RPOP consumers" % (producers, items, consumers))
    got = []
    stop = threading.Event()

    def producer(p):
        def run():
            with srv.connect(timeout=60) as c:
                for m in range(items):
                    assert val(c, "LPUSH", "q:%d" % (m % 3), "%d-%d" % (p, m)) >= 1
        return run

    def consumer(i):
        def run():
            mine = []
            with srv.connect(timeout=60) as c:
                while True:
                    if i % 2:
                        r = val(c, "BLPOP", "q:0", "q:1", "q:2", "0.2")
                        if r is None:
                            if stop.is_set():
                                break
                            continue
                        mine.append(r[1])
                    else:
                        r = val(c, "RPOP", "q:%d" % random.randrange(3))
                        if r is None:
                            if stop.is_set():
                                break
                            time.sleep(0.001)
                            continue
                        mine.append(r)
            with lock:
                got.extend(mine)
        return run

    cons = [threading.Thread(target=consumer(i), daemon=True) for i in range(consumers)]
    for t in cons:
        t.start()
    run_threads([producer(p) for p in range(producers)])
    stop.set()
    for t in cons:
        t.join(timeout=120)
    want = sorted(b"%d-%d" % (p, m) for p in range(producers) for m in range(items))
    check(sorted(got) == want, "every pushed element popped exactly once (%d of %d, %d distinct)"
          % (len(got), len(want), len(set(got))))


def admin_noise(srv, stop):
    """Introspection running concurrently with the sections above."""
    def run():
        with srv.connect(timeout=60) as c:
            while not stop.is_set():
                for cmd in (("CLIENT", "LIST"), ("INFO",), ("DBSIZE",), ("SCAN", "0", "COUNT", "100"),
                            ("KEYS", "ctr:*"), ("CONFIG", "GET", "maxclients"), ("CLIENT", "INFO"),
                            ("TTL", "ctr:incr"), ("EXISTS", "acct:1"), ("RANDOMKEY",)):
                    reply = c.call(*cmd, timeout=60)
                    assert not reply.startswith(b"-"), (cmd, reply)
                time.sleep(0.01)
    return run


def main():
    global VERBOSE
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    VERBOSE = args.verbose
    log("scale %.2f, %d clients" % (SCALE, CLIENTS))
    started = time.monotonic()
    with Server(os.path.abspath(args.binary), name="ours", start_timeout=60,
                extra_args=["--maxclients", "1000"]) as srv:
        stop = threading.Event()
        noise = [threading.Thread(target=admin_noise(srv, stop), daemon=True) for _ in range(2)]
        for t in noise:
            t.start()
        try:
            for section in (section_counters, section_transfers, section_watch, section_pubsub, section_lists):
                t0 = time.monotonic()
                section(srv)
                log("   (%.1fs)" % (time.monotonic() - t0))
        finally:
            stop.set()
            for t in noise:
                t.join(timeout=60)
        check(srv.alive(), "server still running")
        if srv.alive():
            with srv.connect() as c:
                check(c.call("PING") == b"+PONG\r\n", "server answers PING at the end")
        else:
            log(srv.log_tail())
    log("concurrency: %.1fs" % (time.monotonic() - started))
    if failures:
        log("concurrency: %d check(s) failed:" % len(failures))
        for f in failures:
            log("  - " + f)
        sys.exit(1)
    log("concurrency: all checks passed")


if __name__ == "__main__":
    main()
