#!/usr/bin/env bash
# Smoke test with redis-cli: what a user types in a shell, with exact expected outputs.
#
#   bash test/e2e/smoke_cli.sh ./redis-server
#
# Starts the server on a free port in a temp dir and stops it at the end (whatever happens).
# Runs as well against /usr/bin/redis-server, which is how the expectations were checked.
set -euo pipefail

BIN="${1:?usage: smoke_cli.sh <server-binary>}"
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
CLI="${REDIS_CLI:-redis-cli}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rd-smoke.XXXXXX")"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
SERVER_PID=""

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    "$CLI" -p "$PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "$SERVER_PID" ]; then wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=""
}
cleanup() {
  local rc=$?
  stop_server
  if [ $rc -ne 0 ] && [ -f "$WORK/server.log" ]; then
    echo "---- server log (tail) ----"
    tail -n 30 "$WORK/server.log"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

checks=0
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
  checks=$((checks + 1))
  if [ "$2" != "$3" ]; then
    printf 'FAIL: %s\n  expected: %q\n  actual:   %q\n' "$1" "$2" "$3" >&2
    exit 1
  fi
}
cli() { "$CLI" -p "$PORT" "$@"; }

# ---- start -------------------------------------------------------------------------------
(cd "$WORK" && exec "$BIN" --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
  >"$WORK/server.log" 2>&1) &
SERVER_PID=$!
# Sanitizer builds can take a while to start: wait up to 60 s for PING.
for i in $(seq 600); do
  if [ "$(cli PING 2>/dev/null || true)" = "PONG" ]; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited during startup"
  [ "$i" = 600 ] && fail "server did not answer PING within 60 s"
  sleep 0.1
done
echo "server up on port $PORT"

# ---- basic string commands -----------------------------------------------------------------
expect_eq "SET"                 "OK"     "$(cli SET greeting 'hello world')"
expect_eq "GET"                 "hello world" "$(cli GET greeting)"
expect_eq "GET missing"         ""       "$(cli GET nosuchkey)"
expect_eq "EXISTS"              "1"      "$(cli EXISTS greeting)"
expect_eq "INCR new"            "1"      "$(cli INCR counter)"
expect_eq "INCR"                "2"      "$(cli INCR counter)"
expect_eq "INCRBY"              "42"     "$(cli INCRBY counter 40)"
expect_eq "DECR"                "41"     "$(cli DECR counter)"
expect_eq "INCR non-number"     "ERR value is not an integer or out of range" "$(cli INCR greeting 2>&1)"
expect_eq "APPEND"              "16"     "$(cli APPEND greeting '!!!!!')"
expect_eq "STRLEN"              "16"     "$(cli STRLEN greeting)"
expect_eq "TTL no expire"       "-1"     "$(cli TTL greeting)"
expect_eq "TTL missing"         "-2"     "$(cli TTL nosuchkey)"
expect_eq "EXPIRE"              "1"      "$(cli EXPIRE greeting 100)"
expect_eq "TTL"                 "100"    "$(cli TTL greeting)"
expect_eq "PERSIST"             "1"      "$(cli PERSIST greeting)"
expect_eq "TTL after PERSIST"   "-1"     "$(cli TTL greeting)"
expect_eq "SET EX"              "OK"     "$(cli SET shortlived v PX 150)"
sleep 0.4
expect_eq "expired key"         "0"      "$(cli EXISTS shortlived)"
expect_eq "MSET"                "OK"     "$(cli MSET a 1 b 2 c 3)"
expect_eq "MGET"                $'1\n2\n\n3' "$(cli MGET a b nosuchkey c)"
expect_eq "DEL"                 "3"      "$(cli DEL a b c nosuchkey)"
expect_eq "TYPE"                "string" "$(cli TYPE counter)"
expect_eq "unknown command"     "ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' " \
  "$(cli NOSUCHCMD x 2>&1)"
expect_eq "wrong arity"         "ERR wrong number of arguments for 'get' command" "$(cli GET 2>&1)"
expect_eq "SELECT db 3 (-n)"    "OK"     "$(cli -n 3 SET indb3 yes)"
expect_eq "key in db 3"         "yes"    "$(cli -n 3 GET indb3)"
expect_eq "not in db 0"         "0"      "$(cli EXISTS indb3)"
expect_eq "-r repeats"          $'1\n2\n3' "$(cli -r 3 INCR repeated)"
expect_eq "commands from stdin" $'OK\n11' "$(printf 'SET fromstdin 10\nINCR fromstdin\n' | cli)"
expect_eq "version in INFO"     "redis_version:7.0.15" \
  "$(cli INFO server | tr -d '\r' | grep '^redis_version:')"
expect_eq "quoted arguments"    "OK"     "$(cli SET 'key with spaces' $'line1\nline2')"
expect_eq "--raw multi-line"    $'line1\nline2' "$(cli --raw GET 'key with spaces')"
expect_eq "non-raw escaping"    '"line1\nline2"' "$(cli --no-raw GET 'key with spaces')"
expect_eq "FLUSHDB"             "OK"     "$(cli FLUSHDB)"
expect_eq "DBSIZE after flush"  "0"      "$(cli DBSIZE)"

# ---- mass insertion with --pipe ------------------------------------------------------------
N=20000
python3 - "$N" >"$WORK/mass.resp" <<'EOF'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
for i in range(n):
    key = b"key:%d" % i
    val = b"value:%d" % (i * 7)
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(val), val))
out.write(b"*3\r\n$6\r\nINCRBY\r\n$4\r\npipe\r\n$3\r\n100\r\n")
EOF
pipe_out="$(cli --pipe <"$WORK/mass.resp" 2>&1)"
expect_eq "--pipe summary" "errors: 0, replies: $((N + 1))" "$(printf '%s\n' "$pipe_out" | tail -n 1)"
expect_eq "DBSIZE after --pipe" "$((N + 1))" "$(cli DBSIZE)"
expect_eq "GET after --pipe"    "value:$((12345 * 7))" "$(cli GET key:12345)"
expect_eq "INCRBY after --pipe" "100" "$(cli GET pipe)"

