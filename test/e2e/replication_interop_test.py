#!/usr/bin/env python3
"""Replication between our server and real Redis 7.0.15, both ways.

    python3 test/e2e/replication_interop_test.py ./redis-server   (REPLICATION_TEST=name)

- A real Redis replica follows our master (and ours follows a real master) under a write
  load: same DEBUG DIGEST, same offsets, partial resyncs accepted both ways.
- The replication streams of ours and of real Redis for the same commands are identical.
- Promotions across implementations continue with a partial resync (PSYNC2 IDs).
- redis-cli --rdb and --replica work against our master.
"""

import os
import shutil
import subprocess
import time

from replication_lib import (REAL_REDIS, RawPeer, WriteLoad, command, run_tests, supported_types, wait_in_sync,
                             wait_until)

REDIS_CLI = "/usr/bin/redis-cli"
CHECK_RDB = "/usr/bin/redis-check-rdb"


def test_real_replica_follows_our_master(binary, cluster):
    master = cluster.start(binary, "--repl-backlog-size", "64mb", name="ours-master")
    real = cluster.replica(REAL_REDIS, master, name="real-replica")
    ours = cluster.replica(binary, master, name="ours-replica")
    with WriteLoad(master, types=supported_types(master)):
        time.sleep(0.6)
        master.call("CLIENT", "KILL", "TYPE", "replica")  # both come back with PSYNC
        time.sleep(0.6)
    wait_in_sync(master, [real, ours])
    stats = master.info("stats")
    assert stats["sync_full"] == "2" and stats["sync_partial_ok"] == "2", stats
    assert real.info()["master_replid"] == master.info()["master_replid"]


def test_our_replica_follows_a_real_master(binary, cluster):
    master = cluster.start(REAL_REDIS, "--repl-backlog-size", "64mb", name="real-master")
    master.call("DEBUG", "POPULATE", "5000")
    ours = cluster.replica(binary, master, name="ours-replica")
    real = cluster.replica(REAL_REDIS, master, name="real-replica")
    with WriteLoad(master):
        # A real master starts the stream at the first ACK it sees once the transfer is over
        # (ours sends one at once, then every second).
        wait_until(lambda: ours.offset() > 0, message="stream from the real master")
        time.sleep(0.2)
        ours.call("CLIENT", "KILL", "TYPE", "master")  # PSYNC to the real master
        time.sleep(0.6)
    wait_in_sync(master, [ours, real])
    stats = master.info("stats")
    assert stats["sync_full"] == "2" and stats["sync_partial_ok"] == "1", stats
    # A real replica chained below ours gets the same bytes (same offsets).
    leaf = cluster.replica(REAL_REDIS, ours, name="real-leaf")
    master.call("SET", "through-the-chain", "1")
    wait_until(lambda: leaf.call("GET", "through-the-chain") == b"1", message="chained write")
    wait_until(lambda: leaf.offset() == ours.offset() == master.offset(), message="chain offsets")
    # The master may expire a key between the offset check and the digests: compare until equal.
    wait_until(lambda: leaf.digest() == master.digest(), message="chained replica digest")


def capture_stream(node, commands):
    """Attaches a raw replica to `node`, runs `commands` on it and returns the stream bytes."""
    peer = RawPeer.connect(node.port)
    peer.send(command("REPLCONF", "capa", "eof", "capa", "psync2"))
    peer.expect(b"+OK\r\n")
    peer.send(command("PSYNC", "?", "-1"))
    peer.read_line()  # +FULLRESYNC
    header = peer.read_line()
    mark = header[5:45]
    data = b""
    while mark not in data:
        data += peer.buf
        peer.buf = b""
        if mark not in data:
            peer._fill()
    peer.buf = data[data.index(mark) + 40:]
    peer.send(command("REPLCONF", "ACK", "0"))
    with node.connect() as client:
        for c in commands:
            client.call(*c)
        client.call("SET", "the-end", "1")
    end = command("SET", "the-end", "1")
    while not peer.buf.endswith(end):
        # Redis starts the stream at the first ACK after it marked the transfer done: an ACK
        # that came earlier is ignored, so keep acknowledging (as a replica does every second).
        if peer.nothing_within(0.3):
            peer.send(command("REPLCONF", "ACK", "0"))
    peer.close()
    return peer.buf


