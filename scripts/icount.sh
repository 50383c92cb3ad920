#!/usr/bin/env bash
# Instructions and atomic read-modify-writes per channel operation, on one worker, under
# valgrind: deterministic counts to compare builds by, where timings on a noisy machine
# cannot tell a 5% change. Installs Debian's valgrind first when it is missing.
#   scripts/icount.sh        # unbuffered ping-pong round trip, two-way select
#   GORU_FEATURES=metrics,tracing scripts/icount.sh   # the same with goru's features on
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null 2>&1; then
    echo "installing valgrind (Debian package)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq valgrind
    else sudo apt-get update -qq && sudo apt-get install -y -qq valgrind; fi
fi
features=${GORU_FEATURES:-}
target=target
if [ -n "$features" ]; then
    # A target dir of its own, so the default build stays what it is.
    target=target/icount-features
    echo "goru features: $features"
fi
cargo build --release -p goru-bench --target-dir "$target" \
    ${features:+--features "$(echo "$features" | sed 's/[^,]*/goru\/&/g')"}
bin=$target/release/goru-bench
out=$(mktemp -d)
measure() { # workload, operations in one rep
    BENCH_WORKERS=1 BENCH_REPS=1 GORU_BENCH_CHILD="$1"$'\tgoru' \
        valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$out/cg" "$bin" \
        2>&1 >/dev/null | awk -v ops="$2" -v w="$1" \
        '/refs:/ {gsub(",", "", $4); printf "%s: %.1f instructions per op\n", w, $4 / ops}'
    python3 scripts/atomics.py "$out/cg" "$bin" "$2"
}
measure "unbuffered ping-pong" 500000
measure "two-way select" 2000000
rm -rf "$out"
