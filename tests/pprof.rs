//! pprof-rs CPU profiles see into goroutines: its SIGPROF handler unwinds from the
//! goroutine's frames through the stack switch (corosensei's trampoline carries the
//! unwind info that links a goroutine stack to its worker's) down to the worker thread's
//! entry, so samples taken in goroutines carry whole stacks, as on plain threads.
//!
//! Not inside the switch itself: a sample that lands in corosensei's `switch_yield`
//! sends libgcc's unwinder (pprof's default) into memory that is not a frame, and the
//! process dies of SIGSEGV in the signal handler (gdb: `_Unwind_Backtrace` under
//! `perf_signal_handler`, interrupting `switch_yield`; 2 of 10 release runs of this
//! test, before). `goru::runtime::guard_cpu_profiler` puts a handler in front of
//! pprof's that drops those samples, so the burners here switch every few microseconds.
//! (`diag::profiler_signal`'s unit test makes the crash certain without the guard.)

use std::time::{Duration, Instant};

#[inline(never)]
fn burns_cpu_in_a_goroutine(d: Duration) -> u64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < d {
        for i in 0..100 {
            n = std::hint::black_box(n.wrapping_mul(31).wrapping_add(i));
        }
        goru::yield_now();
    }
    n
}

#[test]
fn cpu_profile_samples_unwind_through_goroutine_stacks() {
    let profiler = pprof::ProfilerGuardBuilder::default()
        .frequency(997)
        .build()
        .expect("start the profiler");
    goru::runtime::guard_cpu_profiler().expect("guard the profiler's handler");
    let rt = goru::Runtime::builder().workers(2).build().unwrap();
    rt.run(|| {
        let burners: Vec<_> = (0..4)
            .map(|_| goru::go(|| burns_cpu_in_a_goroutine(Duration::from_millis(400))))
            .collect();
        for b in burners {
            b.join().unwrap();
        }
    });
    let report = profiler.report().build().expect("the report");
    let (mut in_goroutine, mut whole) = (0, 0);
    let mut example = Vec::new();
    for (frames, count) in &report.data {
        let names: Vec<String> = frames.frames.iter().flatten().map(|s| s.name()).collect();
        if !names.iter().any(|n| n.contains("burns_cpu_in_a_goroutine")) {
            continue;
        }
        in_goroutine += count;
        // Past the goroutine's entry and the stack switch, into the worker thread.
        if names.iter().any(|n| n.contains("goru::sched::worker::")) {
            whole += count;
        }
        example = names;
    }
    // 1.6 s of CPU in the burners: even a 100 Hz profiling clock gives ~160 samples.
    assert!(
        in_goroutine >= 10,
        "{in_goroutine} samples in the goroutines"
    );
    assert_eq!(
        whole, in_goroutine,
        "a sample stopped at the stack switch: {example:#?}"
    );
}
