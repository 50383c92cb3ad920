//! Goroutine labels (`runtime::with_labels`, as Go's `pprof.Do`) and the goroutine
//! profile (`runtime::goroutine_profile`, folded stacks).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use goru::chan;
use goru::runtime::{goroutine_profile, labels, with_labels};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        goru::time::sleep(Duration::from_millis(1));
    }
}

#[test]
fn labels_nest_restore_and_pass_to_spawned_goroutines() {
    goru::run(|| {
        assert!(labels().is_empty());
        let (release, rx) = chan::bounded::<()>(0);
        let child = with_labels(&[("tenant", "acme"), ("request", "7")], || {
            assert_eq!(labels(), pairs(&[("request", "7"), ("tenant", "acme")]));
            let inner = with_labels(&[("request", "8"), ("phase", "read")], || {
                assert_eq!(
                    labels(),
                    pairs(&[("phase", "read"), ("request", "8"), ("tenant", "acme")])
                );
                labels()
            });
            assert_eq!(labels(), pairs(&[("request", "7"), ("tenant", "acme")]));
            assert_eq!(inner.len(), 3);
            // Spawned under the labels, it keeps them after the scope has ended.
            goru::go(move || {
                let _ = rx.recv();
                labels()
            })
        });
        assert!(labels().is_empty(), "restored when the scope ended");
        wait_until("the child parks", || goru::runtime::metrics().parked >= 1);
        let dump = goru::runtime::dump();
        let block = dump
            .split("\n\n")
            .find(|b| b.starts_with(&format!("goroutine {} [", child.id())))
            .unwrap_or_else(|| panic!("{dump}"));
        assert!(
            block.contains("\n    labels: request=7 tenant=acme\n"),
            "{block}"
        );
        let main_block = dump.split("\n\n").next().unwrap();
        assert!(!main_block.contains("labels:"), "{main_block}");
        drop(release);
        assert_eq!(
            child.join().unwrap(),
            pairs(&[("request", "7"), ("tenant", "acme")])
        );
    });
}

#[test]
fn a_panic_inside_the_scope_restores_the_labels() {
    goru::run(|| {
        with_labels(&[("outer", "1")], || {
            let caught = std::panic::catch_unwind(|| {
                with_labels(&[("inner", "2")], || panic!("in the scope"));
            });
            assert!(caught.is_err());
            assert_eq!(labels(), pairs(&[("outer", "1")]));
        });
        assert!(labels().is_empty());
    });
}

#[test]
fn on_a_plain_thread_the_closure_just_runs() {
    assert_eq!(with_labels(&[("k", "v")], || 5), 5);
    assert!(labels().is_empty());
    assert_eq!(goroutine_profile(), "");
}

/// The profile's lines as (frames, count); each line must be `frames count`.
fn parse_folded(profile: &str) -> Vec<(Vec<String>, usize)> {
    profile
        .lines()
        .map(|line| {
            let (stack, count) = line.rsplit_once(' ').expect("`frames count`");
            let frames = stack.split(';').map(str::to_string).collect();
            (frames, count.parse().expect("a count"))
        })
        .collect()
}

#[inline(never)]
fn park_forever_at_site_a(rx: chan::Receiver<()>) {
    let _ = rx.recv();
}

#[test]
fn the_profile_groups_a_thousand_goroutines_by_site_labels_and_state() {
    goru::run(|| {
        let (release, rx) = chan::bounded::<()>(0);
        let mut handles = Vec::new();
        for _ in 0..700 {
            let rx = rx.clone();
            handles.push(goru::go(move || park_forever_at_site_a(rx)));
        }
        for i in 0..300 {
            let tenant = if i % 3 == 0 { "a;b" } else { "plain" };
            // Left asleep when main returns (the runtime abandons them, as Go does).
            with_labels(&[("tenant", tenant)], || {
                goru::go(|| goru::time::sleep(Duration::from_secs(30)))
            });
        }
        wait_until("all 1000 park", || goru::runtime::metrics().parked >= 1000);
        let profile = goroutine_profile();
        let lines = parse_folded(&profile);
        let by_stack: HashMap<String, usize> = lines
            .iter()
            .map(|(frames, n)| (frames.join(";"), *n))
            .collect();
        let site = |line: u32| format!("spawned at tests/labels_profile.rs:{line}");
        let find = |pred: &dyn Fn(&str) -> bool| -> usize {
            by_stack
                .iter()
                .filter(|(s, _)| pred(s))
                .map(|(_, n)| *n)
                .sum()
        };
        let recv_site = site(line_of("park_forever_at_site_a(rx)"));
        assert_eq!(
            find(&|s| s.starts_with(&recv_site) && s.ends_with(";[chan receive]")),
            700,
            "{profile}"
        );
        // A `;` in a label value cannot split the frame.
        assert_eq!(
            find(&|s| s.ends_with(";tenant=a,b;[sleep]")),
            100,
            "{profile}"
        );
        assert_eq!(
            find(&|s| s.ends_with(";tenant=plain;[sleep]")),
            200,
            "{profile}"
        );
        assert_eq!(find(&|s| s.ends_with(";[running]")), 1, "main: {profile}");
        // Every goroutine is counted once, and the biggest group comes first.
        let total: usize = lines.iter().map(|(_, n)| n).sum();
        assert_eq!(total, goru::runtime::metrics().goroutines);
        assert_eq!(lines[0].1, 700);
        assert!(lines.windows(2).all(|w| w[0].1 >= w[1].1));
        drop(release);
        for h in handles {
            h.join().unwrap();
        }
    });
}

/// The line of this file on which `text` first appears.
fn line_of(text: &str) -> u32 {
    let source = include_str!("labels_profile.rs");
    let index = source
        .lines()
        .position(|l| l.contains(text) && !l.contains("line_of("))
        .expect("the text in this file");
    index as u32 + 1
}
