//! Feature `tracing`: a goroutine's spans are entered when it resumes and exited when
//! it parks, so every thread's span stack stays right however goroutines migrate.
#![cfg(feature = "tracing")]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::Duration;

use goru::chan;
use tracing::span::Id;
use tracing::Span;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::Registry;

/// What the checking layer saw: each thread's stack of entered spans, enters and exits
/// per span, and every exit that was not of the span on top of its thread's stack.
#[derive(Default)]
struct Seen {
    stacks: HashMap<std::thread::ThreadId, (String, Vec<u64>)>,
    enters: HashMap<u64, usize>,
    exits: HashMap<u64, usize>,
    wrong: Vec<String>,
    /// Task spans (`runtime.spawn`) by span id: their fields and parent.
    tasks: HashMap<u64, Task>,
    /// Span ids named by `waker.wake` and `waker.wake_by_ref` events, and how often.
    wakes: HashMap<u64, usize>,
    /// Span ids named by `waker.clone` events (a park), and how often.
    wakers: HashMap<u64, usize>,
    closed: HashSet<u64>,
}

#[derive(Default, Debug)]
struct Task {
    fields: HashMap<String, String>,
    parent: Option<u64>,
}

/// Fields as text.
struct Fields<'a>(&'a mut HashMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

struct StackCheck(Arc<Mutex<Seen>>);

impl<S> Layer<S> for StackCheck
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "runtime.spawn" {
            return;
        }
        let mut task = Task::default();
        attrs.record(&mut Fields(&mut task.fields));
        task.parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .map(|p| p.id().into_u64());
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.tasks.insert(id.into_u64(), task);
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "runtime::waker" {
            return;
        }
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let task: u64 = fields["task.id"].parse().unwrap();
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match fields["op"].as_str() {
            "waker.wake" | "waker.wake_by_ref" => *seen.wakes.entry(task).or_default() += 1,
            "waker.clone" => *seen.wakers.entry(task).or_default() += 1,
            op => panic!("unknown waker op {op}"),
        }
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.closed.insert(id.into_u64());
    }

    fn on_enter(&self, id: &Id, _: Context<'_, S>) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("?").to_string();
        seen.stacks
            .entry(thread.id())
            .or_insert_with(|| (name, Vec::new()))
            .1
            .push(id.into_u64());
        *seen.enters.entry(id.into_u64()).or_default() += 1;
    }

    fn on_exit(&self, id: &Id, _: Context<'_, S>) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let thread = std::thread::current();
        let stack = seen.stacks.entry(thread.id()).or_default();
        let top = stack.1.pop();
        if top != Some(id.into_u64()) {
            let msg = format!(
                "thread {:?} exited span {} with {top:?} on top",
                thread.name(),
                id.into_u64()
            );
            seen.wrong.push(msg);
        }
        *seen.exits.entry(id.into_u64()).or_default() += 1;
    }
}

/// The process-wide subscriber (goroutines run on worker threads, so a thread-scoped
/// default would not reach them).
fn seen() -> &'static Arc<Mutex<Seen>> {
    static SEEN: OnceLock<Arc<Mutex<Seen>>> = OnceLock::new();
    SEEN.get_or_init(|| {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let subscriber = Registry::default().with(StackCheck(seen.clone()));
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        seen
    })
}

/// In a goroutine spawned in no span: the current span is none, or its own task span.
fn no_span_but_its_task() -> bool {
    Span::current()
        .metadata()
        .is_none_or(|m| m.name() == "runtime.spawn")
}

fn runtime(workers: usize) -> goru::Runtime {
    goru::Runtime::builder().workers(workers).build().unwrap()
}

/// Worker threads our goroutines ran on (thread ids are never reused, so other tests'
/// runtimes, running meanwhile, do not get in the way).
type Threads = Arc<Mutex<HashSet<ThreadId>>>;

fn note_thread(threads: &Threads) {
    let mut threads = threads.lock().unwrap_or_else(|e| e.into_inner());
    threads.insert(std::thread::current().id());
}

