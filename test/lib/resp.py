"""A raw RESP client for tests (python3 standard library only).

The point of this module is to talk to a server at the *byte* level so that
tests can compare replies byte for byte.  It offers:

* ``encode_command(*args)``   -> the RESP multibulk encoding of a command.
* ``parse(buf, pos=0)``       -> ``(value, end)``: parse one complete reply
  starting at ``buf[pos]``; raises ``Incomplete`` when more bytes are needed
  and ``ProtocolError`` on garbage.
* ``reply_span(buf, pos=0)``  -> the end offset of one complete reply.
* ``decode(raw)``             -> python value for one raw reply.
* ``split_aggregate(raw)``    -> ``(header_type, [raw element, ...])`` to look
  inside an array/set/map/push reply without decoding the elements.
* ``RespConnection``          -> a socket connection with ``send_command``,
  ``send_raw``, ``read_reply`` (returns the raw bytes of exactly one reply)
  and ``call`` (send + read).

Both RESP2 (``+ - : $ *``, including ``$-1`` / ``*-1`` nulls and nested
arrays) and RESP3 (``_ , # ! = ( % ~ > |``) are understood.

Decoded python values:

    +simple        -> SimpleString (a str subclass)
    -error         -> RespError   (an Exception instance, not raised)
    :int / (big    -> int
    $bulk / =verb  -> bytes       (verbatim: the "txt:" prefix is kept)
    !bulk error    -> RespError
    $-1 *-1 _      -> None
    ,double        -> float
    #t / #f        -> bool
    *array         -> list
    ~set           -> Set (a list subclass: order kept, elements may be
                      unhashable)
    %map           -> Map (a list subclass of (key, value) tuples)
    >push          -> Push (a list subclass)
    |attribute     -> the attribute is skipped; the value that follows it is
                      returned (the raw reply still contains both)
"""

import socket
import time

CRLF = b"\r\n"


class Incomplete(Exception):
    """More bytes are needed to finish parsing a reply."""


class ProtocolError(Exception):
    """The bytes received are not valid RESP."""


class ConnectionClosed(Exception):
    """The peer closed the connection before a full reply arrived."""


class ReplyTimeout(Exception):
    """No complete reply arrived within the read timeout."""


class SimpleString(str):
    """A RESP '+' status reply (e.g. OK, PONG)."""


