#!/usr/bin/env python3
"""Process life cycle: command line, config file, client limits, idle timeout, signals.

    python3 test/e2e/lifecycle_test.py ./redis-server [-v] [-k NAME]

Every case starts its own server process (on a free port, in its own temp dir) and stops it.
The expectations were checked by running this script against /usr/bin/redis-server.
-k NAME runs only the cases whose name contains NAME.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import resp  # noqa: E402
from servers import free_port  # noqa: E402

BINARY = None
STARTUP = 60.0      # sanitizer builds can be slow to start
failures = []


def log(msg):
    print(msg, flush=True)


def check(cond, what):
    if cond:
        log("  ok   %s" % what)
    else:
        failures.append(what)
        log("  FAIL %s" % what)


class Proc:
    """One server process started with an explicit argv, in a temp dir."""

    def __init__(self, args, stdin_text=None, port=None):
        self.dir = tempfile.mkdtemp(prefix="rd-lifecycle-")
        self.port = port
        self.out_path = os.path.join(self.dir, "stdout.log")
        self.err_path = os.path.join(self.dir, "stderr.log")
        self.args = [a.replace("{dir}", self.dir) for a in args]
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([BINARY] + self.args, cwd=self.dir,
                                         stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
                                         stdout=out, stderr=err)
        if stdin_text is not None:
            self.proc.stdin.write(stdin_text.encode())
            self.proc.stdin.close()

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def ready(self, password=None, timeout=STARTUP):
        """Waits until the server answers PING; False if it exited or never answered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with resp.RespConnection("127.0.0.1", self.port, timeout=2) as c:
                    if password is not None:
                        c.call("AUTH", password)
                    if c.call("PING") == b"+PONG\r\n":
                        return True
            except (OSError, resp.ConnectionClosed, resp.ReplyTimeout):
                pass
            time.sleep(0.05)
        return False

    def connect(self, timeout=5.0):
        return resp.RespConnection("127.0.0.1", self.port, timeout=timeout)

    def output(self):
        text = ""
        for p in (self.out_path, self.err_path):
            with open(p, "rb") as f:
                text += f.read().decode("utf-8", "replace")
        return text

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            try:
                with self.connect(timeout=1) as c:
                    c.send_command("SHUTDOWN", "NOSAVE")
                    try:
                        c.read_reply(timeout=2)
                    except (resp.ConnectionClosed, resp.ReplyTimeout):
                        pass
            except OSError:
                pass
            if self.wait_exit(3) is None:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def server(extra=(), port=None, password=None, prefix=(), listen_port=None):
    """Starts a server with the usual test options; returns a ready Proc (or fails).

    listen_port: the port it really listens on, when `extra` overrides --port."""
    port = port or free_port()
    args = list(prefix) + ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                           "--dir", "{dir}"] + list(extra)
    p = Proc(args, port=listen_port or port)
    if not p.ready(password=password):
        log(p.output()[-3000:])
        p.stop()
        raise AssertionError("server did not start: %s" % " ".join(args))
    return p


def config_get(conn, name):
    value = resp.decode(conn.call("CONFIG", "GET", name))
    return value[1].decode() if value and len(value) == 2 else None


def info_field(conn, section, field):
    text = resp.decode(conn.call("INFO", section)).decode()
    for line in text.split("\r\n"):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    return None


def has_command(conn, name):
    return resp.decode(conn.call("COMMAND", "INFO", name)) != [None]


def is_closed(conn, timeout):
    """True if the server closes the connection within `timeout` (no data expected)."""
    try:
        conn.read_reply(timeout=timeout)
        return False
    except resp.ConnectionClosed:
        return True
    except resp.ReplyTimeout:
        return False


def fails_to_start(args, stdin_text=None):
    """Runs the binary expecting it to exit; returns (exit code or None, stdout+stderr)."""
    p = Proc(args, stdin_text=stdin_text)
    code = p.wait_exit(15)
    out = p.output()
    if code is None:
        p.proc.kill()
        p.proc.wait()
    shutil.rmtree(p.dir, ignore_errors=True)
    return code, out


# ---------------------------------------------------------------------------------------------
# Cases

def case_version_and_help():
    for flag in ("--version", "-v"):
        p = Proc([flag])
        code = p.wait_exit(STARTUP)
        out = p.stdout()
        check(code == 0, "%s exits 0 (got %s)" % (flag, code))
        check(out.startswith("Redis server v=7.0.15 "), "%s prints 'Redis server v=7.0.15 ...' (got %r)" % (flag, out[:80]))
        p.stop()
    for flag in ("--help", "-h"):
        p = Proc([flag])
        code = p.wait_exit(STARTUP)
        err = p.stderr()
        check(code == 1, "%s exits 1 like Redis (got %s)" % (flag, code))
        check(err.startswith("Usage: ./redis-server [/path/to/redis.conf] [options] [-]"),
              "%s prints the usage on stderr (got %r)" % (flag, err[:80]))
        p.stop()


