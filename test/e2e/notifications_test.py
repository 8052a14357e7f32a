#!/usr/bin/env python3
"""Keyspace notifications (notify-keyspace-events) compared with real Redis 7.0.

    python3 test/e2e/notifications_test.py [./redis-server] [--redis /usr/bin/redis-server]
                                           [--zsets] [--scripting] [-v]

Runs the same long command script on our server and on real Redis, each with one connection
subscribed to the keyspace/keyevent channels, and compares, after every step, the reply and the
exact sequence of messages the subscriber got (bytes). After each step the subscriber sends
PING: the messages a command published arrive before that PING's reply, so every step's events
are known exactly. The script is run under several flag sets (KEA, AKEnm, Kx, Em, g...), with
pattern and plain subscriptions, RESP2 and RESP3 subscribers.

Also checked: CONFIG SET / CONFIG GET of notify-keyspace-events (Redis's normalized form, e.g.
"KEA" reads "AKE" and "KEAn" reads "AKE" while still sending "new"), the startup option, and
that the script really produced events (so two silent servers cannot pass).

Covers strings, generic key commands (DEL/RENAME/COPY/MOVE/EXPIRE/PERSIST...), lists (blocking
pops served by a push included), hashes, sets, MULTI/EXEC, several databases, "new" (n),
"keymiss" (m), "expired" (x) from lazy access (with active expiry off, via DEBUG
SET-ACTIVE-EXPIRE 0) and from the active expiry cycle. --zsets adds the sorted-set script (for
the sorted-set commands' events), --scripting a few EVALs (events of commands run by scripts).

Standard library only; helpers from test/lib (resp.py, servers.py). Exits non-zero on failure.
"""

import os
import shlex
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import checks  # noqa: E402
import resp  # noqa: E402
from checks import check, failures, log  # noqa: E402
from servers import Server  # noqa: E402

VERBOSE = False

SERVER_ARGS = ["--enable-debug-command", "yes"]


# ---------------------------------------------------------------------------------------------
# The script. One step per line:
#   CMD ARGS...        run on the current connection; reply and events compared
#   ~CMD ARGS...       same, but the reply is not compared (random members, hash order)
#   @conn N            switch to connection N (opened on first use)
#   @block CMD ARGS... send a blocking command and wait until the server counts it blocked
#   @read              read the reply of the current connection's earlier @block
#   @sleep S           sleep; the events published meanwhile (active expiry) are compared
# `#` starts a comment line.

SCRIPT_STRINGS = r"""
SET a 1
SET a 2
SET a 3 EX 100
SET a 4 KEEPTTL
SET a 5 PXAT 4102444800000
SET b 1 GET
SET b 2 GET
SET b 3 NX
SET c 1 XX
SET c 1 NX
SETNX c 2
SETNX d 2
SETEX e 100 v
PSETEX f 100000 v
GET nokey
GET a
MGET a nokey1 b nokey2
GETSET g 1
GETSET g 2
GETDEL nokey
GETDEL g
GETEX nokey
GETEX a
GETEX a EX 100
GETEX a PX 100000
GETEX a EXAT 4102444800
GETEX a PERSIST
GETEX a PERSIST
GETEX a PXAT 1
MSET m1 1 m2 2 m1 3
MSETNX n1 1 n2 2 n1 3
MSETNX n1 1 n3 3
APPEND ap x
APPEND ap y
APPEND ap ""
STRLEN nokey
STRLEN ap
GETRANGE nokey 0 1
SETRANGE sr 0 ""
SETRANGE sr 2 x
SETRANGE sr 0 ""
SETRANGE sr 0 y
INCR i
INCRBY i 5
DECR i
DECRBY i 3
INCR ap
INCRBYFLOAT fl 1.5
INCRBYFLOAT fl 2
INCRBYFLOAT ap 1
LPUSH lst x
SET lst 1 GET
GETDEL lst
APPEND lst x
"""

