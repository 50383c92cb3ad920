#!/usr/bin/env bash
# Loom model checks of goru's lock-free protocols: the run queue, the goroutine state
# word and park token, the Selection claim, the timer claim (models/, whose lib.rs
# lists them). Each model compiles goru's own file with loom's atomics.
#   scripts/loom.sh                          # what CI runs: at most 3 preemptions
#   LOOM_MAX_PREEMPTIONS= scripts/loom.sh    # exhaustive (minutes)
#   scripts/loom.sh --test run_queue         # one model
set -euo pipefail
cd "$(dirname "$0")/.."
export LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS-3}
[ -n "$LOOM_MAX_PREEMPTIONS" ] || unset LOOM_MAX_PREEMPTIONS
# A target dir of its own: `--cfg loom` would otherwise rebuild everything in target/.
RUSTFLAGS="${RUSTFLAGS:-} --cfg loom" \
    cargo test --release -p goru-models --target-dir target/loom "$@"
