#!/usr/bin/env python3
"""Differential test: our server vs. real Redis, reply for reply, byte for byte.

Usage:
    python3 test/diff/run_diff.py [--ours ./redis-server] [--redis /usr/bin/redis-server]
                                  [--redis-vs-redis] [--keep-going] [--timeout S]
                                  [--verbose] [files...]

Both servers are started on free ports (see test/lib/servers.py); every
corpus file (default: test/diff/corpus/*.txt, sorted) is replayed against
both, and every reply from ours is compared with the reply from Redis.
`--redis-vs-redis` runs real Redis on both sides, which checks that the
corpus itself is deterministic.  Every mismatch is printed with file, line,
command and both raw replies; the last line is a summary
"run_diff: N passed, M failed".  Exit status: 0 if everything matched,
1 on any mismatch or harness error, 2 on bad usage / a server that won't start.

A mismatch never stops the run.  A server that dies (or a harness error)
aborts the run, unless --keep-going is given: then the dead server is
restarted and the run continues with the next session.

CORPUS FORMAT
=============
One step per line.  Blank lines and lines whose first non-blank character
is '#' are ignored ('#' elsewhere in a line is an ordinary character).

Tokens are split like python's shlex in posix mode (whitespace separates
tokens; 'single quotes' are literal; "double quotes" allow \\" and \\\\;
outside quotes a backslash escapes the next character).  Tokens are sent as
UTF-8.  For arbitrary bytes, a token written as a python bytes literal,
b"..." or b'...', starting at a token boundary and followed by whitespace or
end of line, is evaluated with ast.literal_eval:  b"\\x00key"  b"a\\r\\nb"
(so a plain argument that starts with b" must be quoted differently, e.g.
'b"x"').

Sessions:
    --- name      starts a new session.  Each file also starts a new session.
                  At the start of every session both servers get a fresh
                  connection on which FLUSHALL and SELECT 0 are sent; all
                  connections of the previous session are closed.  (Server
                  configuration changed with CONFIG SET is NOT reset.)

Commands:
    SET k v       sent as a RESP multibulk on the current connection; exactly
                  one reply is read and compared byte for byte.

Directives (bare tokens starting with '@'; modifiers can be combined and
prefix a command, @raw, @read or @scanall):
    @sleep 0.2          sleep (once, for both servers).
    @conn N             switch to connection N of this session (0 is the
                        default; others are opened on first use, in db 0).
    @raw TOKENS...      send the tokens' bytes concatenated, with nothing in
                        between, and read one reply, e.g.
                        @raw b"*1\\r\\n$4\\r\\nPING\\r\\n"    @raw b"PING\\r\\n"
    @read [TIMEOUT]     read one reply (e.g. a pub/sub message) without
                        sending anything; TIMEOUT in seconds (default
                        --timeout).
    @scanall CMD ...    iterate SCAN / SSCAN / HSCAN / ZSCAN (the cursor given
                        in the command is replaced by 0, then by each returned
                        cursor) until the cursor is 0, and compare the *set*
                        of returned elements (field/value or member/score pairs
                        for HSCAN/ZSCAN); duplicates are ignored.
  modifiers:
    @unordered CMD      compare an aggregate reply as a multiset of its
                        top-level elements (raw bytes; nested order kept).
    @pairs CMD          compare a flat array as a multiset of consecutive
                        pairs (HGETALL, CONFIG GET pattern...).
    @type CMD           compare only the shape: the reply type, aggregate
                        lengths and element shapes, bulk null vs. non-null,
                        and for errors the first word (ERR, WRONGTYPE...).
                        For nondeterministic replies: RANDOMKEY, TIME, PTTL.
    @ignore CMD         send and read, but do not compare (setup whose reply
                        legitimately differs).
    @noreply CMD        send without reading any reply (read later with @read).
    @ids CMD            in the reply, RESP integers equal to the client id of a
                        connection named by {id:N} earlier in the session read
                        as {id:N} on both sides (CLIENT GETREDIR, CLIENT
                        TRACKINGINFO, tracking-redir-broken pushes).  Only for
                        replies where no other integer could equal an id.

Client ids: an argument written exactly {id:N} is sent as the CLIENT ID of
connection N of this session on that server (found with CLIENT LIST on a
short-lived extra connection; N is opened first if needed).  Ids differ between
the servers, so this is how a corpus names another connection (CLIENT TRACKING
REDIRECT {id:1}, CLIENT KILL ID {id:2}).

Special replies: when the server closes the connection before a reply
arrives the reply is recorded as <closed>; no reply within the timeout is
<timeout> (the connection is then dropped).  The next command sent on a
closed connection transparently opens a new one (db 0, no client name).
"""

