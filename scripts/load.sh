#!/usr/bin/env bash
# HTTP/1.1 keep-alive hello world under wrk: goru's examples/http_server.rs against the
# same server in Go's net/http (bench/go/httpserver), side by side, same settings.
#
#   scripts/load.sh [duration-seconds] [connections]
#
# Installs Debian's wrk and golang-go when missing (needs root or sudo). Both servers
# get the same number of worker threads (GORU_MAXPROCS / GOMAXPROCS, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-100}
PROCS=${LOAD_PROCS:-2}
THREADS=${LOAD_WRK_THREADS:-2}

install() {
    echo "installing $* (Debian packages)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$@"
    else sudo apt-get update -qq && sudo apt-get install -y -qq "$@"; fi
}
command -v wrk >/dev/null 2>&1 || install wrk
command -v go >/dev/null 2>&1 || install golang-go

cargo build --release --example http_server -q
mkdir -p bench/go/bin
(cd bench/go && go build -o bin/httpserver ./httpserver)

GORU_ADDR=127.0.0.1:18080
GO_ADDR=127.0.0.1:18081

wait_up() {
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "server on $1 did not come up" >&2
    return 1
}

# run NAME ADDR CMD...: start the server, load it, print one summary line.
run() {
    local name=$1 addr=$2
    shift 2
    "$@" "$addr" >/dev/null &
    local pid=$!
    wait_up "$addr"
    wrk -t1 -c10 -d1s "http://$addr/" >/dev/null # warm up
    local out
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "http://$addr/")
    kill "$pid" && wait "$pid" 2>/dev/null || true
    local rps p50 p90 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p90=$(awk '$1 == "90%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
    printf '%-6s %12s %10s %10s %10s  %s\n' "$name" "$rps" "$p50" "$p90" "$p99" "$errors"
    echo "$rps" >"$TMP/$name"
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "wrk -t$THREADS -c$CONNS -d${DURATION}s, servers on $PROCS worker threads, $(nproc) cores"
printf '%-6s %12s %10s %10s %10s\n' server "req/s" p50 p90 p99
GORU_MAXPROCS=$PROCS run goru "$GORU_ADDR" target/release/examples/http_server
GOMAXPROCS=$PROCS run go "$GO_ADDR" bench/go/bin/httpserver
awk -v g="$(cat "$TMP/goru")" -v o="$(cat "$TMP/go")" \
    'BEGIN { printf "goru / Go requests per second: %.2f\n", g / o }'
