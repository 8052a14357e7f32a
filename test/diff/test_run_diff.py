"""Unit tests for the corpus parser and comparison of run_diff.py (no server needed):
python3 test/diff/test_run_diff.py"""

import os
import shlex
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_diff  # noqa: E402


class TokenizeTest(unittest.TestCase):
    def toks(self, line):
        return [t for t, _ in run_diff.tokenize(line)]

    def test_matches_shlex(self):
        for line in ['SET a b', 'SET "a b" c', "x 'y z' w\\ v", 'a"b"c "q\\"x\\n"',
                     'SET k\\x00', "a'b c'd", '"" \'\'', 'a\t b']:
            with self.subTest(line=line):
                self.assertEqual(self.toks(line), [t.encode() for t in shlex.split(line)])

    def test_bytes_literal(self):
        self.assertEqual(self.toks('SET b"\\x00\\r\\n" b\'x\' ab"c"'),
                         [b"SET", b"\x00\r\n", b"x", b"abc"])
        with self.assertRaises(run_diff.CorpusError):
            self.toks('SET b"x"y')
        with self.assertRaises(run_diff.CorpusError):
            self.toks('SET "open')

    def test_bare_flag(self):
        self.assertEqual(run_diff.tokenize("@raw '@x'"), [(b"@raw", True), (b"@x", False)])


class ParseLineTest(unittest.TestCase):
    def step(self, text):
        return run_diff.parse_line("f", 1, text)

    def test_kinds(self):
        self.assertEqual(self.step("GET k").kind, "cmd")
        s = self.step("@unordered @type KEYS *")
        self.assertEqual((s.kind, s.mods, s.args), ("cmd", {"@unordered", "@type"}, [b"KEYS", b"*"]))
        s = self.step('@noreply @raw b"PI" NG')
        self.assertEqual((s.kind, s.args, s.mods), ("raw", b"PING", {"@noreply"}))
        self.assertEqual(self.step("@read 0.5").value, 0.5)
        self.assertEqual(self.step("@conn 2").value, 2)
        self.assertEqual(self.step("@scanall HSCAN h 0").kind, "scanall")
        for bad in ("@sleep", "@bogus x", "@scanall GET k", "@type", "@noreply @read"):
            with self.subTest(bad=bad):
                with self.assertRaises(run_diff.CorpusError):
                    self.step(bad)


class CompareTest(unittest.TestCase):
    def test_view(self):
        a = b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        b = b"*2\r\n$1\r\nb\r\n$1\r\na\r\n"
        self.assertNotEqual(run_diff.view(a, set()), run_diff.view(b, set()))
        self.assertEqual(run_diff.view(a, {"@unordered"}), run_diff.view(b, {"@unordered"}))
        p1 = b"*4\r\n$1\r\nk\r\n$1\r\n1\r\n$1\r\nj\r\n$1\r\n2\r\n"
        p2 = b"*4\r\n$1\r\nj\r\n$1\r\n2\r\n$1\r\nk\r\n$1\r\n1\r\n"
        p3 = b"*4\r\n$1\r\nj\r\n$1\r\n1\r\n$1\r\nk\r\n$1\r\n2\r\n"
        self.assertEqual(run_diff.view(p1, {"@pairs"}), run_diff.view(p2, {"@pairs"}))
        self.assertNotEqual(run_diff.view(p1, {"@pairs"}), run_diff.view(p3, {"@pairs"}))

    def test_ids(self):
        side = run_diff.Side("x", None, 1)
        side.ids = {1: 15, 2: 4}
        self.assertEqual(side.name_ids(b":15\r\n"), b":{id:1}\r\n")
        self.assertEqual(side.name_ids(b"%1\r\n$8\r\nredirect\r\n:4\r\n"),
                         b"%1\r\n$8\r\nredirect\r\n:{id:2}\r\n")
        self.assertEqual(side.name_ids(b"$15\r\n:150\r\n:0\r\n"), b"$15\r\n:150\r\n:0\r\n")
        self.assertEqual(side.substitute_ids([b"REDIRECT", b"{id:2}", b"{id:x}"]), [b"REDIRECT", b"4", b"{id:x}"])
        self.assertEqual(self.step_mods("@ids CLIENT GETREDIR"), {"@ids"})

    def step_mods(self, text):
        return run_diff.parse_line("f", 1, text).mods

    def test_shape(self):
        self.assertEqual(run_diff.shape(b"*2\r\n$2\r\n17\r\n$1\r\n5\r\n"), "*[$,$]")
        self.assertEqual(run_diff.shape(b"$-1\r\n"), "$-1")
        self.assertEqual(run_diff.shape(b"-WRONGTYPE x\r\n"), "-WRONGTYPE")
        self.assertEqual(run_diff.shape(b"-ERR\r\n"), "-ERR")
        self.assertEqual(run_diff.shape("<closed>"), "<closed>")


if __name__ == "__main__":
    unittest.main()
