#!/usr/bin/env python3
"""ACLs across connections, files and restarts (the single-connection replies are covered by
test/diff/corpus/acl.txt).

    python3 test/e2e/acl_test.py ./redis-server [--redis /usr/bin/redis-server] [-v] [-k NAME]

Cases: users authenticating on several connections; NOPERM for commands, keys (read/write)
and channels; ACL LOG entries (reason, context, object, username, count, merging, client-info,
acllog-max-len); permission changes reaching connected clients at once (also inside MULTI);
clients closed by ACL DELUSER and ACL LOAD; CLIENT LIST user= and CLIENT KILL USER; pub/sub
clients closed when their channels are revoked; ACL SAVE / ACL LOAD round trip with aclfile
(and its errors); `user` lines and requirepass in the config file; startup refused on ACL
errors; a concurrency smoke test (permission changes while restricted users run commands).

With --redis, the cases that compare replies also run against real Redis and must agree.
The expectations were checked by running this script against /usr/bin/redis-server.
Standard library only; helpers from test/lib. Exits non-zero on failure.
"""

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import checks  # noqa: E402
import resp  # noqa: E402
from checks import check, failures, log  # noqa: E402
from servers import Server, free_port  # noqa: E402

BINARY = None
REDIS = None
VERBOSE = False


def call(conn, *args):
    """Decoded reply; errors come back as resp.RespError values, a closed link as 'CLOSED'."""
    try:
        return resp.decode(conn.call(*args))
    except resp.ConnectionClosed:
        return "CLOSED"


def closed(conn, timeout=3.0):
    """True when the server closed `conn` (waits up to `timeout`)."""
    try:
        conn.read_reply(timeout=timeout)
    except resp.ConnectionClosed:
        return True
    except resp.ReplyTimeout:
        return False
    return False


def sha(password):
    return hashlib.sha256(password.encode()).hexdigest()


def err(text):
    return resp.RespError(text)


def b(text):
    return text.encode() if isinstance(text, str) else text


def log_entries(conn, count=None):
    """ACL LOG as a list of dicts (str keys and values)."""
    reply = call(conn, "ACL", "LOG", *([] if count is None else [str(count)]))
    out = []
    for entry in reply:
        pairs = list(entry)
        d = {}
        for i in range(0, len(pairs), 2):
            value = pairs[i + 1]
            d[pairs[i].decode()] = value.decode() if isinstance(value, bytes) else value
        out.append(d)
    return out


def servers_to_run(extra_args=()):
    """Our server, and real Redis too with --redis."""
    binaries = [("ours", BINARY)]
    if REDIS:
        binaries.append(("redis", REDIS))
    return [(name, Server(path, extra_args=list(extra_args), name=name)) for name, path in binaries]


# ---------------------------------------------------------------------------------------------
# Cases


