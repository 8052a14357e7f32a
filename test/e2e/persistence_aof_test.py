#!/usr/bin/env python3
"""Append-only file end to end, against real Redis 7.0.15.

    python3 test/e2e/persistence_aof_test.py ./redis-server    (PERSISTENCE_TEST=name runs one)

- An AOF directory written by real Redis (base + incr) loads into ours; ours (after a
  BGREWRITEAOF and more writes) passes redis-check-aof and loads into real Redis.
- appendfsync always: kill -9 under a concurrent write load loses no acknowledged write.
- A truncated last command is dropped (and the file repaired); garbage refuses to start.
- CONFIG SET appendonly yes at runtime; appendonly no creates nothing.
"""

import os
import shutil
import subprocess
import threading
import time

from persistence_lib import CHECK_AOF, REAL_REDIS, fill_every_encoding, run_tests

AOF_DIR = "appendonlydir"


def manifest(node):
    with open(os.path.join(node.dir, AOF_DIR, "appendonly.aof.manifest")) as f:
        return f.read()


def incr_path(node):
    lines = [l.split() for l in manifest(node).splitlines()]
    incrs = [l[1] for l in lines if l[-1] == "i"]
    return os.path.join(node.dir, AOF_DIR, incrs[-1])


def check_aof(node):
    out = subprocess.run([CHECK_AOF, os.path.join(node.dir, AOF_DIR, "appendonly.aof.manifest")],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "All AOF files and manifest are valid" in out.stdout, out.stdout + out.stderr


def some_writes(node, tag):
    c = node.call
    c("SET", "s:" + tag, "v")
    c("INCR", "counter")
    c("APPEND", "s:" + tag, "more")
    c("RPUSH", "list", tag, tag + "2")
    c("LPOP", "list")
    c("HSET", "hash", "f:" + tag, "1")
    c("SADD", "set", tag, "7")
    c("SET", "ttl:" + tag, "x", "EX", "1000")
    c("SELECT", "2")
    c("SET", "db2:" + tag, "y")
    c("DEL", "nothing")
    c("SELECT", "0")
    c("MULTI")
    c("INCR", "counter")
    c("SET", "tx:" + tag, "z")
    c("EXEC")


def test_real_aof_loads_in_ours_and_ours_in_real(binary, ws):
    real = ws.node(REAL_REDIS, "real", ["--appendonly", "yes", "--save", ""]).start()
    fill_every_encoding(real)
    real.call("BGREWRITEAOF")
    real.wait_info("aof_rewrite_in_progress", "0")
    some_writes(real, "after-rewrite")
    expected = real.digest()
    real.shutdown()
    ours = ws.node(binary, "ours", ["--appendonly", "yes", "--save", ""])
    shutil.copytree(os.path.join(real.dir, AOF_DIR), os.path.join(ours.dir, AOF_DIR))
    ours.start()
    assert ours.digest() == expected, "digest differs after loading real Redis's AOF"
    # Our own AOF: a rewrite, then more commands in the new incr file.
    assert ours.call("BGREWRITEAOF") == "Background append only file rewriting started"
    ours.wait_info("aof_rewrite_in_progress", "0")
    assert ours.info()["aof_last_bgrewrite_status"] == "ok"
    some_writes(ours, "ours")
    expected = ours.digest()
    assert ours.shutdown() == 0
    check_aof(ours)
    names = sorted(os.listdir(os.path.join(ours.dir, AOF_DIR)))
    assert len(names) == 3, names  # manifest, one base, one incr: history files deleted
    back = ws.node(REAL_REDIS, "back", ["--appendonly", "yes", "--save", "", "--sanitize-dump-payload", "yes"])
    shutil.copytree(os.path.join(ours.dir, AOF_DIR), os.path.join(back.dir, AOF_DIR))
    back.start()
    assert back.digest() == expected, "real Redis loaded something else from our AOF"
    ours.start()
    assert ours.digest() == expected


def test_kill9_always_loses_no_acknowledged_write(binary, ws):
    kill9_under_load(binary, ws, "always")


def test_kill9_everysec_loses_no_acknowledged_write(binary, ws):
    # A process crash (not a power loss): everysec writes to the file before replying too.
    kill9_under_load(binary, ws, "everysec")


def kill9_under_load(binary, ws, policy):
    ours = ws.node(binary, "ours", ["--appendonly", "yes", "--appendfsync", policy, "--save", ""]).start()
    acked = {}
    stop = threading.Event()

    def writer(index):
        conn = ours.connect()
        key = "counter:%d" % index
        try:
            while not stop.is_set():
                conn.send_command("INCR", key)
                value = conn.read_reply()
                acked[index] = int(value[1:-2])
        except Exception:  # noqa: BLE001 (the server is killed under us)
            pass
        finally:
            conn.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    ours.kill9()
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) == 8 and min(acked.values()) > 0, acked
    ours.start()
    for index, value in acked.items():
        stored = int(ours.call("GET", "counter:%d" % index))
        # The in-flight INCR may or may not have made it; an acknowledged one must have.
        assert stored in (value, value + 1), (index, value, stored)