def case_port_and_replicaof():
    with server() as p, p.connect() as c:
        check(config_get(c, "port") == str(p.port), "--port N: listening on N, CONFIG GET port says so")
        check(config_get(c, "bind") == "127.0.0.1", "--bind 127.0.0.1")
        check(config_get(c, "save") == "", "--save '' gives an empty save")
    port = free_port()
    try:
        with server(["--port", str(port)], listen_port=port) as p, p.connect() as c:
            check(p.port == int(config_get(c, "port")), "a repeated --port: the last one wins")
    except AssertionError as exc:
        check(False, "a repeated --port: the last one wins (%s)" % exc)
    master_port = free_port()   # nothing listens there: the replica keeps trying, which is fine
    for form, extra in (("one argument", ["--replicaof", "127.0.0.1 %d" % master_port]),
                        ("two arguments", ["--replicaof", "127.0.0.1", str(master_port)]),
                        ("slaveof alias", ["--slaveof", "127.0.0.1", str(master_port)])):
        with server(extra) as p, p.connect() as c:
            check(config_get(c, "replicaof") == "127.0.0.1 %d" % master_port,
                  "--replicaof as %s: CONFIG GET replicaof is '127.0.0.1 %d' (got %r)"
                  % (form, master_port, config_get(c, "replicaof")))
            role = info_field(c, "replication", "role")
            check(role == "slave", "--replicaof as %s: INFO replication role:slave (got %s)" % (form, role))
            mp = info_field(c, "replication", "master_port")
            check(mp == str(master_port), "--replicaof as %s: master_port:%d (got %s)" % (form, master_port, mp))


CONFIG_FILE = """# A config file the way people write them.
   # indented comment, then a blank line

port {port}
bind 127.0.0.1
save ""
appendonly no
dir "{dir}"
requirepass "pass word"
maxmemory-policy 'allkeys-lru'
MAXCLIENTS 100
hz 20\t
  timeout    300
notify-keyspace-events "KEA"
client-output-buffer-limit "pubsub 32mb 8mb 60"
"""


