#!/usr/bin/env python3
"""Replication between our servers.

    python3 test/e2e/replication_test.py ./redis-server   (REPLICATION_TEST=name runs one)

- A master and replicas under a write load (strings, expiries, MULTI/EXEC, the other types
  as implemented), a replica added in the middle of it: datasets equal after WAIT.
- Link drops (CLIENT KILL TYPE master / replica) resume with a partial resync; a killed and
  restarted replica resyncs in full.
- REPLICAOF NO ONE keeps the data, starts a new ID and lets a sibling continue partially.
- Chained replicas agree on offsets; WAIT semantics; read-only replicas; INFO and ROLE.
"""

import os
import re
import threading
import time

from replication_lib import WriteLoad, run_tests, supported_types, wait_in_sync, wait_until


def test_replicas_follow_a_write_load(binary, cluster):
    master = cluster.start(binary, name="master")
    types = supported_types(master)
    first = cluster.replica(binary, master, name="replica1")
    with WriteLoad(master, types=types):
        time.sleep(0.7)
        second = cluster.replica(binary, master, name="replica2")  # full sync under load
        time.sleep(0.7)
    # The load's short-TTL keys keep expiring (DELs move the master's offset): stop that so
    # the offsets compared below cannot move between the two INFO calls.
    master.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    wait_in_sync(master, [first, second])
    info = master.info()
    assert info["connected_slaves"] == "2"
    for i, replica in enumerate((first, second)):
        assert re.match(r"ip=127\.0\.0\.1,port=%d,state=online,offset=\d+,lag=\d+$" % replica.port, info["slave%d" % i])
        rinfo = replica.info()
        assert rinfo["role"] == "slave" and rinfo["master_link_status"] == "up"
        assert rinfo["master_replid"] == info["master_replid"]
        assert rinfo["slave_repl_offset"] == info["master_repl_offset"]
    assert master.info("stats")["sync_full"] == "2"
    # Replicas refuse writes and never expire keys themselves, but hide expired ones.
    assert first.raw("SET", "x", "1") == b"-READONLY You can't write against a read only replica.\r\n"
    master.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    master.call("SELECT", "9")
    first.call("SELECT", "9")
    master.call("SET", "soon", "v", "PX", "100")
    master.call("WAIT", "2", "2000")
    time.sleep(0.2)
    assert first.call("GET", "soon") is None and first.call("EXISTS", "soon") == 0
    assert first.call("DBSIZE") == 1  # still stored: only the master expires keys
    master.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    wait_until(lambda: first.call("DBSIZE") == 0, message="the master's DEL")


def test_link_drops_resume_partially(binary, cluster):
    # The load writes megabytes a second: the backlog must cover a reconnection.
    master = cluster.start(binary, "--repl-backlog-size", "64mb", name="master")
    replicas = [cluster.replica(binary, master, name="replica%d" % i) for i in range(2)]
    with WriteLoad(master, types=supported_types(master)):
        time.sleep(0.3)
        assert replicas[0].call("CLIENT", "KILL", "TYPE", "master") == 1
        time.sleep(0.3)
        assert master.call("CLIENT", "KILL", "TYPE", "replica") == 2
        time.sleep(0.5)
    wait_in_sync(master, replicas)
    stats = master.info("stats")
    assert stats["sync_full"] == "2" and stats["sync_partial_ok"] == "3" and stats["sync_partial_err"] == "0", stats


def test_killed_replica_restarts_with_a_full_sync(binary, cluster):
    master = cluster.start(binary, name="master")
    replica = cluster.replica(binary, master, name="replica")
    with WriteLoad(master, types=supported_types(master)):
        time.sleep(0.3)
        replica.kill9()
        time.sleep(0.3)
        replica.start()  # new process, same arguments: follows the master again
        replica.wait_link_up()
        time.sleep(0.3)
    wait_in_sync(master, [replica])
    assert master.info("stats")["sync_full"] == "2"
    assert master.info()["connected_slaves"] == "1"


