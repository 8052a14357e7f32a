#!/usr/bin/env python3
"""Blocking sorted-set pops end to end (BZPOPMIN BZPOPMAX BZMPOP).

    python3 test/e2e/blocking_zsets_test.py [./redis-server] [-v]

Starts the server on a free port and checks, with exact reply bytes:
  - several clients blocked on one key are served first-blocked first-served, each by the
    element the ZADD (from another client) made available, and the rest keep waiting;
  - BZMPOP counts and reply shape, BZPOPMAX from the top, RESP3 replies;
  - a waiter on several keys is served from the key that got data, and, when one EXEC fills
    two of them, from the key filled first (as Redis 7.0 does);
  - keys created by ZINCRBY, ZUNIONSTORE and ZRANGESTORE wake waiters too;
  - timeouts: about the requested time, null array reply (RESP3: null), also for BZMPOP;
  - inside MULTI the commands answer at once (null array when empty, served when not);
  - a waiter on a key that becomes another type keeps waiting; a waiter that disconnects does
    not swallow a later ZADD;
  - many waiters and concurrent writers: every member popped exactly once.
Real Redis 7.0 passes it too: python3 test/e2e/blocking_zsets_test.py /usr/bin/redis-server

Standard library only; helpers from test/lib (resp.py, servers.py). Exits non-zero on failure.
"""

import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import checks  # noqa: E402
import resp  # noqa: E402
from checks import array, bulk, check, check_eq, failures, log  # noqa: E402
from servers import Server  # noqa: E402

NULL_ARRAY = b"*-1\r\n"
VERBOSE = False


def bzpop_reply(key, member, score):
    """A served BZPOPMIN/BZPOPMAX: [key, member, score]."""
    return array(bulk(key), bulk(member), bulk(score))


def bzmpop_reply(key, *pairs):
    """A served BZMPOP: [key, [[member, score]...]]."""
    return array(bulk(key), array(*[array(bulk(m), bulk(s)) for m, s in pairs]))