def case_config_file():
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="rd-lifecycle-conf-")
    try:
        conf = os.path.join(workdir, "redis.conf")
        with open(conf, "w") as f:
            f.write(CONFIG_FILE.format(port=port, dir=workdir))
        # The file alone.
        p = Proc([conf], port=port)
        ok = p.ready(password="pass word")
        check(ok, "server starts from a config file with comments and quoted arguments")
        if ok:
            with p.connect() as c:
                check(c.call("PING").startswith(b"-NOAUTH"), "requirepass with a space: PING needs AUTH")
                check(c.call("AUTH", "pass word") == b"+OK\r\n", "AUTH 'pass word' accepted")
                for name, want in (("maxmemory-policy", "allkeys-lru"), ("maxclients", "100"), ("hz", "20"),
                                   ("timeout", "300"), ("notify-keyspace-events", "AKE"),
                                   ("dir", os.path.realpath(workdir))):
                    got = config_get(c, name)
                    check(got == want, "config file: %s is %r (got %r)" % (name, want, got))
                cobl = config_get(c, "client-output-buffer-limit")
                check(cobl is not None and "pubsub 33554432 8388608 60" in cobl,
                      "config file: quoted multi-word value (client-output-buffer-limit %r)" % cobl)
        p.stop()

        # The command line overrides the file, whatever the order of the options.
        port2 = free_port()
        p = Proc([conf, "--port", str(port2), "--maxclients", "50", "--hz", "15", "--requirepass", ""], port=port2)
        ok = p.ready()
        check(ok, "command-line options after the config file")
        if ok:
            with p.connect() as c:
                check(config_get(c, "maxclients") == "50", "command line overrides maxclients from the file")
                check(config_get(c, "hz") == "15", "command line overrides hz from the file")
                check(config_get(c, "port") == str(port2), "command line overrides the port from the file")
                check(config_get(c, "maxmemory-policy") == "allkeys-lru", "the rest of the file still applies")
        p.stop()

        # Config from stdin ("-"), mixed with a file and options.
        port3 = free_port()
        p = Proc([conf, "--port", str(port3), "-"], stdin_text="hz 33\nrequirepass \"\"\n", port=port3)
        ok = p.ready()
        check(ok, "config read from stdin with '-'")
        if ok:
            with p.connect() as c:
                check(config_get(c, "hz") == "33", "stdin config applied (hz 33)")
        p.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def case_bad_configuration():
    workdir = tempfile.mkdtemp(prefix="rd-lifecycle-bad-")
    try:
        bad_directive = os.path.join(workdir, "bad_directive.conf")
        with open(bad_directive, "w") as f:
            f.write("port %d\n# comment\nfrobnicate yes\n" % free_port())
        bad_value = os.path.join(workdir, "bad_value.conf")
        with open(bad_value, "w") as f:
            f.write("port %d\nmaxclients lots\n" % free_port())
        unbalanced = os.path.join(workdir, "unbalanced.conf")
        with open(unbalanced, "w") as f:
            f.write("port %d\nrequirepass \"abc\n" % free_port())
        cases = [
            ("unknown directive in the file", [bad_directive], "frobnicate"),
            ("bad value in the file", [bad_value], "maxclients"),
            ("unbalanced quotes in the file", [unbalanced], "requirepass"),
            ("unknown option on the command line", ["--frobnicate", "yes"], "frobnicate"),
            ("non-numeric port", ["--port", "abc"], "port"),
            ("port out of range", ["--port", "70000"], "port"),
            ("bad yes/no", ["--appendonly", "maybe"], "appendonly"),
            ("maxclients 0", ["--maxclients", "0"], "maxclients"),
            ("missing config file", [os.path.join(workdir, "nope.conf")], "nope.conf"),
        ]
        for what, args, word in cases:
            code, out = fails_to_start(args)
            check(code == 1, "%s: exit code 1 (got %s)" % (what, code))
            lines = [ln for ln in out.splitlines() if ln.strip()]
            check(any(word in ln for ln in lines), "%s: the message names %r: %r" % (what, word, out[-300:]))
            check(len(lines) <= 5, "%s: one short message (%d lines)" % (what, len(lines)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def case_maxclients():
    with server(["--maxclients", "3"]) as p:
        time.sleep(0.3)   # let the startup PING's connection go away
        conns = [p.connect() for _ in range(3)]
        for c in conns:
            assert c.call("PING") == b"+PONG\r\n"
        extra = p.connect()
        try:
            reply = extra.read_reply(timeout=5)
        except (resp.ConnectionClosed, resp.ReplyTimeout) as exc:
            reply = repr(exc).encode()
        check(reply == b"-ERR max number of clients reached\r\n",
              "4th client with maxclients 3 gets '-ERR max number of clients reached' (got %r)" % reply)
        check(is_closed(extra, 5), "... and is disconnected")
        extra.close()
        check(all(c.call("PING") == b"+PONG\r\n" for c in conns), "the 3 admitted clients keep working")
        conns[0].close()
        admitted = False
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not admitted:
            with p.connect() as c:
                try:
                    admitted = c.call("PING") == b"+PONG\r\n"
                except (resp.ConnectionClosed, resp.ReplyTimeout):
                    pass
            if not admitted:
                time.sleep(0.1)
        check(admitted, "after one client leaves, a new one is admitted")
        for c in conns[1:]:
            c.close()


def case_idle_timeout():
    with server(["--timeout", "1"]) as p:
        idle = p.connect()
        assert idle.call("PING") == b"+PONG\r\n"
        busy = p.connect()
        sub = p.connect()
        sub.send_command("SUBSCRIBE", "news")
        sub.read_reply()
        start = time.monotonic()
        busy_ok = True
        while time.monotonic() - start < 3.5:
            busy_ok &= busy.call("PING") == b"+PONG\r\n"
            time.sleep(0.3)
        check(busy_ok, "timeout 1: a client active every 0.3 s is kept")
        check(is_closed(idle, 3.0), "timeout 1: an idle client is closed within ~3.5 s")
        with p.connect() as pub:
            pub.call("PUBLISH", "news", "hello")
        try:
            msg = resp.decode(sub.read_reply(timeout=3))
        except (resp.ConnectionClosed, resp.ReplyTimeout) as exc:
            msg = repr(exc)
        check(msg == [b"message", b"news", b"hello"], "timeout 1: a subscriber is not timed out (got %r)" % (msg,))
        # CONFIG SET timeout at run time applies to clients already connected.
        busy.call("CONFIG", "SET", "timeout", "0")
        late = p.connect()
        late.call("PING")
        time.sleep(2.5)
        check(late.call("PING") == b"+PONG\r\n", "CONFIG SET timeout 0: an idle client stays")
        busy.call("CONFIG", "SET", "timeout", "1")
        check(is_closed(late, 4.0), "CONFIG SET timeout 1 at run time: an already connected idle client is closed")
        for c in (idle, busy, sub, late):
            c.close()


def populate_clients(p):
    """Connects clients in every state a shutdown must cope with; returns them."""
    conns = []
    idle = p.connect()
    idle.call("PING")
    conns.append(idle)
    for i in range(2):
        sub = p.connect()
        sub.send_command("SUBSCRIBE", "ch%d" % i)
        sub.read_reply()
        conns.append(sub)
    psub = p.connect()
    psub.send_command("PSUBSCRIBE", "*")
    psub.read_reply()
    conns.append(psub)
    partial = p.connect()
    partial.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc")
    conns.append(partial)
    multi = p.connect()
    multi.call("MULTI")
    multi.call("SET", "k", "v")
    conns.append(multi)
    blocked = []
    probe = p.connect()
    if has_command(probe, "blpop"):
        for i in range(3):
            b = p.connect()
            b.send_command("BLPOP", "nolist%d" % i, "0")
            conns.append(b)
            blocked.append("BLPOP")
    # A writer held back by CLIENT PAUSE WRITE is blocked as well.
    probe.call("CLIENT", "PAUSE", "30000", "WRITE")
    w = p.connect()
    w.send_command("SET", "paused", "1")
    conns.append(w)
    blocked.append("paused SET")
    conns.append(probe)
    time.sleep(0.3)
    return conns, blocked


def case_signals():
    for sig in (signal.SIGTERM, signal.SIGINT):
        name = signal.Signals(sig).name
        p = server()
        try:
            conns, blocked = populate_clients(p)
            start = time.monotonic()
            p.proc.send_signal(sig)
            code = p.wait_exit(10)
            elapsed = time.monotonic() - start
            check(code == 0, "%s with %d clients (%s blocked): exit code 0 (got %s)"
                  % (name, len(conns), ", ".join(blocked), code))
            check(code is not None and elapsed < 2.0, "%s: exited in %.2f s (< 2 s)" % (name, elapsed))
            for c in conns:
                c.close()
            # The port is free again right away.
            if code is not None:
                p2 = Proc(["--port", str(p.port), "--bind", "127.0.0.1", "--save", "", "--dir", "{dir}"], port=p.port)
                check(p2.ready(), "%s: a new server binds the same port at once" % name)
                p2.stop()
        finally:
            p.stop()


def case_shutdown_command():
    p = server()
    try:
        conns, _ = populate_clients(p)
        with p.connect() as c:
            c.send_command("SHUTDOWN", "NOSAVE")
            start = time.monotonic()
            closed = is_closed(c, 5)
        code = p.wait_exit(5)
        elapsed = time.monotonic() - start
        check(closed, "SHUTDOWN NOSAVE: the connection is closed without a reply")
        check(code == 0, "SHUTDOWN NOSAVE: exit code 0 (got %s)" % code)
        check(code is not None and elapsed < 2.0, "SHUTDOWN NOSAVE with blocked clients: exited in %.2f s" % elapsed)
        for c in conns:
            c.close()
    finally:
        p.stop()
    # SHUTDOWN with no save points configured behaves the same.
    p = server()
    try:
        with p.connect() as c:
            c.send_command("SHUTDOWN")
            closed = is_closed(c, 5)
        check(closed and p.wait_exit(5) == 0, "SHUTDOWN (save '') exits 0")
    finally:
        p.stop()


CASES = [
    ("version_and_help", case_version_and_help),
    ("port_and_replicaof", case_port_and_replicaof),
    ("config_file", case_config_file),
    ("bad_configuration", case_bad_configuration),
    ("maxclients", case_maxclients),
    ("idle_timeout", case_idle_timeout),
    ("signals", case_signals),
    ("shutdown_command", case_shutdown_command),
]


def main():
    global BINARY
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("-k", default="")
    args = ap.parse_args()
    BINARY = os.path.abspath(args.binary)
    for name, fn in CASES:
        if args.k not in name:
            continue
        log("-- %s" % name)
        t0 = time.monotonic()
        try:
            fn()
        except Exception:  # noqa: BLE001 - report and carry on with the next case
            failures.append("%s raised" % name)
            log(traceback.format_exc())
        log("   (%.1fs)" % (time.monotonic() - t0))
    if failures:
        log("lifecycle: %d check(s) failed:" % len(failures))
        for f in failures:
            log("  - " + f)
        sys.exit(1)
    log("lifecycle: all checks passed")


if __name__ == "__main__":
    main()
