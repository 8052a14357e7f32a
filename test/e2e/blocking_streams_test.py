#!/usr/bin/env python3
"""Blocking stream reads end to end (XREAD BLOCK, XREADGROUP BLOCK).

    python3 test/e2e/blocking_streams_test.py [./redis-server] [-v]

Starts the server on a free port and checks, with exact reply bytes:
  - XREAD BLOCK served by an XADD from another client; "$" means the last ID when the client
    blocked (entries added and deleted meanwhile do not count, a deleted and re-created key
    serves only IDs above it), "$" on a missing key serves the first entry;
  - every XREAD waiter gets the same new entry (reads do not consume), served FIFO;
  - XREADGROUP waiters of one group share the entries: each XADD serves one waiter, the
    others keep waiting; PEL, consumers and NOACK as expected; COUNT limits a served reply;
  - a waiter on several streams is served from the key that got data only;
  - the group destroyed while waiting answers -NOGROUP; the stream deleted or replaced
    answers -UNBLOCKED to XREADGROUP but keeps XREAD waiting;
  - timeouts: about the requested time, null array (RESP3: null); RESP3 served replies;
  - inside MULTI BLOCK answers at once; a waiter that disconnects does not swallow an entry;
  - many group readers blocked while many writers XADD: every entry delivered exactly once.
Real Redis 7.0 passes it too: python3 test/e2e/blocking_streams_test.py /usr/bin/redis-server

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


def entry(entry_id, *fields):
    return array(bulk(entry_id), array(*[bulk(f) for f in fields]))


def read_reply(key, *entries):
    """XREAD / XREADGROUP reply with entries from one stream (RESP2)."""
    return array(array(bulk(key), array(*entries)))


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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.blocked_clients() == count:
                return True
            time.sleep(0.005)
        check(False, "expected %d blocked clients, INFO says %d" % (count, self.blocked_clients()))
        return False

    def block(self, *command, conn=None):
        """Sends a blocking command on a (new) connection and waits until it is blocked."""
        before = self.blocked_clients()
        c = conn or self.conn()
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

def test_xread_served(env):
    env.flush()
    env.ctl.call("XADD", "s", "1-0", "a", "1")
    c = env.block("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    check_eq(env.ctl.call("XADD", "s", "2-0", "b", "2"), bulk("2-0"), "XADD with a waiter")
    check_eq(c.read_reply(timeout=5), read_reply("s", entry("2-0", "b", "2")), "XREAD $ served the new entry")
    # An explicit ID with nothing after it blocks too, and is served from that ID on.
    c = env.block("XREAD", "BLOCK", "0", "STREAMS", "s", "2-0", conn=c)
    env.ctl.call("XADD", "s", "3-0", "c", "3")
    check_eq(c.read_reply(timeout=5), read_reply("s", entry("3-0", "c", "3")), "XREAD explicit ID served")
    # COUNT limits what a served waiter gets.
    c = env.block("XREAD", "BLOCK", "0", "COUNT", "1", "STREAMS", "s", "$", conn=c)
    env.ctl.call("MULTI")
    env.ctl.call("XADD", "s", "4-0", "d", "4")
    env.ctl.call("XADD", "s", "5-0", "e", "5")
    env.ctl.call("EXEC")
    check_eq(c.read_reply(timeout=5), read_reply("s", entry("4-0", "d", "4")), "COUNT 1 on a served waiter")
    c.close()


def test_dollar_semantics(env):
    env.flush()
    env.ctl.call("XADD", "s", "5-0", "a", "1")
    c = env.block("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    # The key goes and comes back with lower IDs: not served (it waits for IDs above 5-0).
    env.ctl.call("DEL", "s")
    env.ctl.call("XADD", "s", "3-0", "x", "1")
    env.ctl.call("XADD", "s", "5-0", "x", "2")
    check(still_waiting(c), "XREAD $ ignores IDs up to the one it blocked with")
    env.ctl.call("XADD", "s", "6-0", "x", "3")
    check_eq(c.read_reply(timeout=5), read_reply("s", entry("6-0", "x", "3")), "served once past it")
    # "$" on a missing key: everything the key gets is new.
    c = env.block("XREAD", "BLOCK", "0", "STREAMS", "nokey", "$", conn=c)
    env.ctl.call("XADD", "nokey", "0-1", "f", "v")
    check_eq(c.read_reply(timeout=5), read_reply("nokey", entry("0-1", "f", "v")), "$ on a missing key")
    # A key of another type, then deleted, then a stream: XREAD keeps waiting throughout.
    c = env.block("XREAD", "BLOCK", "0", "STREAMS", "k", "$", conn=c)
    env.ctl.call("LPUSH", "k", "x")
    env.ctl.call("DEL", "k")
    check(still_waiting(c), "XREAD keeps waiting on a key of another type")
    env.ctl.call("XADD", "k", "1-0", "f", "v")
    check_eq(c.read_reply(timeout=5), read_reply("k", entry("1-0", "f", "v")), "served by the stream later")
    c.close()


def test_fifo_and_shared(env):
    env.flush()
    env.ctl.call("XADD", "s", "1-0", "a", "1")
    waiters = [env.block("XREAD", "BLOCK", "0", "STREAMS", "s", "$") for _ in range(3)]
    env.ctl.call("XADD", "s", "2-0", "b", "2")
    for i, c in enumerate(waiters):
        check_eq(c.read_reply(timeout=5), read_reply("s", entry("2-0", "b", "2")), "XREAD waiter %d served" % i)
    check_eq(env.blocked_clients(), 0, "nobody left blocked")
    close_all(*waiters)


def test_several_keys(env):
    env.flush()
    c = env.block("XREAD", "BLOCK", "0", "STREAMS", "a", "b", "c", "$", "$", "$")
    env.ctl.call("XADD", "c", "1-0", "f", "c")
    check_eq(c.read_reply(timeout=5), read_reply("c", entry("1-0", "f", "c")), "served from the key with data")
    c = env.block("XREAD", "BLOCK", "0", "STREAMS", "a", "b", "$", "$", conn=c)
    env.ctl.call("MULTI")
    env.ctl.call("XADD", "b", "1-0", "f", "b")
    env.ctl.call("XADD", "a", "1-0", "f", "a")
    env.ctl.call("EXEC")
    check_eq(c.read_reply(timeout=5), read_reply("b", entry("1-0", "f", "b")), "served from the first key signalled")
    c.close()


def test_group_readers(env):
    env.flush()
    env.ctl.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    alice = env.block("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    bob = env.block("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "s", ">")
    env.ctl.call("XADD", "s", "1-0", "f", "1")
    check_eq(alice.read_reply(timeout=5), read_reply("s", entry("1-0", "f", "1")), "first group waiter served")
    check(still_waiting(bob), "second group waiter keeps waiting (the group consumed the entry)")
    env.ctl.call("XADD", "s", "2-0", "f", "2")
    check_eq(bob.read_reply(timeout=5), read_reply("s", entry("2-0", "f", "2")), "second group waiter served next")
    summary = array(b":2\r\n", bulk("1-0"), bulk("2-0"), array(array(bulk("alice"), bulk("1")),
                                                                 array(bulk("bob"), bulk("1"))))
    check_eq(env.ctl.call("XPENDING", "s", "g"), summary, "both deliveries pending")
    # NOACK: delivered without entering the PEL.
    alice.send_command("XREADGROUP", "GROUP", "g", "carol", "NOACK", "BLOCK", "0", "STREAMS", "s", ">")
    env.wait_blocked(1)
    env.ctl.call("XADD", "s", "3-0", "f", "3")
    check_eq(alice.read_reply(timeout=5), read_reply("s", entry("3-0", "f", "3")), "NOACK waiter served")
    check_eq(env.ctl.call("XPENDING", "s", "g").split(b"\r\n")[0:2], [b"*4", b":2"], "NOACK adds nothing to the PEL")
    groups = env.ctl.call("XINFO", "GROUPS", "s")
    check(b"$3\r\n3-0\r\n" in groups and b"consumers\r\n:3\r\n" in groups, "group advanced to 3-0, 3 consumers")
    # A history read (ID other than ">") never blocks.
    check_eq(bob.call("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "s", "0"),
             read_reply("s", entry("2-0", "f", "2")), "history read answers at once")
    # XGROUP SETID back: the waiter is served from the group's new position at the next XADD.
    bob.send_command("XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "BLOCK", "0", "STREAMS", "s", ">")
    env.wait_blocked(1)
    env.ctl.call("XGROUP", "SETID", "s", "g", "1-0")
    check(still_waiting(bob), "SETID alone serves nobody")
    env.ctl.call("XADD", "s", "4-0", "f", "4")
    check_eq(bob.read_reply(timeout=5), read_reply("s", entry("2-0", "f", "2"), entry("3-0", "f", "3")),
             "served from the group's position, COUNT 2")
    close_all(alice, bob)


def test_group_goes_away(env):
    env.flush()
    env.ctl.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    c = env.block("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    env.ctl.call("XGROUP", "DESTROY", "s", "g")
    check_eq(c.read_reply(timeout=5), b"-NOGROUP the consumer group this client was blocked on no longer exists\r\n",
             "group destroyed")
    for how in (("DEL", "s"), ("SET", "s", "x"), ("FLUSHALL",), ("RENAME", "s", "t"), ("UNLINK", "s")):
        env.ctl.call("DEL", "s", "t", "other")
        env.ctl.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        env.ctl.call("XGROUP", "CREATE", "other", "g", "$", "MKSTREAM")
        c = env.block("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "other", "s", ">", ">", conn=c)
        env.ctl.call(*how)
        check_eq(c.read_reply(timeout=5), b"-UNBLOCKED the stream key no longer exists\r\n",
                 "XREADGROUP waiter after %s" % how[0])
    c.close()


def test_timeouts_and_resp3(env):
    env.flush()
    c = env.conn()
    started = time.monotonic()
    check_eq(c.call("XREAD", "BLOCK", "150", "STREAMS", "s", "$"), NULL_ARRAY, "XREAD timeout reply")
    elapsed = time.monotonic() - started
    check(0.12 <= elapsed < 2.0, "XREAD BLOCK 150 waited %.3fs" % elapsed)
    env.ctl.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    check_eq(c.call("XREADGROUP", "GROUP", "g", "a", "BLOCK", "50", "STREAMS", "s", ">"), NULL_ARRAY,
             "XREADGROUP timeout reply")
    check_eq(env.blocked_clients(), 0, "timed-out clients are unblocked")
    c.call("HELLO", "3")
    check_eq(c.call("XREAD", "BLOCK", "20", "STREAMS", "s", "$"), b"_\r\n", "RESP3 timeout is a null")
    c.send_command("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    env.wait_blocked(1)
    env.ctl.call("XADD", "s", "1-0", "f", "v")
    check_eq(c.read_reply(timeout=5), b"%1\r\n" + bulk("s") + array(entry("1-0", "f", "v")), "RESP3 served map")
    env.ctl.call("XGROUP", "SETID", "s", "g", "$")
    c.send_command("XREADGROUP", "GROUP", "g", "a", "BLOCK", "0", "STREAMS", "s", ">")
    env.wait_blocked(1)
    env.ctl.call("XADD", "s", "2-0", "f", "v")
    check_eq(c.read_reply(timeout=5), b"%1\r\n" + bulk("s") + array(entry("2-0", "f", "v")), "RESP3 group map")
    c.close()


def test_multi_and_disconnect(env):
    env.flush()
    c = env.conn()
    c.call("MULTI")
    c.call("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    c.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    check_eq(c.call("EXEC"), array(NULL_ARRAY, b"-NOGROUP No such key 's' or consumer group 'g' in XREADGROUP "
                                               b"with GROUP option\r\n"), "BLOCK inside MULTI answers at once")
    env.ctl.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    gone = env.block("XREADGROUP", "GROUP", "g", "gone", "BLOCK", "0", "STREAMS", "s", ">")
    gone.close()
    deadline = time.monotonic() + 5
    while env.blocked_clients() != 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    check_eq(env.blocked_clients(), 0, "a disconnected waiter is unregistered")
    c = env.block("XREADGROUP", "GROUP", "g", "here", "BLOCK", "0", "STREAMS", "s", ">", conn=c)
    env.ctl.call("XADD", "s", "1-0", "f", "v")
    check_eq(c.read_reply(timeout=5), read_reply("s", entry("1-0", "f", "v")), "the live waiter gets the entry")
    consumers = env.ctl.call("XINFO", "CONSUMERS", "s", "g")
    check(b"gone" not in consumers, "the disconnected waiter never became a consumer")
    c.close()


def test_concurrent_group(env):
    env.flush()
    env.ctl.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    readers, writers, per_writer = 6, 4, 150
    total = writers * per_writer
    received = []
    lock = threading.Lock()
    done = threading.Event()

    def reader(n):
        c = env.conn()
        while not done.is_set():
            raw = c.call("XREADGROUP", "GROUP", "g", "r%d" % n, "COUNT", "5", "BLOCK", "200", "STREAMS", "s", ">",
                         timeout=10)
            value = resp.decode(raw)
            if value is None:
                continue
            for _key, entries in value:
                with lock:
                    received.extend(e[0] for e in entries)
                    if len(received) >= total:
                        done.set()
        c.close()

    def writer(n):
        c = env.conn()
        for i in range(per_writer):
            c.call("XADD", "s", "*", "w", str(n), "i", str(i))
        c.close()

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(readers)]
    threads += [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    done.wait(60)
    done.set()
    for t in threads:
        t.join(30)
    check_eq(len(received), total, "every entry delivered")
    check_eq(len(set(received)), total, "no entry delivered twice")
    check_eq(resp.decode(env.ctl.call("XPENDING", "s", "g"))[0], total, "every delivery pending once")


def main():
    global VERBOSE
    args = [a for a in sys.argv[1:] if a != "-v"]
    VERBOSE = len(args) != len(sys.argv) - 1
    checks.verbose = VERBOSE
    binary = args[0] if args else os.path.join(HERE, "..", "..", "redis-server")
    with Server(binary) as server:
        env = Env(server)
        for name, fn in sorted(globals().items()):
            if name.startswith("test_") and callable(fn):
                log("== %s" % name)
                fn(env)
                check(server.alive(), "server alive after %s" % name)
    if failures:
        log("%d failure(s)" % len(failures))
        sys.exit(1)
    log("all passed")


if __name__ == "__main__":
    main()
