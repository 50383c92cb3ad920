//! `select`: wait on several channel operations, complete exactly one.
//!
//! The algorithm is Go's `selectgo`:
//!
//! 1. Pick a random *poll order* of the cases (so that among ready cases each is
//!    chosen uniformly) and a *lock order* (channel addresses, ascending, each channel
//!    once, so that two selects never deadlock on each other's locks).
//! 2. In poll order, try each case under its own channel's lock (the common, fast
//!    case: one lock); failing that, lock every channel and, in poll order, complete the
//!    first case that can proceed now.
//! 3. Otherwise, with a `default` case, unlock and take it.
//! 4. Otherwise leave an entry for every case in its channel's wait queue, all pointing
//!    at one [`Selection`], unlock, and park. The first counterpart to claim the
//!    selection completes its case (see `waiter`); the others find it claimed.
//! 5. On waking, lock every channel again and remove the remaining entries.
//!
//! A case that names a closed channel is ready (receive: `Err(RecvError)`; send: the
//! value comes back in `Err(SendError)`); a case on [`never`](super::never) is never
//! ready. The same channel may appear in several cases.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::time::{Duration, Instant};

use super::core::{wake, Chan, State};
use super::error::{RecvError, SendError, TryRecvError, TrySendError};
use super::waiter::{Completion, Entry, Outcome, Selection};
use super::{Receiver, Sender};
use crate::park::spin::SpinGuard;
use crate::park::{self, WaitReason};

/// One case of a select. Implemented by the case types that `select!` and [`Select`]
/// build; not meant to be implemented elsewhere (its methods use internal types).
#[doc(hidden)]
#[allow(private_interfaces)]
pub trait SelectCase {
    /// The channel's address (lock order), or None if the case can never proceed.
    fn chan_addr(&self) -> Option<usize>;
    /// Lock this case's channel. Only called when `chan_addr` is Some.
    fn lock(&self) -> SpinGuard<'_>;
    /// Lock this case's channel alone and complete the case now if possible (the fast
    /// path: one virtual call, or none from `select!`). With `busy_ok`, a channel whose
    /// lock is held is left alone (`Attempt::Busy`) rather than waited for.
    fn try_alone(&self, busy_ok: bool) -> Attempt;
    /// Complete the case now if possible; `Some(wake)` if it fired.
    ///
    /// # Safety
    /// The channel's lock is held by the caller.
    unsafe fn try_now(&self) -> Option<Option<Completion>>;
    /// Leave an entry for `sel` as case `index`.
    ///
    /// # Safety
    /// The channel's lock is held; `sel` and `self` outlive the entry (until `dequeue`).
    unsafe fn enqueue(&self, sel: &Selection, index: usize);
    /// Remove `sel`'s entries and refresh the channel's mirrors.
    ///
    /// # Safety
    /// The channel's lock is held.
    unsafe fn dequeue(&self, sel: &Selection);
    /// Refresh the channel's lock-free mirrors before unlocking.
    ///
    /// # Safety
    /// The channel's lock is held.
    unsafe fn sync(&self);
    /// A counterpart completed this case while we waited.
    fn completed(&self, closed: bool);
    /// Whether its channel has been used from outside the runtime (`park::sight`).
    fn unseen(&self) -> bool;
}

/// What trying one case alone found.
#[doc(hidden)]
pub enum Attempt {
    /// It completed; wake this waiter (after unlocking, done).
    #[allow(private_interfaces)]
    Fired(Option<Completion>),
    /// It cannot proceed now (or never: `never()`).
    NotReady,
    /// Its channel's lock was held by someone else; not tried.
    Busy,
}

/// A case of the dynamic [`Select`], whose result is fetched by type.
trait DynCase: SelectCase {
    fn take_any(&self) -> Option<Box<dyn Any>>;
}

impl<T: 'static> DynCase for RecvCase<'_, T> {
    fn take_any(&self) -> Option<Box<dyn Any>> {
        self.take().map(|r| Box::new(r) as Box<dyn Any>)
    }
}