def case_permissions_and_log():
    """NOPERM replies and the ACL LOG entries they leave, compared across servers."""
    results = {}
    for name, server in servers_to_run():
        with server:
            admin = server.connect()
            user = server.connect()
            seen = []
            call(admin, "ACL", "SETUSER", "alice", "on", ">p1", "~k*", "%R~r*", "%W~w*", "&ch*", "-@all",
                 "+get", "+set", "+publish", "+multi", "+exec", "+rpoplpush", "+auth")
            seen.append(call(user, "AUTH", "alice", "wrong"))
            seen.append(call(user, "AUTH", "nobody", "p1"))
            seen.append(call(user, "AUTH", "alice", "p1"))
            for args in (("GET", "k1"), ("GET", "x1"), ("GET", "x1"), ("GET", "w1"), ("SET", "r1", "v"),
                         ("SET", "w1", "v"), ("SET", "w1", "v", "GET"), ("INCR", "k1"), ("PUBLISH", "zz", "m"),
                         ("PUBLISH", "ch1", "m"), ("RPOPLPUSH", "r1", "w1"), ("CONFIG", "GET", "x")):
                seen.append(call(user, *args))
            seen.append(call(user, "MULTI"))
            seen.append(call(user, "GET", "x2"))
            seen.append(call(user, "EXEC"))
            entries = log_entries(admin)
            summary = [(e["count"], e["reason"], e["context"], e["object"], e["username"]) for e in entries]
            for e in entries:
                check("user=" in e["client-info"] and "cmd=" in e["client-info"], "%s: client-info %r" % (name, e["client-info"]))
                check(float(e["age-seconds"]) >= 0, "%s: age-seconds %r" % (name, e["age-seconds"]))
            newest = entries[0]
            check("cmd=get" in newest["client-info"] and "flags=x" in newest["client-info"],
                  "%s: the MULTI entry shows the refused command and the transaction: %r" % (name, newest["client-info"]))
            auth_entry = [e for e in entries if e["reason"] == "auth" and e["username"] == "nobody"]
            check(len(auth_entry) == 1 and "user=default" in auth_entry[0]["client-info"],
                  "%s: a failed AUTH is logged with the attempted name" % name)
            # acllog-max-len trims; ACL LOG <count>; RESET.
            call(admin, "CONFIG", "SET", "acllog-max-len", "2")
            call(user, "GET", "x9")
            check(len(log_entries(admin)) == 2, "%s: acllog-max-len 2 keeps two entries" % name)
            check(len(log_entries(admin, 1)) == 1, "%s: ACL LOG 1" % name)
            check(call(admin, "ACL", "LOG", "RESET") == resp.SimpleString("OK"), "%s: ACL LOG RESET" % name)
            check(log_entries(admin) == [], "%s: empty after RESET" % name)
            results[name] = (seen, summary)
    ours_seen, ours_summary = results["ours"]
    # Newest first; a repeated denial is counted on its entry, which moves to the top.
    expected_summary = [
        (1, "key", "multi", "x2", "alice"),
        (1, "command", "toplevel", "config|get", "alice"),
        (2, "key", "toplevel", "r1", "alice"),
        (1, "channel", "toplevel", "zz", "alice"),
        (1, "command", "toplevel", "incr", "alice"),
        (2, "key", "toplevel", "w1", "alice"),
        (2, "key", "toplevel", "x1", "alice"),
        (1, "auth", "toplevel", "AUTH", "nobody"),
        (1, "auth", "toplevel", "AUTH", "alice"),
    ]
    check(ours_summary == expected_summary, "ACL LOG entries: %r" % (ours_summary,))
    check(ours_seen[3] is None, "GET k1 allowed")
    check(ours_seen[4] == err("NOPERM this user has no permissions to access one of the keys used as arguments"),
          "GET x1 denied: %r" % (ours_seen[4],))
    if "redis" in results:
        check(results["redis"] == results["ours"], "same replies and ACL LOG as Redis:\n   ours  %r\n   redis %r"
              % (results["ours"], results["redis"]))