SCRIPT_KEYS = r"""
SET a 1
SET b 2
DEL a b nokey
UNLINK nokey
SET a 1
DEL a a
EXISTS nokey
SET a 1
EXISTS a nokey a
TYPE nokey
TYPE a
TTL nokey
PTTL nokey
EXPIRETIME nokey
PEXPIRETIME nokey
TTL a
SET t 1
RENAME a t
RENAME t t
RENAME nokey x
RENAMENX t b
SET b 1
SET t 1
RENAMENX t b
SET e 1 EX 100
RENAME e f
TTL f
COPY f g
COPY f g
COPY f g REPLACE
COPY f g DB 1
COPY f g DB 1 REPLACE
COPY nokey g
MOVE f 2
MOVE f 2
MOVE nokey 2
SELECT 2
SET f 2
MOVE f 0
SET own 1
DEL own
SELECT 0
EXPIRE g 100
PEXPIRE g 100000
EXPIREAT g 4102444800
PEXPIREAT g 4102444800000
EXPIRE g 100 NX
EXPIRE g 200 XX
EXPIRE g 300 GT
EXPIRE g 10 LT
EXPIRE g 500 LT
PERSIST g
PERSIST g
PERSIST nokey
EXPIRE nokey 10
EXPIRE g -1
SET h 1
PEXPIREAT h 1
SET h 1
EXPIREAT h 0
~RANDOMKEY
DBSIZE
FLUSHDB
SET k 1
SELECT 1
SET k 1
SELECT 0
SWAPDB 0 1
FLUSHALL
OBJECT ENCODING nokey
"""

SCRIPT_LISTS = r"""
LPUSH l a b
RPUSH l c
LPUSHX nokey a
RPUSHX nokey a
RPUSHX l d
LPUSHX l z
LPOP l
RPOP l
LPOP l 0
LPOP l 2
RPOP nokey
LPOP nokey 2
RPUSH l a b c d e
LINSERT l BEFORE c x
LINSERT l AFTER nokey y
LINSERT nokey AFTER a y
LSET l 0 q
LSET l 100 q
LSET nokey 0 q
LREM l 0 nokey
LREM l 1 q
LTRIM l 0 100
LTRIM l 5 10
LTRIM nokey 0 1
LTRIM l 5 1
RPUSH l2 1 2 3
LMOVE l2 l3 LEFT RIGHT
RPOPLPUSH l2 l3
LMOVE l2 l2 LEFT RIGHT
LMOVE l2 l3 RIGHT LEFT
LMOVE nokey l3 LEFT LEFT
SET str 1
LMOVE l3 str LEFT LEFT
LMPOP 2 nokey l3 LEFT COUNT 2
LMPOP 2 nokey l3 RIGHT COUNT 5
LMPOP 1 nokey LEFT
RPUSH l4 a b a c a
LREM l4 0 a
LREM l4 0 b
LREM l4 0 c
LLEN nokey
LINDEX nokey 0
LRANGE nokey 0 1
LPOS nokey a
BLPOP nokey 0.01
RPUSH b1 x
BLPOP b1 0
BRPOPLPUSH nokey b2 0.01
RPUSH b1 x y
BLMOVE b1 b2 RIGHT LEFT 0
BLMPOP 0 1 b1 LEFT COUNT 5
BRPOP b2 0
@conn 1
@block BLPOP q1 0
@conn 0
RPUSH q1 a b
@conn 1
@read
@block BLPOP q1 0
@read
@block BLMOVE q1 q2 LEFT RIGHT 0
@conn 0
RPUSH q1 a
@conn 1
@read
@block BRPOPLPUSH q1 q2 0
@conn 0
LPUSH q1 z y
@conn 1
@read
@block BLMPOP 0 2 q0 q1 LEFT COUNT 3
@conn 0
LPUSH q1 1 2
@conn 1
@read
@block BLPOP q5 0
@conn 2
@block BLPOP q5 0
@conn 0
RPUSH q5 a b c
@conn 1
@read
@conn 2
@read
@conn 1
@block BLMOVE q6 q6 LEFT RIGHT 0
@conn 0
RPUSH q6 a
@conn 1
@read
@block BLPOP q7 0
@conn 0
MULTI
RPUSH q7 a
RPUSH q7 b
LPUSH q8 c
EXEC
@conn 1
@read
@block BRPOP q9 0
@conn 0
SET q9 x
DEL q9
LPUSH q9 v
@conn 1
@read
@conn 0
"""