impl<T: 'static> DynCase for SendCase<'_, T> {
    fn take_any(&self) -> Option<Box<dyn Any>> {
        self.take().map(|r| Box::new(r) as Box<dyn Any>)
    }
}

/// A `recv` case.
#[doc(hidden)]
pub struct RecvCase<'a, T> {
    chan: Option<&'a Chan<T>>,
    slot: UnsafeCell<Option<T>>,
    result: Cell<Option<Result<T, RecvError>>>,
}

impl<'a, T> RecvCase<'a, T> {
    /// Receive now if possible, with `chan`'s lock held (`st` is its state).
    #[inline]
    fn complete_now(&self, chan: &Chan<T>, st: &mut State<T>) -> Option<Option<Completion>> {
        match chan.try_recv_locked(st) {
            Ok((v, woken)) => {
                self.result.set(Some(Ok(v)));
                Some(woken)
            }
            Err(TryRecvError::Closed) => {
                self.result.set(Some(Err(RecvError)));
                Some(None)
            }
            Err(TryRecvError::Empty) => None,
        }
    }

    pub fn new(rx: &'a Receiver<T>) -> Self {
        RecvCase {
            chan: rx.chan(),
            slot: UnsafeCell::new(None),
            result: Cell::new(None),
        }
    }

    /// The outcome, if this case was the one selected.
    pub fn take(&self) -> Option<Result<T, RecvError>> {
        self.result.take()
    }
}

#[allow(private_interfaces)]
impl<T> SelectCase for RecvCase<'_, T> {
    fn chan_addr(&self) -> Option<usize> {
        self.chan.map(Chan::addr)
    }

    fn lock(&self) -> SpinGuard<'_> {
        self.chan.expect("never() is not locked").raw_lock()
    }

    #[inline]
    fn try_alone(&self, busy_ok: bool) -> Attempt {
        match self.chan {
            // No lock taken on a channel that looks empty: its senders may be busy with it.
            Some(chan) if !chan.looks_empty() => {
                attempt_alone(chan, busy_ok, |st| self.complete_now(chan, st))
            }
            _ => Attempt::NotReady,
        }
    }

    unsafe fn try_now(&self) -> Option<Option<Completion>> {
        let chan = self.chan?;
        // SAFETY: the caller holds the lock.
        self.complete_now(chan, unsafe { chan.state_locked() })
    }

    unsafe fn enqueue(&self, sel: &Selection, index: usize) {
        if let Some(chan) = self.chan {
            // SAFETY: the caller holds the lock and keeps sel and self alive.
            unsafe { chan.state_locked() }.queue_receiver(Entry::new(sel, index, self.slot.get()));
        }
    }

    unsafe fn dequeue(&self, sel: &Selection) {
        if let Some(chan) = self.chan {
            // SAFETY: the caller holds the lock.
            unsafe { chan.state_locked() }.unqueue_receiver(sel);
        }
    }

    unsafe fn sync(&self) {
        if let Some(chan) = self.chan {
            // SAFETY: the caller holds the lock.
            unsafe { chan.sync_mirrors() };
        }
    }

    fn completed(&self, closed: bool) {
        // SAFETY: the wait is over and every entry removed: nobody else uses the slot.
        let v = unsafe { (*self.slot.get()).take() };
        self.result.set(Some(match (closed, v) {
            (false, Some(v)) => Ok(v),
            _ => Err(RecvError),
        }));
    }

    fn unseen(&self) -> bool {
        self.chan.is_some_and(|c| c.sight.is_foreign())
    }
}

/// A `send` case.
#[doc(hidden)]
pub struct SendCase<'a, T> {
    chan: &'a Chan<T>,
    slot: UnsafeCell<Option<T>>,
    result: Cell<Option<Result<(), SendError<T>>>>,
}

