#!/usr/bin/env python3
"""Malformed and hostile input, compared byte for byte with real Redis 7.0.

    python3 test/e2e/bad_input_test.py ./redis-server [--redis /usr/bin/redis-server] [-v]

Our server and real Redis run side by side; every case sends the same bytes to both on a
fresh connection and compares what comes back: the reply bytes and whether the server closed
the connection. Then come the cases with no reply to compare (half-sent commands, slow
senders, clients that never read, connection churn), after which our server must still answer
PING, hold no more threads than at the start (/proc/<pid>/status Threads:) and report one
connected client.

Standard library only; helpers from test/lib (resp.py, servers.py).
"""

import argparse
import os
import random
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import checks  # noqa: E402
import resp  # noqa: E402
from checks import check, failures, log  # noqa: E402
from servers import Server  # noqa: E402

enc = resp.encode_command
PROBE = enc("ECHO", "__probe__")
PROBE_REPLY = b"$9\r\n__probe__\r\n"

VERBOSE = False



def short(data, limit=300):
    r = repr(data)
    return r if len(r) <= limit else r[:limit] + "...(%d bytes)" % len(data)


# ---------------------------------------------------------------------------------------------
# Talking to a server

def connect(port, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def exchange(port, chunks, mode, delay=0.0, quiet=0.7, limit=15.0):
    """Sends `chunks` on a new connection and collects what the server sends back.

    mode "probe": after the chunks, send ECHO __probe__ and read until its reply (the
                  connection must still be usable) or until the server closes.
    mode "close": read until the server closes the connection (or `limit`).
    mode "quiet": read until nothing arrives for `quiet` seconds (the server is expected
                  to wait for more input).
    Returns (bytes received, "closed" | "open").
    """
    s = connect(port)
    data = bytearray()
    closed = False
    try:
        for chunk in chunks:
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if delay:
                time.sleep(delay)
        if mode == "probe" and not closed:
            try:
                s.sendall(PROBE)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
        deadline = time.monotonic() + limit
        while not closed:
            now = time.monotonic()
            if now >= deadline:
                break
            s.settimeout(min(quiet, deadline - now) if mode == "quiet" else deadline - now)
            try:
                chunk = s.recv(1 << 20)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
            if mode == "probe" and data.endswith(PROBE_REPLY):
                break
    finally:
        s.close()
    return bytes(data), ("closed" if closed else "open")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def thread_count(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def info_field(conn, section, field):
    text = resp.decode(conn.call("INFO", section)).decode()
    for line in text.split("\r\n"):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    return None


# ---------------------------------------------------------------------------------------------
# Cases compared with real Redis: (name, chunks, mode[, delay])

def comparable_cases():
    big_inline = b"SET k " + b"x" * 100000 + b"\r\n"
    cases = [
        # multibulk count line
        ("multibulk length not a number", [b"*abc\r\n"], "close"),
        ("negative multibulk length is ignored", [b"*-5\r\n"], "probe"),
        ("*-1 is ignored", [b"*-1\r\n"], "probe"),
        ("*0 is ignored", [b"*0\r\n"], "probe"),
        ("multibulk length INT_MAX+1", [b"*2147483648\r\n"], "close"),
        ("multibulk length overflowing 64 bits", [b"*99999999999999999999999\r\n"], "close"),
        ("multibulk length with a plus sign", [b"*+1\r\n$4\r\nPING\r\n"], "close"),
        ("multibulk length with a leading zero", [b"*01\r\n$4\r\nPING\r\n"], "close"),
        ("multibulk length empty", [b"*\r\n"], "close"),
        ("multibulk length with spaces", [b"* 1\r\n$4\r\nPING\r\n"], "close"),
        ("multibulk count line over 64 KB", [b"*" + b"1" * 70000], "close"),
        ("CR not followed by LF after the count", [b"*1\rX$4\r\nPING\r\n"], "probe"),
        # bulk headers
        ("$-1 inside a multibulk", [b"*1\r\n$-1\r\n"], "close"),
        ("$-1 as second argument", [b"*2\r\n$3\r\nGET\r\n$-1\r\n"], "close"),
        ("bulk length not a number", [b"*1\r\n$x\r\n"], "close"),
        ("bulk length empty", [b"*1\r\n$\r\n"], "close"),
        ("bulk length over proto-max-bulk-len", [b"*1\r\n$536870913\r\n"], "close"),
        ("bulk length overflowing 64 bits", [b"*1\r\n$99999999999999999999999\r\n"], "close"),
        ("integer where a bulk is expected", [b"*1\r\n:4\r\nPING\r\n"], "close"),
        ("nested array in a request", [b"*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\na\r\n"], "close"),
        ("inline text inside a multibulk", [b"*2\r\nECHO hello\r\n"], "close"),
        ("bulk count line over 64 KB", [b"*1\r\n$" + b"1" * 70000], "close"),
        ("payload terminator is not checked", [b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n"], "probe"),
        ("bulk shorter than announced eats the next command",
         [b"*2\r\n$4\r\nECHO\r\n$10\r\nabc\r\n*1\r\n$4\r\nPING\r\n"], "probe"),
        ("error after valid commands in the same packet",
         [b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-3\r\n"], "close"),
        ("valid commands after an error are not run",
         [b"*x\r\n*3\r\n$3\r\nSET\r\n$9\r\nnotrunkey\r\n$1\r\n1\r\n"], "close"),
        ("the command after the error really did not run", [enc("EXISTS", "notrunkey")], "probe"),
        # inline
        ("inline request over 64 KB without newline", [b"a" * 70000], "close"),
        ("inline request of 100 KB with its newline", [big_inline], "close"),
        ("unbalanced double quote", [b'SET k "abc\r\n'], "close"),
        ("unbalanced single quote", [b"SET k 'abc\r\n"], "close"),
        ("closing quote followed by a character", [b'SET "a"b c\r\n'], "close"),
        ("inline escapes", [b'ECHO "a\\x41\\n\\"b\\t\\\\"\r\n'], "probe"),
        ("inline single-quote escape", [b"ECHO 'it\\'s'\r\n"], "probe"),
        ("inline NUL hides the rest of the line from Redis", [b"SET a\x00b c\r\nGET a\r\n"], "quiet"),
        ("empty inline lines are skipped", [b"\r\n\n   \r\n\t\r\nPING\r\n"], "probe"),
        ("LF-only inline line", [b"PING\nECHO x\n"], "probe"),
        ("inline unknown command", [b"FOOBAR a b\r\n"], "probe"),
        ("inline in lower case", [b"set inl 1\r\nincr inl\r\nget inl\r\n"], "probe"),
        # commands with odd arguments
        ("unknown command with binary name",
         [enc(b"\x00\x01\r\nfoo", b"a\r\nb", b"\xff\xfe")], "probe"),
        ("unknown command with a long name and long args",
         [enc("x" * 300, "a" * 300, "b" * 300, "c")], "probe"),
        ("empty command name", [enc("")], "probe"),
        ("NUL bytes in keys and values",
         [enc("SET", b"k\x00ey", b"v\x00\x00al"), enc("GET", b"k\x00ey"), enc("STRLEN", b"k\x00ey"),
          enc("EXISTS", b"k\x00ey", b"k"), enc("GET", b"k"), enc("KEYS", b"k\x00*"),
          enc("APPEND", b"k\x00ey", b"\x00"), enc("GETRANGE", b"k\x00ey", "0", "-1")], "probe"),
        ("empty key and value",
         [enc("SET", "", ""), enc("GET", ""), enc("EXISTS", ""), enc("STRLEN", "")], "probe"),
        ("CR LF inside values",
         [enc("SET", "crlf", b"a\r\nb\r\n"), enc("GET", "crlf")], "probe"),
        ("all 256 byte values",
         [enc("SET", bytes(range(256)), bytes(range(256))), enc("GET", bytes(range(256)))], "probe"),
        ("integers at the edges",
         [enc("SET", "n", "9223372036854775807"), enc("INCR", "n"), enc("SET", "n", "-9223372036854775808"),
          enc("DECR", "n"), enc("INCRBY", "n", "99999999999999999999"), enc("SET", "n", " 1"),
          enc("INCR", "n"), enc("SET", "n", "1\x00"), enc("INCR", "n")], "probe"),
        ("pipeline of mixed valid and invalid commands in one write",
         [b"".join([enc("SET", "p", "1"), enc("INCR", "p"), enc("GET"), enc("NOSUCH"),
                    b"PING\r\n", enc("GET", "p")] * 50)], "probe"),
        # delivery in pieces
        ("byte-by-byte multibulk",
         [bytes([c]) for c in enc("SET", "slow", "hello world") + enc("GET", "slow")], "probe", 0.002),
        ("byte-by-byte inline",
         [bytes([c]) for c in b"SET slowinline 'a b c'\r\nGET slowinline\r\n"], "probe", 0.002),
        ("byte-by-byte protocol error", [bytes([c]) for c in b"*1\r\n$x\r\n"], "close", 0.002),
        ("command split at every header boundary",
         [b"*3\r", b"\n$3\r\nSE", b"T\r\n$", b"5\r\nsplit\r", b"\n$2\r\nok", b"\r", b"\n"], "probe", 0.05),
    ]
    return cases


def flushall(*servers):
    for srv in servers:
        with srv.connect() as c:
            c.call("FLUSHALL")


def compare_case(ours, redis, name, chunks, mode, delay=0.0):
    if not name.startswith("the command after"):   # that one looks at the previous case's keys
        flushall(ours, redis)
    got = exchange(ours.port, chunks, mode, delay=delay)
    want = exchange(redis.port, chunks, mode, delay=delay)
    same = got == want
    check(same, "%s: same reply and close state as Redis" % name)
    if not same or VERBOSE:
        log("       redis: %s %s" % (want[1], short(want[0])))
        log("       ours:  %s %s" % (got[1], short(got[0])))
    if mode == "close":
        check(got[1] == "closed", "%s: connection closed" % name)


# ---------------------------------------------------------------------------------------------
# Cases without a reply to compare

def case_int_max_multibulk(ours, redis):
    """*2147483647 is a legal count: both servers wait for the arguments."""
    for srv in (ours, redis):
        data, state = exchange(srv.port, [b"*2147483647\r\n$4\r\nPING\r\n$3\r\nabc\r\n"], "quiet")
        check(data == b"" and state == "open",
              "%s: *2147483647 waits for more arguments (got %s %s)" % (srv.name, state, short(data)))


def case_huge_bulk_header(ours, redis):
    """$536870912 (exactly proto-max-bulk-len) with no body: accepted, and must not allocate."""
    conn = ours.connect()
    base_rss = int(info_field(conn, "memory", "used_memory_rss"))
    base_vm = rss_kb(ours.proc.pid)
    socks = []
    for _ in range(4):
        s = connect(ours.port)
        s.sendall(b"*1\r\n$536870912\r\n")
        socks.append(s)
    # Some of the body, well below what the header announces.
    socks[0].sendall(b"x" * 100000)
    time.sleep(0.5)
    for s in socks:
        s.settimeout(0.2)
        try:
            data = s.recv(100)
        except socket.timeout:
            data = None
        check(data is None, "ours: no reply while a 512 MB argument is pending (got %s)" % short(data))
    rss_now = int(info_field(conn, "memory", "used_memory_rss"))
    vm_now = rss_kb(ours.proc.pid)
    grown_mb = (rss_now - base_rss) / 1048576.0
    log("       RSS with 4 pending 512 MB headers: +%.1f MB (INFO), +%.1f MB (VmRSS)"
        % (grown_mb, (vm_now - base_vm) / 1024.0))
    check(grown_mb < 64, "ours: RSS stays small with 512 MB bulk headers pending (+%.1f MB)" % grown_mb)
    check(conn.call("PING") == b"+PONG\r\n", "ours: other clients still served")
    for s in socks:
        s.close()
    conn.close()
    # Real Redis gives the same (no) answer.
    data, state = exchange(redis.port, [b"*1\r\n$536870912\r\n"], "quiet")
    check(data == b"" and state == "open", "redis: waits for the 512 MB body (sanity)")


def case_big_values(ours, redis):
    """Values of 1 MB and more: written in one go, in pieces, and pipelined; read back exactly."""
    rnd = random.Random(7)
    values = {
        "big1": rnd.randbytes(1 << 20),
        "big3": rnd.randbytes(3 * (1 << 20) + 17),
        "big8": b"\x00\r\n" * (8 * (1 << 20) // 3),
    }
    for srv in (ours, redis):
        with srv.connect(timeout=30) as c:
            for key, value in values.items():
                check(c.call("SET", key, value) == b"+OK\r\n", "%s: SET %s" % (srv.name, key))
            for key, value in values.items():
                got = c.call("GET", key)
                check(got == b"$%d\r\n%s\r\n" % (len(value), value),
                      "%s: GET %s round-trips %d bytes" % (srv.name, key, len(value)))
            # Sent in 1000-byte pieces with pauses, so the server sees partial arguments.
            payload = enc("SET", "pieces", values["big1"])
            for i in range(0, len(payload), 65536):
                c.send_raw(payload[i:i + 65536])
                time.sleep(0.002)
            check(c.read_reply() == b"+OK\r\n", "%s: SET in pieces" % srv.name)
            check(c.call("STRLEN", "pieces") == b":%d\r\n" % len(values["big1"]),
                  "%s: STRLEN after SET in pieces" % srv.name)
            # Pipelined: 20 x (SET 1 MB + GET) in one send.
            c.send_raw(b"".join(enc("SET", "pipe%d" % i, values["big1"]) + enc("STRLEN", "pipe%d" % i)
                                for i in range(20)))
            ok = True
            for i in range(20):
                ok &= c.read_reply(timeout=30) == b"+OK\r\n"
                ok &= c.read_reply(timeout=30) == b":%d\r\n" % len(values["big1"])
            check(ok, "%s: 20 pipelined 1 MB SETs" % srv.name)
            c.call("DEL", *(["pipe%d" % i for i in range(20)] + list(values) + ["pieces"]))


def case_half_sent_then_disconnect(ours):
    flushall(ours)
    partials = [
        b"*1\r\n$5\r\nab", b"*", b"*3", b"*3\r", b"*3\r\n", b"*3\r\n$3\r\nSET\r\n", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc",
        b"*1\r\n$100000\r\n" + b"y" * 50000, b"SET k v", b"SET k \"unterminated", b"*1\r\n$4\r\nPI",
        b"*2\r\n$4\r\nECHO\r\n$1000000\r\n" + b"z" * 600000,
    ]
    socks = []
    for i in range(5):
        for p in partials:
            s = connect(ours.port)
            try:
                s.sendall(p)
            except OSError:
                pass
            socks.append(s)
    time.sleep(0.3)
    for i, s in enumerate(socks):
        if i % 2:  # half of them with a reset instead of a FIN
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    with ours.connect() as c:
        check(c.call("PING") == b"+PONG\r\n", "ours: alive after %d half-sent commands" % len(socks))
        check(c.call("EXISTS", "k") == b":0\r\n", "ours: no half-sent SET was executed")


def case_slow_sender_concurrent(ours):
    """Several byte-by-byte senders at once; all must get their replies."""
    results = []

    def worker(i):
        payload = enc("SET", "slow%d" % i, "v%d" % i) + enc("GET", "slow%d" % i)
        data, state = exchange(ours.port, [bytes([b]) for b in payload], "probe", delay=0.001)
        results.append(data == b"+OK\r\n$%d\r\nv%d\r\n" % (len("v%d" % i), i) + PROBE_REPLY)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(all(results) and len(results) == 10, "ours: 10 concurrent byte-by-byte senders all served")


def case_never_reads(ours):
    """Clients that pipeline requests for far more output than they read, then disconnect."""
    with ours.connect() as c:
        c.call("SET", "tenk", b"q" * 10000)
    for linger_reset in (False, True):
        s = connect(ours.port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        request = enc("GET", "tenk") * 20000   # 200 MB of replies
        s.settimeout(2.0)
        try:
            s.sendall(request)
        except (socket.timeout, OSError):
            pass   # the server stopped reading: its output is stuck behind our full window
        time.sleep(0.3)
        if linger_reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    with ours.connect() as c:
        check(c.call("PING") == b"+PONG\r\n", "ours: alive after clients that never read")
        c.call("DEL", "tenk")


def case_connection_churn(ours):
    ok = 0
    for i in range(1000):
        s = connect(ours.port)
        if i % 3 == 0:
            s.sendall(b"PING\r\n")
            s.settimeout(10)
            if s.recv(7) == b"+PONG\r\n":
                ok += 1
        elif i % 3 == 1:
            s.sendall(b"*1\r\n$4\r\nPI")
        if i % 5 == 0:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    check(ok == 334, "ours: 1000 connects/disconnects, every PING answered (%d/334)" % ok)


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def main():
    global VERBOSE
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    VERBOSE = args.verbose
    checks.verbose = VERBOSE
    args.binary = os.path.abspath(args.binary)

    with Server(args.binary, name="ours", start_timeout=60) as ours, \
            Server(args.redis, name="redis", start_timeout=30) as redis:
        pid = ours.proc.pid
        # Baseline: no client connected (the startup PING's thread may still be reaped).
        time.sleep(0.5)
        baseline = thread_count(pid)
        log("ours: pid %d, %d threads with no client" % (pid, baseline))

        log("-- malformed requests, compared with Redis")
        for case in comparable_cases():
            compare_case(ours, redis, *case)

        log("-- limits and hostile clients")
        case_int_max_multibulk(ours, redis)
        case_huge_bulk_header(ours, redis)
        case_big_values(ours, redis)
        case_half_sent_then_disconnect(ours)
        case_slow_sender_concurrent(ours)
        case_never_reads(ours)
        case_connection_churn(ours)

        log("-- after all of it")
        check(ours.alive(), "ours: process still running")
        if ours.alive():
            with ours.connect() as c:
                check(c.call("PING") == b"+PONG\r\n", "ours: answers PING")
                clients = wait_for(lambda: info_field(c, "clients", "connected_clients") == "1", 15)
                check(clients, "ours: connected_clients back to 1 (now %s)"
                      % info_field(c, "clients", "connected_clients"))
            threads = wait_for(lambda: thread_count(pid) <= baseline, 15)
            check(threads, "ours: thread count back to baseline %d (now %d)" % (baseline, thread_count(pid)))
        else:
            log(ours.log_tail())

    if failures:
        log("bad_input: %d check(s) failed:" % len(failures))
        for f in failures:
            log("  - " + f)
        sys.exit(1)
    log("bad_input: all checks passed")


if __name__ == "__main__":
    main()
