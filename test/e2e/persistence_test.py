#!/usr/bin/env python3
"""RDB persistence end to end, against real Redis 7.0.15.

    python3 test/e2e/persistence_test.py ./redis-server     (PERSISTENCE_TEST=name runs one)

- RDB files written by real Redis (every encoding) load into ours with the same DEBUG DIGEST;
  ours load into real Redis and pass redis-check-rdb (with and without compression/checksum).
- SHUTDOWN, SIGTERM and SHUTDOWN NOSAVE; restart keeps data.
- BGSAVE under a concurrent write load gives a consistent snapshot.
- Truncated/corrupt files refuse to start; a failed BGSAVE (file size limit) keeps the old
  snapshot, reports rdb_last_bgsave_status:err and MISCONF.
- DEBUG RELOAD, FLUSHALL's save, INFO persistence field names.
"""

import os
import shutil
import stat
import subprocess
import threading
import time

from persistence_lib import CHECK_RDB, REAL_REDIS, fill_every_encoding, run_tests


def check_rdb(path):
    out = subprocess.run([CHECK_RDB, path], capture_output=True, text=True)
    assert out.returncode == 0 and "RDB looks OK" in out.stdout, out.stdout + out.stderr
    return out.stdout


def test_real_rdb_loads_in_ours_and_back(binary, ws):
    real = ws.node(REAL_REDIS, "real").start()
    fill_every_encoding(real)
    expected = real.digest()
    sizes = [real.call("DBSIZE")]
    real.call("SAVE")
    real.shutdown("NOSAVE")
    ours = ws.node(binary, "ours", ["--save", ""])
    shutil.copy(os.path.join(real.dir, "dump.rdb"), ours.dir)
    ours.start()
    assert ours.digest() == expected, "digest differs after loading real Redis's RDB"
    assert [ours.call("DBSIZE")] == sizes
    assert ours.info()["rdb_last_load_keys_loaded"] != "0"
    # Ours -> real, in each writer configuration.
    for settings in (("yes", "yes"), ("no", "yes"), ("yes", "no")):
        ours.call("CONFIG", "SET", "rdbcompression", settings[0], "rdbchecksum", settings[1])
        assert ours.call("SAVE") == "OK"
        check_rdb(os.path.join(ours.dir, "dump.rdb"))
        # sanitize-dump-payload: Redis validates every listpack/intset we wrote, deeply.
        back = ws.node(REAL_REDIS, "back-%s-%s" % settings, ["--sanitize-dump-payload", "yes"])
        shutil.copy(os.path.join(ours.dir, "dump.rdb"), back.dir)
        back.start()
        assert back.digest() == expected, "real Redis loaded something else from our RDB %s" % (settings,)
        back.shutdown("NOSAVE")


def test_restart_sigterm_and_nosave(binary, ws):
    ours = ws.node(binary, "ours", ["--save", "3600 1"])
    ours.start()
    ours.call("SET", "a", "1")
    ours.call("RPUSH", "l", "x", "y")
    ours.call("SET", "exp", "v", "EX", "1000")
    digest = ours.digest()
    assert ours.signal(15) == 0  # SIGTERM saves when save points are configured
    ours.start()
    assert ours.digest() == digest
    assert 990 <= ours.call("TTL", "exp") <= 1000
    ours.call("SET", "b", "2")
    assert ours.shutdown() == 0
    ours.start()
    assert ours.call("GET", "b") == b"2"
    ours.call("SET", "c", "3")
    assert ours.shutdown("NOSAVE") == 0
    ours.start()
    assert ours.call("EXISTS", "c") == 0
    # No save points: SHUTDOWN doesn't save, SHUTDOWN SAVE does.
    ours.call("CONFIG", "SET", "save", "")
    ours.call("SET", "d", "4")
    ours.shutdown()
    ours.start()
    assert ours.call("EXISTS", "d") == 0
    ours.call("SET", "e", "5")
    ours.shutdown("SAVE")
    ours.start()
    assert ours.call("GET", "e") == b"5"


def test_bgsave_consistent_under_load(binary, ws):
    ours = ws.node(binary, "ours", ["--save", ""])
    ours.start()
    stop = threading.Event()
    errors = []

    def writer():
        conn = ours.connect()
        i = 0
        try:
            while not stop.is_set():
                batch = 100
                for j in range(batch):
                    conn.send_command("MSET", "k:%d" % (i + j), "v" * 20, "last", str(i + j))
                for _ in range(batch):
                    conn.read_reply()
                i += batch
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    try:
        for round_ in range(3):
            time.sleep(0.3)
            assert ours.call("BGSAVE") == "Background saving started"
            ours.wait_info("rdb_bgsave_in_progress", "0")
            assert ours.info()["rdb_last_bgsave_status"] == "ok"
            snapshot = os.path.join(ours.dir, "snap-%d.rdb" % round_)
            shutil.copy(os.path.join(ours.dir, "dump.rdb"), snapshot)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    for round_ in range(3):
        real = ws.node(REAL_REDIS, "check-%d" % round_)
        shutil.copy(os.path.join(ours.dir, "snap-%d.rdb" % round_), os.path.join(real.dir, "dump.rdb"))
        real.start()
        last = int(real.call("GET", "last"))
        # Each MSET is atomic: a consistent snapshot holds exactly k:0..k:last and "last".
        assert real.call("DBSIZE") == last + 2, (real.call("DBSIZE"), last)
        assert real.call("EXISTS", "k:%d" % last, "k:0") == 2
        real.shutdown("NOSAVE")


