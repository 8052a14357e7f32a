#!/usr/bin/env python3
"""Lua scripting end to end: what the differential corpus cannot express.

    python3 test/e2e/scripting_test.py ./redis-server   (REPLICATION_TEST=name runs one)

- The replication stream of scripts, byte-level against a scripted fake replica: a script's
  write commands as themselves (rewrites included: SET EX -> SET PXAT), several wrapped in
  MULTI/EXEC, SELECT inside a script, redis.set_repl(REPL_NONE), nothing for read-only
  scripts, the writes of a script that failed half-way, FUNCTION LOAD/DELETE verbatim, FCALL.
- A real replica applies scripts' effects (EVAL, EVALSHA, FCALL) and ends with the same data.
- Atomicity: concurrent scripts doing read-modify-write lose no update, and clients reading
  with MGET never see a script half done.
- A script past busy-reply-threshold: other clients get BUSY, SCRIPT KILL stops it (FUNCTION
  KILL a function), UNKILLABLE once it wrote, SHUTDOWN NOSAVE still exits.
- MONITOR shows EVAL, then the script's commands as coming from "lua".
Runs against /usr/bin/redis-server too (that is how the expectations were checked).
"""

import re
import threading
import time

from replication_lib import REAL_REDIS, RawPeer, command, resp, run_tests, wait_in_sync, wait_until


def fake_replica(master):
    """A raw replica connection, past the full sync and the first ACK."""
    peer = RawPeer.connect(master.port)
    for cmd in (command("PING"), command("REPLCONF", "listening-port", "4321"),
                command("REPLCONF", "capa", "eof", "capa", "psync2")):
        peer.send(cmd)
        line = peer.read_line()
        assert line in (b"+PONG\r\n", b"+OK\r\n"), line
    peer.send(command("PSYNC", "?", "-1"))
    line = peer.read_line()
    while line == b"\n":
        line = peer.read_line()
    assert line.startswith(b"+FULLRESYNC"), line
    header = peer.read_line()
    while header == b"\n":
        header = peer.read_line()
    m = re.match(rb"\$EOF:([0-9a-f]{40})\r\n$", header)
    if m:
        while m.group(1) not in peer.buf:
            peer._fill()
        peer.buf = peer.buf[peer.buf.index(m.group(1)) + 40:]
    else:
        peer.read_exact(int(header[1:-2]))
    peer.send(command("REPLCONF", "ACK", "0"))
    return peer


def stream_after(peer, master, *cmd):
    """Runs `cmd` on the master, then returns the commands it propagated (PINGs skipped),
    read up to a marker SET that follows it."""
    # Redis streams to a replica that finished a diskless sync only after an ACK it accepted:
    # acknowledge again each time, as a real replica does every second.
    peer.send(command("REPLCONF", "ACK", "0"))
    master.raw(*cmd)
    master.raw("SET", "__marker__", "x")
    seen = []
    while True:
        _, value = peer.read_command()
        args = [a.decode() for a in value]
        if args[0] in ("PING", "REPLCONF"):
            continue
        if args == ["SET", "__marker__", "x"]:
            return seen
        seen.append(args)