class Env:
    """The server under test and a control connection."""

    def __init__(self, server):
        self.server = server
        self.ctl = server.connect()

    def conn(self):
        return self.server.connect()

    def blocked_clients(self):
        info = self.ctl.call("INFO", "clients").decode()
        for line in info.split("\r\n"):
            if line.startswith("blocked_clients:"):
                return int(line.split(":")[1])
        raise AssertionError("INFO clients has no blocked_clients")

    def wait_blocked(self, count, timeout=5.0):
        """Waits until exactly `count` clients are blocked (so the blocking order is known)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.blocked_clients() == count:
                return True
            time.sleep(0.005)
        check(False, "expected %d blocked clients, INFO says %d" % (count, self.blocked_clients()))
        return False

    def block(self, *command):
        """Opens a connection, sends a blocking command and waits until it is blocked."""
        before = self.blocked_clients()
        c = self.conn()
        c.send_command(*command)
        self.wait_blocked(before + 1)
        return c

    def flush(self):
        self.ctl.call("FLUSHALL")


def still_waiting(c, wait=0.2):
    try:
        c.read_reply(timeout=wait)
        return False
    except resp.ReplyTimeout:
        return True


def close_all(*conns):
    for c in conns:
        c.close()


# ---------------------------------------------------------------------------------------------

def test_fifo_one_key(env):
    env.flush()
    waiters = [env.block("BZPOPMIN", "z", "0") for _ in range(4)]
    check_eq(env.ctl.call("ZADD", "z", "3", "c", "1", "a", "2", "b"), b":3\r\n", "ZADD with 4 waiters")
    for c, (member, score) in zip(waiters, [("a", "1"), ("b", "2"), ("c", "3")]):
        check_eq(c.read_reply(timeout=5), bzpop_reply("z", member, score), "FIFO waiter gets %s" % member)
    check(still_waiting(waiters[3]), "fourth waiter keeps waiting after the set emptied")
    check_eq(env.ctl.call("EXISTS", "z"), b":0\r\n", "emptied key is gone")
    env.ctl.call("ZADD", "z", "9", "late")
    check_eq(waiters[3].read_reply(timeout=5), bzpop_reply("z", "late", "9"), "fourth waiter served later")
    check_eq(env.blocked_clients(), 0, "nobody blocked at the end")
    close_all(*waiters)


def test_mixed_commands(env):
    env.flush()
    low = env.block("BZPOPMIN", "z", "0")
    high = env.block("BZPOPMAX", "z", "0")
    many = env.block("BZMPOP", "0", "1", "z", "MIN", "COUNT", "2")
    rest = env.block("BZMPOP", "0", "2", "other", "z", "MAX", "COUNT", "10")
    env.ctl.call("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f")
    check_eq(low.read_reply(timeout=5), bzpop_reply("z", "a", "1"), "BZPOPMIN takes the lowest")
    check_eq(high.read_reply(timeout=5), bzpop_reply("z", "f", "6"), "BZPOPMAX takes the highest")
    check_eq(many.read_reply(timeout=5), bzmpop_reply("z", ("b", "2"), ("c", "3")), "BZMPOP COUNT 2")
    check_eq(rest.read_reply(timeout=5), bzmpop_reply("z", ("e", "5"), ("d", "4")), "BZMPOP MAX takes the rest")
    check_eq(env.ctl.call("EXISTS", "z"), b":0\r\n", "key deleted once empty")
    close_all(low, high, many, rest)


def test_resp3(env):
    env.flush()
    c = env.conn()
    c.call("HELLO", "3")
    c.send_command("BZPOPMIN", "z", "0")
    env.wait_blocked(1)
    env.ctl.call("ZADD", "z", "1.5", "a")
    check_eq(c.read_reply(timeout=5), b"*3\r\n$1\r\nz\r\n$1\r\na\r\n,1.5\r\n", "RESP3 BZPOPMIN reply")
    c.send_command("BZMPOP", "0", "1", "z", "MIN")
    env.wait_blocked(1)
    env.ctl.call("ZADD", "z", "2", "b")
    check_eq(c.read_reply(timeout=5), b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n,2\r\n", "RESP3 BZMPOP reply")
    check_eq(c.call("BZPOPMIN", "z", "0.05"), b"_\r\n", "RESP3 timeout is a null")
    c.close()


def test_several_keys(env):
    env.flush()
    c = env.block("BZPOPMIN", "a", "b", "c", "0")
    env.ctl.call("ZADD", "c", "1", "x")
    check_eq(c.read_reply(timeout=5), bzpop_reply("c", "x", "1"), "served from the key that got data")
    # One EXEC fills b then a: Redis serves the waiter from b, the key signalled first.
    c.send_command("BZPOPMIN", "a", "b", "0")
    env.wait_blocked(1)
    env.ctl.call("MULTI")
    env.ctl.call("ZADD", "b", "1", "from_b")
    env.ctl.call("ZADD", "a", "1", "from_a")
    env.ctl.call("EXEC")
    check_eq(c.read_reply(timeout=5), bzpop_reply("b", "from_b", "1"), "served from the first key made ready")
    check_eq(env.ctl.call("ZRANGE", "a", "0", "-1"), array(bulk("from_a")), "the other key keeps its member")
    # With data at call time, keys are tried in order.
    env.ctl.call("ZADD", "b", "1", "y")
    check_eq(c.call("BZPOPMIN", "nosuch", "b", "a", "0"), bzpop_reply("b", "y", "1"), "first non-empty key")
    c.close()


def test_other_writers_wake(env):
    env.flush()
    c = env.block("BZPOPMAX", "k", "0")
    env.ctl.call("ZINCRBY", "k", "2.5", "m")
    check_eq(c.read_reply(timeout=5), bzpop_reply("k", "m", "2.5"), "woken by ZINCRBY creating the key")
    env.ctl.call("ZADD", "src", "1", "a", "2", "b")
    c.send_command("BZPOPMIN", "u", "0")
    env.wait_blocked(1)
    env.ctl.call("ZUNIONSTORE", "u", "1", "src")
    check_eq(c.read_reply(timeout=5), bzpop_reply("u", "a", "1"), "woken by ZUNIONSTORE")
    c.send_command("BZMPOP", "0", "1", "r", "MAX")
    env.wait_blocked(1)
    env.ctl.call("ZRANGESTORE", "r", "src", "0", "0")
    check_eq(c.read_reply(timeout=5), bzmpop_reply("r", ("a", "1")), "woken by ZRANGESTORE")
    c.close()


def test_timeouts(env):
    env.flush()
    c = env.conn()
    for command in (("BZPOPMIN", "z", "0.3"), ("BZPOPMAX", "z", "y", "0.3"),
                    ("BZMPOP", "0.3", "2", "z", "y", "MIN", "COUNT", "3")):
        started = time.monotonic()
        reply = c.call(*command, timeout=10)
        elapsed = time.monotonic() - started
        check_eq(reply, NULL_ARRAY, "%s times out with a null array" % command[0])
        check(0.25 <= elapsed < 2.0, "%s waited %.3fs for a 0.3s timeout" % (command[0], elapsed))
    # A timeout longer than the wait still gets served.
    c.send_command("BZPOPMIN", "z", "5")
    env.wait_blocked(1)
    env.ctl.call("ZADD", "z", "1", "a")
    check_eq(c.read_reply(timeout=5), bzpop_reply("z", "a", "1"), "served before its timeout")
    check_eq(c.call("BZPOPMIN", "z", "-1"), b"-ERR timeout is negative\r\n", "negative timeout")
    check_eq(c.call("BZPOPMIN", "z", "x"), b"-ERR timeout is not a float or out of range\r\n",
             "timeout not a float")
    c.close()


def test_multi(env):
    env.flush()
    c = env.conn()
    c.call("MULTI")
    c.call("BZPOPMIN", "z", "0")
    c.call("BZMPOP", "0", "1", "z", "MAX")
    started = time.monotonic()
    check_eq(c.call("EXEC", timeout=5), array(NULL_ARRAY, NULL_ARRAY), "empty keys in MULTI answer null")
    check(time.monotonic() - started < 1.0, "MULTI does not block")
    c.call("ZADD", "z", "1", "a", "2", "b")
    c.call("MULTI")
    c.call("BZPOPMAX", "z", "0")
    c.call("BZMPOP", "0", "1", "z", "MIN")
    c.call("BZPOPMIN", "z", "0")
    check_eq(c.call("EXEC", timeout=5),
             array(bzpop_reply("z", "b", "2"), bzmpop_reply("z", ("a", "1")), NULL_ARRAY),
             "data in MULTI is served, then null")
    # A transaction that adds to a key serves an outside waiter after EXEC.
    w = env.block("BZPOPMIN", "t", "0")
    c.call("MULTI")
    c.call("ZADD", "t", "5", "x")
    c.call("ZADD", "t", "6", "y")
    check_eq(c.call("EXEC"), array(b":1\r\n", b":1\r\n"), "EXEC with two ZADDs")
    check_eq(w.read_reply(timeout=5), bzpop_reply("t", "x", "5"), "outside waiter served by the EXEC")
    check_eq(c.call("ZRANGE", "t", "0", "-1"), array(bulk("y")), "one member left")
    close_all(c, w)


def test_other_type_keeps_waiting(env):
    env.flush()
    c = env.block("BZPOPMIN", "k", "0")
    env.ctl.call("RPUSH", "k", "v")
    check(still_waiting(c), "a list at the key does not serve (nor fail) the waiter")
    env.ctl.call("DEL", "k")
    env.ctl.call("ZADD", "k", "1", "m")
    check_eq(c.read_reply(timeout=5), bzpop_reply("k", "m", "1"), "served once a zset appears")
    c.close()


def test_disconnected_waiter(env):
    env.flush()
    gone = env.block("BZPOPMIN", "z", "0")
    stays = env.block("BZPOPMIN", "z", "0")
    gone.close()
    env.wait_blocked(1)
    env.ctl.call("ZADD", "z", "1", "a")
    check_eq(stays.read_reply(timeout=5), bzpop_reply("z", "a", "1"), "next waiter gets the member")
    gone2 = env.block("BZPOPMAX", "q", "0")
    gone2.close()
    env.wait_blocked(0)
    env.ctl.call("ZADD", "q", "1", "kept")
    check_eq(env.ctl.call("ZCARD", "q"), b":1\r\n", "nobody swallowed the member")
    stays.close()


def test_concurrent(env):
    env.flush()
    waiters = 20
    per_writer = 10
    writers = 4
    results = []
    lock = threading.Lock()

    def waiter():
        c = env.conn()
        got = []
        while True:
            value = resp.decode(c.call("BZPOPMIN", "work", "2", timeout=30))
            if value is None:
                break
            got.append(value[1])
        c.close()
        with lock:
            results.extend(got)

    def writer(index):
        c = env.conn()
        for i in range(per_writer):
            c.call("ZADD", "work", str(i), "w%d-%d" % (index, i))
        c.close()

    threads = [threading.Thread(target=waiter) for _ in range(waiters)]
    for t in threads:
        t.start()
    env.wait_blocked(waiters, timeout=10)
    writer_threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for t in writer_threads:
        t.start()
    for t in writer_threads + threads:
        t.join(60)
    expected = sorted(("w%d-%d" % (w, i)).encode() for w in range(writers) for i in range(per_writer))
    check_eq(sorted(results), expected, "every member popped exactly once")
    check_eq(env.ctl.call("EXISTS", "work"), b":0\r\n", "nothing left behind")


TESTS = [
    test_fifo_one_key,
    test_mixed_commands,
    test_resp3,
    test_several_keys,
    test_other_writers_wake,
    test_timeouts,
    test_multi,
    test_other_type_keeps_waiting,
    test_disconnected_waiter,
    test_concurrent,
]


def main():
    global VERBOSE
    args = [a for a in sys.argv[1:] if a != "-v"]
    VERBOSE = "-v" in sys.argv[1:]
    checks.verbose = VERBOSE
    binary = os.path.abspath(args[0] if args else "./redis-server")
    with Server(binary) as server:
        env = Env(server)
        for test in TESTS:
            log("%s" % test.__name__)
            try:
                test(env)
            except Exception as exc:  # a reply that never came, a closed connection...
                check(False, "%s raised %r" % (test.__name__, exc))
                env = Env(server)
    if failures:
        log("blocking_zsets_test: %d failure(s)" % len(failures))
        for f in failures:
            log("  - %s" % f)
        return 1
    log("blocking_zsets_test: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