def test_bad_files_refuse_to_start(binary, ws):
    source = ws.node(binary, "source", ["--save", ""]).start()
    source.call("DEBUG", "POPULATE", "1000", "key", "50")
    source.call("SAVE")
    source.shutdown("NOSAVE")
    image = open(os.path.join(source.dir, "dump.rdb"), "rb").read()
    damaged = {
        "truncated": image[: len(image) // 2],
        "bad-checksum": image[:-3] + bytes([image[-3] ^ 0xFF]) + image[-2:],
        "bad-signature": b"XEDIS" + image[5:],
    }
    for name, data in damaged.items():
        node = ws.node(binary, name, ["--save", ""])
        with open(os.path.join(node.dir, "dump.rdb"), "wb") as f:
            f.write(data)
        code = node.start(expect_failure=True)
        assert code != 0, name
        assert "Fatal error loading the DB" in node.log(), node.log()
    # A missing file is an empty dataset.
    empty = ws.node(binary, "empty", ["--save", ""]).start()
    assert empty.call("DBSIZE") == 0


def write_fsize_wrapper(ws, binary, blocks):
    script = os.path.join(ws.path("bin"), "limited-server")
    with open(script, "w") as f:
        f.write("#!/bin/bash\ntrap '' XFSZ\nulimit -f %d\nexec %s \"$@\"\n" % (blocks, binary))
    os.chmod(script, stat.S_IRWXU)
    return script


def test_failed_bgsave_keeps_snapshot_and_denies_writes(binary, ws):
    # Files may not exceed 256 KB: the small dataset saves, the big one cannot (EFBIG).
    limited = write_fsize_wrapper(ws, binary, 256)
    ours = ws.node(limited, "ours", ["--save", "3600 1000000", "--rdbcompression", "no"])
    ours.start()
    ours.call("SET", "small", "1")
    assert ours.call("SAVE") == "OK"
    path = os.path.join(ours.dir, "dump.rdb")
    before = open(path, "rb").read()
    ours.call("DEBUG", "POPULATE", "3000", "big", "200")
    assert ours.call("BGSAVE") == "Background saving started"
    ours.wait_info("rdb_bgsave_in_progress", "0")
    assert ours.info()["rdb_last_bgsave_status"] == "err"
    assert open(path, "rb").read() == before, "the old snapshot was damaged"
    assert not [n for n in os.listdir(ours.dir) if n.startswith("temp-")], os.listdir(ours.dir)
    reply = ours.call_raw("SET", "x", "1")
    assert str(reply).startswith("MISCONF"), reply
    ours.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "no")
    assert ours.call("SET", "x", "1") == "OK"
    assert "Background saving error" in ours.log()


def test_debug_reload_flushall_lastsave_info(binary, ws):
    ours = ws.node(binary, "ours", ["--save", "3600 1"]).start()
    ours.call("DEBUG", "POPULATE", "500")
    ours.call("RPUSH", "l", "a", "b")
    digest = ours.digest()
    assert ours.call("DEBUG", "RELOAD") == "OK"
    assert ours.digest() == digest
    assert ours.info()["rdb_changes_since_last_save"] == "0"
    before = ours.call("LASTSAVE")
    time.sleep(1.1)
    ours.call("FLUSHALL")  # with save points, Redis saves the empty dataset
    assert ours.call("LASTSAVE") > before
    assert "0 keys read" in check_rdb(os.path.join(ours.dir, "dump.rdb"))
    assert ours.info()["rdb_changes_since_last_save"] != "0"  # FLUSHALL still counts
    ours.call("DEBUG", "POPULATE", "200000", "k", "100")
    assert ours.call("BGSAVE") == "Background saving started"
    second = ours.call_raw("BGSAVE")
    assert str(second) in ("ERR Background save already in progress",), second
    ours.wait_info("rdb_bgsave_in_progress", "0")
    assert ours.call("BGSAVE", "SCHEDULE") == "Background saving started"
    ours.wait_info("rdb_bgsave_in_progress", "0")
    # INFO persistence: the same field names, in the same order, as real Redis.
    real = ws.node(REAL_REDIS, "real", ["--save", ""]).start()
    assert list(ours.info().keys()) == list(real.info().keys()), (list(ours.info()), list(real.info()))


if __name__ == "__main__":
    run_tests([
        test_real_rdb_loads_in_ours_and_back,
        test_restart_sigterm_and_nosave,
        test_bgsave_consistent_under_load,
        test_bad_files_refuse_to_start,
        test_failed_bgsave_keeps_snapshot_and_denies_writes,
        test_debug_reload_flushall_lastsave_info,
    ])