import argparse
import ast
import glob
import os
import re
import sys
import time

sys.dont_write_bytecode = True      # keep __pycache__ out of the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO_ROOT, "test", "lib"))

import resp      # noqa: E402
import servers   # noqa: E402

MODIFIERS = {"@unordered", "@pairs", "@type", "@ignore", "@noreply", "@ids"}
ID_TOKEN = re.compile(rb"^\{id:(\d+)\}$")
RESP_INTEGER = re.compile(rb":(\d+)\r\n")
CLOSED = "<closed>"
TIMEOUT = "<timeout>"
NOREPLY = "<noreply>"
MAX_REPR = 1000          # truncate printed replies to this many characters


class CorpusError(Exception):
    """A syntax error in a corpus file."""


class ServerDied(Exception):
    """A server process exited in the middle of a session."""


# ---------------------------------------------------------------------------
# Corpus parsing
# ---------------------------------------------------------------------------

def tokenize(line):
    """Split a corpus line into [(bytes, bare)], shlex-posix style.

    `bare` is True when the token had no quoting at all (only bare tokens
    can be @directives).  See the module docstring for the rules.
    """
    tokens = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in " \t\r\n":
            i += 1
        if i >= n:
            return tokens
        # A python bytes literal token: b"..." or b'...'.
        if line[i] == "b" and i + 1 < n and line[i + 1] in "\"'":
            quote, j = line[i + 1], i + 2
            while j < n and line[j] != quote:
                j += 2 if line[j] == "\\" else 1
            if j >= n:
                raise CorpusError("unterminated bytes literal")
            end = j + 1
            if end < n and line[end] not in " \t\r\n":
                raise CorpusError("bytes literal must be followed by whitespace")
            try:
                value = ast.literal_eval(line[i:end])
            except (SyntaxError, ValueError) as exc:
                raise CorpusError("bad bytes literal %s: %s" % (line[i:end], exc)) from None
            if not isinstance(value, bytes):
                raise CorpusError("not a bytes literal: %s" % line[i:end])
            tokens.append((value, False))
            i = end
            continue
        # An ordinary shell-like word.
        out, bare = [], True
        while i < n and line[i] not in " \t\r\n":
            c = line[i]
            if c == "'":
                j = line.find("'", i + 1)
                if j < 0:
                    raise CorpusError("unterminated single quote")
                out.append(line[i + 1:j])
                i, bare = j + 1, False
            elif c == '"':
                i, bare = i + 1, False
                while True:
                    if i >= n:
                        raise CorpusError("unterminated double quote")
                    c = line[i]
                    if c == '"':
                        i += 1
                        break
                    if c == "\\" and i + 1 < n and line[i + 1] in '"\\':
                        out.append(line[i + 1])
                        i += 2
                    else:
                        out.append(c)
                        i += 1
            elif c == "\\":
                if i + 1 >= n:
                    raise CorpusError("no character after backslash")
                out.append(line[i + 1])
                i, bare = i + 2, False
            else:
                out.append(c)
                i += 1
        tokens.append(("".join(out).encode("utf-8"), bare))