impl<'a, T> SendCase<'a, T> {
    /// Send now if possible, with the channel's lock held (`st` is its state).
    #[inline]
    fn complete_now(&self, st: &mut State<T>) -> Option<Option<Completion>> {
        // SAFETY: the slot is ours while we are not enqueued, which is the case
        // whenever a send is attempted.
        let slot = unsafe { &mut *self.slot.get() };
        let v = slot
            .take()
            .expect("a send case holds its value until it fires");
        match self.chan.try_send_locked(st, v) {
            Ok(woken) => {
                self.result.set(Some(Ok(())));
                Some(woken)
            }
            Err(TrySendError::Closed(v)) => {
                self.result.set(Some(Err(SendError(v))));
                Some(None)
            }
            Err(TrySendError::Full(v)) => {
                *slot = Some(v);
                None
            }
        }
    }

    pub fn new(tx: &'a Sender<T>, value: T) -> Self {
        SendCase {
            chan: tx.chan(),
            slot: UnsafeCell::new(Some(value)),
            result: Cell::new(None),
        }
    }

    /// The outcome, if this case was the one selected.
    pub fn take(&self) -> Option<Result<(), SendError<T>>> {
        self.result.take()
    }
}

#[allow(private_interfaces)]
impl<T> SelectCase for SendCase<'_, T> {
    fn chan_addr(&self) -> Option<usize> {
        Some(self.chan.addr())
    }

    fn lock(&self) -> SpinGuard<'_> {
        self.chan.raw_lock()
    }

    #[inline]
    fn try_alone(&self, busy_ok: bool) -> Attempt {
        if self.chan.looks_full() {
            return Attempt::NotReady;
        }
        attempt_alone(self.chan, busy_ok, |st| self.complete_now(st))
    }

    unsafe fn try_now(&self) -> Option<Option<Completion>> {
        // SAFETY: the caller holds the lock.
        self.complete_now(unsafe { self.chan.state_locked() })
    }

    unsafe fn enqueue(&self, sel: &Selection, index: usize) {
        // SAFETY: the caller holds the lock and keeps sel and self alive.
        unsafe { self.chan.state_locked() }.queue_sender(Entry::new(sel, index, self.slot.get()));
    }

    unsafe fn dequeue(&self, sel: &Selection) {
        // SAFETY: the caller holds the lock.
        unsafe { self.chan.state_locked() }.unqueue_sender(sel);
    }

    unsafe fn sync(&self) {
        // SAFETY: the caller holds the lock.
        unsafe { self.chan.sync_mirrors() };
    }

    fn completed(&self, closed: bool) {
        self.result.set(Some(if closed {
            // SAFETY: the wait is over and every entry removed: the slot is ours again.
            let v = unsafe { (*self.slot.get()).take() };
            Err(SendError(v.expect("a closed send case keeps its value")))
        } else {
            Ok(())
        }));
    }

    fn unseen(&self) -> bool {
        self.chan.sight.is_foreign()
    }
}

/// Lock `chan` alone (passing it over as `Busy` if another holds it and `busy_ok`),
/// make `attempt` under the lock, unlock.
#[inline]
fn attempt_alone<T>(
    chan: &Chan<T>,
    busy_ok: bool,
    attempt: impl FnOnce(&mut State<T>) -> Option<Option<Completion>>,
) -> Attempt {
    let mut st = match chan.try_lock() {
        Some(st) => st,
        None if busy_ok => return Attempt::Busy,
        None => chan.lock(),
    };
    let fired = attempt(&mut st);
    drop(st); // unlock before the caller wakes anyone
    match fired {
        Some(woken) => Attempt::Fired(woken),
        None => Attempt::NotReady,
    }
}

/// 64 random bits from a per-thread generator (wyrand: an add and a multiply), for
/// the poll order. `#[inline(never)]`, as every thread-local accessor in goru: the
/// caller may move to another thread at its next switch.
#[inline(never)]
fn random_u64() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = const { Cell::new(0) };
    }
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            x = seed ^ (s as *const _ as u64);
        }
        x = x.wrapping_add(0xa076_1d64_78bd_642f);
        s.set(x);
        let t = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
        (t >> 64) as u64 ^ t as u64
    })
}

