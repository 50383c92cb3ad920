//! Timer channels: `after`, `tick`, [`Timer`] and [`Ticker`], as in Go's `time`.
//!
//! Each is a one-slot channel fed by a runtime timer. The timer holds the channel
//! itself, not a `Sender`, so the channel never closes: once its value is taken, a
//! receive on it waits (as in Go) instead of reporting "closed". A ticker re-arms its
//! timer on every tick and drops a tick when the last one has not been received yet.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::clock::Clock;
use super::timers::{TimerAction, TimerKey};
use crate::chan::{self, Receiver};

/// A channel that receives the time once, after `d`: the timeout idiom.
///
/// Dropping every receiver stops the timer, which frees it and its channel at once
/// (as Go 1.23 collects timers nobody refers to): a loop of selects with a long
/// `after` keeps no memory for the timeouts it abandons.
///
/// ```
/// use std::time::Duration;
/// let (_tx, rx) = goru::chan::bounded::<u8>(0);
/// goru::select! {
///     recv(rx) -> _ => unreachable!(),
///     recv(goru::time::after(Duration::from_millis(10))) -> t => assert!(t.is_ok()),
/// }
/// ```
pub fn after(d: Duration) -> Receiver<Instant> {
    let (feed, rx) = chan::timer_channel();
    let fire = feed.clone();
    let key = Clock::current().add(
        crate::time::now() + d,
        TimerAction::Call(Box::new(move || fire.offer(crate::time::now()))),
    );
    // The timer's action holds the channel: stopping takes the action, and with it that
    // reference, so the channel is freed with its last receiver.
    feed.when_unreceivable(move || {
        key.stop();
    });
    rx
}

/// A channel that receives the time every `d`; a slow reader misses ticks rather than
/// queueing them. The ticks stop when the receiver is dropped.
///
/// # Panics
/// If `d` is zero.
///
/// ```
/// use std::time::Duration;
/// goru::run(|| {
///     let ticks = goru::time::tick(Duration::from_millis(5));
///     for _ in 0..3 {
///         ticks.recv().unwrap();
///     }
/// });
/// ```
pub fn tick(d: Duration) -> Receiver<Instant> {
    let ticker = Ticker::new(d);
    let rx = ticker.rx.clone();
    // The chain of timers keeps its own state alive and ends by itself once `rx` (and
    // every clone of it) is gone; the Ticker handle is not needed to stop it.
    drop_without_stopping(ticker);
    rx
}

/// Drop a ticker's handle but leave its chain of timers running.
fn drop_without_stopping(ticker: Ticker) {
    let ticker = std::mem::ManuallyDrop::new(ticker);
    // SAFETY: each field is read out exactly once and the ManuallyDrop is not used again,
    // so nothing is dropped twice and `Ticker::drop` (which would stop it) does not run.
    unsafe {
        drop(std::ptr::read(&ticker.rx));
        drop(std::ptr::read(&ticker.state));
    }
}

/// A single event, as Go's `time.Timer`.
///
/// ```
/// use std::time::Duration;
/// let t = goru::time::Timer::new(Duration::from_secs(60));
/// assert!(t.stop(), "stopped before it fired");
/// assert!(t.receiver().try_recv().is_err());
/// t.reset(Duration::from_millis(1));
/// assert!(t.receiver().recv().is_ok());
/// ```
pub struct Timer {
    /// What firing does: offer the time on the channel, or start `after_func`'s
    /// goroutine. Shared so that `reset` can arm it again.
    fire: Arc<dyn Fn() + Send + Sync>,
    rx: Receiver<Instant>,
    key: Mutex<TimerKey>,
    /// A channel timer stops when dropped (nobody could receive); an `after_func`
    /// timer does not, as in Go: its call is the point.
    stop_on_drop: bool,
}

impl Timer {
    /// A timer that fires once, after `d`.
    pub fn new(d: Duration) -> Timer {
        let (feed, rx) = chan::timer_channel();
        Timer::with_action(d, rx, move || feed.offer(crate::time::now()))
    }

    fn with_action(
        d: Duration,
        rx: Receiver<Instant>,
        fire: impl Fn() + Send + Sync + 'static,
    ) -> Timer {
        let fire: Arc<dyn Fn() + Send + Sync> = Arc::new(fire);
        let key = Self::arm(&fire, d);
        Timer {
            fire,
            rx,
            key: Mutex::new(key),
            stop_on_drop: true,
        }
    }

    fn arm(fire: &Arc<dyn Fn() + Send + Sync>, d: Duration) -> TimerKey {
        let fire = fire.clone();
        Clock::current().add(
            crate::time::now() + d,
            TimerAction::Call(Box::new(move || fire())),
        )
    }

    /// The channel the time is delivered on (never, for an [`after_func`] timer).
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stop the timer; true if this prevented it from firing.
    pub fn stop(&self) -> bool {
        self.key.lock().unwrap_or_else(|e| e.into_inner()).stop()
    }

    /// Re-arm the timer to fire after `d`; true if it had still been pending.
    pub fn reset(&self, d: Duration) -> bool {
        let mut key = self.key.lock().unwrap_or_else(|e| e.into_inner());
        let was_pending = key.stop();
        *key = Self::arm(&self.fire, d);
        was_pending
    }
}

