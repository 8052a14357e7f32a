#!/usr/bin/env python3
"""Sharded pub/sub across connections (the single-connection replies are covered by
test/diff/corpus/pubsub.txt).

    python3 test/e2e/pubsub_test.py ./redis-server [--redis /usr/bin/redis-server] [-v] [-k NAME]

Cases: CLIENT LIST / CLIENT INFO sub= psub= ssub= flags= and INFO stats pubsub_channels /
pubsub_patterns / pubsubshard_channels while a client holds every kind of subscription, and
CLIENT KILL TYPE pubsub counting a client with only shard channels; a shard subscriber that
stops reading is disconnected at the pubsub output buffer limit without stalling the
publisher; several publishers and shard subscribers: every message arrives once, in publish
order, and never on the classic channel of the same name.

With --redis, every case also runs against real Redis and must give the same results (the
expectations were checked that way). Standard library only; helpers from test/lib.
"""

import argparse
import os
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import checks  # noqa: E402
import resp  # noqa: E402
from checks import check, failures, log  # noqa: E402
from servers import Server  # noqa: E402

BINARY = None
REDIS = None
VERBOSE = False


def servers():
    """(name, binary) of every server a case runs against."""
    return [("ours", BINARY)] + ([("redis", REDIS)] if REDIS else [])


def call(conn, *args):
    return resp.decode(conn.call(*args))


def subscribe(conn, command, *names):
    """Sends a (S|P)SUBSCRIBE and reads one confirmation per name."""
    conn.send_command(command, *names)
    return [resp.decode(conn.read_reply()) for _ in names]


def client_fields(line):
    """The fields of one CLIENT LIST / CLIENT INFO line that describe subscriptions."""
    fields = dict(item.split("=", 1) for item in line.strip().split(" ") if "=" in item)
    return {k: fields[k] for k in ("flags", "sub", "psub", "ssub")}


def info_fields(conn):
    text = call(conn, "INFO", "stats").decode()
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("pubsub_channels", "pubsub_patterns", "pubsubshard_channels"):
            out[key] = value
    return out


def case_introspection():
    results = {}
    for name, binary in servers():
        seen = []
        with Server(binary) as srv:
            admin = srv.connect()
            sub = srv.connect()
            seen.append(subscribe(sub, "SUBSCRIBE", "c1", "c2"))
            seen.append(subscribe(sub, "PSUBSCRIBE", "p*"))
            seen.append(subscribe(sub, "SSUBSCRIBE", "s1", "s2", "s3"))
            seen.append(client_fields(call(admin, "CLIENT", "LIST", "TYPE", "pubsub").decode()))
            seen.append(info_fields(admin))
            seen.append(subscribe(sub, "SUNSUBSCRIBE", "s1"))
            seen.append(subscribe(sub, "UNSUBSCRIBE", "c1", "c2"))
            seen.append(subscribe(sub, "PUNSUBSCRIBE", "p*"))
            # Only shard channels left: still a pubsub client.
            seen.append(client_fields(call(admin, "CLIENT", "LIST", "TYPE", "pubsub").decode()))
            seen.append(info_fields(admin))
            # A RESP3 subscriber may look at itself.
            resp3 = srv.connect()
            call(resp3, "HELLO", "3")
            seen.append(subscribe(resp3, "SSUBSCRIBE", "s9"))
            seen.append(client_fields(call(resp3, "CLIENT", "INFO").decode()))
            seen.append(call(admin, "CLIENT", "KILL", "TYPE", "pubsub"))
            for conn in (sub, resp3):
                try:
                    conn.read_reply(timeout=2)
                    closed = False
                except resp.ConnectionClosed:
                    closed = True
                check(closed, "%s: CLIENT KILL TYPE pubsub closes a shard subscriber" % name)
            time.sleep(0.1)
            seen.append(info_fields(admin))
            seen.append(call(admin, "PUBSUB", "SHARDCHANNELS"))
            for conn in (admin, sub, resp3):
                conn.close()
        results[name] = seen
        expected_fields = {"flags": "P", "sub": "2", "psub": "1", "ssub": "3"}
        check(seen[3] == expected_fields, "%s: CLIENT LIST fields %r" % (name, seen[3]))
        check(seen[4] == {"pubsub_channels": "2", "pubsub_patterns": "1", "pubsubshard_channels": "3"},
              "%s: INFO stats %r" % (name, seen[4]))
        check(seen[8] == {"flags": "P", "sub": "0", "psub": "0", "ssub": "2"},
              "%s: CLIENT LIST with shard channels only %r" % (name, seen[8]))
        check(seen[11]["ssub"] == "1", "%s: CLIENT INFO of a RESP3 subscriber %r" % (name, seen[11]))
        check(seen[12] == 2, "%s: CLIENT KILL TYPE pubsub killed %r" % (name, seen[12]))
        check(seen[13]["pubsubshard_channels"] == "0", "%s: killed subscribers leave no channel" % name)
    if "redis" in results:
        check(results["ours"] == results["redis"],
              "same as Redis:\n  ours  %r\n  redis %r" % (results["ours"], results["redis"]))