class Step:
    """One executable corpus line."""

    def __init__(self, path, lineno, text, kind, args=None, mods=(), value=None):
        self.path = path        # corpus file
        self.lineno = lineno    # 1-based line number
        self.text = text        # the line as written
        self.kind = kind        # 'cmd' | 'raw' | 'read' | 'sleep' | 'conn' | 'scanall'
        self.args = args        # list of bytes (cmd, scanall) or bytes (raw)
        self.mods = set(mods)   # subset of MODIFIERS
        self.value = value      # number for sleep/conn/read

    def where(self):
        return "%s:%d" % (os.path.relpath(self.path), self.lineno)


class Session:
    def __init__(self, path, lineno, name):
        self.path, self.lineno, self.name = path, lineno, name
        self.steps = []


def _number(tokens, kind, lineno, cast):
    try:
        return cast(tokens[0][0].decode())
    except (IndexError, ValueError, UnicodeDecodeError):
        raise CorpusError("line %d: %s needs a number" % (lineno, kind)) from None


def parse_line(path, lineno, text):
    """Turn one non-comment corpus line into a Step."""
    try:
        tokens = tokenize(text)
    except CorpusError as exc:
        raise CorpusError("%s:%d: %s" % (path, lineno, exc)) from None
    mods = []
    while tokens and tokens[0][1] and tokens[0][0] in {m.encode() for m in MODIFIERS}:
        mods.append(tokens.pop(0)[0].decode())
    if not tokens:
        raise CorpusError("%s:%d: modifier without a command" % (path, lineno))
    head, bare = tokens[0]
    rest = tokens[1:]
    if bare and head.startswith(b"@"):
        name = head.decode()
        if name in ("@sleep", "@conn"):
            if mods or len(rest) != 1:
                raise CorpusError("%s:%d: usage: %s N" % (path, lineno, name))
            value = _number(rest, name, lineno, float if name == "@sleep" else int)
            return Step(path, lineno, text, name[1:], value=value)
        if name == "@raw":
            if not rest:
                raise CorpusError("%s:%d: @raw needs bytes" % (path, lineno))
            return Step(path, lineno, text, "raw", args=b"".join(t for t, _ in rest), mods=mods)
        if name == "@read":
            value = _number(rest, name, lineno, float) if rest else None
            if "@noreply" in mods:
                raise CorpusError("%s:%d: @noreply @read makes no sense" % (path, lineno))
            return Step(path, lineno, text, "read", mods=mods, value=value)
        if name == "@scanall":
            args = [t for t, _ in rest]
            cmd = args[0].upper() if args else b""
            need = 2 if cmd == b"SCAN" else 3
            if cmd not in (b"SCAN", b"SSCAN", b"HSCAN", b"ZSCAN") or len(args) < need:
                raise CorpusError("%s:%d: @scanall needs SCAN 0 ... or [SHZ]SCAN key 0 ..."
                                  % (path, lineno))
            return Step(path, lineno, text, "scanall", args=args, mods=mods)
        raise CorpusError("%s:%d: unknown directive %s" % (path, lineno, name))
    return Step(path, lineno, text, "cmd", args=[t for t, _ in tokens], mods=mods)


def load_corpus(path):
    """Parse a corpus file into a list of Sessions."""
    sessions = [Session(path, 0, "(top)")]
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            text = line.rstrip("\r\n")
            stripped = text.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("---"):
                sessions.append(Session(path, lineno, stripped[3:].strip() or "(unnamed)"))
                continue
            sessions[-1].steps.append(parse_line(path, lineno, text))
    return [s for s in sessions if s.steps]


# ---------------------------------------------------------------------------
# Running one side
# ---------------------------------------------------------------------------

