#!/usr/bin/env python3
"""Generates docs/commands.md: every Redis 7.0 command, and whether this server has it.

    python3 test/tools/commands_doc.py > docs/commands.md          # regenerate
    python3 test/tools/commands_doc.py --check docs/commands.md    # exit 1 if out of date

Starts real Redis (/usr/bin/redis-server) and our server (./redis-server) on free ports,
reads COMMAND DOCS from Redis (the list of commands and subcommands, their group, since,
summary) and COMMAND LIST from ours (what we implement), and joins them with the hand-written
notes in docs/command_notes.txt (the "Notes" column: known differences).

Notes file format: one note per line, `NAME: text`, where NAME is a command (`SET`) or a
subcommand (`CONFIG GET` or `config|get`), case-insensitive. Several lines for one name are
joined. `#` starts a comment line. A name that matches no Redis command is reported on
stderr (and fails --check), so notes cannot silently rot.

The output is deterministic (no dates, sorted), so regenerating it gives a clean diff.
"""

import argparse
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "lib"))
import resp  # noqa: E402
from servers import Server  # noqa: E402

GROUP_ORDER = ["string", "bitmap", "generic", "list", "hash", "set", "sorted-set", "hyperloglog",
               "geo", "stream", "pubsub", "transactions", "scripting", "connection", "server",
               "cluster", "sentinel"]
GROUP_TITLES = {
    "string": "Strings", "bitmap": "Bitmaps", "generic": "Keys (generic)", "list": "Lists",
    "hash": "Hashes", "set": "Sets", "sorted-set": "Sorted sets", "hyperloglog": "HyperLogLog",
    "geo": "Geospatial", "stream": "Streams", "pubsub": "Pub/Sub", "transactions": "Transactions",
    "scripting": "Scripting and functions", "connection": "Connection", "server": "Server",
    "cluster": "Cluster", "sentinel": "Sentinel",
}


def pairs_to_dict(value):
    """A RESP2 flat [k1, v1, k2, v2...] array (or a RESP3 map) as a dict with str keys."""
    if isinstance(value, resp.Map):
        items = list(value)
    else:
        items = list(zip(value[0::2], value[1::2]))
    out = {}
    for k, v in items:
        out[k.decode() if isinstance(k, bytes) else str(k)] = v
    return out


def text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def redis_commands(srv):
    """{name: {group, since, summary, deprecated, subcommands: {name: {...}}}} from COMMAND DOCS."""
    with srv.connect(timeout=30) as c:
        docs = pairs_to_dict(resp.decode(c.call("COMMAND", "DOCS", timeout=30)))

    def convert(name, raw):
        d = pairs_to_dict(raw)
        flags = [text(f) for f in d.get("doc_flags", [])]
        entry = {
            "name": name,
            "group": text(d.get("group")),
            "since": text(d.get("since")),
            "summary": text(d.get("summary")),
            "deprecated": "deprecated" in flags,
            "replaced_by": text(d.get("replaced_by")),
            "subcommands": {},
        }
        for sub_name, sub_raw in pairs_to_dict(d.get("subcommands", [])).items():
            entry["subcommands"][sub_name.lower()] = convert(sub_name.lower(), sub_raw)
        return entry

    return {name.lower(): convert(name.lower(), raw) for name, raw in docs.items()}


def our_commands(srv):
    with srv.connect(timeout=30) as c:
        return {text(n).lower() for n in resp.decode(c.call("COMMAND", "LIST", timeout=30))}


def read_notes(path):
    notes = {}
    if not os.path.exists(path):
        return notes
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if ":" not in line:
                raise SystemExit("%s:%d: expected 'NAME: note'" % (path, lineno))
            name, note = line.split(":", 1)
            key = "|".join(name.strip().lower().split()) if "|" not in name else name.strip().lower()
            notes.setdefault(key, []).append(note.strip())
    return {k: (v if k == "*" else " ".join(v)) for k, v in notes.items()}


def md_escape(s):
    return s.replace("|", "\\|").replace("\n", " ")


def display_name(full):
    return " ".join(part.upper() for part in full.split("|"))


