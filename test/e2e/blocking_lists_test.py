#!/usr/bin/env python3
"""Blocking list commands end to end (BLPOP BRPOP BLMPOP BLMOVE BRPOPLPUSH).

    python3 test/e2e/blocking_lists_test.py [./redis-server] [-v]

Starts the server on a free port and checks, with exact reply bytes:
  - several clients blocked on one key are served first-blocked first-served;
  - BLPOP/BRPOP on several keys (served from the key that got data, in key order when
    several have data at call time);
  - timeouts: about the requested time, null array reply (RESP3: null), for every command;
  - a client that disconnects while blocked does not swallow a later push (the next waiter,
    or the list, gets it);
  - BLMOVE chains (each move serves the next waiter), BLMPOP counts;
  - a waiter on a key that becomes another type keeps waiting;
  - CLIENT UNBLOCK with TIMEOUT and ERROR, and of a client that is not blocked;
  - many waiters and concurrent pushers: every element served exactly once;
  - blocked clients are released (their connections closed) by SHUTDOWN.
Real Redis 7.0 passes it too: python3 test/e2e/blocking_lists_test.py /usr/bin/redis-server

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


def pair(key, value):
    """The reply of a served BLPOP/BRPOP: [key, value]."""
    return b"*2\r\n" + bulk(key) + bulk(value)


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
        """Waits until exactly `count` clients are blocked (so blocking order is known)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.blocked_clients() == count:
                return True
            time.sleep(0.005)
        check(False, "expected %d blocked clients, INFO says %d" % (count, self.blocked_clients()))
        return False

    def block(self, *command):
        """Opens a connection, sends a blocking command, and waits until it is blocked."""
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


# ---------------------------------------------------------------------------------------------

def test_fifo_same_key(env):
    env.flush()
    waiters = [env.block("BLPOP", "q", "0") for _ in range(5)]
    check_eq(env.ctl.call("RPUSH", "q", "v0"), b":1\r\n", "RPUSH with waiters replies the pushed length")
    check_eq(waiters[0].read_reply(), pair("q", "v0"), "first waiter gets the first push")
    for i in range(1, 5):
        check(still_waiting(waiters[i], 0.05), "waiter %d still blocked after one push" % i)
    check_eq(env.ctl.call("RPUSH", "q", "v1", "v2", "v3"), b":3\r\n", "RPUSH of three")
    for i in range(1, 4):
        check_eq(waiters[i].read_reply(), pair("q", "v%d" % i), "waiter %d served in order" % i)
    check_eq(env.ctl.call("EXISTS", "q"), b":0\r\n", "served elements are gone")
    check_eq(env.ctl.call("LPUSH", "q", "a", "b"), b":2\r\n", "LPUSH of two")
    check_eq(waiters[4].read_reply(), pair("q", "b"), "LPUSH serves its head element")
    check_eq(env.ctl.call("LRANGE", "q", "0", "-1"), array(bulk("a")), "the rest stays in the list")
    for c in waiters:
        check_eq(c.call("PING"), b"+PONG\r\n", "served client is usable again")
        c.close()


def test_mixed_commands_fifo(env):
    env.flush()
    a = env.block("BRPOP", "q", "0")
    b = env.block("BLMPOP", "0", "1", "q", "LEFT", "COUNT", "2")
    c = env.block("BLMOVE", "q", "dst", "LEFT", "LEFT", "0")
    env.ctl.call("RPUSH", "q", "1", "2", "3", "4", "5")
    check_eq(a.read_reply(), pair("q", "5"), "BRPOP waiter served first, from the tail")
    check_eq(b.read_reply(), array(bulk("q"), array(bulk("1"), bulk("2"))), "BLMPOP waiter gets two")
    check_eq(c.read_reply(), bulk("3"), "BLMOVE waiter gets the next head")
    check_eq(env.ctl.call("LRANGE", "q", "0", "-1"), array(bulk("4")), "one element left")
    check_eq(env.ctl.call("LRANGE", "dst", "0", "-1"), array(bulk("3")), "BLMOVE pushed to its destination")
    for x in (a, b, c):
        x.close()