SCRIPT_HASHES = r"""
HSET h a 1 b 2
HSET h a 1
HMSET h c 3
HSETNX h a 5
HSETNX h z 5
HSETNX h2 z 5
HDEL h nokey
HDEL nokey f
HDEL h a b
HDEL h c z
HINCRBY h3 f 1
HINCRBY h3 f 2
HINCRBYFLOAT h3 g 1.5
HINCRBY h3 g 1
HINCRBYFLOAT h3 g abc
HINCRBY h3 f 9223372036854775807
HGET nokey f
HGET h3 nofield
HMGET nokey f g
HLEN nokey
HSTRLEN nokey f
HEXISTS nokey f
HGETALL nokey
HKEYS nokey
HVALS nokey
HRANDFIELD nokey
HRANDFIELD nokey 2
HSCAN nokey 0
SET s 1
HSET s a 1
HGET s a
"""

SCRIPT_SETS = r"""
SADD s a b
SADD s a
SREM s nokey
SREM nokey a
SREM s a
SREM s b
SADD s 1 2 3
~SPOP s
SPOP s 0
~SPOP s 1
~SPOP s 5
SPOP nokey
SPOP nokey 2
SADD s2 1 2 3 4 5 6 7 8 9 10
~SPOP s2 9
SADD s3 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20
~SPOP s3 2
SADD src a b
SMOVE src dst a
SMOVE src dst a
SMOVE src dst b
SADD src x
SADD dst x
SMOVE src dst x
SMOVE nokey dst x
SADD d2 x
SMOVE d2 d2 x
SISMEMBER nokey a
SMISMEMBER nokey a b
SCARD nokey
SMEMBERS nokey
SRANDMEMBER nokey
SRANDMEMBER nokey 3
SSCAN nokey 0
SINTER nokey1 nokey2
SUNION nokey1 d2 nokey2
SDIFF nokey1 nokey2
SINTERCARD 2 nokey1 nokey2
SADD s4 a b
SADD s5 b c
SINTERSTORE out s4 s5
SINTERSTORE out s4 s5
SINTERSTORE out s4 nokey
SINTERSTORE out s4 nokey
SUNIONSTORE out s4 s5
SDIFFSTORE out s4 s5
SDIFFSTORE out s4 s4
SUNIONSTORE out nokey nokey2
SET str 1
SINTERSTORE str s4 s5
SADD str x
SINTERSTORE s4 s4 s5
"""

# Expired keys met by commands, with the active expiry cycle off (deterministic).
SCRIPT_LAZY_EXPIRY = r"""
DEBUG SET-ACTIVE-EXPIRE 0
SET ex1 1 PX 5
@sleep 0.02
MULTI
GET ex1
EXEC
SET ex2 1 PX 5
@sleep 0.02
GET ex2
SET ex3 1 PX 5
@sleep 0.02
MGET ex3 nokey
SET ex4 1 PX 5
@sleep 0.02
EXISTS ex4 ex4
SET ex5 1 PX 5
@sleep 0.02
TTL ex5
SET ex6 1 PX 5
@sleep 0.02
TYPE ex6
SET ex7 1 PX 5
@sleep 0.02
SET ex7 1 GET
SET ex8 1 PX 5
@sleep 0.02
GETDEL ex8
SET ex9 1 PX 5
@sleep 0.02
LPUSH ex9 a
SET ex10 1 PX 5
@sleep 0.02
SUNION ex10
SET ex11 1 PX 5
@sleep 0.02
SET ex11 2
SET ex12 1 PX 5
@sleep 0.02
DEL ex12
SET ex13 1 PX 5
@sleep 0.02
EXPIRE ex13 100
SET ex14 1 PX 5
@sleep 0.02
RENAME ex14 x
SET ex15 1 PX 5
@sleep 0.02
COPY ex15 x
SET ex16 1 PX 5
SET y 1
@sleep 0.02
COPY y ex16
SET ex17 1 PX 5
@sleep 0.02
MSET ex17 2 z 3
SET ex18 1 PX 5
@sleep 0.02
INCR ex18
SADD set1 a
SET ex19 1 PX 5
@sleep 0.02
SUNIONSTORE ex19 set1
SET ex20 1 PX 5
@sleep 0.02
SINTERSTORE ex20 set1 nokey
SET ex21 1 PX 5
@sleep 0.02
HSET ex21 f v
SET ex22 1 PX 5
@sleep 0.02
SADD ex22 m
DBSIZE
SELECT 5
SET ex23 1 PX 5
@sleep 0.02
SCAN 0
SET ex24 1 PX 5
@sleep 0.02
RANDOMKEY
DBSIZE
SELECT 0
DEBUG SET-ACTIVE-EXPIRE 1
"""