/// Fill `poll` with a uniformly random permutation of `0..poll.len()` (Fisher-Yates;
/// each index below `i + 1` is drawn from 32 fresh random bits by multiplication,
/// which is uniform to within `i / 2^32`). A deterministic run takes its choices from
/// its strategy instead, so that they replay.
#[inline]
fn shuffle(poll: &mut [usize]) {
    for (i, slot) in poll.iter_mut().enumerate() {
        *slot = i;
    }
    let driver = crate::sched::driver::current_driver();
    // Two 32-bit draws per call of the generator.
    let (mut bits, mut draws_left) = (0u64, 0);
    for i in (1..poll.len()).rev() {
        let j = match driver {
            Some(driver) => driver.random_below(i + 1),
            None => {
                if draws_left == 0 {
                    (bits, draws_left) = (random_u64(), 2);
                }
                let draw = bits as u32;
                (bits, draws_left) = (bits >> 32, draws_left - 1);
                ((u64::from(draw) * (i as u64 + 1)) >> 32) as usize
            }
        };
        poll.swap(i, j);
    }
}

/// Hold the locks of all the cases' channels, each once, in address order. The first
/// few guards live inline: a select over a handful of channels allocates nothing.
struct Locks<'c> {
    inline: [Option<SpinGuard<'c>>; INLINE],
    rest: Vec<SpinGuard<'c>>,
}

/// Cases handled without heap allocation.
const INLINE: usize = 8;

