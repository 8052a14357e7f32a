#!/usr/bin/env python3
"""Replication at the byte level: our replica against a scripted fake master, and our master
against a scripted fake replica, over raw sockets.

    python3 test/e2e/replication_protocol_test.py ./redis-server   (REPLICATION_TEST=name)

- The replica's handshake is byte-exact (PING; REPLCONF listening-port + capa eof psync2;
  PSYNC ? -1; AUTH first with masterauth); it loads "$<len>" and "$EOF:" payloads with
  commands glued after them; REPLCONF GETACK is answered with the exact offset of the bytes
  before it; a link cut inside MULTI resumes before the MULTI; +CONTINUE <new id> shifts IDs;
  a master dying mid-RDB leaves the old data served.
- The master's replies are byte-exact: +FULLRESYNC, "$EOF:" or "$<len>" framing (no capa
  eof), no stream before the first ACK after a diskless transfer, SELECT + commands, WAIT's
  single GETACK, +CONTINUE with and without psync2, backlog overflow, SYNC.
- Faulty replicas (garbage, disconnect mid-transfer, never reading) are dropped harmlessly.
"""

import os
import re
import subprocess
import tempfile
import time

from replication_lib import (REAL_REDIS, FakeMaster, RawPeer, command, resp, run_tests, wait_until)

CHECK_RDB = "/usr/bin/redis-check-rdb"


def rdb_image(cluster, *commands):
    """An RDB image written by real Redis holding the given commands' data."""
    real = cluster.start(REAL_REDIS, name="rdb-source")
    for c in commands:
        real.call(*c)
    real.call("SAVE")
    with open(os.path.join(real.dir, "dump.rdb"), "rb") as f:
        data = f.read()
    real.stop()
    return data


def handshake(peer, port, auth=None):
    """Plays the master's side of the handshake, checking every byte the replica sends."""
    peer.expect(command("PING"))
    peer.send(b"+PONG\r\n")
    expected = b""
    if auth:
        expected += command("AUTH", auth)
    expected += command("REPLCONF", "listening-port", str(port)) + command("REPLCONF", "capa", "eof", "capa", "psync2")
    peer.expect(expected)
    peer.send(b"+OK\r\n" * (3 if auth else 2))


REPLID = "a" * 40
REPLID2 = "b" * 40


def test_replica_handshake_full_sync_getack_and_resume(binary, cluster):
    master = FakeMaster()
    image = rdb_image(cluster, ("SET", "from-rdb", "1"), ("RPUSH", "list", "a", "b"))
    replica = cluster.start(binary, "--replicaof", "127.0.0.1", str(master.port), name="replica")
    link = master.accept()
    handshake(link, replica.port)
    link.expect(command("PSYNC", "?", "-1"))
    stream = command("SET", "k", "v") + command("SELECT", "2") + command("INCR", "n")
    # The RDB payload, then commands in the same packet.
    link.send(b"+FULLRESYNC %s 100\r\n$%d\r\n" % (REPLID.encode(), len(image)) + image + stream)
    _, first_ack = link.read_command()  # sent right after loading
    assert first_ack == [b"REPLCONF", b"ACK", b"100"], first_ack
    wait_until(lambda: replica.info()["master_link_status"] == "up")
    wait_until(lambda: replica.call("SELECT", "2") == "OK" and replica.call("GET", "n") == b"1", message="stream applied")
    replica.call("SELECT", "0")
    assert replica.call("GET", "from-rdb") == b"1" and replica.call("GET", "k") == b"v"
    assert replica.call("LRANGE", "list", "0", "-1") == [b"a", b"b"]
    replica.call("SELECT", "2")  # where the stream's commands go from now on
    offset = 100 + len(stream)
    info = replica.info()
    assert info["master_replid"] == REPLID and int(info["master_repl_offset"]) == offset, info
    assert info["slave_repl_offset"] == str(offset)

    # GETACK: the offset counts every byte before the GETACK, not the GETACK itself.
    getack = command("REPLCONF", "GETACK", "*")
    link.send(command("PING") + getack)
    while True:
        _, ack = link.read_command()
        if ack[2] != str(offset).encode():  # skip a periodic ACK sent before the PING arrived
            break
    assert ack == [b"REPLCONF", b"ACK", str(offset + 14).encode()], ack
    offset += 14 + len(getack)
    # The periodic ACK (every second) then includes the GETACK's bytes.
    _, ack = link.read_command()
    assert ack == [b"REPLCONF", b"ACK", str(offset).encode()], ack

    # A link cut inside MULTI: the replica resumes from before the MULTI.
    link.send(command("MULTI") + command("SET", "tx", "1"))
    time.sleep(0.2)
    link.close()
    link = master.accept()
    handshake(link, replica.port)
    link.expect(command("PSYNC", REPLID, str(offset + 1)))
    assert replica.call("EXISTS", "tx") == 0
    link.send(b"+CONTINUE %s\r\n" % REPLID2.encode() + command("MULTI") + command("SET", "tx", "1") + command("EXEC"))
    wait_until(lambda: replica.call("GET", "tx") == b"1", message="transaction applied after resume")
    info = replica.info()
    assert info["master_replid"] == REPLID2 and info["master_replid2"] == REPLID, info
    assert info["second_repl_offset"] == str(offset + 1), info
    link.close()
    master.close()