# One key at a time expires in the background ("expired" from the active expiry cycle).
SCRIPT_ACTIVE_EXPIRY = r"""
SET ax 1 PX 50
@sleep 0.6
SELECT 3
SET ay 1 PX 50
@sleep 0.6
SELECT 0
LPUSH az a
PEXPIRE az 50
@sleep 0.6
DBSIZE
"""

SCRIPT_SCRIPTING = r"""
EVAL "redis.call('set', KEYS[1], 'v'); redis.call('get', 'nokey'); redis.call('lpush', 'l', 'a'); return redis.call('del', KEYS[1], 'l')" 1 k
EVAL "return redis.call('incr', 'i')" 0
EVAL "return redis.pcall('hset', 'i', 'f', 'v')" 0
"""

SCRIPT_ZSETS = r"""
ZADD z 1 a 2 b
ZADD z 1 a
ZADD z 5 a
ZADD z NX 9 a
ZADD z XX 9 nokey
ZADD z INCR 1 a
ZADD z2 NX 1 a
ZADD z3 XX 1 a
ZADD z GT CH 1 a
ZINCRBY z 1 b
ZINCRBY z4 1 b
ZREM z nokey
ZREM z a
ZREM z b
ZADD z 1 a 2 b 3 c 4 d 5 e
ZREMRANGEBYSCORE z 100 200
ZREMRANGEBYSCORE z 1 1
ZREMRANGEBYRANK z 0 0
ZREMRANGEBYLEX z [c [c
ZREMRANGEBYRANK z 0 -1
ZADD z 1 a 2 b 3 c 4 d 5 e
ZPOPMIN z
ZPOPMAX z 2
ZPOPMIN z 0
ZPOPMIN nokey
ZPOPMAX z 5
ZADD z 1 a 2 b
ZMPOP 2 nokey z MIN COUNT 1
ZMPOP 1 z MAX COUNT 5
ZMPOP 1 z MAX
BZPOPMIN nokey 0.01
ZADD z 1 a 2 b
BZPOPMIN z 0
BZPOPMAX z 0
ZADD z 1 a 2 b
BZMPOP 0 1 z MIN COUNT 2
@conn 1
@block BZPOPMIN bz 0
@conn 0
ZADD bz 1 a
@conn 1
@read
@conn 0
ZADD s1 1 a 2 b
ZADD s2 1 b 2 c
ZUNIONSTORE out 2 s1 s2
ZINTERSTORE out 2 s1 s2
ZDIFFSTORE out 2 s1 s2
ZINTERSTORE out 2 s1 nokey
ZINTERSTORE out 2 s1 nokey
ZDIFFSTORE out 1 s1
ZRANGESTORE out2 s1 0 -1
ZRANGESTORE out2 s1 5 10
ZRANGESTORE out2 s1 5 10
ZSCORE nokey a
ZMSCORE nokey a
ZCARD nokey
ZRANGE nokey 0 1
ZRANGEBYSCORE nokey 0 1
ZREVRANGE nokey 0 1
ZRANK nokey a
ZCOUNT nokey 0 1
ZLEXCOUNT nokey - +
ZRANDMEMBER nokey
ZSCAN nokey 0
ZUNION 2 nokey nokey2
ZINTER 2 nokey s1
ZDIFF 2 nokey s1
ZINTERCARD 2 nokey s1
ZRANGESTORE out2 nokey 0 -1
ZUNIONSTORE out3 2 nokey nokey2
DEBUG SET-ACTIVE-EXPIRE 0
ZADD zx1 1 a
PEXPIRE zx1 5
@sleep 0.02
ZUNIONSTORE zx1 1 nokey
ZADD zx2 1 a
PEXPIRE zx2 5
@sleep 0.02
ZUNIONSTORE zx2 1 s1
ZADD zx3 1 a
PEXPIRE zx3 5
@sleep 0.02
ZRANGESTORE zx3 s1 5 6
ZADD zx4 1 a
PEXPIRE zx4 5
@sleep 0.02
ZRANGESTORE zx4 s1 0 0
ZADD zx5 1 a
PEXPIRE zx5 5
@sleep 0.02
ZADD zx5 1 a
ZADD zx6 1 a
PEXPIRE zx6 5
@sleep 0.02
ZPOPMIN zx6
DEBUG SET-ACTIVE-EXPIRE 1
"""


def parse_script(text):
    steps = []
    for line in text.strip().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            steps.append(line)
    return steps


# ---------------------------------------------------------------------------------------------