/// Lock every channel of `order` (`(address, case)` pairs sorted by address) once, in
/// order.
fn lock_all<'c>(cases: &'c [&'c dyn SelectCase], order: &[(usize, usize)]) -> Locks<'c> {
    let mut locks = Locks {
        inline: Default::default(),
        rest: Vec::new(),
    };
    let mut held = 0;
    let mut last = None;
    for &(addr, i) in order {
        if Some(addr) != last {
            let guard = cases[i].lock();
            if held < INLINE {
                locks.inline[held] = Some(guard);
            } else {
                locks.rest.push(guard);
            }
            held += 1;
            last = Some(addr);
        }
    }
    locks
}

/// Run a select over `cases`. Returns the index of the case that completed (its result
/// is stored in it), or None if `nonblocking` and nothing was ready, or if `deadline`
/// passed first.
#[doc(hidden)]
pub fn run(
    cases: &[&dyn SelectCase],
    nonblocking: bool,
    deadline: Option<Instant>,
) -> Option<usize> {
    let n = cases.len();
    let mut poll_inline = [0usize; INLINE];
    let mut poll_heap = Vec::new();
    let poll: &mut [usize] = if n <= INLINE {
        &mut poll_inline[..n]
    } else {
        poll_heap.resize(n, 0);
        &mut poll_heap
    };
    match first_pass(poll, |i| cases[i].try_alone(true)) {
        Ok(i) => Some(i),
        Err(busy) => finish(cases, poll, busy, nonblocking, deadline),
    }
}

/// `select!`'s entry: [`run`] without a deadline, but the first pass calls each case
/// through `try_case`, which the macro writes as a `match` on the case index, so the
/// attempt is dispatched statically and inlined at the call site. (The first pass is
/// what almost every select that finds a case ready runs, and a virtual call and the
/// frames around it were a third of its instructions.)
#[doc(hidden)]
#[inline(always)]
pub fn run_static<const N: usize>(
    cases: &[&dyn SelectCase; N],
    try_case: impl Fn(usize) -> Attempt,
    nonblocking: bool,
) -> Option<usize> {
    let mut poll = [0usize; N];
    match first_pass(&mut poll, try_case) {
        Ok(i) => Some(i),
        Err(busy) => finish(cases, &poll, busy, nonblocking, None),
    }
}

/// The fast path: draw the poll order into `poll`, then try each case in that order
/// under its own channel's lock alone. A case found ready this way was ready at that
/// moment, so the choice is as valid as under all the locks, and the common case
/// (something is ready) costs one lock. A channel whose lock is held right now (its
/// other side is busy with it on another core) is passed over for the next case.
/// `Ok(case)` if one fired; otherwise `Err(whether any was passed over as busy)`.
#[inline(always)]
fn first_pass(poll: &mut [usize], try_case: impl Fn(usize) -> Attempt) -> Result<usize, bool> {
    crate::sched::preempt_point();
    crate::sched::driver::switch_point("select");
    // Poll order: a uniformly random permutation, so that among ready cases each is
    // equally likely to win.
    shuffle(poll);
    let mut busy = false;
    for &i in poll.iter() {
        match try_case(i) {
            Attempt::Fired(woken) => {
                wake(woken);
                return Ok(i);
            }
            Attempt::Busy => busy = true,
            Attempt::NotReady => {}
        }
    }
    Err(busy)
}

/// The rest of a select whose first pass found nothing: if a case was passed over as
/// busy, try again in poll order, this time waiting for each lock; then the slow path.
#[inline(never)]
fn finish(
    cases: &[&dyn SelectCase],
    poll: &[usize],
    busy: bool,
    nonblocking: bool,
    deadline: Option<Instant>,
) -> Option<usize> {
    if busy {
        for &i in poll.iter() {
            if let Attempt::Fired(woken) = cases[i].try_alone(false) {
                wake(woken);
                return Some(i);
            }
        }
    }
    run_slow(cases, poll, nonblocking, deadline)
}

/// `run` when no case was ready a moment ago: lock every channel, look once more,
/// and if still nothing, wait on all of them.
#[cold]
#[inline(never)]
fn run_slow(
    cases: &[&dyn SelectCase],
    poll: &[usize],
    nonblocking: bool,
    deadline: Option<Instant>,
) -> Option<usize> {
    // Lock order: channel address ascending, so that selects never deadlock on each
    // other; cases on never() are left out. Cases on one channel keep their poll order
    // (the sort is stable), so they are queued on it in random order and a peer that
    // takes the first waiter picks among them at random (Go's lockorder does the
    // same; its TestPseudoRandomSend checks it).
    let mut order_inline = [(0usize, 0usize); INLINE];
    let mut order_heap = Vec::new();
    let order_slots: &mut [(usize, usize)] = if cases.len() <= INLINE {
        &mut order_inline[..cases.len()]
    } else {
        order_heap.resize(cases.len(), (0, 0));
        &mut order_heap
    };
    let mut locked = 0;
    for &i in poll {
        if let Some(addr) = cases[i].chan_addr() {
            order_slots[locked] = (addr, i);
            locked += 1;
        }
    }
    let order = &mut order_slots[..locked];
    // Stable, and allocation-free for the short slices selects have.
    order.sort_by_key(|&(addr, _)| addr);
    let order = &*order;
    let locks = lock_all(cases, order);
    for &i in poll.iter() {
        // SAFETY: all the cases' channels are locked.
        if let Some(woken) = unsafe { cases[i].try_now() } {
            // Only this case's channel changed in a way the lock-free mirrors show
            // (enqueueing and dequeueing below only touch wait queues).
            // SAFETY: still locked.
            unsafe { cases[i].sync() };
            drop(locks);
            wake(woken);
            return Some(i);
        }
    }
    if nonblocking || deadline.is_some_and(|d| crate::time::now() >= d) {
        return None;
    }
    if order.is_empty() {
        drop(locks);
        // Nothing can ever be ready: block forever (or until the deadline).
        match deadline {
            Some(d) => {
                crate::time::park_until_deadline(WaitReason::SelectNoCases, d);
                return None;
            }
            None => loop {
                park::park(WaitReason::SelectNoCases);
            },
        }
    }
    let sel = Selection::new();
    for &(_, i) in order {
        // SAFETY: locked; `sel` and the cases outlive the entries, which are all
        // removed below before this function returns.
        unsafe { cases[i].enqueue(&sel, i) };
    }
    drop(locks);

    let outcome = sel.wait(WaitReason::Select, deadline, || {
        cases.iter().any(|c| c.unseen())
    });

    let locks = lock_all(cases, order);
    for &(_, i) in order {
        // SAFETY: locked.
        unsafe { cases[i].dequeue(&sel) };
    }
    drop(locks);
    match outcome {
        Outcome::Done { case, closed } => {
            cases[case].completed(closed);
            Some(case)
        }
        Outcome::TimedOut => None,
    }
}

/// A select over a set of cases chosen at run time (Go's `reflect.Select`).
///
/// ```
/// use goru::chan::{self, Select};
///
/// let chans: Vec<_> = (0..4).map(|_| chan::bounded::<usize>(1)).collect();
/// chans[2].0.send(42).unwrap();
/// let mut sel = Select::new();
/// for (_, rx) in &chans {
///     sel.recv(rx);
/// }
/// let index = sel.select();
/// assert_eq!(index, 2);
/// assert_eq!(sel.recv_result::<usize>(index), Ok(42));
/// ```
#[derive(Default)]
pub struct Select<'a> {
    cases: Vec<Box<dyn DynCase + 'a>>,
    fired: Option<usize>,
}