def test_streams_match_real_redis_byte_for_byte(binary, cluster):
    commands = [
        ("SET", "a", "1"), ("INCR", "a"), ("APPEND", "a", "x"), ("SELECT", "3"), ("SET", "b", "2"),
        ("MULTI",), ("SET", "c", "3"), ("INCRBY", "c", "5"), ("DEL", "nothing"), ("EXEC",),
        ("EXPIREAT", "b", "4000000000"), ("PEXPIREAT", "b", "4000000000000"), ("PERSIST", "b"),
        ("MSET", "m1", "1", "m2", "2"), ("GETSET", "m1", "9"), ("GETDEL", "m2"), ("SELECT", "0"),
        ("DEL", "a", "zz"), ("SET", "big", "x" * 70000), ("SETRANGE", "big", "5", "yy"), ("FLUSHDB",),
        ("SET", "e", "1", "EXAT", "4000000000"), ("SET", "nx", "1", "NX"), ("SET", "nx", "2", "NX"),
        ("RENAME", "nx", "renamed"), ("SWAPDB", "0", "1"),
        ("PUBLISH", "ch", "to-replicas"), ("SPUBLISH", "sch", "too"),
        ("MULTI",), ("PUBLISH", "ch", "in-multi"), ("SET", "after", "1"), ("EXEC",),
        ("EVAL", "redis.call('publish', 'ch', 'from-script') return 1", "0"),
    ]
    types = supported_types(cluster.start(binary, name="probe"))
    if "list" in types:
        commands += [("RPUSH", "l", "a", "b", "c"), ("LPOP", "l"), ("LMOVE", "l", "l2", "LEFT", "RIGHT")]
    if "hash" in types:
        commands += [("HSET", "h", "f", "1", "g", "2"), ("HINCRBY", "h", "f", "3"), ("HDEL", "h", "g")]
    if "set" in types:
        commands += [("SADD", "s", "1", "2", "3"), ("SREM", "s", "2"), ("SMOVE", "s", "s2", "1")]
    if "zset" in types:
        commands += [("ZADD", "z", "1", "a", "2", "b"), ("ZINCRBY", "z", "5", "a"), ("ZPOPMIN", "z")]
    real = cluster.start(REAL_REDIS, name="real")
    ours = cluster.start(binary, name="ours")
    expected = capture_stream(real, commands)
    got = capture_stream(ours, commands)
    assert got == expected, "streams differ:\nreal: %r\nours: %r" % (expected, got)


def test_promotions_across_implementations(binary, cluster):
    # Our promoted replica lets a real replica continue.
    master = cluster.start(binary, name="ours-master")
    real = cluster.replica(REAL_REDIS, master, name="real-replica")
    ours = cluster.replica(binary, master, name="ours-replica")
    with WriteLoad(master, types=supported_types(master)):
        time.sleep(0.4)
    wait_in_sync(master, [real, ours])
    master.stop()
    assert ours.call("REPLICAOF", "NO", "ONE") == "OK"
    real.replicaof(ours)
    real.wait_link_up()
    ours.call("SET", "new", "1")
    wait_in_sync(ours, [real])
    assert ours.info("stats")["sync_partial_ok"] == "1" and ours.info("stats")["sync_full"] == "0"
    # A promoted real replica lets ours continue.
    assert real.call("REPLICAOF", "NO", "ONE") == "OK"
    ours.replicaof(real)
    ours.wait_link_up()
    real.call("SET", "newer", "1")
    wait_in_sync(real, [ours])
    assert real.info("stats")["sync_partial_ok"] == "1" and real.info("stats")["sync_full"] == "0"