class Side:
    """One server plus the connections of the current session."""

    def __init__(self, label, server, timeout):
        self.label = label
        self.server = server
        self.timeout = timeout
        self.conns = {}
        self.current = 0
        self.ids = {}             # connection number -> its CLIENT ID on this server

    def reset_session(self):
        """Close all connections; open conn 0; FLUSHALL; SELECT 0.

        Returns a list of problems (strings), empty if all went fine.
        """
        self.close_all()
        self.current = 0
        problems = []
        for cmd in (("FLUSHALL",), ("SELECT", "0")):
            reply = self._call_conn(0, list(cmd))
            if reply != b"+OK\r\n":
                problems.append("%s: %s -> %r" % (self.label, " ".join(cmd), reply))
        return problems

    def close_all(self):
        for conn in self.conns.values():
            conn.close()
        self.conns = {}
        self.ids = {}

    def conn(self, n=None):
        """The connection n (default: current), (re)opened if needed."""
        n = self.current if n is None else n
        c = self.conns.get(n)
        if c is None or c.closed:
            if c is not None:
                c.close()
            try:
                c = self.server.connect(timeout=self.timeout)
            except OSError:
                self.check_alive()    # a dead server raises ServerDied here
                raise
            self.conns[n] = c
            self.ids.pop(n, None)
        return c

    def client_id(self, n):
        """The CLIENT ID of connection n (opened if needed), remembered for the session."""
        if n not in self.ids:
            port = self.conn(n).sock.getsockname()[1]
            with self.server.connect(timeout=self.timeout) as probe:
                probe.send_command("CLIENT", "LIST")
                listing = resp.decode(probe.read_reply())
            for line in listing.decode("latin-1").splitlines():
                fields = dict(f.split("=", 1) for f in line.split(" ") if "=" in f)
                if fields.get("addr", "").endswith(":%d" % port):
                    self.ids[n] = int(fields["id"])
            if n not in self.ids:
                raise OSError("connection %d not found in CLIENT LIST" % n)
        return self.ids[n]

    def substitute_ids(self, args):
        out = []
        for arg in args:
            m = ID_TOKEN.match(arg)
            out.append(str(self.client_id(int(m.group(1)))).encode() if m else arg)
        return out

    def name_ids(self, reply):
        """@ids: RESP integers that are client ids of this session's connections -> {id:N}."""
        if not isinstance(reply, bytes):
            return reply
        names = {str(v).encode(): k for k, v in self.ids.items()}
        def repl(m):
            n = names.get(m.group(1))
            return m.group(0) if n is None else b":{id:%d}\r\n" % n
        return RESP_INTEGER.sub(repl, reply)

    def check_alive(self):
        if not self.server.alive():
            raise ServerDied("%s server died (exit code %s)\n--- log tail ---\n%s"
                             % (self.label, self.server.exit_code(),
                                self.server.log_tail(2000)))

    def _read(self, conn, timeout=None, drop_on_timeout=True):
        try:
            return conn.read_reply(timeout=timeout)
        except resp.ConnectionClosed:
            self.check_alive()
            return CLOSED
        except resp.ReplyTimeout:
            self.check_alive()
            if drop_on_timeout:
                conn.close()      # a late reply would desync the connection
            return TIMEOUT
        except resp.ProtocolError as exc:
            conn.close()
            return "<protocol error: %s; buffer %r>" % (exc, bytes(conn.buf[:200]))

    def _send(self, conn, data):
        try:
            conn.send_raw(data)
            return True
        except (resp.ConnectionClosed, OSError):
            conn.closed = True
            self.check_alive()
            return False

    def _call_conn(self, n, args):
        conn = self.conn(n)
        if not self._send(conn, resp.encode_command(args)):
            return CLOSED
        return self._read(conn)

    def run(self, step):
        """Execute a step; return its reply (bytes, tuple or marker string)."""
        reply = self._run(step)
        return self.name_ids(reply) if "@ids" in step.mods else reply

    def _run(self, step):
        if step.kind == "conn":
            self.current = step.value
            return None
        if step.kind == "read":
            existing = self.conns.get(self.current)
            # On a connection the server closed, return what is still buffered
            # and then <closed>; don't reconnect just to wait for nothing.
            conn = existing if existing is not None and existing.closed else self.conn()
            return self._read(conn, timeout=step.value, drop_on_timeout=False)
        if step.kind == "scanall":
            return self._scanall(self.substitute_ids(step.args))
        data = step.args if step.kind == "raw" else resp.encode_command(self.substitute_ids(step.args))
        conn = self.conn()
        if not self._send(conn, data):
            return CLOSED
        if "@noreply" in step.mods:
            return NOREPLY
        return self._read(conn)

    def _scanall(self, args):
        """Iterate a SCAN-family command to cursor 0; return the element set."""
        args = list(args)
        cmd = args[0].upper()
        idx = 1 if cmd == b"SCAN" else 2
        group = 2 if cmd in (b"HSCAN", b"ZSCAN") else 1
        args[idx] = b"0"
        found = set()
        for _ in range(100000):
            reply = self._call_conn(self.current, args)
            if not isinstance(reply, bytes):
                return reply
            kind, parts = resp.split_aggregate(reply)
            if kind != "*" or parts is None or len(parts) != 2:
                return reply                      # an error or something odd
            kind2, items = resp.split_aggregate(parts[1])
            if kind2 != "*" or items is None:
                return reply
            cursor = resp.decode(parts[0])
            for i in range(0, len(items), group):
                found.add(tuple(items[i:i + group]))
            if not isinstance(cursor, bytes):
                return reply
            if cursor == b"0":
                return ("scanall", tuple(sorted(found)))
            args[idx] = cursor
        return "<scanall: too many iterations>"


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------