def test_restarted_replica_resumes_from_its_rdb(binary, cluster):
    master = cluster.start(binary, "--repl-backlog-size", "64mb", name="master")
    keep = os.path.join(master.dir, "replica-data")  # survives the replica's restarts
    os.mkdir(keep)
    replica = cluster.replica(binary, master, name="replica", fixed_dir=keep)
    with WriteLoad(master, types=supported_types(master)):
        time.sleep(0.4)
        replica.conn().send_command("SHUTDOWN", "SAVE")
        wait_until(lambda: not replica.alive(), message="replica shut down")
        time.sleep(0.3)  # writes the replica misses
        replica.start()
        replica.wait_link_up()
        time.sleep(0.3)
    wait_in_sync(master, [replica])
    stats = master.info("stats")
    assert stats["sync_full"] == "1" and stats["sync_partial_ok"] == "1", stats


def test_promotion_keeps_data_and_history(binary, cluster):
    master = cluster.start(binary, name="master")
    a = cluster.replica(binary, master, name="a")
    b = cluster.replica(binary, master, name="b")
    with WriteLoad(master, types=supported_types(master)):
        time.sleep(0.5)
    # No expiry from here on (the master's, then the promoted replica's): offsets and digests
    # read below must not move under the test.
    master.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    a.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    wait_in_sync(master, [a, b])
    old_id = master.info()["master_replid"]
    offset = master.offset()
    digest = master.digest()
    master.stop()
    assert a.call("REPLICAOF", "NO", "ONE") == "OK"
    info = a.info()
    assert info["role"] == "master" and info["master_replid"] != old_id
    assert info["master_replid2"] == old_id and info["second_repl_offset"] == str(offset + 1), info
    assert a.digest() == digest
    assert a.call("SET", "after-promotion", "1") == "OK"
    # The sibling continues from the promoted replica with a partial resync.
    b.replicaof(a)
    b.wait_link_up()
    assert a.info("stats")["sync_partial_ok"] == "1" and a.info("stats")["sync_full"] == "0"
    wait_in_sync(a, [b])
    assert b.call("GET", "after-promotion") == b"1"
    assert b.info()["master_replid"] == a.info()["master_replid"]
    assert a.call("ROLE")[0] == b"master"
    role = b.call("ROLE")
    assert role[:4] == [b"slave", b"127.0.0.1", a.port, b"connected"] and role[4] == a.offset()


def test_chained_replicas_share_offsets(binary, cluster):
    master = cluster.start(binary, "--repl-backlog-size", "64mb", name="master")
    middle = cluster.replica(binary, master, name="middle")
    leaf = cluster.replica(binary, middle, name="leaf")
    with WriteLoad(master, types=supported_types(master)):
        time.sleep(0.5)
        middle.call("CLIENT", "KILL", "TYPE", "master")  # partial resync in the middle of the chain
        time.sleep(0.5)
    assert master.call("WAIT", "1", "5000") == 1
    wait_until(lambda: master.digest() == middle.digest() == leaf.digest(), message="chain in sync")
    wait_until(lambda: master.offset() == middle.offset() == leaf.offset(), message="same offsets along the chain")
    assert leaf.info()["master_replid"] == master.info()["master_replid"]
    assert middle.info("stats")["sync_full"] == "1"


