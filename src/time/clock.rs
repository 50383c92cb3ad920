//! Where timers live: the current goroutine's runtime, or, on plain threads, one
//! process-wide timer thread (started on first use) so that `after`, `tick` and
//! timeouts work outside any runtime too.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::timers::{TimerAction, TimerKey, Timers};
use crate::goroutine;
use crate::park::ThreadParker;
use crate::sched::Shared;

/// The process-wide timers used outside runtimes.
struct GlobalTimers {
    timers: Timers,
    parker: ThreadParker,
    start: Instant,
}

fn global() -> &'static GlobalTimers {
    static GLOBAL: OnceLock<&'static GlobalTimers> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let g: &'static GlobalTimers = Box::leak(Box::new(GlobalTimers {
            timers: Timers::new(1),
            parker: ThreadParker::default(),
            start: Instant::now(),
        }));
        std::thread::Builder::new()
            .name("goru-timer".into())
            .spawn(move || loop {
                let now = g.start.elapsed().as_nanos() as u64;
                g.timers.fire_due(now);
                match g.timers.next_deadline() {
                    Some(next) => g
                        .parker
                        .park_timeout(Duration::from_nanos(next.saturating_sub(now))),
                    None => g.parker.park(),
                }
            })
            .expect("goru: cannot start the timer thread");
        g
    })
}

/// A source of time and timers.
#[derive(Clone, Copy)]
pub(crate) enum Clock {
    /// A runtime's. Valid while called from that runtime's goroutines or threads.
    Runtime(*const Shared),
    Global,
}

// SAFETY: the runtime pointer is only dereferenced while the runtime is alive (see the
// variant's contract); Shared is Sync.
unsafe impl Send for Clock {}
// SAFETY: as above: the pointer is only copied and read, never written through, and
// dereferenced only under the variant's contract.
unsafe impl Sync for Clock {}

impl Clock {
    /// The clock of the calling goroutine's runtime, or the global one.
    pub(crate) fn current() -> Clock {
        match goroutine::current_ptr() {
            // SAFETY: the running goroutine keeps its runtime alive.
            Some(g) => Clock::Runtime(unsafe { (*g).runtime() }),
            None => Clock::Global,
        }
    }

    fn nanos_at(&self, at: Instant) -> u64 {
        let start = match self {
            // SAFETY: see the variant's contract.
            Clock::Runtime(rt) => unsafe { (**rt).start_instant() },
            Clock::Global => global().start,
        };
        at.saturating_duration_since(start)
            .as_nanos()
            .min(u64::MAX as u128 - 1) as u64
    }

    /// Run `action` at `at`.
    pub(crate) fn add(&self, at: Instant, action: TimerAction) -> TimerKey {
        let deadline = self.nanos_at(at);
        match self {
            // SAFETY: see the variant's contract.
            Clock::Runtime(rt) => unsafe { (**rt).add_timer(deadline, action) },
            Clock::Global => {
                let g = global();
                let (key, earliest) = g.timers.add(0, deadline, action);
                if earliest {
                    g.parker.unpark();
                }
                key
            }
        }
    }
}
