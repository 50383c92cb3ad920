//! Every program of the seed notes, run as the example binary it became, with its
//! output checked.

use std::path::PathBuf;
use std::process::Command;

/// Run `examples/<name>` (built by `cargo test` with the tests) and return stdout.
fn run_example(name: &str, args: &[&str]) -> String {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin: PathBuf = dir.join("examples").join(name);
    let out = Command::new(&bin).args(args).output().unwrap_or_else(|e| {
        panic!(
            "run {}: {e} (plain `cargo test` builds the examples; `--test seeds` alone \
                 does not: run `cargo build --examples` first)",
            bin.display()
        )
    });
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn hello_goroutines_interleaves_and_ends_with_main() {
    let out = run_example("hello_goroutines", &[]);
    for i in 0..5 {
        assert!(out.contains(&format!("main {i}\n")), "{out}");
    }
    assert!(out.contains("goroutine 0\n"), "the goroutine ran: {out}");
    assert!(!out.contains("goroutine 5"), "{out}");
}

#[test]
fn waitgroup_workers_start_and_finish_together() {
    let out = run_example("waitgroup_workers", &[]);
    for id in 1..=5 {
        assert!(out.contains(&format!("Worker : {id} -> Starting")), "{out}");
        assert!(out.contains(&format!("Worker : {id} -> Done")), "{out}");
    }
    let last_start = out.rfind("Starting").unwrap();
    let first_done = out.find("Done").unwrap();
    assert!(
        last_start < first_done,
        "all start before any is done: {out}"
    );
    let secs: f64 = out
        .split("all workers done in ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1.0..4.0).contains(&secs),
        "they slept concurrently: {secs}"
    );
}

#[test]
fn waitgroup_one_orders_the_two_lines() {
    assert_eq!(
        lines(&run_example("waitgroup_one", &[])),
        ["New routine", "Main routine"]
    );
}

#[test]
fn channel_message_is_received() {
    assert_eq!(
        run_example("channel_message", &[]),
        "Message: task finished\n"
    );
}

#[test]
fn buffered_channel_holds_and_then_blocks() {
    assert_eq!(
        lines(&run_example("buffered_channel", &[])),
        [
            "10",
            "20",
            "buffer full: 3 of 3",
            "the sender is still waiting: true",
            "received 1",
            "the fourth send went through",
            "then [2, 3, 4]"
        ]
    );
}

#[test]
fn multiply_over_a_channel_gives_24() {
    assert_eq!(run_example("multiply_channel", &[]), "24\n");
}

#[test]
fn range_ends_at_close() {
    assert_eq!(
        lines(&run_example("range_close", &[])),
        ["1", "4", "9", "16", "25", "channel closed, loop over"]
    );
}

#[test]
fn select_default_then_first_ready() {
    assert_eq!(
        lines(&run_example("select_default", &[])),
        ["No message", "Received from ch2"]
    );
}

#[test]
fn select_with_abort_receives_sends_and_stops() {
    let out = run_example("select_abort", &[]);
    assert!(out.contains("Received a = 7"), "{out}");
    assert!(out.contains("Sent b"), "{out}");
    assert!(out.trim_end().ends_with("left in out: 1"), "{out}");
    assert!(out.contains("aborted\nreceived 1, sent 1"), "{out}");
}

#[test]
fn the_mutex_counter_counts_everything() {
    let out = run_example("mutex_counter", &[]);
    assert!(out.contains("with the mutex: 1000000\n"), "{out}");
}

#[test]
fn once_runs_setup_once() {
    let out = run_example("once", &[]);
    assert_eq!(
        out.matches("Should be called only once").count(),
        1,
        "{out}"
    );
    assert_eq!(
        out.matches("This will be called as many times the goroutine is called")
            .count(),
        2
    );
    assert!(out.starts_with("Should be called only once"), "{out}");
}

#[test]
fn concurrency_and_parallelism_are_drawn() {
    let dir = std::env::temp_dir().join(format!("goru-cvp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = run_example("concurrency_parallelism", &[dir.to_str().unwrap()]);
    for name in ["Task A", "Task B"] {
        for i in 1..=3 {
            assert!(out.contains(&format!("{name} : {i}")), "{out}");
        }
    }
    assert!(out.contains("Done\n"), "{out}");
    assert!(out.contains("1 worker(s): 1 lane(s) busy"), "{out}");
    assert!(out.contains("2 worker(s): 2 lane(s) busy"), "{out}");
    for workers in [1, 2] {
        let svg = std::fs::read_to_string(dir.join(format!("goru-{workers}-worker.svg"))).unwrap();
        assert_eq!(svg.matches("<g class=\"lane\"").count(), workers);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sync_tools_each_do_their_job() {
    assert_eq!(
        lines(&run_example("sync_tools", &[])),
        [
            "Mutex + WaitGroup: balance 100",
            "RWMutex: up to 4 readers at once, then a writer set v2",
            "Once: initialised 1 time(s)",
            "Cond: woken with the condition true",
            "channel: work handed over",
            "context: stopped by the context (context deadline exceeded)"
        ]
    );
}

#[test]
fn the_deadlock_is_reported_and_then_fixed() {
    let out = run_example("deadlock", &[]);
    assert!(
        out.contains("all goroutines are asleep - deadlock!"),
        "{out}"
    );
    assert!(out.contains("goroutine 1 [chan send"), "{out}");
    assert!(out.contains("with a receiver: got 42"), "{out}");
}

#[test]
fn the_race_is_found_by_check_and_the_fix_passes() {
    let out = run_example("race_condition", &[]);
    assert!(
        out.contains("goru::check found a failing schedule"),
        "{out}"
    );
    assert!(out.contains("a deposit was lost"), "{out}");
    assert!(out.contains("GORU_CHECK_SEED="), "{out}");
    assert!(
        out.contains("fixed version: 1000 schedules explored"),
        "{out}"
    );
}

#[test]
fn scheduling_policies_side_by_side() {
    let out = run_example("scheduling_policies", &[]);
    let row = |policy: &str| {
        out.lines()
            .find(|l| l.starts_with(policy))
            .unwrap_or_else(|| panic!("no {policy} row: {out}"))
            .to_string()
    };
    assert!(row("first-come first-served")
        .contains("11.4  P1[0-8) P2[8-12) P3[12-21) P4[21-26) P5[26-28)"));
    assert!(
        row("shortest job next").contains("8.2  P1[0-8) P5[8-10) P2[10-14) P4[14-19) P3[19-28)")
    );
    assert!(row("priority").contains("10.6  P1[0-8) P2[8-12) P4[12-17) P3[17-26) P5[26-28)"));
    assert!(row("shortest remaining time")
        .contains("6.6  P1[0-1) P2[1-5) P5[5-7) P4[7-12) P1[12-19) P3[19-28)"));
    assert!(row("round robin (q=2)").contains("13.0  P1[0-2) P2[2-4) P3[4-6) P1[6-8)"));
    assert!(row("multilevel queues")
        .contains("10.0  P1[0-1) P2[1-3) P4[3-5) P2[5-7) P4[7-10) P1[10-17)"));
}

#[cfg(feature = "http")]
#[test]
fn the_crawler_fetches_every_page_once() {
    let out = run_example("crawler", &[]);
    assert!(out.contains("200 / (3 links)"), "{out}");
    assert!(out.contains("404 /missing (0 links)"), "{out}");
    assert!(out.contains("crawled 10 pages"), "{out}");
}

#[test]
fn the_pipeline_sums_odd_squares() {
    assert_eq!(
        lines(&run_example("pipeline", &[])),
        [
            "sum of the odd squares of 1..=10: 165",
            "sum of the odd squares of 1..=1000: 166666500"
        ]
    );
}

#[test]
fn the_worker_pool_returns_every_result() {
    let out = run_example("worker_pool", &[]);
    for j in 1..=9 {
        assert!(
            out.contains(&format!("job {j} -> {} (worker", j * 2)),
            "{out}"
        );
    }
    assert!(out.contains("9 results from"), "{out}");
}

#[test]
fn echo_server_demo() {
    let out = run_example("echo_server", &["--demo"]);
    assert_eq!(out.matches("echoed: hello from client").count(), 3, "{out}");
}

#[cfg(all(feature = "http", feature = "tls"))]
#[test]
fn the_tour_runs_every_stop() {
    let out = run_example("tour", &[]);
    for stop in 1..=23 {
        assert!(
            out.contains(&format!("\n== {stop}. ")),
            "stop {stop} missing:\n{out}"
        );
    }
    assert!(
        out.contains("all goroutines are asleep - deadlock!"),
        "{out}"
    );
    assert!(
        out.contains("goru::check found a failing schedule"),
        "{out}"
    );
    assert!(
        out.contains("crawled") || out.contains("404 /missing"),
        "{out}"
    );
    assert!(out.contains("over HTTP/1.1"), "the https stop: {out}");
    assert!(out.trim_end().ends_with("End of the tour."), "{out}");
}

#[test]
fn the_unix_chat_demo_broadcasts_each_line_to_the_others() {
    let out = run_example("unix_chat", &["--demo"]);
    let lines = lines(&out);
    assert_eq!(lines.len(), 6, "{out}");
    for (client, ordinal) in [(2, "first"), (3, "second"), (4, "third")] {
        let said = format!("client {client}: hello from the {ordinal} client");
        let hearers: Vec<_> = lines.iter().filter(|l| l.ends_with(&said)).collect();
        assert_eq!(hearers.len(), 2, "both others heard {said:?}: {out}");
        assert!(
            !hearers
                .iter()
                .any(|l| l.starts_with(&format!("client {client} heard"))),
            "not echoed back"
        );
    }
}

#[test]
fn parallel_xargs_counts_every_file_with_a_process_each() {
    let dir = std::env::temp_dir().join(format!("goru-xargs-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("deep/er")).unwrap();
    let mut expected = 0;
    for i in 0..30 {
        let sub = ["", "deep", "deep/er"][i % 3];
        std::fs::write(dir.join(sub).join(format!("f{i}.txt")), "line\n".repeat(i)).unwrap();
        expected += i;
    }
    let out = run_example("parallel_xargs", &[dir.to_str().unwrap(), "4"]);
    std::fs::remove_dir_all(&dir).unwrap();
    let last = lines(&out).last().copied().unwrap_or_default();
    assert_eq!(
        last.split_whitespace().next(),
        Some(expected.to_string().as_str()),
        "{out}"
    );
    assert!(last.contains("(30 files, 4 at a time)"), "{out}");
}