# ---- --scan --------------------------------------------------------------------------------
expect_eq "--scan all"  "$((N + 1))" "$(cli --scan | wc -l | tr -d ' ')"
seq 0 $((N - 1)) | sed 's/^/key:/' | sort >"$WORK/expected_keys"
cli --scan --pattern 'key:*' | sort >"$WORK/scanned_keys"
cmp -s "$WORK/expected_keys" "$WORK/scanned_keys" || fail "--scan --pattern 'key:*' did not return every key exactly once"
checks=$((checks + 1))
expect_eq "--scan key:1234?" "$(printf 'key:1234%d\n' 0 1 2 3 4 5 6 7 8 9)" \
  "$(cli --scan --pattern 'key:1234?' | sort)"
expect_eq "KEYS pattern"   "$(printf 'key:1999%d\n' 0 1 2 3 4 5 6 7 8 9)" "$(cli KEYS 'key:1999?' | sort)"

# ---- 1 MB binary value with -x -------------------------------------------------------------
head -c 1048576 /dev/urandom >"$WORK/blob"
# Make sure the awkward bytes are in there whatever urandom gave.
printf '\0\r\n\0\r\n"\x27\\' | dd of="$WORK/blob" bs=1 seek=1000 conv=notrunc status=none
expect_eq "SET -x (1 MB)"  "OK"      "$(cli -x SET blob <"$WORK/blob")"
expect_eq "STRLEN blob"    "1048576" "$(cli STRLEN blob)"
# redis-cli --raw prints the value followed by one newline.
cli --raw GET blob >"$WORK/blob.out"
expect_eq "GET size"       "1048577" "$(stat -c %s "$WORK/blob.out")"
head -c 1048576 "$WORK/blob.out" | cmp - "$WORK/blob" || fail "1 MB value did not round-trip byte-exactly"
checks=$((checks + 1))
expect_eq "GETRANGE binary" "$(dd if="$WORK/blob" bs=1 skip=1000 count=9 status=none | od -An -tx1)" \
  "$(cli --raw GETRANGE blob 1000 1008 | head -c 9 | od -An -tx1)"
# A second value appended to it, read back the same way.
expect_eq "APPEND -x"      "2097152" "$(cli -x APPEND blob <"$WORK/blob")"
cli --raw GET blob >"$WORK/blob2.out"
cat "$WORK/blob" "$WORK/blob" | cmp - <(head -c 2097152 "$WORK/blob2.out") || fail "2 MB appended value differs"
checks=$((checks + 1))

# ---- raw socket: inline commands -----------------------------------------------------------
# One connection, inline commands pipelined in one write; replies read back line by line.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'PING\r\nSET inline "a b"\r\nGET inline\r\nECHO \x27single quoted\x27\r\n\r\nINCR inlinectr\r\nping hi\r\n' >&3
expect_eq "inline PING"  $'+PONG\r'  "$(IFS= read -r l <&3; printf '%s' "$l")"
expect_eq "inline SET"   $'+OK\r'    "$(IFS= read -r l <&3; printf '%s' "$l")"
expect_eq "inline GET 1" $'$3\r'     "$(IFS= read -r l <&3; printf '%s' "$l")"
expect_eq "inline GET 2" $'a b\r'    "$(IFS= read -r l <&3; printf '%s' "$l")"
expect_eq "inline ECHO 1" $'$13\r'   "$(IFS= read -r l <&3; printf '%s' "$l")"
expect_eq "inline ECHO 2" $'single quoted\r' "$(IFS= read -r l <&3; printf '%s' "$l")"
expect_eq "inline INCR"  $':1\r'     "$(IFS= read -r l <&3; printf '%s' "$l")"
expect_eq "inline ping hi 1" $'$2\r' "$(IFS= read -r l <&3; printf '%s' "$l")"
expect_eq "inline ping hi 2" $'hi\r' "$(IFS= read -r l <&3; printf '%s' "$l")"
# A protocol error gets its reply, then the server closes the connection.
printf 'SET "unbalanced\r\n' >&3
expect_eq "unbalanced quotes" $'-ERR Protocol error: unbalanced quotes in request\r' \
  "$(IFS= read -r l <&3; printf '%s' "$l")"
expect_eq "closed after protocol error" "EOF" "$(IFS= read -r -t 5 l <&3 && printf 'data: %s' "$l" || echo EOF)"
exec 3<&- 3>&-

# The classic one-liner: a whole session through a raw socket, QUIT at the end.
reply="$(exec 4<>"/dev/tcp/127.0.0.1/$PORT"; printf 'PING\r\nQUIT\r\n' >&4; cat <&4)"
expect_eq "PING then QUIT" $'+PONG\r\n+OK\r' "$reply"
reply="$(exec 4<>"/dev/tcp/127.0.0.1/$PORT"; printf '*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nQUIT\r\n' >&4; cat <&4)"
expect_eq "RESP PING then QUIT" $'+PONG\r\n+OK\r' "$reply"

# ---- shutdown ------------------------------------------------------------------------------
cli SHUTDOWN NOSAVE >/dev/null 2>&1 || true
for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SERVER_PID" 2>/dev/null; then fail "server still running 5 s after SHUTDOWN NOSAVE"; fi
set +e
wait "$SERVER_PID"
rc=$?
set -e
SERVER_PID=""
expect_eq "exit code after SHUTDOWN NOSAVE" "0" "$rc"

echo "smoke_cli: $checks checks passed"