/// No exit ever mismatched, and the threads that ran our goroutines, their runtime
/// gone, hold no span.
fn assert_stacks_clean(seen: &Seen, threads: &Threads) {
    assert!(seen.wrong.is_empty(), "{:#?}", seen.wrong);
    let threads = threads.lock().unwrap_or_else(|e| e.into_inner());
    assert!(!threads.is_empty());
    for thread in threads.iter() {
        if let Some((name, stack)) = seen.stacks.get(thread) {
            assert!(stack.is_empty(), "{name} still has {stack:?} entered");
        }
    }
}

#[test]
fn spans_pair_up_per_goroutine_across_ten_thousand_parks_on_four_workers() {
    let seen = seen();
    let migrations = Arc::new(AtomicUsize::new(0));
    let threads = Threads::default();
    let ids = runtime(4).run({
        let (migrations, threads) = (migrations.clone(), threads.clone());
        move || {
            let lock = Arc::new(goru::sync::Mutex::new(0u64));
            let (tx, rx) = chan::bounded::<u64>(4);
            let drain = goru::go(move || rx.iter().count());
            let handles: Vec<_> = (0..100u64)
                .map(|i| {
                    let (lock, tx) = (lock.clone(), tx.clone());
                    let (migrations, threads) = (migrations.clone(), threads.clone());
                    let span = tracing::info_span!("goroutine", i);
                    let own = span.id().unwrap();
                    let h = goru::go_with_span(span.clone(), move || {
                        assert_eq!(Span::current().id(), span.id());
                        // A span of its own, held across every park below.
                        let inner = tracing::info_span!("inner", i);
                        let entered = inner.enter();
                        let mut thread = std::thread::current().id();
                        for round in 0..100 {
                            match round % 4 {
                                0 => goru::yield_now(),
                                1 => goru::time::sleep(Duration::from_micros(20)),
                                2 => tx.send(round).unwrap(),
                                _ => *lock.lock() += 1,
                            }
                            note_thread(&threads);
                            let now = std::thread::current().id();
                            if now != thread {
                                migrations.fetch_add(1, Ordering::Relaxed);
                                thread = now;
                            }
                            assert_eq!(Span::current().id(), inner.id(), "after park {round}");
                        }
                        drop(entered);
                        assert_eq!(Span::current().id(), span.id());
                        inner.id().unwrap()
                    });
                    (own, h)
                })
                .collect();
            drop(tx);
            let ids: Vec<(Id, Id)> = handles
                .into_iter()
                .map(|(own, h)| (own, h.join().unwrap()))
                .collect();
            assert_eq!(drain.join().unwrap(), 100 * 25);
            assert_eq!(*lock.lock(), 100 * 25);
            ids
        }
    });
    assert!(
        migrations.load(Ordering::Relaxed) > 0,
        "no goroutine changed threads: the test proves nothing"
    );
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    assert_stacks_clean(&seen, &threads);
    for (own, inner) in ids {
        let (own, inner) = (own.into_u64(), inner.into_u64());
        // Entered at the start and at every resume, exited as often. Each of the 25
        // yields switches out; a sleep, send or lock may not (its wake-up can come
        // before the park, on a loaded host even for the sleep), so 26 at least.
        assert!(seen.enters[&own] >= 26, "{} enters", seen.enters[&own]);
        assert_eq!(seen.enters[&own], seen.exits[&own]);
        assert!(seen.enters[&inner] >= 26, "{} enters", seen.enters[&inner]);
        assert_eq!(seen.enters[&inner], seen.exits[&inner]);
    }
}