def case_live_changes():
    """A permission change applies to connected clients from their next command on."""
    for name, server in servers_to_run():
        with server:
            admin = server.connect()
            user = server.connect()
            call(admin, "ACL", "SETUSER", "bob", "on", "nopass", "~*", "+@all")
            call(user, "AUTH", "bob", "x")
            check(call(user, "SET", "k", "v") == resp.SimpleString("OK"), "%s: SET allowed" % name)
            call(admin, "ACL", "SETUSER", "bob", "-set")
            check(call(user, "SET", "k", "v") == err("NOPERM this user has no permissions to run the 'set' command"),
                  "%s: SET refused right after -set" % name)
            call(admin, "ACL", "SETUSER", "bob", "+set", "resetkeys", "~other")
            check(isinstance(call(user, "SET", "k", "v"), resp.RespError), "%s: key refused after resetkeys" % name)
            call(admin, "ACL", "SETUSER", "bob", "allkeys")
            check(call(user, "MULTI") == resp.SimpleString("OK"), "%s: MULTI" % name)
            check(call(user, "SET", "k", "v2") == resp.SimpleString("QUEUED"), "%s: queued" % name)
            call(admin, "ACL", "SETUSER", "bob", "-set")
            reply = call(user, "EXEC")
            check(isinstance(reply, list) and len(reply) == 1 and isinstance(reply[0], resp.RespError) and
                  str(reply[0]).startswith("NOPERM ACLs rules changed"), "%s: EXEC re-checks: %r" % (name, reply))
            check(call(admin, "GET", "k") == b"v", "%s: the refused SET did not run" % name)
            # Disabling a user does not affect its connections, only new logins.
            call(admin, "ACL", "SETUSER", "bob", "off", "+set")
            check(call(user, "SET", "k", "v3") == resp.SimpleString("OK"), "%s: an 'off' user keeps its connections" % name)
            other = server.connect()
            check(isinstance(call(other, "AUTH", "bob", "x"), resp.RespError), "%s: but cannot log in" % name)


def case_deluser_and_kill():
    """ACL DELUSER and CLIENT KILL USER close the user's connections; CLIENT LIST shows users."""
    for name, server in servers_to_run():
        with server:
            admin = server.connect()
            call(admin, "ACL", "SETUSER", "carol", "on", ">pw", "~*", "+@all")
            call(admin, "ACL", "SETUSER", "dave", "on", ">pw", "~*", "+@all")
            c1, c2, d1 = server.connect(), server.connect(), server.connect()
            for conn, user in ((c1, "carol"), (c2, "carol"), (d1, "dave")):
                call(conn, "AUTH", user, "pw")
            listing = call(admin, "CLIENT", "LIST").decode()
            check(listing.count("user=carol ") == 2 and listing.count("user=dave ") == 1 and
                  listing.count("user=default ") == 1, "%s: CLIENT LIST user= fields" % name)
            check("user=carol" in call(c1, "CLIENT", "INFO").decode(), "%s: CLIENT INFO user=" % name)
            check(call(admin, "CLIENT", "KILL", "USER", "nosuch") == err("ERR No such user 'nosuch'"),
                  "%s: CLIENT KILL USER unknown" % name)
            check(call(admin, "CLIENT", "KILL", "USER", "dave") == 1, "%s: CLIENT KILL USER dave" % name)
            check(closed(d1), "%s: dave's connection closed" % name)
            check(call(admin, "ACL", "DELUSER", "carol") == 1, "%s: DELUSER carol" % name)
            check(closed(c1) and closed(c2), "%s: carol's connections closed" % name)
            check(call(admin, "PING") == resp.SimpleString("PONG"), "%s: the admin connection stays" % name)
            # Deleting one's own user: the reply arrives, then the connection closes.
            d2 = server.connect()
            call(d2, "AUTH", "dave", "pw")
            check(call(d2, "ACL", "DELUSER", "dave") == 1, "%s: self DELUSER replies" % name)
            check(closed(d2), "%s: then closes" % name)


def case_pubsub_revoked():
    """Subscribers lose their connection when the user loses access to their channels."""
    for name, server in servers_to_run():
        with server:
            admin = server.connect()
            call(admin, "ACL", "SETUSER", "pub", "on", "nopass", "+@all", "allkeys", "&news.*", "&chat")
            s1, s2, s3 = server.connect(), server.connect(), server.connect()
            for conn in (s1, s2, s3):
                call(conn, "AUTH", "pub", "x")
            call(s1, "SUBSCRIBE", "news.a")
            call(s2, "PSUBSCRIBE", "news.*")
            call(s3, "SUBSCRIBE", "chat")
            call(admin, "ACL", "SETUSER", "pub", "resetchannels", "&chat", "&news.*", "&more")
            check(call(admin, "PUBLISH", "news.a", "m1") == 2, "%s: a superset keeps every subscriber" % name)
            call(admin, "ACL", "SETUSER", "pub", "resetchannels", "&chat")
            check(call(admin, "PUBLISH", "chat", "m2") == 1, "%s: only the chat subscriber is left" % name)
            for conn, label in ((s1, "s1"), (s2, "s2")):
                gone = False
                for _ in range(3):
                    try:
                        conn.read_reply(timeout=1.0)
                    except resp.ConnectionClosed:
                        gone = True
                        break
                    except resp.ReplyTimeout:
                        break
                check(gone, "%s: %s closed" % (name, label))


