#!/usr/bin/env bash
# Ours against real Redis 7.0, in the same run on the same machine.
#
#   bench/compare.sh <our-binary> [section...]      e.g. bench/compare.sh ./redis-server memory
#
# Sections (default: all of them, in this order): throughput memory persistence replication
# Each section is a function `section_<name>` that benchmarks both servers and prints a
# markdown fragment; docs/performance.md keeps one block per section between
# `<!-- section:NAME -->` markers, and a run replaces only the blocks of the sections it ran.
# To add a section (persistence, replication...): write section_<name>, add it to SECTIONS.
#
# Environment:
#   BENCH_ROUNDS=3      rounds per measurement (A B A B ..., median of each)
#   BENCH_SECONDS=6     target duration of one redis-benchmark run (n is calibrated on Redis)
#   BENCH_KEYS=1000000  keys loaded by the memory section
#   BENCH_REDIS=/usr/bin/redis-server
#   BENCH_NO_WRITE=1    print the results but leave docs/performance.md alone
#   BENCH_COMMIT=...    what to call the binary's version in the report (default: git HEAD)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OURS="${1:?usage: bench/compare.sh <our-binary> [section...]}"
shift
case "$OURS" in /*) ;; *) OURS="$PWD/$OURS" ;; esac
REDIS="${BENCH_REDIS:-/usr/bin/redis-server}"
ROUNDS="${BENCH_ROUNDS:-3}"
SECONDS_PER_RUN="${BENCH_SECONDS:-6}"
KEYS="${BENCH_KEYS:-1000000}"
DOC="$ROOT/docs/performance.md"
SECTIONS=(throughput memory persistence replication)

[ -x "$OURS" ] || { echo "compare.sh: $OURS is not executable" >&2; exit 2; }
[ -x "$REDIS" ] || { echo "compare.sh: $REDIS is not executable" >&2; exit 2; }
command -v redis-benchmark >/dev/null || { echo "compare.sh: redis-benchmark not found (apt install redis-tools)" >&2; exit 2; }

WANTED=("$@")
[ ${#WANTED[@]} -gt 0 ] || WANTED=("${SECTIONS[@]}")
for s in "${WANTED[@]}"; do
  declare -F "section_$s" >/dev/null 2>&1 || true   # checked after the functions are defined
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rd-bench.XXXXXX")"
declare -A PID PORT
cleanup() {
  for name in "${!PID[@]}"; do stop_server "$name"; done
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "$*" >&2; }

# ---- servers ---------------------------------------------------------------------------------

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_server NAME BINARY [OPTION...]: same options for both servers (later ones win).
start_server() {
  local name="$1" bin="$2" port
  shift 2
  port="$(free_port)"
  mkdir -p "$WORK/$name"
  (cd "$WORK/$name" && exec "$bin" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
     --dir "$WORK/$name" "$@" >"$WORK/$name/server.log" 2>&1) &
  PID[$name]=$!
  PORT[$name]=$port
  for _ in $(seq 300); do
    [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ] && return 0
    kill -0 "${PID[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  log "compare.sh: $name did not start"; cat "$WORK/$name/server.log" >&2
  exit 1
}

stop_server() {
  local name="$1" pid="${PID[$1]:-}"
  [ -n "$pid" ] || return 0
  redis-cli -p "${PORT[$name]}" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PID[$name]"
}

restart_server() {   # a clean process: memory measurements start from nothing
  local name="$1" bin="$2"
  stop_server "$name"
  start_server "$name" "$bin"
}

cli() { local name="$1"; shift; redis-cli -p "${PORT[$name]}" "$@"; }
info_field() { cli "$1" INFO "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'; }
vmrss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/${PID[$1]}/status"; }
has_command() { [ "$(cli "$1" COMMAND INFO "$2" | head -n 1)" != "" ]; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "nan" || b == "nan") print "n/a"; else printf "%.2f", a / b }'; }
fmt_int() { awk -v a="$1" 'BEGIN { if (a == "nan") print "n/a"; else printf "%.0f", a }'; }

# ---- throughput ------------------------------------------------------------------------------

# bench_rps NAME TEST N PIPELINE: requests per second of one redis-benchmark run.
bench_rps() {
  local name="$1" test="$2" n="$3" pipeline="$4" pattern
  case "$test" in
    lrange_100) pattern='LRANGE_100' ;;
    *) pattern="$(echo "$test" | tr '[:lower:]' '[:upper:]')" ;;
  esac
  timeout 300 redis-benchmark -p "${PORT[$name]}" -t "$test" -n "$n" -c 50 -P "$pipeline" -r 100000 --csv 2>/dev/null |
    tr -d '"' | awk -F, -v p="$pattern" '$1 == p || index($1, p " ") == 1 { print $2 }' | tail -n 1
}

# calibrate TEST PIPELINE: n so that one run on Redis takes about SECONDS_PER_RUN.
calibrate() {
  local test="$1" pipeline="$2" probe rps
  probe=$(( pipeline > 1 ? 400000 : 50000 ))
  [ "$test" = lrange_100 ] && probe=20000
  rps="$(bench_rps redis "$test" "$probe" "$pipeline")"
  awk -v r="${rps:-0}" -v s="$SECONDS_PER_RUN" -v p="$probe" 'BEGIN { n = r * s; if (n < p) n = p; printf "%d", n }'
}

section_throughput() {
  start_server ours "$OURS"
  start_server redis "$REDIS"
  local specs=("set 1" "get 1" "set 16" "get 16" "lpush 1" "lpop 1" "sadd 1" "hset 1" "zadd 1" "lrange_100 1")
  echo "redis-benchmark, 50 clients, random keys (-r 100000), $ROUNDS rounds alternating ours/Redis,"
  echo "median requests per second of each; n calibrated so that one run on Redis takes ~${SECONDS_PER_RUN} s."
  echo
  echo "| test | pipeline | n | ours (req/s) | Redis (req/s) | ours / Redis |"
  echo "|---|---:|---:|---:|---:|---:|"
  local spec test pipeline n round a b ma mb
  for spec in "${specs[@]}"; do
    read -r test pipeline <<<"$spec"
    local cmd="${test%%_*}"
    if ! has_command ours "$cmd"; then
      log "throughput: $test skipped (ours has no ${cmd^^})"
      echo "| ${test^^} | $pipeline | | not implemented | | |"
      continue
    fi
    n="$(calibrate "$test" "$pipeline")"
    : >"$WORK/a"; : >"$WORK/b"
    for round in $(seq "$ROUNDS"); do
      # A B in odd rounds, B A in even ones: neither server always runs on a warmer machine.
      if [ $((round % 2)) = 1 ]; then
        a="$(bench_rps ours "$test" "$n" "$pipeline")"; b="$(bench_rps redis "$test" "$n" "$pipeline")"
      else
        b="$(bench_rps redis "$test" "$n" "$pipeline")"; a="$(bench_rps ours "$test" "$n" "$pipeline")"
      fi
      echo "${a:-0}" >>"$WORK/a"; echo "${b:-0}" >>"$WORK/b"
      log "throughput: ${test} -P ${pipeline} n=${n} round ${round}: ours ${a:-?} redis ${b:-?}"
    done
    ma="$(median <"$WORK/a")"; mb="$(median <"$WORK/b")"
    echo "| ${test^^} | $pipeline | $n | $(fmt_int "$ma") | $(fmt_int "$mb") | **$(ratio "$ma" "$mb")** |"
  done
  stop_server ours
  stop_server redis
}

# ---- memory ----------------------------------------------------------------------------------

# $WORK/keys.resp: KEYS `SET key:%010d value:%d` commands for redis-cli --pipe.
make_keys_file() {
  [ -s "$WORK/keys.resp" ] && return 0
  python3 - "$KEYS" >"$WORK/keys.resp" <<'EOF'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
for i in range(n):
    k = b"key:%010d" % i
    v = b"value:%d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
EOF
}

load_keys() { cli "$1" --pipe <"$WORK/keys.resp" >"$WORK/pipe.out" 2>&1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# wait_until NAME SECONDS COMMAND...: polls until COMMAND succeeds; false at the timeout.
wait_until() {
  local name="$1" limit="$2" deadline
  shift 2
  deadline=$(awk -v n="$(now)" -v l="$limit" 'BEGIN { printf "%.3f", n + l }')
  while ! "$@" 2>/dev/null; do
    awk -v n="$(now)" -v d="$deadline" 'BEGIN { exit !(n > d) }' && { log "$name: timed out"; return 1; }
    sleep 0.02
  done
}

section_memory() {
  make_keys_file
  echo "$KEYS keys \`SET key:%010d value:%d\` loaded with \`redis-cli --pipe\` into a fresh server;"
  echo "resident memory from /proc/<pid>/status VmRSS and INFO used_memory, before and after."
  echo
  echo "| measure | ours | Redis | ours / Redis |"
  echo "|---|---:|---:|---:|"
  local name rss0 rss1 used0 used1 t0 t1
  declare -A R
  for name in ours redis; do
    if [ "$name" = ours ]; then start_server ours "$OURS"; else start_server redis "$REDIS"; fi
    sleep 0.5
    rss0="$(vmrss_kb "$name")"; used0="$(info_field "$name" memory used_memory)"
    t0=$(date +%s.%N)
    cli "$name" --pipe <"$WORK/keys.resp" >"$WORK/pipe.out" 2>&1
    t1=$(date +%s.%N)
    tail -n 1 "$WORK/pipe.out" | grep -q "errors: 0, replies: $KEYS" || { log "memory: --pipe into $name: $(tail -n 2 "$WORK/pipe.out")"; }
    sleep 1
    rss1="$(vmrss_kb "$name")"; used1="$(info_field "$name" memory used_memory)"
    R[$name.dbsize]="$(cli "$name" DBSIZE)"
    R[$name.rss]=$(( (rss1 - rss0) * 1024 ))
    R[$name.used]=$(( used1 - used0 ))
    R[$name.rss_total]=$(( rss1 * 1024 ))
    R[$name.load]="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
    log "memory: $name dbsize ${R[$name.dbsize]}, VmRSS ${rss0} -> ${rss1} kB, used_memory ${used0} -> ${used1}, load ${R[$name.load]} s"
    stop_server "$name"
  done
  local per_rss_a per_rss_b per_used_a per_used_b
  per_rss_a=$(awk -v a="${R[ours.rss]}" -v n="$KEYS" 'BEGIN { printf "%.1f", a / n }')
  per_rss_b=$(awk -v a="${R[redis.rss]}" -v n="$KEYS" 'BEGIN { printf "%.1f", a / n }')
  per_used_a=$(awk -v a="${R[ours.used]}" -v n="$KEYS" 'BEGIN { printf "%.1f", a / n }')
  per_used_b=$(awk -v a="${R[redis.used]}" -v n="$KEYS" 'BEGIN { printf "%.1f", a / n }')
  echo "| keys after load (DBSIZE) | ${R[ours.dbsize]} | ${R[redis.dbsize]} | |"
  echo "| VmRSS growth per key (bytes) | $per_rss_a | $per_rss_b | **$(ratio "$per_rss_a" "$per_rss_b")** |"
  echo "| used_memory growth per key (bytes) | $per_used_a | $per_used_b | **$(ratio "$per_used_a" "$per_used_b")** |"
  echo "| VmRSS after load (MB) | $(awk -v a="${R[ours.rss_total]}" 'BEGIN { printf "%.1f", a / 1048576 }') | $(awk -v a="${R[redis.rss_total]}" 'BEGIN { printf "%.1f", a / 1048576 }') | $(ratio "${R[ours.rss_total]}" "${R[redis.rss_total]}") |"
  echo "| load time with --pipe (s) | ${R[ours.load]} | ${R[redis.load]} | $(ratio "${R[ours.load]}" "${R[redis.load]}") |"
}

# ---- persistence -----------------------------------------------------------------------------

has_all_keys() { [ "$(cli "$1" DBSIZE 2>/dev/null)" = "$KEYS" ]; }

# SAVE and startup load of KEYS keys, and SET throughput with the AOF (everysec).
section_persistence() {
  make_keys_file
  echo "$KEYS keys as in the memory section: SAVE (blocking, timed by the client), then a"
  echo "restart on the same dir timed until DBSIZE answers $KEYS; SET throughput with"
  echo "\`appendonly yes appendfsync everysec\` (redis-benchmark -t set, 50 clients, $ROUNDS rounds)."
  echo
  echo "| measure | ours | Redis | ours / Redis |"
  echo "|---|---:|---:|---:|"
  declare -A R
  local name bin t0 t1 round n=200000
  for name in ours redis; do
    bin="$OURS"; [ "$name" = redis ] && bin="$REDIS"
    start_server "$name" "$bin"
    load_keys "$name"
    t0=$(now); cli "$name" SAVE >/dev/null; t1=$(now)
    R[$name.save]="$(elapsed "$t0" "$t1")"
    stop_server "$name"
    t0=$(now)
    start_server "$name" "$bin"
    wait_until "$name" 120 has_all_keys "$name" || true
    t1=$(now)
    R[$name.load]="$(elapsed "$t0" "$t1")"
    log "persistence: $name SAVE ${R[$name.save]} s, restart and load ${R[$name.load]} s"
    stop_server "$name"
    rm -f "$WORK/$name/dump.rdb"
  done
  : >"$WORK/a"; : >"$WORK/b"
  for name in ours redis; do
    bin="$OURS"; [ "$name" = redis ] && bin="$REDIS"
    start_server "$name" "$bin" --appendonly yes --appendfsync everysec
    for round in $(seq "$ROUNDS"); do
      if [ "$name" = ours ]; then bench_rps ours set "$n" 1 >>"$WORK/a"; else bench_rps redis set "$n" 1 >>"$WORK/b"; fi
    done
    stop_server "$name"
  done
  local ma mb
  ma="$(median <"$WORK/a")"; mb="$(median <"$WORK/b")"
  echo "| SAVE of $KEYS keys (s) | ${R[ours.save]} | ${R[redis.save]} | **$(ratio "${R[ours.save]}" "${R[redis.save]}")** |"
  echo "| restart and load (s) | ${R[ours.load]} | ${R[redis.load]} | **$(ratio "${R[ours.load]}" "${R[redis.load]}")** |"
  echo "| SET req/s, AOF everysec | $(fmt_int "$ma") | $(fmt_int "$mb") | **$(ratio "$ma" "$mb")** |"
}

# ---- replication -----------------------------------------------------------------------------

synced() { [ "$(info_field "$1" replication master_link_status)" = up ] && has_all_keys "$1"; }

# A replica's full sync of KEYS keys, and master SET throughput with two replicas attached.
section_replication() {
  make_keys_file
  echo "A master holding $KEYS keys (as in the memory section); a replica of the same"
  echo "implementation started with --replicaof, timed until its link is up with every key;"
  echo "then SET throughput on the master with two replicas attached (redis-benchmark -t set,"
  echo "50 clients, $ROUNDS rounds). Both run with their defaults: Redis 7.0 waits"
  echo "repl-diskless-sync-delay (5 s) before a diskless transfer, ours starts it at once."
  echo
  echo "| measure | ours | Redis | ours / Redis |"
  echo "|---|---:|---:|---:|"
  declare -A R
  local name bin t0 t1 round n=200000
  : >"$WORK/a"; : >"$WORK/b"
  for name in ours redis; do
    bin="$OURS"; [ "$name" = redis ] && bin="$REDIS"
    start_server "$name" "$bin"
    load_keys "$name"
    t0=$(now)
    start_server "$name-r1" "$bin" --replicaof 127.0.0.1 "${PORT[$name]}"
    wait_until "$name-r1" 300 synced "$name-r1" || true
    t1=$(now)
    R[$name.sync]="$(elapsed "$t0" "$t1")"
    start_server "$name-r2" "$bin" --replicaof 127.0.0.1 "${PORT[$name]}"
    wait_until "$name-r2" 300 synced "$name-r2" || true
    log "replication: $name full sync ${R[$name.sync]} s"
    for round in $(seq "$ROUNDS"); do
      if [ "$name" = ours ]; then bench_rps ours set "$n" 1 >>"$WORK/a"; else bench_rps redis set "$n" 1 >>"$WORK/b"; fi
    done
    stop_server "$name-r2"; stop_server "$name-r1"; stop_server "$name"
  done
  local ma mb
  ma="$(median <"$WORK/a")"; mb="$(median <"$WORK/b")"
  echo "| full sync of $KEYS keys (s) | ${R[ours.sync]} | ${R[redis.sync]} | **$(ratio "${R[ours.sync]}" "${R[redis.sync]}")** |"
  echo "| master SET req/s, 2 replicas | $(fmt_int "$ma") | $(fmt_int "$mb") | **$(ratio "$ma" "$mb")** |"
}

# ---- driver ----------------------------------------------------------------------------------

for s in "${WANTED[@]}"; do
  declare -F "section_$s" >/dev/null || { echo "compare.sh: unknown section '$s' (have: ${SECTIONS[*]})" >&2; exit 2; }
done

machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
today="$(date -u +%Y-%m-%d)"
ours_version="$("$OURS" --version 2>/dev/null | head -n 1)"
redis_version="$("$REDIS" --version 2>/dev/null | head -n 1)"
commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$ROOT" status --porcelain -- server storage protocol replication 2>/dev/null)" ]; then commit="$commit+local changes"; fi
commit="${BENCH_COMMIT:-$commit}"   # e.g. when the binary was built elsewhere

for s in "${WANTED[@]}"; do
  log "== section $s"
  {
    echo "## $s"
    echo
    echo "Measured $today on $machine (load average $(cut -d' ' -f1-3 /proc/loadavg) at the start);"
    echo "ours at commit $commit; $redis_version."
    echo
    "section_$s"
  } >"$WORK/section-$s.md"
  echo
  cat "$WORK/section-$s.md"
done

if [ "${BENCH_NO_WRITE:-0}" != 1 ]; then
  python3 - "$DOC" "$WORK" "${WANTED[@]}" <<'EOF'
import os, re, sys
doc, work, sections = sys.argv[1], sys.argv[2], sys.argv[3:]
header = """# Performance

Ours against real Redis 7.0 on the same machine in the same run, both started with
`--save '' --appendonly no`. Regenerate with `make bench` (all sections) or
`bench/compare.sh ./redis-server SECTION` (one section; the others are kept as they are).
Ratios are ours / Redis: above 1 means more requests per second (throughput) or more
memory (memory) than Redis.
"""
text = open(doc).read() if os.path.exists(doc) else header
for name in sections:
    body = open(os.path.join(work, "section-%s.md" % name)).read().rstrip("\n")
    block = "<!-- section:%s -->\n%s\n<!-- /section:%s -->" % (name, body, name)
    pattern = re.compile(r"<!-- section:%s -->.*?<!-- /section:%s -->" % (re.escape(name), re.escape(name)), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda m: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
open(doc, "w").write(text if text.endswith("\n") else text + "\n")
EOF
  log "compare.sh: updated $DOC (sections: ${WANTED[*]})"
fi