def test_wait(binary, cluster):
    master = cluster.start(binary, name="master")
    c = master.conn()
    assert c.call("WAIT", "0", "0") == b":0\r\n"
    started = time.monotonic()
    assert c.call("WAIT", "1", "200") == b":0\r\n"
    assert 0.15 < time.monotonic() - started < 2
    replicas = [cluster.replica(binary, master, name="r%d" % i) for i in range(2)]
    c.call("SET", "k", "v")
    assert c.call("WAIT", "2", "0") == b":2\r\n"
    started = time.monotonic()
    assert c.call("WAIT", "3", "300") == b":2\r\n"  # not enough replicas: the timeout
    assert time.monotonic() - started >= 0.25
    c.call("MULTI")
    c.call("WAIT", "5", "0")
    assert c.call("EXEC") == b"*1\r\n:2\r\n"  # never blocks inside a transaction
    assert replicas[0].raw("WAIT", "1", "0").startswith(b"-ERR WAIT cannot be used with replica instances.")
    # Many clients waiting at once do not hold up anybody else.
    results = []

    def waiter():
        with master.connect() as w:
            w.call("SET", "w%d" % threading.get_ident(), "1")
            results.append(w.call("WAIT", "3", "1500"))

    threads = [threading.Thread(target=waiter) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    started = time.monotonic()
    for i in range(50):
        assert c.call("SET", "x%d" % i, "y") == b"+OK\r\n"
    assert time.monotonic() - started < 1.0
    for t in threads:
        t.join()
    assert results == [b":2\r\n"] * 20
    # A replica that stops acknowledging is not counted.
    replicas[1].kill9()
    c.call("SET", "k", "v2")
    assert c.call("WAIT", "2", "300") == b":1\r\n"


def test_runtime_replicaof_and_role(binary, cluster):
    master = cluster.start(binary, name="master")
    replica = cluster.start(binary, name="replica")
    master.call("SET", "k", "v")
    assert replica.call("ROLE") == [b"master", 0, []]
    assert replica.call("REPLICAOF", "127.0.0.1", str(master.port)) == "OK"
    assert replica.call("REPLICAOF", "127.0.0.1", str(master.port)) == "OK Already connected to specified master"
    replica.wait_link_up()
    assert replica.call("CONFIG", "GET", "replicaof") == [b"replicaof", ("127.0.0.1 %d" % master.port).encode()]
    assert replica.call("GET", "k") == b"v"
    master.call("WAIT", "1", "2000")
    role = master.call("ROLE")
    assert role[0] == b"master" and role[2] == [[b"127.0.0.1", str(replica.port).encode(), str(master.offset()).encode()]]
    clients = replica.call("CLIENT", "LIST").decode()
    assert re.search(r"addr=127\.0\.0\.1:%d .*flags=M " % master.port, clients), clients
    assert "flags=S" in master.call("CLIENT", "LIST").decode()
    # SLAVEOF NO ONE inside MULTI takes effect right after the transaction.
    replica.call("MULTI")
    replica.call("SLAVEOF", "NO", "ONE")
    assert replica.call("EXEC") == ["OK"]
    wait_until(lambda: replica.info()["role"] == "master", message="promotion after EXEC")
    assert replica.call("GET", "k") == b"v"
    assert replica.call("CONFIG", "GET", "replicaof") == [b"replicaof", b""]
    # Pointing at a master that does not answer: INFO shows the link down, data is kept.
    replica.call("REPLICAOF", "127.0.0.1", "1")
    time.sleep(0.3)
    info = replica.info()
    assert info["master_link_status"] == "down" and info["master_link_down_since_seconds"] == "-1", info
    assert replica.call("ROLE")[3] in (b"connect", b"connecting")
    assert replica.call("GET", "k") == b"v"
    # The master only sends full syncs to replicas that asked for one.
    assert master.info("stats")["sync_full"] == "1"


def test_disk_based_sync(binary, cluster):
    master = cluster.start(binary, "--repl-diskless-sync", "no", name="master")
    master.call("DEBUG", "POPULATE", "20000")
    with WriteLoad(master, types=supported_types(master)):
        replica = cluster.replica(binary, master, name="replica")
        time.sleep(0.3)
    wait_in_sync(master, [replica])


if __name__ == "__main__":
    run_tests([
        test_replicas_follow_a_write_load,
        test_link_drops_resume_partially,
        test_killed_replica_restarts_with_a_full_sync,
        test_restarted_replica_resumes_from_its_rdb,
        test_promotion_keeps_data_and_history,
        test_chained_replicas_share_offsets,
        test_wait,
        test_runtime_replicaof_and_role,
        test_disk_based_sync,
    ])
