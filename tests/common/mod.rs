//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Set in a child process started by [`run_in_child`].
pub const CHILD_ENV: &str = "GORU_TEST_CHILD";

/// Whether this process is a child started to run one test alone.
pub fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// Run the test `name` of the current test binary alone in a fresh process (so that
/// it can crash, or measure memory without other tests running beside it).
pub fn run_in_child(name: &str, envs: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        name,
        "--nocapture",
        "--include-ignored",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("start the child test process")
}

/// [`run_in_child`], asserting that the child test passed (its output is shown if not).
pub fn run_passing_child(name: &str, envs: &[(&str, &str)]) {
    let out = run_in_child(name, envs);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Resident memory of this process, in bytes.
pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let resident: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    resident * 4096
}

/// CPU time (user + system) this process has used so far.
pub fn process_cpu_time() -> std::time::Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // Fields after the command name (which is in parentheses): utime is the 12th.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    std::time::Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

/// The message of a caught panic (a `String` or `&str` payload).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string payload>".into()
    }
}

/// Run `main` on `rt` expecting a deadlock report; returns the report and how long it
/// took (asserted under 5 s).
pub fn deadlock_report(
    rt: &goru::Runtime,
    main: impl FnOnce() + Send + 'static,
) -> (String, std::time::Duration) {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let start = std::time::Instant::now();
    let err = catch_unwind(AssertUnwindSafe(|| rt.run(main)))
        .expect_err("run should report the deadlock");
    let elapsed = start.elapsed();
    let report = panic_message(&*err);
    assert!(
        report.starts_with("all goroutines are asleep - deadlock!"),
        "{report}"
    );
    assert!(
        elapsed < std::time::Duration::from_secs(5),
        "noticed after {elapsed:?}"
    );
    (report, elapsed)
}