impl<'a> Select<'a> {
    /// An empty select.
    pub fn new() -> Self {
        Select {
            cases: Vec::new(),
            fired: None,
        }
    }

    /// Add a receive case; returns its index.
    pub fn recv<T: Send + 'static>(&mut self, rx: &'a Receiver<T>) -> usize {
        self.cases.push(Box::new(RecvCase::new(rx)));
        self.cases.len() - 1
    }

    /// Add a send case (the value is dropped if another case fires); returns its index.
    pub fn send<T: Send + 'static>(&mut self, tx: &'a Sender<T>, value: T) -> usize {
        self.cases.push(Box::new(SendCase::new(tx, value)));
        self.cases.len() - 1
    }

    fn run(&mut self, nonblocking: bool, deadline: Option<Instant>) -> Option<usize> {
        assert!(self.fired.is_none(), "a Select runs once; build a new one");
        let cases: Vec<&dyn SelectCase> =
            self.cases.iter().map(|c| &**c as &dyn SelectCase).collect();
        self.fired = run(&cases, nonblocking, deadline);
        self.fired
    }

    /// Wait until one case completes; returns its index.
    pub fn select(&mut self) -> usize {
        self.run(false, None)
            .expect("a blocking select returns a case")
    }

    /// Complete a case that is ready now, if any (a select with `default`).
    pub fn try_select(&mut self) -> Option<usize> {
        self.run(true, None)
    }

    /// Wait at most `d` for a case to complete.
    pub fn select_timeout(&mut self, d: Duration) -> Option<usize> {
        self.run(false, Some(crate::time::now() + d))
    }

    /// The result of receive case `index`, which completed.
    ///
    /// # Panics
    /// If `index` is not the completed case or not a receive of `T`.
    pub fn recv_result<T: 'static>(&mut self, index: usize) -> Result<T, RecvError> {
        *self.result::<Result<T, RecvError>>(index)
    }

    /// The result of send case `index`, which completed.
    ///
    /// # Panics
    /// If `index` is not the completed case or not a send of `T`.
    pub fn send_result<T: 'static>(&mut self, index: usize) -> Result<(), SendError<T>> {
        *self.result::<Result<(), SendError<T>>>(index)
    }

    fn result<R: 'static>(&mut self, index: usize) -> Box<R> {
        assert_eq!(
            self.fired,
            Some(index),
            "case {index} is not the one that completed"
        );
        self.cases[index]
            .take_any()
            .expect("the result was already taken")
            .downcast::<R>()
            .unwrap_or_else(|_| panic!("case {index} has another type"))
    }
}

impl std::fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Select")
            .field("cases", &self.cases.len())
            .field("fired", &self.fired)
            .finish()
    }
}