def is_pong(raw):
    if raw == b"+PONG\r\n":
        return True
    try:
        value = resp.decode(raw)
    except Exception:  # noqa: BLE001
        return False
    return isinstance(value, list) and len(value) == 2 and value[0] == b"pong"


class Session:
    """One server with a subscriber and command connections, running a script."""

    def __init__(self, server, flags, subscribe, protocol):
        self.server = server
        self.ctl = server.connect(timeout=10)
        assert self.ctl.call("CONFIG", "SET", "notify-keyspace-events", flags) == b"+OK\r\n"
        self.sub = server.connect(timeout=10)
        if protocol == 3:
            self.sub.call("HELLO", "3")
        kind, names = subscribe
        self.sub.send_command(kind, *names)
        for _ in names:
            self.sub.read_reply()
        self.conns = {0: self.ctl}
        self.early = {}  # connection -> reply of an @block command that did not block

    def events(self):
        """Every message published since the last call (PING fence)."""
        self.sub.send_command("PING")
        out = []
        while True:
            raw = self.sub.read_reply(timeout=10)
            if is_pong(raw):
                return out
            out.append(raw)

    def blocked_clients(self):
        info = self.ctl.call("INFO", "clients").decode()
        for line in info.split("\r\n"):
            if line.startswith("blocked_clients:"):
                return int(line.split(":")[1])
        return -1

    def run(self, steps):
        """[(step, reply or None, [messages])] for every step."""
        results = []
        current = 0
        self.events()
        for step in steps:
            words = shlex.split(step)
            if words[0] == "@conn":
                current = int(words[1])
                if current not in self.conns:
                    self.conns[current] = self.server.connect(timeout=10)
                continue
            conn = self.conns[current]
            compare_reply = True
            if words[0] == "@sleep":
                time.sleep(float(words[1]))
                reply = None
            elif words[0] == "@read":
                reply = self.early.pop(current, None) or conn.read_reply(timeout=10)
            elif words[0] == "@block":
                # Wait until the server counts the client blocked, or it got its reply at once
                # (data was there), kept for the next @read.
                before = self.blocked_clients()
                conn.send_command(*words[1:])
                deadline = time.monotonic() + 5
                while self.blocked_clients() <= before and time.monotonic() < deadline:
                    try:
                        self.early[current] = conn.read_reply(timeout=0.005)
                        break
                    except resp.ReplyTimeout:
                        pass
                reply = None
            else:
                if words[0].startswith("~"):
                    compare_reply = False
                    words[0] = words[0][1:]
                reply = conn.call(*words, timeout=10)
                if not compare_reply:
                    reply = None
            results.append((step, reply, self.events()))
        return results

    def close(self):
        for c in list(self.conns.values()) + [self.sub]:
            c.close()


def run_script(binary, flags, subscribe, protocol, steps, extra_args=()):
    with Server(binary, extra_args=SERVER_ARGS + list(extra_args)) as server:
        session = Session(server, flags, subscribe, protocol)
        try:
            return session.run(steps)
        finally:
            session.close()


def compare(name, ours, redis):
    mismatches = 0
    for (step, r_ours, e_ours), (_, r_redis, e_redis) in zip(ours, redis):
        if r_ours != r_redis or e_ours != e_redis:
            mismatches += 1
            if mismatches <= 5:
                log("  %s: step %r differs" % (name, step))
                if r_ours != r_redis:
                    log("    reply  redis %r\n           ours  %r" % (r_redis, r_ours))
                if e_ours != e_redis:
                    log("    events redis %r\n           ours  %r" % (e_redis, e_ours))
    check(len(ours) == len(redis) and mismatches == 0,
          "%s: %d steps, %d differ" % (name, len(redis), mismatches))
    return sum(len(e) for _, _, e in redis)


# ---------------------------------------------------------------------------------------------

CONFIG_VALUES = ["", "K", "E", "g", "$lshzxetdn", "KEA", "AKE", "Kx", "Ex", "KEAm", "KEAn", "KEA$",
                 "gKE", "m", "n", "Kgn", "KE$lshzxetd", "KElshzxetd", "EKmn", "AAA", "KEAq", "x y",
                 "Kg$lshzxetdmn", "A", "KEA\x00"]