def test_replication_stream(binary, cluster):
    master = cluster.start(binary, "--repl-ping-replica-period", "3600", name="master")
    master.call("SET", "before", "1")
    peer = fake_replica(master)
    assert stream_after(peer, master, "SELECT", "0") == [["SELECT", "0"]]
    # One write: as itself, no wrapper. Reads: nothing.
    assert stream_after(peer, master, "EVAL", "redis.call('set','a','1')", "0") == [["set", "a", "1"]]
    assert stream_after(peer, master, "EVAL", "return redis.call('get','a')", "0") == []
    assert stream_after(peer, master, "EVAL", "redis.call('del','nosuch')", "0") == []
    # Several writes: one transaction.
    got = stream_after(peer, master, "EVAL", "redis.call('set','a','1') redis.call('incr','a') redis.call('get','a')", "0")
    assert got == [["MULTI"], ["set", "a", "1"], ["incr", "a"], ["EXEC"]], got
    # Rewrites of the commands themselves are kept.
    got = stream_after(peer, master, "EVAL", "redis.call('set','x','1','EX',100)", "0")
    assert len(got) == 1 and got[0][:4] == ["SET", "x", "1", "PXAT"], got
    # SELECT inside the script: the stream follows the script's db; the caller's db is unchanged.
    got = stream_after(peer, master, "EVAL",
                       "redis.call('select','3') redis.call('set','a','1') redis.call('select','0') redis.call('set','b','1')", "0")
    assert got == [["SELECT", "3"], ["MULTI"], ["set", "a", "1"], ["SELECT", "0"], ["set", "b", "1"], ["EXEC"]], got
    # redis.set_repl(REPL_NONE) keeps a command away from replicas.
    got = stream_after(peer, master, "EVAL",
                       "redis.set_repl(redis.REPL_NONE) redis.call('set','nr','1') "
                       "redis.set_repl(redis.REPL_ALL) redis.call('set','yr','1')", "0")
    assert got == [["set", "yr", "1"]], got
    # A script failing after a write: the write stays, and is replicated.
    got = stream_after(peer, master, "EVAL", "redis.call('set','half','1') error('x')", "0")
    assert got == [["set", "half", "1"]], got
    # EVALSHA propagates effects too; SCRIPT LOAD and SCRIPT FLUSH nothing.
    sha = master.call("SCRIPT", "LOAD", "redis.call('set','viasha','1')").decode()
    assert stream_after(peer, master, "SCRIPT", "FLUSH") == []
    master.call("SCRIPT", "LOAD", "redis.call('set','viasha','1')")
    assert stream_after(peer, master, "EVALSHA", sha, "0") == [["set", "viasha", "1"]]
    # Inside MULTI the script's writes join the transaction's own MULTI/EXEC.
    with master.connect() as client:
        client.call("MULTI")
        client.call("SET", "q", "1")
        client.call("EVAL", "redis.call('set','m','1') redis.call('set','m2','1')", "0")
        client.call("EXEC")
    got = stream_after(peer, master, "PING")
    assert got == [["MULTI"], ["SET", "q", "1"], ["set", "m", "1"], ["set", "m2", "1"], ["EXEC"]], got
    # Functions: FUNCTION LOAD / DELETE verbatim, FCALL as its effects.
    code = "#!lua name=l\nredis.register_function('f', function(k) redis.call('set', k[1], 'v') return 1 end)"
    assert stream_after(peer, master, "FUNCTION", "LOAD", code) == [["FUNCTION", "LOAD", code]]
    assert stream_after(peer, master, "FCALL", "f", "1", "fk") == [["set", "fk", "v"]]
    assert stream_after(peer, master, "FCALL_RO", "f", "1", "fk") == []
    assert stream_after(peer, master, "FUNCTION", "DELETE", "l") == [["FUNCTION", "DELETE", "l"]]
    peer.close()


def test_replica_applies_script_effects(binary, cluster):
    master = cluster.start(binary, name="master")
    replica = cluster.replica(binary, master, name="replica")
    master.call("EVAL", "for i=1,50 do redis.call('rpush', KEYS[1], i) end", "1", "list")
    sha = master.call("SCRIPT", "LOAD", "return redis.call('incrby', KEYS[1], ARGV[1])").decode()
    for i in range(20):
        master.call("EVALSHA", sha, "1", "counter", str(i))
    master.call("EVAL", "redis.call('select', 2) redis.call('hset', 'h', 'f', 'v') redis.call('sadd', 's', 'a', 'b')", "0")
    master.call("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('swap', function(k) "
                "local a = redis.call('get', k[1]) redis.call('set', k[1], redis.call('get', k[2])) "
                "redis.call('set', k[2], a) end)")
    master.call("MSET", "x", "1", "y", "2")
    master.call("FCALL", "swap", "2", "x", "y")
    wait_in_sync(master, [replica])
    assert replica.call("GET", "x") == b"2" and replica.call("LLEN", "list") == 50
    # The replica got the library too (FUNCTION LOAD is replicated), and refuses writes.
    err = replica.raw("FCALL", "swap", "2", "x", "y")
    assert err == b"-READONLY You can't write against a read only replica.\r\n", err
    err = replica.raw("EVAL", "return redis.call('set','z','1')", "0")
    assert err.startswith(b"-READONLY You can't write against a read only replica."), err
    assert replica.call("EVAL", "return redis.call('get','x')", "0") == b"2"


def test_scripts_are_atomic(binary, cluster):
    node = cluster.start(binary, name="server")
    node.call("MSET", "a", "0", "b", "0", "counter", "0")
    script = ("local v = tonumber(redis.call('get', KEYS[1])) "
              "redis.call('set', KEYS[1], v + 1) "
              "local a = tonumber(redis.call('get', 'a')) "
              "redis.call('set', 'a', a + 1) redis.call('set', 'b', a + 1) return v")
    sha = node.call("SCRIPT", "LOAD", script).decode()
    writers, per_writer = 8, 150
    errors = []
    stop = threading.Event()

    def writer():
        try:
            with node.connect() as c:
                for i in range(per_writer):
                    reply = c.call("EVALSHA", sha, "1", "counter") if i % 2 else c.call("EVAL", script, "1", "counter")
                    assert reply.startswith(b":"), reply
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    def reader():
        try:
            with node.connect() as c:
                while not stop.is_set():
                    a, b = resp.decode(c.call("MGET", "a", "b"))
                    assert a == b, "saw a script half done: a=%r b=%r" % (a, b)
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads + readers:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors[:3]
    total = writers * per_writer
    assert node.call("GET", "counter") == str(total).encode()
    assert node.call("GET", "a") == node.call("GET", "b") == str(total).encode()