def generate(redis_cmds, ours, notes, redis_version):
    rows_by_group = {}
    known = set()
    for name, entry in redis_cmds.items():
        group = entry["group"]
        known.add(name)
        rows_by_group.setdefault(group, []).append((name, entry))
        for sub_name, sub in entry["subcommands"].items():
            known.add(sub_name)
            rows_by_group.setdefault(group, []).append((sub_name, sub))

    def status(name, entry):
        if name in ours:
            return "implemented"
        # A container command (CONFIG, CLIENT...) counts as implemented if any subcommand is.
        if entry["subcommands"] and any(s in ours for s in entry["subcommands"]):
            return "implemented"
        return "not implemented"

    total = sum(len(v) for v in rows_by_group.values())
    done = sum(1 for rows in rows_by_group.values() for n, e in rows if status(n, e) == "implemented")
    top_total = len(redis_cmds)
    top_done = sum(1 for n, e in redis_cmds.items() if status(n, e) == "implemented")

    out = []
    out.append("# Commands")
    out.append("")
    out.append("Every command of Redis %s (from its `COMMAND DOCS`), with subcommands, and whether this "
               "server implements it (from our `COMMAND LIST`). **Generated** by "
               "`python3 test/tools/commands_doc.py > docs/commands.md` (or `make commands-doc`) from both "
               "servers; the Notes column comes from [`command_notes.txt`](command_notes.txt), which is "
               "hand-written: edit that file, not this one." % redis_version)
    out.append("")
    out.append("Implemented: **%d of %d commands** (%d of %d counting subcommands)."
               % (top_done, top_total, done, total))
    out.append("")
    groups = [g for g in GROUP_ORDER if g in rows_by_group] + sorted(g for g in rows_by_group if g not in GROUP_ORDER)
    out.append("| group | implemented | of |")
    out.append("|---|---:|---:|")
    for g in groups:
        tops = [(n, e) for n, e in rows_by_group[g] if "|" not in n]
        out.append("| [%s](#%s) | %d | %d |" % (
            GROUP_TITLES.get(g, g), GROUP_TITLES.get(g, g).lower().replace(" ", "-").replace("(", "").replace(")", "").replace("/", ""),
            sum(1 for n, e in tops if status(n, e) == "implemented"), len(tops)))
    out.append("")
    for paragraph in notes.get("*", []):
        out.append(paragraph)
        out.append("")
    for g in groups:
        out.append("## %s" % GROUP_TITLES.get(g, g))
        out.append("")
        out.append("| command | since | status | notes |")
        out.append("|---|---|---|---|")
        for name, entry in sorted(rows_by_group[g], key=lambda r: r[0]):
            note = notes.get(name, "")
            if entry["deprecated"]:
                replaced = entry["replaced_by"].replace("`!", "`")
                dep = "Deprecated in Redis" + (" (use %s)." % replaced if replaced else ".")
                note = dep + (" " + note if note else "")
            st = status(name, entry)
            out.append("| `%s` | %s | %s | %s |" % (display_name(name), entry["since"],
                                                  "**implemented**" if st == "implemented" else "not implemented",
                                                  md_escape(note)))
        out.append("")
    extra = sorted(ours - known)
    if extra:
        out.append("## Not in Redis %s" % redis_version)
        out.append("")
        out.append("Commands this server has that Redis does not: %s." % ", ".join("`%s`" % display_name(n) for n in extra))
        out.append("")
    unknown_notes = sorted(k for k in notes if k != "*" and k not in known)
    return "\n".join(out), unknown_notes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", default=os.path.join(ROOT, "redis-server"))
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    ap.add_argument("--notes", default=os.path.join(ROOT, "docs", "command_notes.txt"))
    ap.add_argument("--check", metavar="FILE", help="compare with FILE instead of printing; exit 1 if it differs")
    args = ap.parse_args()

    with Server(args.redis, name="redis", start_timeout=30) as real, \
            Server(os.path.abspath(args.ours), name="ours", start_timeout=60) as mine:
        redis_cmds = redis_commands(real)
        ours = our_commands(mine)
        with real.connect() as c:
            info = resp.decode(c.call("INFO", "server")).decode()
        version = next((ln.split(":", 1)[1] for ln in info.split("\r\n") if ln.startswith("redis_version:")), "7.0")

    notes = read_notes(args.notes)
    doc, unknown_notes = generate(redis_cmds, ours, notes, version)
    doc += "\n"
    for k in unknown_notes:
        print("commands_doc: note for unknown command %r in %s" % (k, args.notes), file=sys.stderr)
    if args.check:
        try:
            with open(args.check, encoding="utf-8") as f:
                current = f.read()
        except OSError:
            current = ""
        if current != doc or unknown_notes:
            print("commands_doc: %s is out of date: regenerate it with `make commands-doc` "
                  "(python3 test/tools/commands_doc.py > %s)" % (args.check, args.check), file=sys.stderr)
            import difflib
            diff = difflib.unified_diff(current.splitlines(), doc.splitlines(), args.check, "generated", lineterm="", n=0)
            for i, line in enumerate(diff):
                if i >= 40:
                    print("...", file=sys.stderr)
                    break
                print(line, file=sys.stderr)
            sys.exit(1)
        print("commands_doc: %s is up to date" % args.check)
        return
    sys.stdout.write(doc)


if __name__ == "__main__":
    main()