def case_output_buffer_limit():
    results = {}
    for name, binary in servers():
        with Server(binary) as srv:
            admin = srv.connect(timeout=30)
            call(admin, "CONFIG", "SET", "client-output-buffer-limit", "pubsub 256kb 0 0")
            slow = srv.connect(timeout=30)
            subscribe(slow, "SSUBSCRIBE", "big")
            reader = srv.connect(timeout=30)
            subscribe(reader, "SSUBSCRIBE", "small")
            payload = b"x" * 65536
            start = time.monotonic()
            receivers = []
            # Enough to fill the kernel's socket buffers, then the outbox past the limit.
            for _ in range(400):
                receivers.append(call(admin, "SPUBLISH", "big", payload))
                if receivers[-1] == 0:
                    break
            elapsed = time.monotonic() - start
            check(receivers[-1] == 0, "%s: the stalled subscriber is dropped (receivers %r...)"
                  % (name, receivers[-3:]))
            check(elapsed < 20, "%s: the publisher never waits for the stalled subscriber (%.1f s)"
                  % (name, elapsed))
            got = call(admin, "PUBSUB", "SHARDNUMSUB", "big", "small")
            call(admin, "SPUBLISH", "small", "still-here")
            msg = resp.decode(reader.read_reply(timeout=5))
            check(msg == [b"smessage", b"small", b"still-here"],
                  "%s: other subscribers are unaffected (got %r)" % (name, msg))
            results[name] = [got, msg]
            for conn in (admin, slow, reader):
                conn.close()
    if "redis" in results:
        check(results["ours"] == results["redis"],
              "same as Redis:\n  ours  %r\n  redis %r" % (results["ours"], results["redis"]))


def case_ordering():
    messages = 500
    for name, binary in servers():
        with Server(binary) as srv:
            subs = []
            for i in range(3):
                conn = srv.connect(timeout=60)
                got = subscribe(conn, "SSUBSCRIBE", "sh:a", "sh:b")
                assert got == [[b"ssubscribe", b"sh:a", 1], [b"ssubscribe", b"sh:b", 2]], got
                subs.append(conn)
            classic = srv.connect(timeout=60)
            subscribe(classic, "SUBSCRIBE", "sh:a", "sh:b")
            received = [[] for _ in subs]
            counts = []
            errors = []

            def subscriber(i):
                try:
                    while len(received[i]) < 2 * messages:
                        msg = resp.decode(subs[i].read_reply(timeout=60))
                        assert msg[0] == b"smessage", msg
                        received[i].append((msg[1], msg[2]))
                except Exception:  # noqa: BLE001
                    errors.append(traceback.format_exc())

            def publisher(channel):
                try:
                    with srv.connect(timeout=60) as conn:
                        for m in range(messages):
                            counts.append(call(conn, "SPUBLISH", channel, "%s-%d" % (channel, m)))
                except Exception:  # noqa: BLE001
                    errors.append(traceback.format_exc())

            threads = [threading.Thread(target=subscriber, args=(i,)) for i in range(len(subs))]
            threads += [threading.Thread(target=publisher, args=(ch,)) for ch in ("sh:a", "sh:b")]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            check(not errors, "%s: no client failed%s" % (name, "".join("\n" + e for e in errors)))
            for i, got in enumerate(received):
                for ch in (b"sh:a", b"sh:b"):
                    seq = [m for (chan, m) in got if chan == ch]
                    want = [b"%s-%d" % (ch, m) for m in range(messages)]
                    check(seq == want, "%s: subscriber %d got every %s message in order" % (name, i, ch.decode()))
            check(counts and set(counts) == {3}, "%s: SPUBLISH counted the 3 shard subscribers (%r)"
                  % (name, sorted(set(counts))))
            # The classic subscriber saw none of it: its next reply is the PING's.
            check(classic.call("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n",
                  "%s: SUBSCRIBE on the same names received no shard message" % name)
            for conn in subs + [classic]:
                conn.close()


CASES = [
    ("introspection", case_introspection),
    ("output_buffer_limit", case_output_buffer_limit),
    ("ordering", case_ordering),
]


def main():
    global BINARY, REDIS, VERBOSE
    parser = argparse.ArgumentParser()
    parser.add_argument("binary", nargs="?", default=os.path.join(HERE, "..", "..", "redis-server"))
    parser.add_argument("--redis", default=None, help="also run against this real Redis")
    parser.add_argument("-v", action="store_true")
    parser.add_argument("-k", default=None, help="only cases whose name contains this")
    args = parser.parse_args()
    BINARY = os.path.abspath(args.binary)
    REDIS = args.redis
    VERBOSE = args.v
    checks.verbose = VERBOSE
    for name, case in CASES:
        if args.k and args.k not in name:
            continue
        log("== %s" % name)
        try:
            case()
        except Exception:  # noqa: BLE001
            failures.append(name)
            log("  FAIL %s raised:\n%s" % (name, traceback.format_exc()))
    if failures:
        log("pubsub_test: %d failure(s)" % len(failures))
        sys.exit(1)
    log("pubsub_test: all passed")


if __name__ == "__main__":
    main()