def test_several_keys(env):
    env.flush()
    c = env.block("BLPOP", "k1", "k2", "k3", "0")
    env.ctl.call("RPUSH", "k2", "x", "y")
    check_eq(c.read_reply(), pair("k2", "x"), "BLPOP on several keys served from the one pushed")
    env.ctl.call("RPUSH", "k3", "c")
    env.ctl.call("RPUSH", "k1", "a")
    check_eq(c.call("BLPOP", "k3", "k1", "k2", "0"), pair("k3", "c"), "with data: first key in argument order")
    check_eq(c.call("BRPOP", "k9", "k2", "k1", "0"), pair("k2", "y"), "BRPOP skips empty keys")
    c.close()
    # A waiter on [a, b] gets b's element when b's push comes first, even if a gets data too.
    env.flush()
    w = env.block("BLPOP", "a", "b", "0")
    check_eq(env.ctl.call("MULTI"), b"+OK\r\n", "MULTI")
    env.ctl.call("RPUSH", "b", "fromb")
    env.ctl.call("RPUSH", "a", "froma")
    check_eq(env.ctl.call("EXEC"), array(b":1\r\n", b":1\r\n"), "EXEC of two pushes")
    check_eq(w.read_reply(), pair("b", "fromb"), "served from the key signalled first")
    check_eq(env.ctl.call("LRANGE", "a", "0", "-1"), array(bulk("froma")), "other key untouched")
    w.close()


def timed(c, *command):
    start = time.monotonic()
    reply = c.call(*command, timeout=10)
    return reply, time.monotonic() - start


def test_timeouts(env):
    env.flush()
    c = env.conn()
    for command in (("BLPOP", "nokey", "0.3"),
                    ("BRPOP", "nokey", "other", "0.3"),
                    ("BLMPOP", "0.3", "1", "nokey", "LEFT"),
                    ("BLMOVE", "nokey", "dst", "LEFT", "RIGHT", "0.3"),
                    ("BRPOPLPUSH", "nokey", "dst", "0.3")):
        reply, elapsed = timed(c, *command)
        check_eq(reply, NULL_ARRAY, "%s times out with a null array" % command[0])
        check(0.25 <= elapsed <= 1.5, "%s timeout 0.3s took %.3fs" % (command[0], elapsed))
    reply, elapsed = timed(c, "BLPOP", "nokey", "1")
    check_eq(reply, NULL_ARRAY, "BLPOP 1s times out")
    check(0.95 <= elapsed <= 2.5, "BLPOP timeout 1s took %.3fs" % elapsed)
    reply, elapsed = timed(c, "BLPOP", "nokey", "0.0001")
    check_eq(reply, NULL_ARRAY, "a tiny timeout rounds up to 1ms")
    check(elapsed < 1.0, "BLPOP 0.0001 took %.3fs" % elapsed)
    check_eq(env.ctl.call("EXISTS", "dst"), b":0\r\n", "timed-out BLMOVE created nothing")
    # A timed-out client does not take a later push.
    env.ctl.call("RPUSH", "nokey", "kept")
    check_eq(env.ctl.call("LRANGE", "nokey", "0", "-1"), array(bulk("kept")), "push after a timeout stays")
    # RESP3: the timeout reply is a null.
    check(c.call("HELLO", "3").startswith(b"%"), "HELLO 3")
    reply, _ = timed(c, "BLPOP", "nokey2", "0.05")
    check_eq(reply, b"_\r\n", "RESP3 timeout reply")
    c.close()
    # Timeout 0 waits past any short interval.
    w = env.block("BLPOP", "forever", "0")
    check(still_waiting(w, 0.5), "timeout 0 does not time out")
    env.ctl.call("RPUSH", "forever", "x")
    check_eq(w.read_reply(), pair("forever", "x"), "timeout 0 waiter served")
    w.close()


def test_disconnect_while_blocked(env):
    env.flush()
    gone = env.block("BLPOP", "d", "0")
    stays = env.block("BLPOP", "d", "0")
    gone.close()
    env.wait_blocked(1)
    env.ctl.call("RPUSH", "d", "x")
    check_eq(stays.read_reply(), pair("d", "x"), "the next waiter gets the push after the first left")
    check_eq(env.ctl.call("EXISTS", "d"), b":0\r\n", "nothing left")
    stays.close()
    alone = env.block("BRPOPLPUSH", "d", "dst", "0")
    alone.close()
    env.wait_blocked(0)
    check_eq(env.ctl.call("RPUSH", "d", "y"), b":1\r\n", "push with no waiter left")
    check_eq(env.ctl.call("LRANGE", "d", "0", "-1"), array(bulk("y")), "the list keeps the element")
    check_eq(env.ctl.call("EXISTS", "dst"), b":0\r\n", "departed BRPOPLPUSH moved nothing")