def case_save_load():
    """ACL SAVE writes the users sorted, ACL LOAD reads them back and closes non-default clients."""
    tmp = tempfile.mkdtemp(prefix="rd-acl-")
    for name, path in [("ours", BINARY)] + ([("redis", REDIS)] if REDIS else []):
        acl_path = os.path.join(tmp, "users-%s.acl" % name)
        with open(acl_path, "w") as f:
            f.write("user zoe on >z ~z* +get\n\n   \nuser default on nopass ~* &* +@all\n")
        with Server(path, extra_args=["--aclfile", acl_path], name=name) as server:
            admin = server.connect()
            zoe = "user zoe on #%s ~z* resetchannels -@all +get" % sha("z")
            check(call(admin, "ACL", "LIST") == [b"user default on nopass ~* &* +@all", b(zoe)],
                  "%s: users loaded from aclfile at startup" % name)
            call(admin, "ACL", "SETUSER", "amy", "on", ">a", "~a*", "&c", "+@read", "(~x +set)")
            call(admin, "ACL", "SETUSER", "default", ">dpw")
            check(call(admin, "ACL", "SAVE") == resp.SimpleString("OK"), "%s: ACL SAVE" % name)
            with open(acl_path) as f:
                saved = f.read()
            expected = ("user amy on #%s ~a* resetchannels &c -@all +@read (~x resetchannels -@all +set)\n"
                        "user default on #%s ~* &* +@all\n%s\n" % (sha("a"), sha("dpw"), zoe))
            check(saved == expected, "%s: saved file %r" % (name, saved))
            amy = server.connect()
            call(amy, "AUTH", "amy", "a")
            keep = server.connect()
            call(keep, "AUTH", "default", "dpw")
            call(admin, "ACL", "DELUSER", "zoe")
            call(admin, "ACL", "SETUSER", "amy", "resetpass", ">changed")
            check(call(admin, "ACL", "LOAD") == resp.SimpleString("OK"), "%s: ACL LOAD" % name)
            check(call(admin, "ACL", "USERS") == [b"amy", b"default", b"zoe"], "%s: users back" % name)
            check(call(amy, "PING") == "CLOSED", "%s: amy's connection closed by ACL LOAD" % name)
            check(call(keep, "PING") == resp.SimpleString("PONG"), "%s: default's connections stay" % name)
            fresh = server.connect()
            check(call(fresh, "AUTH", "amy", "a") == resp.SimpleString("OK"), "%s: amy's saved password" % name)
            # A file with errors changes nothing.
            with open(acl_path, "w") as f:
                f.write("user x on +nosuch\n")
            reply = call(admin, "ACL", "LOAD")
            check(reply == err("ERR %s:1: Error in applying operation '+nosuch': Unknown command or category name "
                               "in ACL. WARNING: ACL errors detected, no change to the previously active ACL rules "
                               "was performed" % acl_path), "%s: ACL LOAD error %r" % (name, reply))
            check(call(admin, "ACL", "USERS") == [b"amy", b"default", b"zoe"], "%s: unchanged" % name)
            with open(acl_path, "w") as f:
                f.write("# a comment is no user line in Redis 7.0\nuser x on\n")
            reply = call(admin, "ACL", "LOAD")
            check(reply == err("ERR %s:1 should start with user keyword followed by the username. WARNING: ACL "
                               "errors detected, no change to the previously active ACL rules was performed"
                               % acl_path), "%s: '#' line %r" % (name, reply))
            os.unlink(acl_path)
            check(call(admin, "ACL", "LOAD") == err("ERR Error loading ACLs, opening file '%s': No such file or "
                                                   "directory" % acl_path), "%s: missing file" % name)
            os.mkdir(acl_path)  # rename onto a directory fails
            check(call(admin, "ACL", "SAVE") == err("ERR There was an error trying to save the ACLs. Please check "
                                                   "the server logs for more information"), "%s: SAVE error" % name)
            os.rmdir(acl_path)