def config_replies(binary):
    out = []
    with Server(binary) as server:
        c = server.connect()
        out.append(c.call("CONFIG", "GET", "notify-keyspace-events"))
        for value in CONFIG_VALUES:
            out.append(c.call("CONFIG", "SET", "notify-keyspace-events", value))
            out.append(c.call("CONFIG", "GET", "notify-keyspace-events"))
        out.append(c.call("CONFIG", "SET", "notify-keyspace-events", "KEA", "maxmemory", "bad"))
        out.append(c.call("CONFIG", "GET", "notify-keyspace-events"))
    with Server(binary, extra_args=["--notify-keyspace-events", "KEAn"]) as server:
        c = server.connect()
        sub = server.connect()
        sub.call("SUBSCRIBE", "__keyevent@0__:new")
        out.append(c.call("CONFIG", "GET", "notify-keyspace-events"))
        c.call("SET", "k", "v")
        out.append(sub.read_reply(timeout=5))
    return out


def test_config(ours, redis):
    log("-- CONFIG SET/GET notify-keyspace-events, startup option")
    a = config_replies(redis)
    b = config_replies(ours)
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            log("    #%d redis %r ours %r" % (i, x, y))
    check(a == b, "config replies identical (%d replies)" % len(a))


RUNS = [
    # (flags, subscription, protocol)
    ("KEA", ("PSUBSCRIBE", ["__key*__:*"]), 2),
    ("AKEnm", ("PSUBSCRIBE", ["__key*__:*"]), 2),
    ("Elg$lshxnm", ("PSUBSCRIBE", ["__keyevent@*__:*"]), 3),
    ("Kx", ("PSUBSCRIBE", ["__keyspace@0__:*", "__keyspace@3__:*"]), 2),
    ("KEm", ("PSUBSCRIBE", ["*"]), 2),
    ("En$", ("SUBSCRIBE", ["__keyevent@0__:new", "__keyevent@0__:set", "__keyevent@0__:del"]), 2),
    ("g$lshzxetdnm", ("PSUBSCRIBE", ["*"]), 2),  # neither K nor E: nothing is published
]


def main(argv):
    global VERBOSE
    args = [a for a in argv[1:] if not a.startswith("-")]
    redis = "/usr/bin/redis-server"
    if "--redis" in argv:
        redis = argv[argv.index("--redis") + 1]
        args.remove(redis)
    VERBOSE = "-v" in argv
    checks.verbose = VERBOSE
    ours = os.path.abspath(args[0] if args else os.path.join(HERE, "..", "..", "redis-server"))

    test_config(ours, redis)

    scripts = [("strings", SCRIPT_STRINGS), ("keys", SCRIPT_KEYS), ("lists", SCRIPT_LISTS),
               ("hashes", SCRIPT_HASHES), ("sets", SCRIPT_SETS), ("lazy-expiry", SCRIPT_LAZY_EXPIRY)]
    if "--zsets" in argv:
        scripts.append(("zsets", SCRIPT_ZSETS))
    if "--scripting" in argv:
        scripts.append(("scripting", SCRIPT_SCRIPTING))
    steps = []
    for name, text in scripts:
        steps.append("FLUSHALL")
        steps.extend(parse_script(text))
    for flags, subscription, protocol in RUNS:
        name = "%s %s %s RESP%d" % (flags, subscription[0], " ".join(subscription[1]), protocol)
        log("-- script (%d steps) with %s" % (len(steps), name))
        redis_results = run_script(redis, flags, subscription, protocol, steps)
        ours_results = run_script(ours, flags, subscription, protocol, steps)
        total = compare(name, ours_results, redis_results)
        if flags in ("KEA", "AKEnm"):
            check(total > 300, "%s: the script published events (%d messages)" % (name, total))
        if flags.startswith("g"):
            check(total == 0, "%s: nothing published without K or E" % name)

    log("-- active expiry (\"expired\" from the background cycle)")
    active = parse_script(SCRIPT_ACTIVE_EXPIRY)
    for flags in ("KEA", "Ex"):
        sub = ("PSUBSCRIBE", ["__key*__:*"])
        redis_results = run_script(redis, flags, sub, 2, active)
        ours_results = run_script(ours, flags, sub, 2, active)
        total = compare("active expiry %s" % flags, ours_results, redis_results)
        check(total > 0, "active expiry %s: events published (%d)" % (flags, total))

    if failures:
        log("notifications: %d check(s) failed:" % len(failures))
        for f in failures:
            log("  - %s" % f)
        return 1
    log("notifications: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
