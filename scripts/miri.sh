#!/usr/bin/env bash
# The unit tests Miri can run, under Miri: those on plain threads and goru's lock-free
# pieces without a goroutine stack switch (the run queue, the spin lock, the timer
# claim, sight, the channel layout, block_on on a thread, the hosts parser). Goroutines
# themselves cannot run there: corosensei switches stacks in inline assembly, and stacks,
# the poller and signals are mmap/epoll/sigaction calls Miri does not emulate.
# Needs a nightly toolchain with the miri component (installed here when missing); not
# part of .ci/run, whose machine has the stable toolchain alone.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    rustup component add --toolchain nightly miri
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/miri}
# Isolation off: the tests read the clock and spawn threads with real sleeps.
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}"
cargo +nightly miri test -p goru --lib -- \
    park::spin park::sight sched::queue time::timers chan::core \
    future::tests diag::labels net::hosts --skip time::sleep_future