def run_startup(binary, config_text, extra=()):
    """Starts `binary` with a config file; returns (exit code or None if running, output, port)."""
    tmp = tempfile.mkdtemp(prefix="rd-acl-start-")
    conf = os.path.join(tmp, "redis.conf")
    with open(conf, "w") as f:
        f.write(config_text.replace("{dir}", tmp))
    port = free_port()
    out_path = os.path.join(tmp, "out.log")
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([binary, conf, "--port", str(port), "--save", "", "--dir", tmp] + list(extra),
                                cwd=tmp, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, out_path, port, tmp


def wait_ready(proc, port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with resp.RespConnection(port=port, timeout=1.0) as c:
                c.call("PING")
                return True
        except (OSError, resp.ConnectionClosed, resp.ReplyTimeout):
            time.sleep(0.05)
    return False


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def case_startup_config():
    """`user` lines and requirepass in the config file; startup refused on ACL errors."""
    for name, binary in [("ours", BINARY)] + ([("redis", REDIS)] if REDIS else []):
        proc, out, port, _ = run_startup(binary, "requirepass foo\nuser default on nopass ~* +@all\n"
                                                 "user eve on >e ~e* +get (~x +set)\n")
        try:
            check(wait_ready(proc, port), "%s: starts with user lines" % name)
            with resp.RespConnection(port=port) as c:
                # The `user default` line wins over requirepass (it starts from "reset").
                check(call(c, "ACL", "LIST") == [
                    b"user default on nopass sanitize-payload ~* resetchannels +@all",
                    b("user eve on #%s ~e* resetchannels -@all +get (~x resetchannels -@all +set)" % sha("e"))],
                    "%s: users from the config file" % name)
                check(call(c, "AUTH", "eve", "e") == resp.SimpleString("OK"), "%s: eve logs in" % name)
        finally:
            stop(proc)
        for config, expect in (
                ("user alice on foo\n", "Error in user declaration 'alice': Syntax error"),
                ("user alice on +nosuch\n", "Error loading ACL rule '+nosuch' for the user named 'alice'"),
                ("user alice on\naclfile {dir}/x.acl\n", "Configuring Redis with users defined in redis.conf"),
                ("aclfile {dir}/missing.acl\n", "Aborting Redis startup because of ACL errors: Error loading ACLs")):
            proc, out, port, _ = run_startup(binary, config)
            try:
                code = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                code = None
            stop(proc)
            with open(out, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            check(code == 1 and expect in text, "%s: refuses to start (%r): exit %r, output %r" % (name, config, code, text[-300:]))


def case_concurrency():
    """Restricted users run commands while their permissions change and users come and go."""
    with Server(BINARY, name="ours") as server:
        admin = server.connect()
        call(admin, "ACL", "SETUSER", "w", "on", "nopass", "~k*", "+@all")
        stop_at = time.monotonic() + 3.0
        problems = []

        def worker(index):
            try:
                conn = server.connect()
                call(conn, "AUTH", "w", "x")
                n = 0
                while time.monotonic() < stop_at:
                    reply = call(conn, "SET", "k%d" % index, str(n))
                    if reply == "CLOSED":  # deleted under us: log in again when it exists
                        conn = server.connect()
                        call(conn, "AUTH", "w", "x")
                        continue
                    if reply != resp.SimpleString("OK") and not (isinstance(reply, resp.RespError) and
                                                                  str(reply).startswith("NOPERM")):
                        problems.append(reply)
                    call(conn, "GET", "other")
                    n += 1
            except Exception as exc:  # noqa: BLE001
                problems.append(repr(exc))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        flips = 0
        while time.monotonic() < stop_at:
            call(admin, "ACL", "SETUSER", "w", "-set" if flips % 2 else "+set")
            if flips % 10 == 9:
                call(admin, "ACL", "DELUSER", "w")
                call(admin, "ACL", "SETUSER", "w", "on", "nopass", "~k*", "+@all")
            flips += 1
        for t in threads:
            t.join()
        check(not problems, "no unexpected replies under concurrent changes: %r" % problems[:5])
        check(call(admin, "PING") == resp.SimpleString("PONG"), "server alive after %d changes" % flips)
        check(len(log_entries(admin)) > 0, "denials were logged")


def case_scripts():
    """redis.call runs as the caller's user: commands, keys and channels, logged as "lua"."""
    for name, server in servers_to_run():
        with server:
            admin = server.connect()
            call(admin, "ACL", "SETUSER", "lua", "on", "nopass", "~a*", "&c", "-@all", "+eval", "+get",
                 "+publish")
            conn = server.connect()
            call(conn, "AUTH", "lua", "x")
            reply = call(conn, "EVAL", "return redis.pcall('set','a','v')", "0")
            check(reply == err("ERR The user executing the script can't run this command or subcommand"),
                  "%s: script command denied: %r" % (name, reply))
            entries = log_entries(admin)
            check(entries and entries[0]["context"] == "lua" and entries[0]["object"] == "set",
                  "%s: lua context in ACL LOG: %r" % (name, entries[:1]))
            reply = call(conn, "EVAL", "return redis.pcall('get','b')", "0")
            check(reply == err("ERR The user executing the script can't access at least one of the keys "
                               "mentioned in the command arguments"), "%s: script key denied: %r" % (name, reply))
            reply = call(conn, "EVAL", "return redis.pcall('publish','d','m')", "0")
            check(reply == err("ERR The user executing the script can't publish to the channel mentioned "
                               "in the command"), "%s: script channel denied: %r" % (name, reply))
            check(call(conn, "EVAL", "return redis.call('get','a')", "0") is None,
                  "%s: allowed key readable from a script" % name)


def case_slowlog_redaction():
    """ACL SETUSER's arguments (passwords) never reach the slow log."""
    for name, server in servers_to_run():
        with server:
            admin = server.connect()
            call(admin, "CONFIG", "SET", "slowlog-log-slower-than", "0")
            call(admin, "ACL", "SETUSER", "zz", "on", ">secret")
            call(admin, "CONFIG", "SET", "slowlog-log-slower-than", "10000")
            logged = [entry[3] for entry in call(admin, "SLOWLOG", "GET", "10")]
            check([b"ACL", b"SETUSER", b"(redacted)", b"(redacted)", b"(redacted)"] in logged,
                  "%s: SETUSER redacted in SLOWLOG: %r" % (name, logged))


CASES = [
    ("permissions_and_log", case_permissions_and_log),
    ("live_changes", case_live_changes),
    ("deluser_and_kill", case_deluser_and_kill),
    ("pubsub_revoked", case_pubsub_revoked),
    ("save_load", case_save_load),
    ("startup_config", case_startup_config),
    ("concurrency", case_concurrency),
    ("slowlog_redaction", case_slowlog_redaction),
    ("scripts", case_scripts),
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
        log("acl_test: %d failure(s)" % len(failures))
        sys.exit(1)
    log("acl_test: all passed")


if __name__ == "__main__":
    main()
