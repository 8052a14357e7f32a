#!/usr/bin/env python3
"""SLOWLOG and LATENCY contents against real Redis 7.0 (the differential corpus can only
compare their shapes: entries carry times, durations and client addresses).

    python3 test/e2e/introspection_test.py [./redis-server] [-v]

Runs the same commands on our server and on /usr/bin/redis-server and compares:
  - the slow log with slowlog-log-slower-than 0: per entry, the logged arguments (trimmed to
    32 arguments of at most 128 bytes, secrets of AUTH / HELLO AUTH / CONFIG SET "(redacted)")
    and the client name; ids are consecutive and RESET does not restart them; commands inside
    MULTI/EXEC are logged one by one and EXEC is not; rejected commands are not logged; a served
    BLPOP is logged after the push that served it, a timed out one not at all;
  - slowlog-max-len trimming and SLOWLOG GET counts;
  - the latency monitor with a 10 ms threshold after DEBUG SLEEP: LATEST / HISTORY latencies,
    DOCTOR's report, RESET counts.
Standard library only; helpers from test/lib. Exits non-zero on failure.
"""

import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import resp  # noqa: E402
from servers import Server, free_port  # noqa: E402

REDIS = "/usr/bin/redis-server"
failures = []
VERBOSE = "-v" in sys.argv


def slowlog_script(c, pusher):
    """Commands whose slow log entries are compared; returns the decoded SLOWLOG GET -1."""
    c.call("config", "set", "slowlog-log-slower-than", "0")
    c.call("slowlog", "reset")
    c.call("client", "setname", "nm")
    c.call("set", "k", "x" * 200)
    c.call("set", b"ab\x00cd" * 30, "1")
    c.call("rpush", "l", *[str(i) for i in range(40)])
    c.call("rpush", "l", *[str(i) for i in range(30)])
    c.call("auth", "foo", "bar")
    c.call("auth", "foo")
    c.call("auth", "a", "b", "c")
    c.call("hello", "2", "auth", "u", "p")
    c.call("hello", "4", "auth", "u", "p")
    c.call("multi")
    c.call("set", "a", "1")
    c.call("incr", "a")
    c.call("exec")
    c.call("blpop", "nolist", "0.1")  # timed out: not logged
    c.send_command("blpop", "bl", "5")  # served: logged right after the push that served it
    time.sleep(0.2)
    pusher.call("rpush", "bl", "v")
    c.read_reply()
    c.call("nosuchcmd")
    c.call("get")
    c.call("config", "set", "masteruser", "u", "masterauth", "p", "nosuch", "q", "masterauth", "")
    c.call("config", "set", "masterauth", "", "x")
    c.call("config", "set", "masteruser", "")
    c.call("client", "setname", "")
    return resp.decode(c.call("slowlog", "get", "-1"))


def trimming_script(c):
    c.call("config", "set", "slowlog-log-slower-than", "0")
    c.call("slowlog", "reset")
    c.call("config", "set", "slowlog-max-len", "3")
    for i in range(5):
        c.call("set", "k%d" % i, "v")
    got = [resp.decode(c.call("slowlog", "len")), resp.decode(c.call("slowlog", "get", "2"))]
    c.call("config", "set", "slowlog-max-len", "128")
    c.call("config", "set", "slowlog-log-slower-than", "10000")
    return got


def latency_script(c):
    c.call("config", "set", "latency-monitor-threshold", "10")
    c.call("debug", "sleep", "0.05")
    time.sleep(1.1)
    c.call("debug", "sleep", "0.03")
    latest = resp.decode(c.call("latency", "latest"))
    history = resp.decode(c.call("latency", "history", "command"))
    doctor = resp.decode(c.call("latency", "doctor"))
    reset = [resp.decode(c.call("latency", "reset", "command", "nosuch")), resp.decode(c.call("latency", "latest"))]
    c.call("config", "set", "latency-monitor-threshold", "0")
    return latest, history, doctor, reset