def test_replica_eof_payload_and_auth(binary, cluster):
    master = FakeMaster()
    image = rdb_image(cluster, ("SET", "a", "1"), ("SET", "b", "2", "EX", "1000"))
    replica = cluster.start(binary, "--replicaof", "127.0.0.1", str(master.port), "--masterauth", "secret",
                            name="replica")
    link = master.accept()
    handshake(link, replica.port, auth="secret")
    link.expect(command("PSYNC", "?", "-1"))
    mark = b"0123456789" * 4
    # Keep-alive newlines before the reply and the payload, then EOF form with commands glued.
    link.send(b"\n+FULLRESYNC %s 7\r\n\n\n$EOF:%s\r\n" % (REPLID.encode(), mark) + image + mark +
              command("SET", "c", "3"))
    wait_until(lambda: replica.call("GET", "c") == b"3", message="stream after EOF payload")
    assert replica.call("GET", "a") == b"1"
    assert 990 <= replica.call("TTL", "b") <= 1000
    assert replica.offset() == 7 + len(command("SET", "c", "3"))
    link.close()
    master.close()


def test_master_dying_mid_rdb_keeps_old_data(binary, cluster):
    master = FakeMaster()
    old = rdb_image(cluster, ("SET", "data", "old"))
    new = rdb_image(cluster, ("SET", "data", "new"), *[("SET", "pad%d" % i, "x" * 100) for i in range(2000)])
    replica = cluster.start(binary, "--replicaof", "127.0.0.1", str(master.port), name="replica")
    link = master.accept()
    handshake(link, replica.port)
    link.read_command()
    link.send(b"+FULLRESYNC %s 0\r\n$%d\r\n" % (REPLID.encode(), len(old)) + old)
    wait_until(lambda: replica.call("GET", "data") == b"old")
    link.close()
    # Second sync: the master dies after half of the payload.
    link = master.accept()
    handshake(link, replica.port)
    link.read_command()
    link.send(b"+FULLRESYNC %s 0\r\n$%d\r\n" % (REPLID2.encode(), len(new)) + new[:len(new) // 2])
    time.sleep(0.3)
    assert replica.info()["master_sync_in_progress"] == "1"
    link.close()
    time.sleep(0.2)
    assert replica.call("GET", "data") == b"old" and replica.call("DBSIZE") == 1
    # A complete sync replaces the data.
    link = master.accept()
    handshake(link, replica.port)
    link.read_command()
    link.send(b"+FULLRESYNC %s 0\r\n$%d\r\n" % (REPLID2.encode(), len(new)) + new)
    wait_until(lambda: replica.call("GET", "data") == b"new", message="second full sync")
    assert replica.call("DBSIZE") == 2001
    link.close()
    master.close()


# ---------------------------------------------------------------------------
# Our master, a scripted replica

def fake_replica(master, capa=("eof", "psync2"), port=4321):
    peer = RawPeer.connect(master.port)
    peer.send(command("PING"))
    peer.expect(b"+PONG\r\n")
    peer.send(command("REPLCONF", "listening-port", str(port)))
    peer.expect(b"+OK\r\n")
    if capa:
        args = []
        for c in capa:
            args += ["capa", c]
        peer.send(command("REPLCONF", *args))
        peer.expect(b"+OK\r\n")
    return peer


def read_payload(peer):
    """Reads "$EOF:<mark>\\r\\n" + image + mark, or "$<len>\\r\\n" + image: returns the image."""
    header = peer.read_line()
    while header == b"\n":
        header = peer.read_line()
    m = re.match(rb"\$EOF:([0-9a-f]{40})\r\n$", header)
    if m:
        mark = m.group(1)
        data, peer.buf = peer.buf, b""
        while True:
            end = data.find(mark, max(0, len(data) - (1 << 20) - 40))
            if end >= 0:
                peer.buf = data[end + 40:] + peer.buf
                return data[:end], "eof"
            peer._fill()
            data, peer.buf = data + peer.buf, b""
    m = re.match(rb"\$(\d+)\r\n$", header)
    assert m, header
    return peer.read_exact(int(m.group(1))), "len"


def check_rdb(image):
    with tempfile.NamedTemporaryFile(suffix=".rdb", delete=False) as f:
        f.write(image)
        path = f.name
    try:
        out = subprocess.run([CHECK_RDB, path], capture_output=True, text=True)
        assert out.returncode == 0 and "RDB looks OK" in out.stdout, out.stdout + out.stderr
    finally:
        os.unlink(path)


def test_master_full_sync_stream_and_wait_bytes(binary, cluster):
    master = cluster.start(binary, "--repl-ping-replica-period", "3600", name="master")
    master.call("SET", "before", "1")
    peer = fake_replica(master)
    peer.send(command("PSYNC", "?", "-1"))
    line = peer.read_line()
    m = re.match(rb"\+FULLRESYNC ([0-9a-f]{40}) (\d+)\r\n$", line)
    assert m, line
    replid, offset = m.group(1).decode(), int(m.group(2))
    assert offset == 0 and master.info()["master_replid"] == replid
    image, form = read_payload(peer)
    assert form == "eof"
    check_rdb(image)
    # Writes during and after the transfer wait until the replica's first ACK.
    master.call("SET", "k", "v")
    assert peer.nothing_within(0.3), "stream sent before the first ACK"
    peer.send(command("REPLCONF", "ACK", "0"))
    expected = command("SELECT", "0") + command("SET", "k", "v")
    peer.expect(expected)
    offset += len(expected)
    assert master.offset() == offset, (master.offset(), offset)
    info = master.info()
    assert info["connected_slaves"] == "1"
    assert re.match(r"ip=127\.0\.0\.1,port=4321,state=online,offset=0,lag=\d+", info["slave0"]), info["slave0"]
    # WAIT: one GETACK to the replica, and the answer when it acknowledges.
    with master.connect() as client:
        client.call("SET", "w", "1")
        client.send_command("WAIT", "1", "5000")
        peer.expect(command("SET", "w", "1") + command("REPLCONF", "GETACK", "*"))
        offset += len(command("SET", "w", "1"))
        peer.send(command("REPLCONF", "ACK", str(offset)))
        assert client.read_reply() == b":1\r\n"
    offset += len(command("REPLCONF", "GETACK", "*"))
    assert master.offset() == offset
    wait_until(lambda: ("offset=%d," % (offset - 37)) in master.info()["slave0"], message="ack in INFO")
    # ROLE lists the replica with the offset it acknowledged.
    assert master.call("ROLE") == [b"master", offset, [[b"127.0.0.1", b"4321", str(offset - 37).encode()]]]

    # Partial resynchronization from inside the backlog: +CONTINUE <replid> and the rest.
    peer.close()
    wait_until(lambda: master.info()["connected_slaves"] == "0", message="replica gone")
    master.call("SET", "missed", "1")
    peer = fake_replica(master)
    resume = offset - 10
    peer.send(command("PSYNC", replid, str(resume + 1)))
    peer.expect(b"+CONTINUE %s\r\n" % replid.encode())
    peer.expect((command("REPLCONF", "GETACK", "*") + command("SET", "missed", "1"))[-(10 + len(command("SET", "missed", "1"))):])
    stats = master.info("stats")
    assert stats["sync_full"] == "1" and stats["sync_partial_ok"] == "1", stats
    peer.close()
    # Without psync2 the reply carries no ID.
    peer = fake_replica(master, capa=("eof",))
    peer.send(command("PSYNC", replid, str(master.offset() + 1)))
    peer.expect(b"+CONTINUE\r\n")
    peer.close()


def test_master_disk_sync_sync_command_and_backlog_overflow(binary, cluster):
    master = cluster.start(binary, "--repl-backlog-size", "16384", "--repl-ping-replica-period", "3600", name="master")
    master.call("SET", "x", "y")
    # No capa eof: the payload is "$<len>" from a temp file.
    peer = fake_replica(master, capa=())
    peer.send(command("PSYNC", "?", "-1"))
    m = re.match(rb"\+FULLRESYNC ([0-9a-f]{40}) (\d+)\r\n$", peer.read_line())
    assert m
    replid, offset = m.group(1).decode(), int(m.group(2))
    image, form = read_payload(peer)
    assert form == "len"
    check_rdb(image)
    master.call("SET", "after", "1")
    peer.expect(command("SELECT", "0") + command("SET", "after", "1"))  # no wait for an ACK here
    offset += len(command("SELECT", "0") + command("SET", "after", "1"))
    peer.close()
    # Past the backlog: a full resync, counted as a failed partial one.
    for i in range(40):
        master.call("SET", "fill%d" % i, "x" * 1000)
    peer = fake_replica(master)
    peer.send(command("PSYNC", replid, str(offset + 1)))
    assert peer.read_line().startswith(b"+FULLRESYNC " + replid.encode())
    read_payload(peer)
    stats = master.info("stats")
    assert stats["sync_partial_err"] == "1" and stats["sync_full"] == "2", stats
    peer.close()
    # SYNC (pre-PSYNC replicas): no +FULLRESYNC line.
    peer = RawPeer.connect(master.port)
    peer.send(b"SYNC\r\n")
    image, form = read_payload(peer)
    assert form == "len"
    check_rdb(image)
    peer.close()
    # A replication ID we never had: full resync.
    peer = fake_replica(master)
    peer.send(command("PSYNC", "c" * 40, "1"))
    assert peer.read_line().startswith(b"+FULLRESYNC")
    peer.close()


def test_faulty_replicas_are_dropped(binary, cluster):
    master = cluster.start(binary, name="master")
    master.call("DEBUG", "POPULATE", "200000", "key", "50")
    # Garbage after PSYNC.
    peer = fake_replica(master)
    peer.send(command("PSYNC", "?", "-1"))
    peer.read_line()
    read_payload(peer)
    peer.send(b"REPLCONF ACK 0\r\n*garbage\r\n")
    wait_until(lambda: master.info()["connected_slaves"] == "0", message="garbage replica dropped")
    # Disconnect in the middle of the transfer.
    for _ in range(3):
        peer = fake_replica(master)
        peer.send(command("PSYNC", "?", "-1"))
        peer.read_line()
        peer.read_exact(100000)
        peer.close()
    wait_until(lambda: master.info()["connected_slaves"] == "0", message="half-synced replica dropped")
    # A replica that never reads is cut off at the output buffer limit; others don't notice.
    master.call("CONFIG", "SET", "client-output-buffer-limit", "replica 1mb 0 0")
    peer = fake_replica(master)
    peer.send(command("PSYNC", "?", "-1"))
    peer.read_line()
    started = time.monotonic()
    with master.connect() as writer:
        payload = "x" * 10000
        for i in range(300):
            assert writer.call("SET", "big%d" % i, payload) == b"+OK\r\n"
    assert time.monotonic() - started < 10
    wait_until(lambda: master.info()["connected_slaves"] == "0", message="slow replica cut off")
    assert master.call("PING") == "PONG"
    # The server is still healthy: a real replica syncs.
    replica = cluster.replica(binary, master, name="good-replica")
    assert replica.call("DBSIZE") == master.call("DBSIZE")
    peer.close()


def test_replconf_and_sync_errors(binary, cluster):
    master = cluster.start(binary, name="master")
    c = master.conn()
    assert c.call("REPLCONF", "listening-port", "abc") == b"-ERR value is not an integer or out of range\r\n"
    assert c.call("REPLCONF", "foo", "bar") == b"-ERR Unrecognized REPLCONF option: foo\r\n"
    assert c.call("REPLCONF", "ack") == b"-ERR syntax error\r\n"
    assert c.call("REPLCONF") == b"+OK\r\n"
    assert c.call("REPLCONF", "capa", "eof", "capa", "psync2", "capa", "foo") == b"+OK\r\n"
    assert c.call("REPLCONF", "rdb-filter-only", "") == b"+OK\r\n"
    c.send_command("REPLCONF", "ACK", "5")  # no reply at all
    c.send_command("REPLCONF", "GETACK", "*")
    assert c.call("PING") == b"+PONG\r\n"
    assert c.call("PSYNC", "?", "abc") == b"-ERR value is not an integer or out of range\r\n"
    assert c.call("MULTI") == b"+OK\r\n"
    assert c.call("PSYNC", "?", "-1") == b"-ERR Command not allowed inside a transaction\r\n"
    c.call("DISCARD")
    assert c.call("WAIT", "a", "100") == b"-ERR value is not an integer or out of range\r\n"
    assert c.call("WAIT", "1", "-1") == b"-ERR timeout is negative\r\n"
    assert c.call("WAIT", "1", "a") == b"-ERR timeout is not an integer or out of range\r\n"
    assert c.call("REPLICAOF", "127.0.0.1", "abc") == b"-ERR Invalid master port\r\n"
    assert c.call("SLAVEOF", "127.0.0.1", "70000") == b"-ERR Invalid master port\r\n"
    assert c.call("CONFIG", "SET", "replicaof", "127.0.0.1 1") == (
        b"-ERR CONFIG SET failed (possibly related to argument 'replicaof') - can't set immutable config\r\n")


if __name__ == "__main__":
    run_tests([
        test_replica_handshake_full_sync_getack_and_resume,
        test_replica_eof_payload_and_auth,
        test_master_dying_mid_rdb_keeps_old_data,
        test_master_full_sync_stream_and_wait_bytes,
        test_master_disk_sync_sync_command_and_backlog_overflow,
        test_faulty_replicas_are_dropped,
        test_replconf_and_sync_errors,
    ])