def shape(raw):
    """A type/shape signature of a raw reply for @type comparisons."""
    if not isinstance(raw, bytes):
        return raw
    kind = raw[:1].decode("latin-1")
    if kind in ("*", "~", ">", "%"):
        _, elements = resp.split_aggregate(raw)
        if elements is None:
            return kind + "-1"
        shapes = [shape(e) for e in elements]
        if kind == "~":
            shapes.sort()
        return kind + "[" + ",".join(shapes) + "]"
    if kind == "$":
        return "$-1" if raw.startswith(b"$-1\r\n") else "$"
    if kind == "-":
        return "-" + raw[1:].split(b" ", 1)[0].split(b"\r", 1)[0].decode("latin-1")
    return kind


def view(reply, mods):
    """The part of a reply that is compared, given the step's modifiers."""
    if not isinstance(reply, bytes):
        return reply
    if "@type" in mods:
        return shape(reply)
    if "@unordered" in mods or "@pairs" in mods:
        kind, elements = resp.split_aggregate(reply)
        if elements is None:
            return reply
        if "@pairs" in mods:
            if len(elements) % 2:
                return reply
            elements = [tuple(elements[i:i + 2]) for i in range(0, len(elements), 2)]
        return (kind, tuple(sorted(elements)))
    return reply


def show(reply):
    """Printable repr of a reply, truncated."""
    text = repr(reply)
    if len(text) > MAX_REPR:
        text = text[:MAX_REPR] + "... (%d chars)" % len(text)
    return text


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