def test_truncated_and_corrupt_aof(binary, ws):
    ours = ws.node(binary, "ours", ["--appendonly", "yes", "--save", ""]).start()
    ours.call("SET", "a", "1")
    ours.call("SET", "b", "2")
    assert ours.shutdown() == 0
    path = incr_path(ours)
    good = open(path, "rb").read()
    with open(path, "ab") as f:
        f.write(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$5\r\nhel")  # a torn last write
    ours.start()
    assert ours.call("MGET", "a", "b", "c") == [b"1", b"2", None]
    assert "short read while loading the AOF" in ours.log()
    assert open(path, "rb").read() == good, "the torn command was not cut off"
    ours.call("SET", "d", "4")
    assert ours.shutdown() == 0
    ours.start()
    assert ours.call("GET", "d") == b"4"
    assert ours.shutdown() == 0
    # A torn MULTI block is reverted too.
    with open(path, "ab") as f:
        f.write(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\ne\r\n$1\r\n5\r\n")
    ours.start()
    assert ours.call("EXISTS", "e") == 0
    assert ours.shutdown() == 0
    # With aof-load-truncated no, a torn file refuses to start.
    with open(path, "ab") as f:
        f.write(b"*2\r\n$3\r\nGET")
    assert ours.start(expect_failure=True, extra=["--aof-load-truncated", "no"]) != 0
    # Garbage in the middle always refuses to start.
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:20] + b"garbage!\r\n" + data[20:])
    assert ours.start(expect_failure=True) != 0
    assert "Bad file format reading the append only file" in ours.log()


def test_config_set_appendonly_at_runtime(binary, ws):
    ours = ws.node(binary, "ours", ["--save", ""]).start()
    ours.call("DEBUG", "POPULATE", "1000")
    assert not os.path.exists(os.path.join(ours.dir, AOF_DIR)), "appendonly no must create nothing"
    # BGREWRITEAOF with appendonly no writes a base (as Redis 7 does) and nothing else.
    assert ours.call("BGREWRITEAOF") == "Background append only file rewriting started"
    ours.wait_info("aof_rewrite_in_progress", "0")
    assert manifest(ours) == "file appendonly.aof.1.base.rdb seq 1 type b\n", manifest(ours)
    assert ours.info()["aof_enabled"] == "0"
    assert ours.call("CONFIG", "SET", "appendonly", "yes") == "OK"
    ours.wait_info("aof_rewrite_in_progress", "0")
    assert ours.info()["aof_enabled"] == "1"
    deadline = time.time() + 10
    while "type i" not in (manifest(ours) if os.path.exists(os.path.join(ours.dir, AOF_DIR, "appendonly.aof.manifest")) else ""):
        assert time.time() < deadline
        time.sleep(0.05)
    ours.call("SET", "after", "1")
    ours.call("CONFIG", "SET", "appendfsync", "always")
    ours.call("SET", "after2", "2")
    expected = ours.digest()
    ours.kill9()
    ours.start(extra=["--appendonly", "yes"])
    assert ours.digest() == expected
    check_aof(ours)
    assert ours.call("CONFIG", "SET", "appendonly", "no") == "OK"
    assert ours.info()["aof_enabled"] == "0"
    # Inside MULTI the keyspace lock is already held: the change is applied by cron.
    ours.call("MULTI")
    ours.call("CONFIG", "SET", "appendonly", "yes")
    ours.call("SET", "in-tx", "1")
    assert ours.call("EXEC") == ["OK", "OK"]
    ours.wait_info("aof_enabled", "1")
    ours.wait_info("aof_rewrite_in_progress", "0")
    expected = ours.digest()
    assert ours.shutdown() == 0
    ours.start(extra=["--appendonly", "yes"])
    assert ours.digest() == expected


def test_automatic_rewrite_on_growth(binary, ws):
    ours = ws.node(binary, "ours", ["--appendonly", "yes", "--save", "", "--auto-aof-rewrite-min-size", "100kb",
                                    "--auto-aof-rewrite-percentage", "100"]).start()
    for i in range(300):
        ours.call("SET", "key", "x" * 1000)  # the AOF grows, the dataset does not
    deadline = time.time() + 10
    while ours.info()["aof_rewrites"] == "0":
        assert time.time() < deadline, ours.info()
        time.sleep(0.05)
    ours.wait_info("aof_rewrite_in_progress", "0")
    assert int(ours.info()["aof_current_size"]) < 100 * 1024
    assert "Starting automatic rewriting of AOF" in ours.log()


if __name__ == "__main__":
    run_tests([
        test_real_aof_loads_in_ours_and_ours_in_real,
        test_kill9_always_loses_no_acknowledged_write,
        test_kill9_everysec_loses_no_acknowledged_write,
        test_truncated_and_corrupt_aof,
        test_config_set_appendonly_at_runtime,
        test_automatic_rewrite_on_growth,
    ])