def test_redis_cli_rdb_and_replica(binary, cluster):
    master = cluster.start(binary, name="ours-master")
    types = supported_types(master)
    master.call("DEBUG", "POPULATE", "3000")
    master.call("SET", "ttl", "v", "EX", "1000")
    if "list" in types:
        master.call("RPUSH", "list", "a", "b")
    path = os.path.join(master.dir, "cli.rdb")
    out = subprocess.run([REDIS_CLI, "-p", str(master.port), "--rdb", path], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0 and "Transfer finished with success" in out.stderr + out.stdout, out.stderr
    check = subprocess.run([CHECK_RDB, path], capture_output=True, text=True)
    assert check.returncode == 0 and "RDB looks OK" in check.stdout, check.stdout
    # Real Redis loads it into the same dataset (a later --dir wins over the launcher's).
    load_dir = os.path.join(master.dir, "load")
    os.mkdir(load_dir)
    shutil.copy(path, os.path.join(load_dir, "dump.rdb"))
    real = cluster.start(REAL_REDIS, "--dir", load_dir, name="real-loader")
    assert real.digest() == master.digest()
    # --functions-rdb (REPLCONF rdb-filter-only functions): the libraries, no keys.
    master.call("FUNCTION", "LOAD", FUNCTION_LIB % ("clilib", "clif"))
    path = os.path.join(master.dir, "functions.rdb")
    out = subprocess.run([REDIS_CLI, "-p", str(master.port), "--functions-rdb", path], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0 and "Transfer finished with success" in out.stderr + out.stdout, out.stderr
    check = subprocess.run([CHECK_RDB, path], capture_output=True, text=True)
    assert "RDB looks OK" in check.stdout and "0 keys read" in check.stdout, check.stdout
    functions_dir = os.path.join(master.dir, "functions-load")
    os.mkdir(functions_dir)
    shutil.copy(path, os.path.join(functions_dir, "dump.rdb"))
    loaded = cluster.start(REAL_REDIS, "--dir", functions_dir, name="real-functions-loader")
    assert loaded.call("DBSIZE") == 0 and loaded.call("FCALL_RO", "clif", "0", "x") == b"x"
    proc = subprocess.Popen([REDIS_CLI, "-p", str(master.port), "--replica"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: master.info()["connected_slaves"] == "1", message="redis-cli --replica attached")
        time.sleep(0.3)
        master.call("SET", "seen-by-cli", "1")
        deadline = time.monotonic() + 10
        seen = ""
        while time.monotonic() < deadline and "seen-by-cli" not in seen:
            seen += proc.stdout.readline()
        assert '"SET","seen-by-cli","1"' in seen, seen
    finally:
        proc.kill()
        proc.wait()


FUNCTION_LIB = ("#!lua name=%s\n"
                "redis.register_function{function_name='%s', callback=function(keys, args) return args[1] end, "
                "flags={'no-writes'}}")


def test_functions_travel_in_rdb_and_full_sync(binary, cluster):
    """FUNCTION libraries are part of an RDB image (opcode 245): files and full syncs, both ways."""
    real = cluster.start(REAL_REDIS, name="real-functions")
    real.call("FUNCTION", "LOAD", FUNCTION_LIB % ("reallib", "realf"))
    ours = cluster.replica(binary, real, name="ours-replica-functions")
    assert ours.call("FCALL_RO", "realf", "0", "from-real") == b"from-real"
    ours.call("REPLICAOF", "NO", "ONE")
    ours.call("FUNCTION", "LOAD", FUNCTION_LIB % ("ourlib", "ourf"))
    leaf = cluster.replica(REAL_REDIS, ours, name="real-replica-functions")
    assert leaf.call("FCALL_RO", "ourf", "0", "from-ours") == b"from-ours"
    assert leaf.call("FCALL_RO", "realf", "0", "x") == b"x"
    # Our file loads in real Redis, and back.
    assert ours.call("SAVE") == "OK"
    load_dir = os.path.join(ours.dir, "load-functions")
    os.mkdir(load_dir)
    shutil.copy(os.path.join(ours.dir, "dump.rdb"), os.path.join(load_dir, "dump.rdb"))
    check = subprocess.run([CHECK_RDB, os.path.join(load_dir, "dump.rdb")], capture_output=True, text=True)
    assert check.returncode == 0 and "RDB looks OK" in check.stdout, check.stdout
    loaded = cluster.start(REAL_REDIS, "--dir", load_dir, name="real-loads-functions")
    assert loaded.call("FCALL_RO", "ourf", "0", "y") == b"y"
    assert loaded.call("SAVE") == "OK"
    again = cluster.start(binary, "--dir", load_dir, name="ours-loads-functions")
    assert again.call("FCALL_RO", "realf", "0", "z") == b"z"
    assert again.call("FCALL_RO", "ourf", "0", "z") == b"z"
    # DEBUG RELOAD keeps them; a full sync replaces the replica's own libraries.
    assert again.call("DEBUG", "RELOAD") == "OK"
    assert again.call("FCALL_RO", "ourf", "0", "w") == b"w"
    again.call("FUNCTION", "FLUSH")
    again.call("FUNCTION", "LOAD", FUNCTION_LIB % ("stale", "stalef"))
    again.replicaof(real)
    wait_until(lambda: again.info()["master_link_status"] == "up", message="re-synced from the real master")
    names = sorted(entry[1] for entry in again.call("FUNCTION", "LIST"))
    assert names == [b"reallib"], names


if __name__ == "__main__":
    run_tests([
        test_real_replica_follows_our_master,
        test_our_replica_follows_a_real_master,
        test_streams_match_real_redis_byte_for_byte,
        test_promotions_across_implementations,
        test_redis_cli_rdb_and_replica,
        test_functions_travel_in_rdb_and_full_sync,
    ])