class Runner:
    def __init__(self, args):
        self.args = args
        self.passed = 0
        self.failed = 0
        self.errors = 0
        self.sessions = 0
        self.current_step = None       # for error reports when a server dies
        self.setup_problems = {}       # session-setup problem -> times seen
        debug = ["--enable-debug-command", "yes"]  # DEBUG answers alike (SET-ACTIVE-EXPIRE, ...)
        self.ours = Side("ours", servers.Server(args.ours, extra_args=debug, name="ours"), args.timeout)
        self.redis = Side("redis", servers.Server(args.redis, extra_args=debug, name="redis"), args.timeout)

    def start(self):
        for side in (self.ours, self.redis):
            side.server.start()

    def stop(self):
        for side in (self.ours, self.redis):
            side.close_all()
            side.server.stop()

    def error(self, where, message):
        self.errors += 1
        print("ERROR %s: %s" % (where, message), flush=True)

    def run_session(self, session):
        """Run one session; ServerDied propagates."""
        self.sessions += 1
        where = "%s:%d [%s]" % (os.path.relpath(session.path), session.lineno, session.name)
        self.current_step = None
        for side in (self.ours, self.redis):
            for problem in side.reset_session():
                # Report each distinct setup problem once (it would otherwise
                # repeat for every session), but count every occurrence.
                seen = self.setup_problems.get(problem, 0)
                self.setup_problems[problem] = seen + 1
                if seen:
                    self.errors += 1
                else:
                    self.error(where, "session setup failed: %s (reported once)" % problem)
        for step in session.steps:
            self.current_step = step
            if step.kind == "sleep":
                time.sleep(step.value)
                continue
            ours = self.ours.run(step)
            theirs = self.redis.run(step)
            if step.kind == "conn":
                continue
            if self.args.verbose:
                print("  %s %s -> %s" % (step.where(), step.text.strip(), show(theirs)))
            if "@noreply" in step.mods and ours == theirs == NOREPLY:
                continue
            if "@ignore" in step.mods or view(ours, step.mods) == view(theirs, step.mods):
                self.passed += 1
                continue
            self.failed += 1
            print("MISMATCH %s [%s] %s" % (step.where(), session.name, step.text.strip()))
            print("    ours:  %s" % show(ours))
            print("    redis: %s" % show(theirs))
            if "@type" in step.mods:
                print("    shapes: ours %s, redis %s" % (shape(ours), shape(theirs)))
            sys.stdout.flush()
        for side in (self.ours, self.redis):
            side.check_alive()

    def run(self, files):
        for path in files:
            try:
                sessions = load_corpus(path)
            except (CorpusError, OSError) as exc:
                self.error(path, str(exc))
                continue
            print("== %s (%d sessions, %d steps)" % (
                os.path.relpath(path), len(sessions),
                sum(len(s.steps) for s in sessions)), flush=True)
            for session in sessions:
                try:
                    self.run_session(session)
                except ServerDied as exc:
                    step = self.current_step
                    where = ("%s [%s] %s" % (step.where(), session.name, step.text.strip())
                             if step else "%s:%d [%s] (session setup)" % (
                                 os.path.relpath(session.path), session.lineno, session.name))
                    self.error(where, str(exc))
                    if not self.args.keep_going:
                        print("aborting (use --keep-going to restart and continue)")
                        return
                    for side in (self.ours, self.redis):
                        side.close_all()
                        if not side.server.alive():
                            side.server.restart()
                except OSError as exc:
                    # e.g. connection refused when opening a connection
                    self.error("%s:%d [%s]" % (os.path.relpath(session.path),
                                               session.lineno, session.name),
                               "harness I/O error: %r" % exc)
                    if not self.args.keep_going:
                        return


def main():
    ap = argparse.ArgumentParser(description="Differential test: ours vs. real Redis.")
    ap.add_argument("--ours", default=None,
                    help="our server binary (default: ./redis-server at the repo root)")
    ap.add_argument("--redis", default="/usr/bin/redis-server", help="real Redis binary")
    ap.add_argument("--redis-vs-redis", action="store_true",
                    help="run real Redis on both sides (validates the corpus)")
    ap.add_argument("--keep-going", action="store_true",
                    help="after a server dies or a harness error, restart and go on")
    ap.add_argument("--timeout", type=float, default=5.0,
                    help="seconds to wait for one reply (default 5)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every step")
    ap.add_argument("files", nargs="*", help="corpus files (default: corpus/*.txt)")
    args = ap.parse_args()

    if args.ours is None:
        args.ours = os.path.join(REPO_ROOT, "redis-server")
    if args.redis_vs_redis:
        args.ours = args.redis
    files = args.files or sorted(glob.glob(os.path.join(HERE, "corpus", "*.txt")))
    if not files:
        print("run_diff: no corpus files")
        return 2

    runner = Runner(args)
    started = time.monotonic()
    try:
        runner.start()
    except servers.ServerError as exc:
        print("run_diff: cannot start server: %s" % exc)
        runner.stop()
        return 2
    try:
        runner.run(files)
    finally:
        runner.stop()
    print("files=%d sessions=%d errors=%d time=%.1fs%s" % (
        len(files), runner.sessions, runner.errors, time.monotonic() - started,
        " (redis-vs-redis)" if args.redis_vs_redis else ""))
    print("run_diff: %d passed, %d failed" % (runner.passed, runner.failed))
    return 0 if runner.failed == 0 and runner.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
