#!/usr/bin/env bash
# Run goru's benchmark harness against Go, may, tokio and threads, then the HTTP load
# test (scripts/load.sh).
# Installs Debian's golang-go first when `go` is missing (needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1; then
    echo "installing golang-go (Debian package) for the Go side of the benchmarks" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq golang-go
    else sudo apt-get update -qq && sudo apt-get install -y -qq golang-go; fi
fi
cargo run --release -p goru-bench -- "$@"
# The HTTP server under wrk, goru against Go's net/http (skip: BENCH_SKIP_HTTP=1).
if [ -z "${BENCH_SKIP_HTTP:-}" ]; then
    echo
    echo "## HTTP/1.1 hello world, goroutine per connection (scripts/load.sh)"
    scripts/load.sh "${LOAD_SECONDS:-10}" "${LOAD_CONNS:-100}"
fi