def test_blmove_chain(env):
    env.flush()
    c1 = env.block("BLMOVE", "a", "b", "LEFT", "RIGHT", "0")
    c2 = env.block("BLMOVE", "b", "c", "RIGHT", "LEFT", "0")
    c3 = env.block("BRPOPLPUSH", "c", "d", "0")
    c4 = env.block("BLPOP", "d", "0")
    env.ctl.call("RPUSH", "a", "x")
    check_eq(c1.read_reply(), bulk("x"), "first link served")
    check_eq(c2.read_reply(), bulk("x"), "second link served by the first move")
    check_eq(c3.read_reply(), bulk("x"), "third link served")
    check_eq(c4.read_reply(), pair("d", "x"), "end of the chain pops the element")
    check_eq(env.ctl.call("EXISTS", "a", "b", "c", "d"), b":0\r\n", "every list of the chain is empty")
    for c in (c1, c2, c3, c4):
        c.close()
    # A waiter whose destination holds another type gets WRONGTYPE; the element stays for the next.
    env.flush()
    bad = env.block("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
    good = env.block("BLPOP", "src", "0")
    env.ctl.call("SET", "dst", "string")
    env.ctl.call("RPUSH", "src", "v")
    check_eq(bad.read_reply(), b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
             "BLMOVE to a string destination")
    check_eq(good.read_reply(), pair("src", "v"), "the next waiter gets the element")
    bad.close()
    good.close()


def test_key_changes_type(env):
    env.flush()
    w = env.block("BLPOP", "k", "0")
    env.ctl.call("SET", "tmp", "str")
    env.ctl.call("RENAME", "tmp", "k")
    check(still_waiting(w, 0.2), "a string renamed onto the key keeps the waiter blocked")
    env.ctl.call("DEL", "k")
    env.ctl.call("RPUSH", "k", "v")
    check_eq(w.read_reply(), pair("k", "v"), "served once the key is a list again")
    w.close()


def client_id(c):
    return int(c.call("CLIENT", "ID")[1:-2])


def test_client_unblock(env):
    env.flush()
    c = env.conn()
    cid = client_id(c)
    c.send_command("BLPOP", "u", "0")
    env.wait_blocked(1)
    check_eq(env.ctl.call("CLIENT", "UNBLOCK", str(cid)), b":1\r\n", "CLIENT UNBLOCK a blocked client")
    check_eq(c.read_reply(), NULL_ARRAY, "CLIENT UNBLOCK (TIMEOUT) replies like a timeout")
    c.send_command("BLMOVE", "u", "v", "LEFT", "LEFT", "0")
    env.wait_blocked(1)
    check_eq(env.ctl.call("CLIENT", "UNBLOCK", str(cid), "TIMEOUT"), b":1\r\n", "CLIENT UNBLOCK TIMEOUT")
    check_eq(c.read_reply(), NULL_ARRAY, "unblocked BLMOVE replies a null array")
    c.send_command("BRPOP", "u", "0")
    env.wait_blocked(1)
    check_eq(env.ctl.call("CLIENT", "UNBLOCK", str(cid), "ERROR"), b":1\r\n", "CLIENT UNBLOCK ERROR")
    check_eq(c.read_reply(), b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n", "UNBLOCKED error")
    check_eq(env.ctl.call("CLIENT", "UNBLOCK", str(cid)), b":0\r\n", "CLIENT UNBLOCK of a client not blocked")
    check_eq(env.ctl.call("CLIENT", "UNBLOCK", "999999"), b":0\r\n", "CLIENT UNBLOCK of an unknown id")
    check_eq(c.call("PING"), b"+PONG\r\n", "unblocked client is usable")
    env.ctl.call("RPUSH", "u", "x")
    check_eq(env.ctl.call("LRANGE", "u", "0", "-1"), array(bulk("x")), "unblocked client took nothing")
    c.close()


def test_pipeline_after_blocking(env):
    env.flush()
    c = env.conn()
    c.send_raw(resp.encode_command("BLPOP", "p", "0") + resp.encode_command("LLEN", "p") +
               resp.encode_command("PING"))
    env.wait_blocked(1)
    env.ctl.call("RPUSH", "p", "a", "b")
    check_eq(c.read_reply(), pair("p", "a"), "pipelined BLPOP served")
    check_eq(c.read_reply(), b":1\r\n", "the command after it ran after the pop")
    check_eq(c.read_reply(), b"+PONG\r\n", "and the next one")
    c.close()


def test_many_waiters_concurrent_pushers(env):
    env.flush()
    waiters = 40
    conns = [env.conn() for _ in range(waiters)]
    for c in conns:
        c.send_command("BLPOP", "many", "other", "0")
    env.wait_blocked(waiters)
    pushers = 4
    per_pusher = waiters // pushers
    errors = []

    def push(n):
        try:
            with env.conn() as p:
                for i in range(per_pusher):
                    p.call("RPUSH", "many", "p%d-%d" % (n, i))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(n,)) for n in range(pushers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "pushers ran without errors: %r" % errors)
    got = []
    for c in conns:
        try:
            got.append(resp.decode(c.read_reply(timeout=5)))
        except resp.ReplyTimeout:
            got.append(None)
        c.close()
    values = sorted(v[1].decode() for v in got if v is not None)
    expected = sorted("p%d-%d" % (n, i) for n in range(pushers) for i in range(per_pusher))
    check_eq(values, expected, "every pushed element served exactly once")
    check_eq(env.ctl.call("EXISTS", "many"), b":0\r\n", "nothing left over")
    env.wait_blocked(0)


def test_shutdown_releases_blocked(binary):
    with Server(binary, name="blocking-shutdown") as srv:
        env = Env(srv)
        blocked = [env.block("BLPOP", "s", "0"), env.block("BLMOVE", "s", "d", "LEFT", "LEFT", "0")]
        env.ctl.send_command("SHUTDOWN", "NOSAVE")
        for i, c in enumerate(blocked):
            outcome = None
            try:
                outcome = c.read_reply(timeout=5)
            except resp.ConnectionClosed:
                outcome = "closed"
            except resp.ReplyTimeout:
                outcome = "timeout"
            check_eq(outcome, "closed", "blocked client %d released by SHUTDOWN (connection closed)" % i)
            c.close()
        try:
            srv.proc.wait(timeout=5)
        except Exception:
            pass
        check(not srv.alive(), "server exited after SHUTDOWN with blocked clients")


def test_served_in_order_sent(env):
    """Two blocking commands sent back to back on two connections are served in the order they
    were sent, whichever connection thread happened to run first (Redis's single thread reads
    them in arrival order)."""
    for attempt in range(20):
        env.flush()
        env.ctl.call("SET", "target1", "nolist")
        first, second = env.conn(), env.conn()
        first.send_command("BRPOPLPUSH", "blist", "target1", "0")
        second.send_command("BRPOPLPUSH", "blist", "target2", "0")
        env.wait_blocked(2)
        env.ctl.call("LPUSH", "blist", "foo")
        check_eq(first.read_reply(), b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
                 "attempt %d: the first sent is served first (its destination is a string)" % attempt)
        check_eq(second.read_reply(), bulk("foo"), "attempt %d: then the second" % attempt)
        first.close()
        second.close()


def test_expired_key_found_by_waiter_is_deleted(env):
    """A waiter woken for a key that has expired meanwhile stays blocked, and the key is deleted
    as a lazy expiry (DEL propagated), as Redis does when SWAPDB wakes it."""
    env.flush()
    env.ctl.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        env.ctl.call("SELECT", "1")
        env.ctl.call("RPUSH", "k", "hello")
        env.ctl.call("PEXPIRE", "k", "50")
        waiter = env.conn()
        waiter.call("SELECT", "9")
        waiter.send_command("BRPOP", "k", "0")
        env.wait_blocked(1)
        time.sleep(0.1)
        env.ctl.call("SWAPDB", "1", "9")
        check(still_waiting(waiter, 0.1), "the waiter stays blocked on an expired key")
        stats = env.ctl.call("INFO", "stats").decode()
        check("expired_keys:1" in stats, "the expired key was deleted when found: %r" %
              [line for line in stats.split("\r\n") if line.startswith("expired_keys")])
        waiter.close()
    finally:
        env.ctl.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        env.ctl.call("SELECT", "0")


def main():
    global VERBOSE
    args = [a for a in sys.argv[1:] if a != "-v"]
    VERBOSE = "-v" in sys.argv[1:]
    checks.verbose = VERBOSE
    binary = args[0] if args else "./redis-server"
    tests = [test_fifo_same_key, test_mixed_commands_fifo, test_several_keys, test_timeouts,
             test_disconnect_while_blocked, test_blmove_chain, test_key_changes_type,
             test_client_unblock, test_pipeline_after_blocking, test_many_waiters_concurrent_pushers,
             test_served_in_order_sent, test_expired_key_found_by_waiter_is_deleted]
    with Server(binary, name="blocking-lists") as srv:
        env = Env(srv)
        for test in tests:
            log("== %s" % test.__name__)
            before = len(failures)
            try:
                test(env)
            except Exception as exc:  # a broken connection or protocol error fails the test
                failures.append("%s raised %r" % (test.__name__, exc))
                log("  FAIL %s raised %r" % (test.__name__, exc))
                env.ctl.close()
                env.ctl = srv.connect()
            if len(failures) == before:
                log("  ok")
        check(srv.alive(), "server still running after the tests")
    log("== test_shutdown_releases_blocked")
    before = len(failures)
    test_shutdown_releases_blocked(binary)
    if len(failures) == before:
        log("  ok")
    if failures:
        log("\nblocking_lists_test: %d failure(s):" % len(failures))
        for f in failures:
            log("  - " + f)
        sys.exit(1)
    log("\nblocking_lists_test: all passed")


if __name__ == "__main__":
    main()