def port_script(srv):
    """CONFIG SET port moves the listener; a port in use is refused and the old one kept."""
    import socket
    c = srv.connect()
    new_port = free_port()
    replies = [c.call("config", "set", "port", str(new_port))]
    moved = resp.RespConnection(srv.host, new_port)
    replies.append(moved.call("ping"))
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    replies.append(moved.call("config", "set", "port", str(busy.getsockname()[1])))
    replies.append(resp.RespConnection(srv.host, new_port).call("ping"))
    replies.append(c.call("config", "get", "port") == moved.call("config", "get", "port"))
    replies.append(moved.call("config", "set", "port", str(srv.port)))  # back, so stop() finds it
    busy.close()
    return replies


def run(binary):
    with Server(binary, extra_args=["--enable-debug-command", "yes"]) as srv:
        c = srv.connect()
        return slowlog_script(c, srv.connect()), trimming_script(c), latency_script(c), port_script(srv)


def check(name, ok, detail=""):
    if VERBOSE or not ok:
        print("%s %s %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)
    if not ok:
        failures.append(name)


def main():
    ours_binary = os.path.abspath(next((a for a in sys.argv[1:] if a != "-v"), "./redis-server"))
    if not os.path.exists(REDIS):
        print("SKIP: %s not found" % REDIS)
        return 0
    redis = run(REDIS)
    ours = run(ours_binary)

    # Slow log: arguments and client names per entry, newest first.
    r_log, o_log = redis[0], ours[0]
    check("slow log entry count", len(r_log) == len(o_log), "%d vs %d" % (len(r_log), len(o_log)))
    for i, (r, o) in enumerate(zip(r_log, o_log)):
        check("slow log entry %d (%r)" % (i, r[3][:3]), (r[3], r[5]) == (o[3], o[5]), "redis %r ours %r" % (r, o))
    ids = [e[0] for e in o_log]
    check("slow log ids are consecutive", ids == list(range(ids[0], ids[0] - len(ids), -1)), repr(ids))
    check("slow log ids survive RESET", ids[-1] > 0, repr(ids[-1]))

    # Trimming to slowlog-max-len.
    (r_len, r_get), (o_len, o_get) = redis[1], ours[1]
    check("slowlog-max-len trims", r_len == o_len, "%r vs %r" % (r_len, o_len))
    check("SLOWLOG GET 2", [e[3] for e in r_get] == [e[3] for e in o_get], "%r vs %r" % (r_get, o_get))

    # Latency monitor: events and sample counts (latencies vary with the machine's load: a
    # DEBUG SLEEP 0.05 takes at least 50 ms) and the doctor's report with numbers masked.
    (r_latest, r_hist, r_doc, r_reset), (o_latest, o_hist, o_doc, o_reset) = redis[2], ours[2]
    check("LATENCY LATEST events", [row[0] for row in r_latest] == [row[0] for row in o_latest],
          "%r vs %r" % (r_latest, o_latest))
    check("LATENCY LATEST values", all(row[2] >= 30 and row[3] >= 50 for row in o_latest), repr(o_latest))
    check("LATENCY HISTORY", len(r_hist) == len(o_hist) and o_hist[0][1] >= 50 and o_hist[1][1] >= 30,
          "%r vs %r" % (r_hist, o_hist))
    mask = lambda text: re.sub(rb"[0-9][0-9.]*", b"N", text)  # noqa: E731
    check("LATENCY DOCTOR", mask(r_doc) == mask(o_doc), "\n%r\n%r" % (r_doc, o_doc))
    check("LATENCY RESET", r_reset == o_reset, "%r vs %r" % (r_reset, o_reset))

    check("CONFIG SET port", redis[3] == ours[3], "%r vs %r" % (redis[3], ours[3]))

    if failures:
        print("introspection: %d check(s) failed" % len(failures))
        return 1
    print("introspection: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
