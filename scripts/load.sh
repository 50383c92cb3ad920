#!/usr/bin/env bash
# HTTP hello world under wrk: goru::http::serve (examples/http_server.rs) against the
# same server in Go's net/http (bench/go/httpserver) and in tokio + hyper (the same
# hyper, bench/src/bin/hyper_tokio_server.rs), side by side with the same settings:
# plain HTTP/1.1 keep-alive, then HTTPS (goru + rustls, Go crypto/tls, tokio-rustls),
# each at several connection counts.
#
#   scripts/load.sh [duration-seconds] [connection counts...]   # default: 10 100 1000
#
# A loaded 2-core machine varies by 10-20% between identical runs, so each cell is run
# LOAD_REPS times (default 3), the three servers taking turns, and the median is shown.
# Installs Debian's wrk, golang-go and openssl when missing (needs root or sudo). Every
# server gets the same number of worker threads (LOAD_PROCS, default 2: GORU_MAXPROCS,
# GOMAXPROCS, tokio's worker_threads). LOAD_SCHEMES="http" skips the HTTPS rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
shift || true
if [ $# -gt 0 ]; then CONN_COUNTS=("$@"); else CONN_COUNTS=(100 1000); fi
PROCS=${LOAD_PROCS:-2}
REPS=${LOAD_REPS:-3}
THREADS=${LOAD_WRK_THREADS:-2}
export LOAD_PROCS=$PROCS

install() {
    echo "installing $* (Debian packages)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$@"
    else sudo apt-get update -qq && sudo apt-get install -y -qq "$@"; fi
}
command -v wrk >/dev/null 2>&1 || install wrk
command -v go >/dev/null 2>&1 || install golang-go
command -v openssl >/dev/null 2>&1 || install openssl

cargo build --release --all-features --example http_server -q
cargo build --release -p goru-bench --bin hyper_tokio_server -q
mkdir -p bench/go/bin
(cd bench/go && go build -o bin/httpserver ./httpserver)

TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT
# A self-signed certificate for the HTTPS rounds (ECDSA P-256, as is usual today).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null

# wrk opens every connection at once: let the kernel queue them all.
ulimit -n 65536 2>/dev/null || true

wait_up() {
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "server on $1 did not come up" >&2
    return 1
}

# once NAME SCHEME CONNS ADDR CMD...: start the server, load it, keep wrk's report.
once() {
    local name=$1 scheme=$2 conns=$3 addr=$4 rep=$5
    shift 5
    "$@" >/dev/null 2>&1 &
    local pid=$!
    wait_up "$addr"
    wrk -t1 -c10 -d1s "$scheme://$addr/" >/dev/null # warm up
    wrk -t"$THREADS" -c"$conns" -d"${DURATION}s" --latency "$scheme://$addr/" \
        >"$TMP/$scheme-$name-$conns.$rep"
    kill "$pid" && wait "$pid" 2>/dev/null || true
}

# median FILES...: the median requests/s of wrk reports, and that run's p50 and p99.
median() {
    for f in "$@"; do
        printf '%s %s %s %s\n' "$(awk '/Requests\/sec/ {print $2}' "$f")" \
            "$(awk '$1 == "50%" {print $2}' "$f")" "$(awk '$1 == "99%" {print $2}' "$f")" \
            "$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' "$f")"
    done | sort -n | awk -v n=$# 'NR == int((n + 1) / 2)'
}

echo "wrk -t$THREADS -d${DURATION}s, servers on $PROCS worker threads, $(nproc) cores," \
    "median of $REPS rounds (servers taking turns)"
printf '%-7s %-6s %6s %12s %10s %10s\n' scheme server conns "req/s" p50 p99
for scheme in ${LOAD_SCHEMES:-http https}; do
    tls=()
    if [ "$scheme" = https ]; then tls=("$TMP/cert.pem" "$TMP/key.pem"); fi
    for conns in "${CONN_COUNTS[@]}"; do
        for rep in $(seq 1 "$REPS"); do
            GORU_MAXPROCS=$PROCS once goru "$scheme" "$conns" 127.0.0.1:18080 "$rep" \
                target/release/examples/http_server 127.0.0.1:18080 "${tls[@]}"
            GOMAXPROCS=$PROCS once go "$scheme" "$conns" 127.0.0.1:18081 "$rep" \
                bench/go/bin/httpserver 127.0.0.1:18081 "${tls[@]}"
            once tokio "$scheme" "$conns" 127.0.0.1:18082 "$rep" \
                target/release/hyper_tokio_server 127.0.0.1:18082 "${tls[@]}"
        done
        for name in goru go tokio; do
            read -r rps p50 p99 errors < <(median "$TMP/$scheme-$name-$conns".*)
            printf '%-7s %-6s %6s %12s %10s %10s  %s\n' "$scheme" "$name" "$conns" "$rps" "$p50" "$p99" "$errors"
            echo "$rps" >"$TMP/$scheme-$name-$conns"
        done
    done
done
echo
for scheme in ${LOAD_SCHEMES:-http https}; do
    for conns in "${CONN_COUNTS[@]}"; do
        awk -v s="$scheme" -v c="$conns" -v g="$(cat "$TMP/$scheme-goru-$conns")" \
            -v o="$(cat "$TMP/$scheme-go-$conns")" -v t="$(cat "$TMP/$scheme-tokio-$conns")" \
            'BEGIN { printf "%-5s %5d conns: goru/Go %.2f, goru/tokio+hyper %.2f (requests per second)\n", s, c, g / o, g / t }'
    done
done