#[test]
fn the_spawners_span_is_carried_and_never_leaks_to_a_neighbour() {
    let seen = seen();
    let threads = Threads::default();
    let noted = threads.clone();
    runtime(2).run(move || {
        let parent = tracing::info_span!("parent");
        let (t1, t2) = (noted.clone(), noted);
        let traced = parent.in_scope(|| {
            goru::go(move || {
                let carried = Span::current();
                assert!(!carried.is_none());
                for _ in 0..500 {
                    note_thread(&t1);
                    goru::yield_now();
                    goru::time::sleep(Duration::from_micros(10));
                    assert_eq!(Span::current().id(), carried.id());
                }
                carried.id()
            })
        });
        // Spawned outside any span, parking as often beside it on the same workers.
        let plain = goru::go(move || {
            for _ in 0..500 {
                note_thread(&t2);
                goru::yield_now();
                assert!(no_span_but_its_task(), "a neighbour's span leaked here");
                goru::time::sleep(Duration::from_micros(10));
            }
        });
        assert_eq!(traced.join().unwrap(), parent.id());
        plain.join().unwrap();
        assert!(no_span_but_its_task(), "main runs in no span");
    });
    assert_stacks_clean(&seen.lock().unwrap_or_else(|e| e.into_inner()), &threads);
}

#[test]
fn a_goroutine_that_panics_leaves_its_spans() {
    let seen = seen();
    let threads = Threads::default();
    let noted = threads.clone();
    runtime(2).run(move || {
        let span = tracing::info_span!("doomed");
        let t1 = noted.clone();
        let h = goru::go_with_span(span, move || {
            note_thread(&t1);
            let inner = tracing::info_span!("held");
            let _e = inner.enter();
            goru::yield_now();
            panic!("boom");
        });
        assert!(h.join().is_err());
        // The worker that ran it goes on with clean stacks.
        goru::go(move || {
            note_thread(&noted);
            goru::yield_now();
            assert!(no_span_but_its_task());
        })
        .join()
        .unwrap();
    });
    assert_stacks_clean(&seen.lock().unwrap_or_else(|e| e.into_inner()), &threads);
}

/// A goroutine that parks 20 times, and the line it is spawned on.
fn spawn_sleeper() -> (goru::JoinHandle<u64>, u32) {
    (goru::go(sleep_twenty_times), line!())
}

fn sleep_twenty_times() -> u64 {
    for _ in 0..20 {
        goru::time::sleep(Duration::from_micros(50)); // idle, then woken
    }
    goru::runtime::current_id().unwrap()
}

#[test]
fn goroutines_are_tasks_for_tokio_console_with_busy_idle_and_wakes() {
    let seen = seen();
    let parent = tracing::info_span!("spawner");
    let parent_id = parent.id().unwrap().into_u64();
    let spawned: Vec<(u64, u32)> = runtime(2).run(move || {
        let handles: Vec<_> = parent.in_scope(|| (0..50).map(|_| spawn_sleeper()).collect());
        handles
            .into_iter()
            .map(|(h, line)| (h.join().unwrap(), line))
            .collect()
    });
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    for (goroutine, line) in spawned {
        let (span, task) = seen
            .tasks
            .iter()
            // Goroutine ids are per runtime (other tests' runtimes run beside): ours
            // are the tasks inside the spawner's span.
            .find(|(_, t)| {
                t.fields.get("task.id") == Some(&goroutine.to_string())
                    && t.parent == Some(parent_id)
            })
            .unwrap_or_else(|| panic!("no task span for goroutine {goroutine} in the spawner's"));
        assert_eq!(task.fields["kind"], "goroutine");
        assert_eq!(task.fields["task.name"], format!("goroutine {goroutine}"));
        assert_eq!(task.fields["loc.file"], "tests/tracing_spans.rs");
        assert_eq!(task.fields["loc.line"], line.to_string());
        // Busy at every resume, idle at every park (a sleep whose timer fires before
        // the goroutine has parked does not switch out: most do).
        assert!(seen.enters[span] >= 10, "{} enters", seen.enters[span]);
        assert_eq!(seen.enters[span], seen.exits[span]);
        assert!(
            seen.wakes.get(span).copied().unwrap_or(0) >= 10,
            "wakes of {goroutine}: {:?} of {} wakes seen",
            seen.wakes.get(span),
            seen.wakes.len()
        );
        // A waker per park, a wake per waker used (a 50 µs sleep may be over before
        // it parks: most are not).
        let wakers = seen.wakers.get(span).copied().unwrap_or(0);
        assert!(wakers >= 10, "{wakers} wakers");
        assert!(
            seen.closed.contains(span),
            "closed when the goroutine is gone"
        );
    }
}
