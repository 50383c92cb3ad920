#!/usr/bin/env bash
# Run goru's benchmark harness against Go, may, tokio and threads.
# Installs Debian's golang-go first when `go` is missing (needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1; then
    echo "installing golang-go (Debian package) for the Go side of the benchmarks" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq golang-go
    else sudo apt-get update -qq && sudo apt-get install -y -qq golang-go; fi
fi
exec cargo run --release -p goru-bench -- "$@"
