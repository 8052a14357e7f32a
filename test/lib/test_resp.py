"""Unit tests for resp.py (no server needed): python3 test/lib/test_resp.py"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp  # noqa: E402


class EncodeTest(unittest.TestCase):
    def test_encode(self):
        self.assertEqual(resp.encode_command("SET", b"k\x00", 12),
                         b"*3\r\n$3\r\nSET\r\n$2\r\nk\x00\r\n$2\r\n12\r\n")
        self.assertEqual(resp.encode_command(["PING"]), b"*1\r\n$4\r\nPING\r\n")
        self.assertEqual(resp.encode_command("ECHO", ""), b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n")


class ParseTest(unittest.TestCase):
    CASES = [
        (b"+OK\r\n", resp.SimpleString("OK")),
        (b"-ERR bad\r\n", resp.RespError("ERR bad")),
        (b":-42\r\n", -42),
        (b"$3\r\na\r\n\r\n", b"a\r\n"),
        (b"$0\r\n\r\n", b""),
        (b"$-1\r\n", None),
        (b"*-1\r\n", None),
        (b"*0\r\n", []),
        (b"*2\r\n*1\r\n:1\r\n$-1\r\n", [[1], None]),
        (b"_\r\n", None),
        (b",3.5\r\n", 3.5),
        (b",inf\r\n", float("inf")),
        (b"#t\r\n", True),
        (b"(12345678901234567890\r\n", 12345678901234567890),
        (b"=8\r\ntxt:abcd\r\n", b"txt:abcd"),
        (b"!5\r\nERR x\r\n", resp.RespError("ERR x")),
        (b"%1\r\n+a\r\n:1\r\n", [("a", 1)]),
        (b"~2\r\n:1\r\n:2\r\n", [1, 2]),
        (b">2\r\n$7\r\nmessage\r\n$1\r\nx\r\n", [b"message", b"x"]),
        (b"|1\r\n+k\r\n+v\r\n:7\r\n", 7),
    ]

    def test_values(self):
        for raw, expected in self.CASES:
            with self.subTest(raw=raw):
                self.assertEqual(resp.decode(raw), expected)
                self.assertEqual(resp.reply_span(raw + b"+next\r\n"), len(raw))

    def test_incomplete(self):
        for raw, _ in self.CASES:
            for cut in range(len(raw)):
                with self.subTest(raw=raw, cut=cut):
                    with self.assertRaises(resp.Incomplete):
                        resp.parse(raw[:cut])

    def test_protocol_error(self):
        for raw in (b"?x\r\n", b":1x\r\n", b"$3\r\nabcde\r\n", b"*x\r\n", b"$-2\r\n"):
            with self.subTest(raw=raw):
                with self.assertRaises(resp.ProtocolError):
                    resp.parse(raw)

    def test_split_aggregate(self):
        self.assertEqual(resp.split_aggregate(b"*2\r\n:1\r\n*1\r\n+a\r\n"),
                         ("*", [b":1\r\n", b"*1\r\n+a\r\n"]))
        self.assertEqual(resp.split_aggregate(b"%1\r\n+k\r\n+v\r\n"), ("%", [b"+k\r\n", b"+v\r\n"]))
        self.assertEqual(resp.split_aggregate(b"*-1\r\n"), ("*", None))
        self.assertEqual(resp.split_aggregate(b"+OK\r\n"), ("+", None))


if __name__ == "__main__":
    unittest.main()