def test_busy_script_kill_and_shutdown(binary, cluster):
    node = cluster.start(binary, name="server")
    node.call("CONFIG", "SET", "busy-reply-threshold", "100")
    busy_eval = b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    busy_function = b"-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
    with node.connect() as runner, node.connect() as other:
        assert other.call("SCRIPT", "KILL") == b"-NOTBUSY No scripts in execution right now.\r\n"
        runner.send_command("EVAL", "local i = 0 while true do i = i + 1 end", "0")
        wait_until(lambda: other.call("PING") == busy_eval, message="BUSY")
        assert other.call("GET", "x") == busy_eval
        assert other.call("FUNCTION", "KILL") == busy_eval
        assert other.call("FUNCTION", "STATS") == busy_eval
        assert other.call("SCRIPT", "KILL") == b"+OK\r\n"
        reply = runner.read_reply(timeout=10)
        assert reply.startswith(b"-ERR Script killed by user with SCRIPT KILL... script: "), reply
        assert other.call("PING") == b"+PONG\r\n"

        # A pcall inside the script cannot swallow the kill.
        runner.send_command("EVAL", "while true do pcall(function() local i = 0 while true do i = i + 1 end end) end", "0")
        wait_until(lambda: other.call("PING") == busy_eval, message="BUSY")
        assert other.call("SCRIPT", "KILL") == b"+OK\r\n"
        assert runner.read_reply(timeout=10).startswith(b"-ERR Script killed by user with SCRIPT KILL...")

        # Functions: FUNCTION KILL, and FUNCTION STATS names the running function.
        runner.call("FUNCTION", "LOAD", "#!lua name=spin\nredis.register_function('spin', function() "
                    "local i = 0 while true do i = i + 1 end end)")
        runner.send_command("FCALL", "spin", "0")
        wait_until(lambda: other.call("PING") == busy_function, message="BUSY")
        assert other.call("SCRIPT", "KILL") == busy_function
        stats = resp.decode(other.call("FUNCTION", "STATS"))
        assert stats[0] == b"running_script" and stats[1][1] == b"spin" and stats[1][3] == [b"FCALL", b"spin", b"0"], stats
        assert other.call("FUNCTION", "KILL") == b"+OK\r\n"
        assert runner.read_reply(timeout=10).startswith(b"-ERR Script killed by user with SCRIPT KILL... script: spin")

        # After a write the script cannot be killed; SHUTDOWN NOSAVE still ends the server.
        runner.send_command("EVAL", "redis.call('set','w','1') local i = 0 while true do i = i + 1 end", "0")
        wait_until(lambda: other.call("PING") == busy_eval, message="BUSY")
        assert other.call("SCRIPT", "KILL").startswith(b"-UNKILLABLE Sorry the script already executed write commands")
        other.send_command("SHUTDOWN", "NOSAVE")
    wait_until(lambda: not node.alive(), timeout=15, message="the server to exit")


def test_monitor_shows_script_commands(binary, cluster):
    node = cluster.start(binary, name="server")
    with node.connect() as monitor, node.connect() as client:
        assert monitor.call("MONITOR") == b"+OK\r\n"
        client.call("EVAL", "redis.call('set', KEYS[1], 'v') return redis.call('get', KEYS[1])", "1", "k")
        lines = [resp.decode(monitor.read_reply()) for _ in range(3)]
    assert re.search(r'^\d+\.\d+ \[0 127\.0\.0\.1:\d+\] "EVAL" ".*" "1" "k"$', lines[0]), lines
    assert re.search(r'^\d+\.\d+ \[0 lua\] "set" "k" "v"$', lines[1]), lines
    assert re.search(r'^\d+\.\d+ \[0 lua\] "get" "k"$', lines[2]), lines


def test_debug_from_scripts_once_allowed(binary, cluster):
    """DEBUG is protected at the connection only: once DEBUG SET-DISABLE-DENY-SCRIPTS lets
    scripts call it, a script may whatever enable-debug-command says (as Redis)."""
    node = cluster.start(binary, name="server")  # enable-debug-command: local (the default)
    with node.connect() as client:
        script = "return redis.call('debug', 'protocol', 'string')"
        assert client.call("EVAL", script, "0").startswith(b"-ERR This Redis command is not allowed from script")
        assert client.call("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1") == b"+OK\r\n"
        assert client.call("EVAL", script, "0") == b"$11\r\nHello World\r\n"
        assert client.call("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0") == b"+OK\r\n"


if __name__ == "__main__":
    run_tests([
        test_replication_stream,
        test_replica_applies_script_effects,
        test_scripts_are_atomic,
        test_busy_script_kill_and_shutdown,
        test_monitor_shows_script_commands,
        test_debug_from_scripts_once_allowed,
    ])