class RespError(Exception):
    """A RESP '-' or '!' error reply.  Returned, never raised, by decode()."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __eq__(self, other):
        return isinstance(other, RespError) and other.message == self.message

    def __hash__(self):
        return hash(self.message)

    def __repr__(self):
        return "RespError(%r)" % self.message


class Set(list):
    """A RESP3 '~' set reply (kept as a list: elements may be unhashable)."""


class Map(list):
    """A RESP3 '%' map reply, as a list of (key, value) pairs."""


class Push(list):
    """A RESP3 '>' out-of-band push reply."""


def to_bytes(arg):
    """Convert a command argument (bytes, str, int, float) to bytes."""
    if isinstance(arg, (bytes, bytearray, memoryview)):
        return bytes(arg)
    if isinstance(arg, str):
        return arg.encode("utf-8")
    if isinstance(arg, (int, float)):
        return repr(arg).encode("ascii")
    raise TypeError("cannot encode argument of type %s" % type(arg).__name__)


def encode_command(*args):
    """Encode a command as a RESP multibulk: *N\\r\\n$len\\r\\narg\\r\\n..."""
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = tuple(args[0])
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = to_bytes(arg)
        out.append(b"$%d\r\n" % len(data))
        out.append(data)
        out.append(CRLF)
    return b"".join(out)


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

def _read_line(buf, pos):
    """Return (line_without_crlf, offset_after_crlf) or raise Incomplete."""
    end = buf.find(CRLF, pos)
    if end < 0:
        raise Incomplete()
    return bytes(buf[pos:end]), end + 2


def _parse_int(line, what):
    try:
        # int() accepts things like " 1" or "1_0"; be strict instead.
        text = line.decode("ascii")
        if not text or not (text.isdigit() or (text[0] == "-" and text[1:].isdigit())):
            raise ValueError
        return int(text)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("bad %s: %r" % (what, line)) from None


def parse(buf, pos=0):
    """Parse one reply starting at buf[pos].

    Returns (python_value, end_offset).  Raises Incomplete if buf does not
    yet hold a whole reply, ProtocolError if the data is not RESP.
    """
    if pos >= len(buf):
        raise Incomplete()
    kind = buf[pos:pos + 1]
    line, nxt = _read_line(buf, pos + 1)

    if kind == b"+":
        return SimpleString(line.decode("utf-8", "surrogateescape")), nxt
    if kind == b"-":
        return RespError(line.decode("utf-8", "surrogateescape")), nxt
    if kind == b":":
        return _parse_int(line, "integer"), nxt
    if kind == b"(":
        return _parse_int(line, "big number"), nxt
    if kind == b"_":
        if line:
            raise ProtocolError("bad null: %r" % line)
        return None, nxt
    if kind == b",":
        text = line.decode("ascii", "replace").lower()
        if text in ("inf", "+inf"):
            return float("inf"), nxt
        if text == "-inf":
            return float("-inf"), nxt
        try:
            return float(text), nxt
        except ValueError:
            raise ProtocolError("bad double: %r" % line) from None
    if kind == b"#":
        if line == b"t":
            return True, nxt
        if line == b"f":
            return False, nxt
        raise ProtocolError("bad boolean: %r" % line)

    if kind in (b"$", b"=", b"!"):
        length = _parse_int(line, "bulk length")
        if length == -1 and kind == b"$":
            return None, nxt
        if length < 0:
            raise ProtocolError("bad bulk length: %r" % line)
        end = nxt + length
        if len(buf) < end + 2:
            raise Incomplete()
        if buf[end:end + 2] != CRLF:
            raise ProtocolError("bulk string not terminated by CRLF")
        data = bytes(buf[nxt:end])
        if kind == b"!":
            return RespError(data.decode("utf-8", "surrogateescape")), end + 2
        return data, end + 2

    if kind in (b"*", b"~", b">", b"%", b"|"):
        count = _parse_int(line, "aggregate length")
        if count == -1 and kind == b"*":
            return None, nxt
        if count < 0:
            raise ProtocolError("bad aggregate length: %r" % line)
        pos = nxt
        if kind in (b"%", b"|"):
            pairs = []
            for _ in range(count):
                key, pos = parse(buf, pos)
                val, pos = parse(buf, pos)
                pairs.append((key, val))
            if kind == b"|":
                # An attribute is metadata attached to the reply that
                # follows it: return that reply's value.
                return parse(buf, pos)
            return Map(pairs), pos
        items = []
        for _ in range(count):
            item, pos = parse(buf, pos)
            items.append(item)
        if kind == b"~":
            return Set(items), pos
        if kind == b">":
            return Push(items), pos
        return items, pos

    raise ProtocolError("unknown reply type byte %r at offset %d" % (kind, pos))


def reply_span(buf, pos=0):
    """Return the offset just past the complete reply starting at buf[pos]."""
    return parse(buf, pos)[1]


def decode(raw):
    """Decode the raw bytes of exactly one reply into a python value."""
    value, end = parse(raw, 0)
    if end != len(raw):
        raise ProtocolError("trailing bytes after reply: %r" % raw[end:])
    return value


def split_aggregate(raw):
    """Split an aggregate reply into its header type and raw elements.

    Returns (type_char, [raw_element, ...]) for '*', '~', '>' (elements) and
    '%' (keys and values flattened: k1, v1, k2, v2...).  For anything else
    (including null arrays) returns (type_char, None).
    """
    kind = raw[:1].decode("latin-1")
    if kind not in "*~>%" or not kind:
        return kind, None
    line, pos = _read_line(raw, 1)
    count = _parse_int(line, "aggregate length")
    if count < 0:
        return kind, None
    if kind == "%":
        count *= 2
    elements = []
    for _ in range(count):
        end = reply_span(raw, pos)
        elements.append(bytes(raw[pos:end]))
        pos = end
    return kind, elements


# ---------------------------------------------------------------------------
# Connection
# ---------------------------------------------------------------------------

class RespConnection:
    """A blocking TCP connection that reads replies as raw bytes.

    Usage:
        with RespConnection("127.0.0.1", 6379) as c:
            raw = c.call("SET", "k", b"\\x00v")     # -> b"+OK\\r\\n"
            print(decode(c.call("GET", "k")))
    """

    def __init__(self, host="127.0.0.1", port=6379, timeout=5.0):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.buf = bytearray()
        self.closed = False       # set once the peer closed the connection
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- context manager ---------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close our side of the socket (idempotent)."""
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
        self.closed = True

    # -- sending -----------------------------------------------------------
    def send_raw(self, data):
        """Send arbitrary bytes.  Raises ConnectionClosed if the peer is gone."""
        if self.sock is None:
            raise ConnectionClosed("connection already closed")
        try:
            self.sock.sendall(to_bytes(data))
        except (BrokenPipeError, ConnectionResetError) as exc:
            self.closed = True
            raise ConnectionClosed(str(exc)) from None

    def send_command(self, *args):
        """Send one command encoded as a RESP multibulk."""
        self.send_raw(encode_command(*args))

    # -- receiving ---------------------------------------------------------
    def read_reply(self, timeout=None):
        """Read exactly one complete reply and return its raw bytes.

        Bytes that arrive after that reply stay buffered for the next call.
        Raises ConnectionClosed if the peer closes first (any partial reply
        stays in self.buf), ReplyTimeout if nothing complete arrives within
        `timeout` seconds (default: the connection timeout).
        """
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            if self.buf:
                try:
                    end = reply_span(self.buf, 0)
                except Incomplete:
                    pass
                else:
                    raw = bytes(self.buf[:end])
                    del self.buf[:end]
                    return raw
            if self.sock is None or self.closed:
                raise ConnectionClosed("connection closed by peer")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReplyTimeout("no complete reply within %.1fs" % timeout)
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise ReplyTimeout("no complete reply within %.1fs" % timeout) from None
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                self.closed = True
                raise ConnectionClosed("connection closed by peer")
            self.buf += chunk

    def call(self, *args, timeout=None):
        """Send a command and return the raw bytes of its reply."""
        self.send_command(*args)
        return self.read_reply(timeout=timeout)

    def call_decoded(self, *args, timeout=None):
        """Send a command and return its decoded reply."""
        return decode(self.call(*args, timeout=timeout))
