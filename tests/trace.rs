//! Traces: recorded events, Chrome JSON, the SVG timeline, GORU_TRACE.
//! One test function: a trace records every runtime of the process.

mod common;

use std::time::{Duration, Instant};

use goru::chan;

#[allow(dead_code)]
#[path = "../examples/trace_svg.rs"]
mod trace_svg;

fn runtime(workers: usize) -> goru::Runtime {
    goru::Runtime::builder().workers(workers).build().unwrap()
}

/// Two goroutines that each compute for a while, yielding now and then.
fn two_busy_goroutines() {
    let work = || {
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(30) {
            std::hint::black_box((0..1000).sum::<u64>());
            goru::yield_now();
        }
    };
    let a = goru::go(work);
    let b = goru::go(work);
    a.join().unwrap();
    b.join().unwrap();
}

#[test]
fn traces_record_events_and_render() {
    if common::is_child() {
        // GORU_TRACE set by the parent: run a small program and let `run` write it.
        runtime(2).run(|| goru::go(|| 1).join().unwrap());
        return;
    }

    // A ping-pong of known shape.
    goru::trace::start();
    assert!(goru::trace::is_recording());
    runtime(2).run(|| {
        let (ping_tx, ping_rx) = chan::bounded::<u32>(0);
        let (pong_tx, pong_rx) = chan::bounded::<u32>(0);
        let echo = goru::go(move || {
            for v in &ping_rx {
                pong_tx.send(v + 1).unwrap();
            }
        });
        for i in 0..10 {
            ping_tx.send(i).unwrap();
            assert_eq!(pong_rx.recv().unwrap(), i + 1);
        }
        drop(ping_tx);
        echo.join().unwrap();
    });
    let trace = goru::trace::stop();
    assert!(!goru::trace::is_recording());
    let spans = trace.spans();
    assert!(spans.iter().any(|s| s.goroutine == 1 && s.end == "exit"));
    assert!(spans.iter().any(|s| s.goroutine == 2 && s.end == "exit"));
    let parks = spans
        .iter()
        .filter(|s| s.goroutine == 2 && s.end.starts_with("park: chan "))
        .count();
    assert!(
        parks >= 1,
        "the echo goroutine parks on its channels: {spans:?}"
    );
    assert!(spans.windows(2).all(|w| w[0].start_us <= w[1].start_us));

    let json = trace.to_json();
    let doc: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let events = doc["traceEvents"].as_array().unwrap();
    let names: Vec<&str> = events.iter().filter_map(|e| e["name"].as_str()).collect();
    assert!(names.contains(&"create goroutine 2"), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("unpark goroutine ")));
    assert!(names.contains(&"thread_name"));
    let parsed = trace_svg::spans_from_json(&json).unwrap();
    assert_eq!(
        parsed.len(),
        spans.len(),
        "the SVG command reads back every span"
    );

    // Labels: set, inherited at a spawn, and restored, each an event of its goroutine.
    goru::trace::start();
    let child = runtime(2).run(|| {
        goru::runtime::with_labels(&[("request", "42")], || {
            let child = goru::go(|| goru::runtime::current_id().unwrap());
            child.join().unwrap()
        })
    });
    let json = goru::trace::stop().to_json();
    let doc: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let labels: Vec<(u64, &str)> = doc["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "labels")
        .map(|e| {
            let args = &e["args"];
            (
                args["goroutine"].as_u64().unwrap(),
                args["labels"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        labels,
        [(1, "request=42"), (child, "request=42"), (1, "")],
        "{json}"
    );

    // Concurrency against parallelism: the same program on one worker and on two.
    for workers in [1, 2] {
        goru::trace::start();
        runtime(workers).run(two_busy_goroutines);
        let trace = goru::trace::stop();
        let svg = trace.to_svg(&format!("{workers} worker(s)"));
        assert!(svg.starts_with("<svg"));
        // One lane per worker. A spare worker (index `workers` and up) may add one: the
        // monitor starts a spare when a worker's thread makes no progress for 20 ms,
        // which a host that stalls this VM's vCPU can cause.
        let lanes = svg.matches("<g class=\"lane\"").count();
        let spare_lanes = (workers..workers + 64)
            .filter(|w| svg.contains(&format!("data-worker=\"{w}\"")))
            .count();
        assert_eq!(lanes - spare_lanes, workers, "one lane per worker: {svg}");
        for w in 0..workers {
            assert!(
                svg.contains(&format!("data-worker=\"{w}\"")),
                "worker {w}'s lane"
            );
        }
        assert!(svg.contains("<title>goroutine 2: "), "hover text");
    }

    // GORU_TRACE=path makes `run` write the JSON.
    let path = std::env::temp_dir().join(format!("goru-trace-{}.json", std::process::id()));
    common::run_passing_child(
        "traces_record_events_and_render",
        &[("GORU_TRACE", path.to_str().unwrap())],
    );
    let written = std::fs::read_to_string(&path).expect("GORU_TRACE file written");
    let _ = std::fs::remove_file(&path);
    let doc: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert!(doc["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["ph"] == "X" && e["args"]["end"] == "exit"));
}