/// Go's `time.AfterFunc`: after `d`, call `f` on a goroutine of its own (on a thread
/// of its own when called outside a runtime). The returned [`Timer`]'s `stop`
/// prevents the call if it has not started, and `reset` moves it; `f` runs at most
/// once. Its channel never delivers. Dropping the timer does not cancel the call, as
/// in Go.
///
/// ```
/// use std::time::Duration;
/// goru::run(|| {
///     let (tx, rx) = goru::chan::bounded(1);
///     drop(goru::time::after_func(Duration::from_millis(5), move || tx.send("fired").unwrap()));
///     assert_eq!(rx.recv().unwrap(), "fired", "dropping the timer did not cancel it");
///     let never = goru::time::after_func(Duration::from_secs(60), || unreachable!());
///     assert!(never.stop(), "stopped before it fired");
/// });
/// ```
#[track_caller]
pub fn after_func<F>(d: Duration, f: F) -> Timer
where
    F: FnOnce() + Send + 'static,
{
    let site = std::panic::Location::caller();
    let clock = Clock::current();
    let f = Mutex::new(Some(f));
    let mut timer = Timer::with_action(d, chan::never(), move || {
        let Some(f) = f.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return; // already called (a reset after it fired)
        };
        match clock {
            // SAFETY: a runtime's timers fire only on its own workers, while it runs;
            // this callback is one of its timers, so the runtime is alive here.
            Clock::Runtime(rt) => unsafe { crate::spawn::go_detached(&*rt, site, f) },
            Clock::Global => {
                std::thread::spawn(f);
            }
        }
    });
    timer.stop_on_drop = false;
    timer
}

impl Drop for Timer {
    fn drop(&mut self) {
        if self.stop_on_drop {
            self.stop();
        }
    }
}

/// Ticks at a fixed period, as Go's `time.Ticker`.
///
/// ```
/// use std::time::Duration;
/// let ticker = goru::time::Ticker::new(Duration::from_millis(2));
/// for _ in 0..3 {
///     ticker.receiver().recv().unwrap();
/// }
/// ticker.stop();
/// ```
pub struct Ticker {
    rx: Receiver<Instant>,
    state: Arc<TickerState>,
}

struct TickerState {
    feed: chan::TimerFeed<Instant>,
    stopped: AtomicBool,
    /// Bumped by `reset`, so the previous chain of timers stops re-arming.
    generation: AtomicU64,
    key: Mutex<Option<TimerKey>>,
}

impl TickerState {
    /// Stop the timer of the next tick, if one is armed.
    fn stop_pending_timer(&self) {
        let pending = self.key.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(key) = pending {
            key.stop();
        }
    }
}

impl Ticker {
    /// A ticker with period `d`.
    ///
    /// # Panics
    /// If `d` is zero (as Go's `NewTicker` does).
    pub fn new(d: Duration) -> Ticker {
        assert!(!d.is_zero(), "non-positive interval for Ticker");
        let (feed, rx) = chan::timer_channel();
        let state = Arc::new(TickerState {
            feed,
            stopped: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            key: Mutex::new(None),
        });
        schedule(&state, Clock::current(), crate::time::now() + d, d, 0);
        Ticker { rx, state }
    }

    /// The channel the ticks are delivered on.
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stop ticking (no tick is delivered afterwards, apart from one already buffered).
    pub fn stop(&self) {
        self.state.stopped.store(true, Ordering::Release);
        self.state.stop_pending_timer();
    }

    /// Tick with period `d` from now on.
    ///
    /// # Panics
    /// If `d` is zero.
    pub fn reset(&self, d: Duration) {
        assert!(!d.is_zero(), "non-positive interval for Ticker.Reset");
        let generation = self.state.generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.state.stop_pending_timer();
        self.state.stopped.store(false, Ordering::Release);
        schedule(
            &self.state,
            Clock::current(),
            crate::time::now() + d,
            d,
            generation,
        );
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Arm the next tick of `state` at `at`; each tick re-arms the next one on the same clock.
///
/// The pending timer's action holds the state, and the state the timer's key: a cycle
/// that the next firing breaks by not re-arming once the ticker is stopped, reset, or
/// nobody can receive its ticks any more (stopping the key breaks it at once).
fn schedule(
    state: &Arc<TickerState>,
    clock: Clock,
    at: Instant,
    period: Duration,
    generation: u64,
) {
    let state_for_action = state.clone();
    let action = TimerAction::Call(Box::new(move || {
        let state = state_for_action;
        if state.stopped.load(Ordering::Acquire)
            || state.generation.load(Ordering::Acquire) != generation
            || !state.feed.has_receivers()
        {
            return;
        }
        state.feed.offer(crate::time::now());
        // The next tick keeps the period's phase; if we fell far behind, skip ahead.
        let now = crate::time::now();
        let mut next = at + period;
        if next <= now {
            next = now + period;
        }
        schedule(&state, clock, next, period, generation);
    }));
    let key = clock.add(at, action);
    *state.key.lock().unwrap_or_else(|e| e.into_inner()) = Some(key);
}
