//! More of Go's `test/chan/` programs, rewritten for goru: sieve1, sieve2, powser1,
//! goroutines, zerosize, select2, select4 and select5 (the Go Authors, BSD-style
//! licence; the programs' ideas, in our own code). perm.go, which checks at compile
//! time that a receive-only channel cannot send and a send-only one cannot receive, is
//! the `compile_fail` examples on `chan::Sender` and `chan::Receiver`. Each program
//! runs as goroutines and then as plain threads (`common/spawn_mode.rs`).

mod common;
#[path = "common/live_bytes.rs"]
mod live_bytes;
#[path = "common/spawn_mode.rs"]
mod spawn_mode;

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use goru::chan::{self, Receiver, Select, Sender};
use spawn_mode::{both, Spawn};

const PRIMES: [u64; 25] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
];

/// Run `body` as a generator: it returns `None` (through `?`) once a channel it uses
/// has lost its other side, which is how the programs' endless goroutines end here.
fn generator(spawn: Spawn, body: impl FnOnce() -> Option<()> + Send + 'static) {
    drop(spawn.go(move || {
        let _ = body();
    }));
}

// ---- sieve1.go: the prime sieve, a goroutine per prime found.

fn numbers_from_2(spawn: Spawn) -> Receiver<u64> {
    let (tx, rx) = chan::bounded(0);
    generator(spawn, move || {
        for i in 2.. {
            tx.send(i).ok()?;
        }
        Some(())
    });
    rx
}

fn without_multiples_of(spawn: Spawn, input: Receiver<u64>, prime: u64) -> Receiver<u64> {
    let (tx, rx) = chan::bounded(0);
    generator(spawn, move || {
        for i in input.iter() {
            if i % prime != 0 {
                tx.send(i).ok()?;
            }
        }
        Some(())
    });
    rx
}

fn sieve1(spawn: Spawn) {
    let mut numbers = numbers_from_2(spawn);
    for want in PRIMES {
        let prime = numbers.recv().unwrap();
        assert_eq!(prime, want, "({spawn:?})");
        numbers = without_multiples_of(spawn, numbers, prime);
    }
}

#[test]
fn sieve1_a_goroutine_per_prime() {
    both(sieve1);
}

// ---- sieve2.go: an Eratosthenes sieve over odd numbers, merging the multiples of
// each prime found through a heap, with an unbounded proxy on the feedback loop.

fn odds_from_5(spawn: Spawn) -> Receiver<u64> {
    let (tx, rx) = chan::bounded(50);
    generator(spawn, move || {
        for n in (5..).step_by(2) {
            tx.send(n).ok()?;
        }
        Some(())
    });
    rx
}

/// The odd multiples of `p` from `p * p`.
fn odd_multiples(spawn: Spawn, p: u64) -> Receiver<u64> {
    let (tx, rx) = chan::bounded(10);
    generator(spawn, move || {
        for n in (p * p..).step_by(2 * p as usize) {
            tx.send(n).ok()?;
        }
        Some(())
    });
    rx
}

/// A sender whose sends never block: a goroutine buffers what `out` has not taken
/// yet, and offers its oldest value only while it has one (Go's select with a nil
/// channel, here a case left out of the dynamic `Select`).
fn unbounded_proxy(spawn: Spawn, out: Sender<u64>) -> Sender<u64> {
    let (tx, rx) = chan::bounded(10);
    generator(spawn, move || {
        let mut buffer = VecDeque::new();
        loop {
            let mut sel = Select::new();
            let incoming = sel.recv(&rx);
            if let Some(&oldest) = buffer.front() {
                sel.send(&out, oldest);
            }
            let fired = sel.select();
            if fired == incoming {
                buffer.push_back(sel.recv_result::<u64>(fired).ok()?);
            } else {
                sel.send_result::<u64>(fired).ok()?;
                buffer.pop_front();
            }
        }
    });
    tx
}

fn sieve2_primes(spawn: Spawn) -> Receiver<u64> {
    let (out_tx, out) = chan::bounded(10);
    out_tx.send(2).unwrap();
    out_tx.send(3).unwrap();
    // Every odd composite, in increasing order (some twice).
    let (composites_tx, composites) = chan::bounded::<u64>(50);
    // The feedback loop: each prime found, to the merger.
    let (primes_tx, primes) = chan::bounded::<u64>(10);
    primes_tx.send(3).unwrap();
    // Merge the multiples of each prime into `composites`.
    generator(spawn, move || {
        let mut heads = BinaryHeap::new(); // Reverse((next multiple, which channel))
        let mut multiples: Vec<Receiver<u64>> = Vec::new();
        let mut min = 15;
        loop {
            let m = odd_multiples(spawn, primes.recv().ok()?);
            let head = m.recv().ok()?;
            while min < head {
                composites_tx.send(min).ok()?;
                min = next_head(&mut heads, &multiples)?;
            }
            while min == head {
                min = next_head(&mut heads, &multiples)?;
            }
            composites_tx.send(head).ok()?;
            heads.push(Reverse((m.recv().ok()?, multiples.len())));
            multiples.push(m);
        }
    });
    // Sieve the composites out of the odd numbers.
    generator(spawn, move || {
        // The merger needs only the primes up to the square root of the last one, so
        // it reads them far slower than they come: a bounded channel would fill and
        // stop this goroutine for good.
        let primes = unbounded_proxy(spawn, primes_tx);
        let candidates = odds_from_5(spawn);
        let mut p = candidates.recv().ok()?;
        loop {
            let c = composites.recv().ok()?;
            while p < c {
                primes.send(p).ok()?;
                out_tx.send(p).ok()?;
                p = candidates.recv().ok()?;
            }
            if p == c {
                p = candidates.recv().ok()?;
            }
        }
    });
    out
}

/// Pop the smallest head, refill its channel's entry with that channel's next value,
/// and return the head popped.
fn next_head(
    heads: &mut BinaryHeap<Reverse<(u64, usize)>>,
    chans: &[Receiver<u64>],
) -> Option<u64> {
    let Reverse((head, k)) = heads.pop()?;
    heads.push(Reverse((chans[k].recv().ok()?, k)));
    Some(head)
}

fn sieve2(spawn: Spawn) {
    let primes = sieve2_primes(spawn);
    for want in PRIMES {
        assert_eq!(primes.recv(), Ok(want), "({spawn:?})");
    }
}

#[test]
fn sieve2_merges_multiples_through_a_heap() {
    both(sieve2);
}

// ---- powser1.go: power series as demand-driven streams of rational coefficients
// (Doug McIlroy's "Squinting at Power Series"). Each series is a goroutine that
// computes its next coefficient when asked; sums, products, derivatives, integrals,
// exponentials and substitutions are goroutines reading other series.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rat {
    num: i64,
    /// 0 marks the end of a finite series.
    den: i64,
}

const END: Rat = Rat { num: 1, den: 0 };

fn gcd(u: i64, v: i64) -> i64 {
    let (mut a, mut b) = (u.abs(), v.abs());
    while a != 0 {
        (a, b) = (b % a, a);
    }
    b
}

fn rat(num: i64, den: i64) -> Rat {
    let g = gcd(num, den).max(1) * den.signum();
    Rat {
        num: num / g,
        den: den / g,
    }
}

impl Rat {
    fn is_end(self) -> bool {
        self.den == 0
    }
    fn add(self, o: Rat) -> Rat {
        rat(self.num * o.den + o.num * self.den, self.den * o.den)
    }
    fn mul(self, o: Rat) -> Rat {
        rat(self.num * o.num, self.den * o.den)
    }
}

/// A series as its reader holds it: ask on `req`, receive on `dat`.
struct Series {
    req: Sender<()>,
    dat: Receiver<Rat>,
}

/// A series as its goroutine holds it.
struct Producer {
    req: Receiver<()>,
    dat: Sender<Rat>,
}

fn series() -> (Producer, Series) {
    let (req_tx, req_rx) = chan::bounded(0);
    let (dat_tx, dat_rx) = chan::bounded(0);
    (
        Producer {
            req: req_rx,
            dat: dat_tx,
        },
        Series {
            req: req_tx,
            dat: dat_rx,
        },
    )
}

impl Series {
    fn get(&self) -> Option<Rat> {
        self.req.send(()).ok()?;
        self.dat.recv().ok()
    }
}

impl Producer {
    fn asked(&self) -> Option<()> {
        self.req.recv().ok()
    }
    fn give(&self, r: Rat) -> Option<()> {
        self.dat.send(r).ok()
    }
    fn put(&self, r: Rat) -> Option<()> {
        self.asked()?;
        self.give(r)
    }
    /// Pass every coefficient of `from` on, as asked.
    fn copy(&self, from: &Series) -> Option<()> {
        loop {
            self.asked()?;
            self.give(from.get()?)?;
        }
    }
}

/// A series computed by `body` on a goroutine of its own.
fn make(spawn: Spawn, body: impl FnOnce(Producer) -> Option<()> + Send + 'static) -> Series {
    let (producer, series) = series();
    generator(spawn, move || body(producer));
    series
}

/// One coefficient from each of two series, asked for and received in whatever order
/// they come: the select holds only the operations still to do (Go's nil channels).
fn get2(u: &Series, v: &Series) -> Option<(Rat, Rat)> {
    let ins = [u, v];
    let mut asked = [false; 2];
    let mut got: [Option<Rat>; 2] = [None; 2];
    for _ in 0..4 {
        let mut sel = Select::new();
        let mut cases = Vec::new();
        for k in 0..2 {
            if !asked[k] {
                cases.push((sel.send(&ins[k].req, ()), k));
            } else if got[k].is_none() {
                cases.push((sel.recv(&ins[k].dat), k));
            }
        }
        let fired = sel.select();
        let k = cases.iter().find(|c| c.0 == fired).unwrap().1;
        if asked[k] {
            got[k] = Some(sel.recv_result::<Rat>(fired).ok()?);
        } else {
            sel.send_result::<()>(fired).ok()?;
            asked[k] = true;
        }
    }
    Some((got[0]?, got[1]?))
}

fn repeat(spawn: Spawn, c: Rat) -> Series {
    make(spawn, move |z| loop {
        z.put(c)?;
    })
}

/// Two copies of `u`, read at their own paces: what one has not read yet waits in its
/// queue. One select holds every step that may come next (a reader asking, a value
/// owed to a reader who asked, asking `u`, `u`'s answer), so a reader served from its
/// queue never waits for `u`: `exp` reads one copy to compute the next coefficient of
/// the other. The copies live together: once a reader of either is gone, both end.
fn split_into(spawn: Spawn, u: Series, outs: [Producer; 2]) {
    enum Step {
        Asked(usize),
        Served(usize),
        Fetch,
        Fetched,
    }
    generator(spawn, move || {
        let mut queues = [VecDeque::new(), VecDeque::new()];
        let mut waiting = [false; 2];
        let mut fetching = false;
        loop {
            let mut sel = Select::new();
            let mut steps = Vec::new();
            for k in 0..2 {
                if !waiting[k] {
                    steps.push((sel.recv(&outs[k].req), Step::Asked(k)));
                } else if let Some(&r) = queues[k].front() {
                    steps.push((sel.send(&outs[k].dat, r), Step::Served(k)));
                }
            }
            if fetching {
                steps.push((sel.recv(&u.dat), Step::Fetched));
            } else if (0..2).any(|k| waiting[k] && queues[k].is_empty()) {
                steps.push((sel.send(&u.req, ()), Step::Fetch));
            }
            let fired = sel.select();
            match &steps.iter().find(|s| s.0 == fired).unwrap().1 {
                &Step::Asked(k) => {
                    sel.recv_result::<()>(fired).ok()?;
                    waiting[k] = true;
                }
                &Step::Served(k) => {
                    sel.send_result::<Rat>(fired).ok()?;
                    queues[k].pop_front();
                    waiting[k] = false;
                }
                Step::Fetch => {
                    sel.send_result::<()>(fired).ok()?;
                    fetching = true;
                }
                Step::Fetched => {
                    let r = sel.recv_result::<Rat>(fired).ok()?;
                    queues.iter_mut().for_each(|q| q.push_back(r));
                    fetching = false;
                }
            }
        }
    });
}

fn split(spawn: Spawn, u: Series) -> (Series, Series) {
    let (p0, s0) = series();
    let (p1, s1) = series();
    split_into(spawn, u, [p0, p1]);
    (s0, s1)
}

fn add(spawn: Spawn, u: Series, v: Series) -> Series {
    make(spawn, move |z| loop {
        z.asked()?;
        match get2(&u, &v)? {
            (a, b) if a.is_end() && b.is_end() => return z.give(END),
            (a, b) if a.is_end() => {
                z.give(b)?;
                return z.copy(&v);
            }
            (a, b) if b.is_end() => {
                z.give(a)?;
                return z.copy(&u);
            }
            (a, b) => z.give(a.add(b))?,
        }
    })
}

fn cmul(spawn: Spawn, c: Rat, u: Series) -> Series {
    make(spawn, move |z| {
        loop {
            z.asked()?;
            let a = u.get()?;
            if a.is_end() {
                break;
            }
            z.give(c.mul(a))?;
        }
        z.give(END)
    })
}

fn sub(spawn: Spawn, u: Series, v: Series) -> Series {
    add(spawn, u, cmul(spawn, rat(-1, 1), v))
}

fn diff(spawn: Spawn, u: Series) -> Series {
    make(spawn, move |z| {
        z.asked()?;
        if !u.get()?.is_end() {
            for i in 1.. {
                let a = u.get()?;
                if a.is_end() {
                    break;
                }
                z.give(rat(i, 1).mul(a))?;
                z.asked()?;
            }
        }
        z.give(END)
    })
}

/// The integral of `u`, with constant term `c`.
fn integ(spawn: Spawn, c: Rat, u: Series) -> Series {
    make(spawn, move |z| {
        z.put(c)?;
        for i in 1.. {
            z.asked()?;
            let a = u.get()?;
            if a.is_end() {
                break;
            }
            z.give(rat(1, i).mul(a))?;
        }
        z.give(END)
    })
}

/// With U = u + x·UU and V = v + x·VV: UV = uv + x·(u·VV + v·UU) + x²·UU·VV.
fn mul(spawn: Spawn, u: Series, v: Series) -> Series {
    make(spawn, move |z| {
        z.asked()?;
        let (a, b) = get2(&u, &v)?;
        if a.is_end() || b.is_end() {
            return z.give(END);
        }
        z.give(a.mul(b))?;
        let (uu0, uu1) = split(spawn, u);
        let (vv0, vv1) = split(spawn, v);
        let w = add(spawn, cmul(spawn, a, vv0), cmul(spawn, b, uu0));
        z.asked()?;
        z.give(w.get()?)?;
        z.copy(&add(spawn, w, mul(spawn, uu1, vv1)))
    })
}

/// exp(U) for U with constant term 0: Z' = Z·U', so Z = 1 + ∫Z·U'. Z is defined by
/// itself: a split feeds one copy back into the integral.
fn exp(spawn: Spawn, u: Series) -> Series {
    let (p0, z0) = series();
    let (p1, z1) = series();
    split_into(
        spawn,
        integ(spawn, rat(1, 1), mul(spawn, z0, diff(spawn, u))),
        [p0, p1],
    );
    z1
}

/// U(c·xⁿ): coefficient i times cⁱ, each followed by n - 1 zeros.
fn mon_subst(spawn: Spawn, u: Series, c0: Rat, n: usize) -> Series {
    make(spawn, move |z| {
        let mut c = rat(1, 1);
        loop {
            z.asked()?;
            let a = u.get()?;
            if a.is_end() {
                return z.give(END);
            }
            z.give(a.mul(c))?;
            c = c.mul(c0);
            for _ in 1..n {
                z.put(rat(0, 1))?;
            }
        }
    })
}

fn check(spawn: Spawn, what: &str, u: Series, want: &[Rat]) {
    for (i, &w) in want.iter().enumerate() {
        assert_eq!(u.get(), Some(w), "{what}, coefficient {i} ({spawn:?})");
    }
}

fn powser1(spawn: Spawn) {
    let ones = || repeat(spawn, rat(1, 1));
    let twos = || repeat(spawn, rat(2, 1));
    let ints = |f: fn(i64) -> Rat| (0..10).map(f).collect::<Vec<_>>();
    check(spawn, "ones", ones(), &[rat(1, 1); 5]);
    check(
        spawn,
        "ones + ones",
        add(spawn, ones(), ones()),
        &[rat(2, 1); 5],
    );
    check(
        spawn,
        "ones + twos",
        add(spawn, ones(), twos()),
        &[rat(3, 1); 5],
    );
    check(
        spawn,
        "d/dx ones",
        diff(spawn, ones()),
        &ints(|i| rat(i + 1, 1)),
    );
    let integral = ints(|i| if i == 0 { rat(0, 1) } else { rat(1, i) });
    check(spawn, "∫ ones", integ(spawn, rat(0, 1), ones()), &integral);
    check(
        spawn,
        "-1 · twos",
        cmul(spawn, rat(-1, 1), twos()),
        &[rat(-2, 1); 10],
    );
    check(
        spawn,
        "ones - twos",
        sub(spawn, ones(), twos()),
        &[rat(-1, 1); 5],
    );
    check(
        spawn,
        "ones · ones",
        mul(spawn, ones(), ones()),
        &ints(|i| rat(i + 1, 1)),
    );
    let e = [
        rat(1, 1),
        rat(1, 1),
        rat(3, 2),
        rat(13, 6),
        rat(73, 24),
        rat(167, 40),
        rat(4051, 720),
        rat(37633, 5040),
        rat(43817, 4480),
        rat(4596553, 362880),
    ];
    check(spawn, "exp(ones)", exp(spawn, ones()), &e);
    // atan(x) = ∫ 1/(1 + x²) = x - x³/3 + x⁵/5 - ...
    let atan = ints(|i| match i % 4 {
        1 => rat(1, i),
        3 => rat(-1, i),
        _ => rat(0, 1),
    });
    let one_over_1_plus_x2 = mon_subst(spawn, ones(), rat(-1, 1), 2);
    check(
        spawn,
        "atan",
        integ(spawn, rat(0, 1), one_over_1_plus_x2),
        &atan,
    );
}

#[test]
fn powser1_power_series_on_demand_channels() {
    both(powser1);
}

// ---- goroutines.go: a long chain of goroutines, each passing one value on.

fn goroutines(spawn: Spawn) {
    let n = match spawn {
        Spawn::Goroutines => 10_000,
        Spawn::Threads => 500,
    };
    let (leftmost_tx, leftmost) = chan::bounded::<u32>(0);
    let mut left = leftmost_tx;
    let mut links = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (right_tx, right) = chan::bounded::<u32>(0);
        let l = left;
        // Each link adds one, so the value shows that every link ran.
        links.push(spawn.go(move || l.send(right.recv().unwrap() + 1).unwrap()));
        left = right_tx;
    }
    let starter = spawn.go(move || left.send(0).unwrap());
    assert_eq!(leftmost.recv(), Ok(n), "({spawn:?})");
    starter.join();
    links.into_iter().for_each(spawn_mode::Joiner::join);
}

#[test]
fn goroutines_a_chain_passes_a_value_through_every_link() {
    both(goroutines);
}

// ---- zerosize.go: channels of zero-sized values.

fn zerosize(spawn: Spawn) {
    for capacity in [0, 1, 10] {
        let (unit_tx, unit_rx) = chan::bounded::<()>(capacity);
        let (empty_tx, empty_rx) = chan::bounded::<[u8; 0]>(capacity);
        let sender = spawn.go(move || {
            for _ in 0..100 {
                unit_tx.send(()).unwrap();
                empty_tx.send([]).unwrap();
            }
        });
        for _ in 0..100 {
            assert_eq!(unit_rx.recv(), Ok(()));
            assert_eq!(empty_rx.recv(), Ok([]));
        }
        sender.join();
        // The sender is gone with its handles: the channels are closed and empty.
        assert!(unit_rx.recv().is_err() && empty_rx.recv().is_err());
    }
    // A buffer of zero-sized values still counts them.
    let (tx, rx) = chan::bounded::<()>(3);
    for _ in 0..3 {
        tx.try_send(()).unwrap();
    }
    assert!(tx.try_send(()).is_err(), "full at 3");
    assert_eq!(rx.len(), 3);
}

#[test]
fn zerosize_values_of_no_size_are_counted_and_delivered() {
    both(zerosize);
}

// ---- select2.go: selects keep no memory. As Go measures it, the bytes in use after a
// second round of 100,000 selects, against those after a first; counted by an
// allocator that tracks live bytes, in a child process where no other test allocates.

#[global_allocator]
static GLOBAL: live_bytes::CountingAllocator = live_bytes::CountingAllocator;

/// 100,000 selects receiving from a sender, beside a case that never fires; returns
/// how many more bytes are in use after a second such round than after a first.
fn select2_growth(spawn: Spawn) -> i64 {
    const N: usize = 100_000;
    let (tx, rx) = chan::bounded::<u32>(0);
    let (_dummy_tx, dummy) = chan::bounded::<u32>(0);
    let round = || {
        let tx = tx.clone();
        let sender = spawn.go(move || {
            for _ in 0..N {
                tx.send(1).unwrap();
            }
        });
        for _ in 0..N {
            goru::select! {
                recv(rx) -> v => assert_eq!(v, Ok(1)),
                recv(dummy) -> _ => panic!("dummy"),
            }
        }
        sender.join();
    };
    live_bytes::growth(round, round)
}

#[test]
fn select2_a_hundred_thousand_selects_keep_no_memory() {
    if !common::is_child() {
        common::run_passing_child("select2_a_hundred_thousand_selects_keep_no_memory", &[]);
        return;
    }
    both(|spawn| {
        // Go's bound: 1.1 bytes a select.
        let growth = select2_growth(spawn);
        assert!(
            growth < 110_000,
            "{growth} more bytes in use after 100,000 selects ({spawn:?})"
        );
        eprintln!("{growth} more bytes in use after 100,000 selects ({spawn:?})");
    });
}

// ---- select4.go: a select takes the ready case, and a case not taken runs none of
// its code (Go: its assignment's left side is never evaluated).

fn select4(_: Spawn) {
    let (tx, rx) = chan::bounded::<i32>(1);
    let (_c1_tx, c1) = chan::bounded::<i32>(0);
    tx.send(42).unwrap();
    let got = goru::select! {
        recv(c1) -> _ => panic!("the case not ready ran"),
        recv(rx) -> v => v.unwrap(),
    };
    assert_eq!(got, 42);
}

#[test]
fn select4_the_ready_case_is_taken() {
    both(select4);
}

// ---- select5.go: every way of phrasing one send or one receive, alone or in a select
// with cases that cannot fire (a send and a receive on an unbuffered channel nobody
// else uses, a receive on `never()`, Go's nil) in every position, with and without a
// default. Go generates the programs as source; here the dynamic `Select` builds each
// combination, enumerated by `Paths`. (goru has no nil `Sender`; the unbuffered send
// nobody receives stands in for Go's send on a nil channel.)

/// Every path through a piece of logic that calls `choose`: the first run takes
/// choice 0 everywhere, and each `next` moves the last choice that has one left.
#[derive(Default)]
struct Paths {
    taken: Vec<(usize, usize)>,
    at: usize,
    started: bool,
}

impl Paths {
    fn choose(&mut self, n: usize) -> usize {
        if self.at == self.taken.len() {
            self.taken.push((0, n));
        }
        let (i, m) = self.taken[self.at];
        assert_eq!(
            m, n,
            "the logic must ask the same questions on the same path"
        );
        self.at += 1;
        i
    }

    fn maybe(&mut self) -> bool {
        self.choose(2) == 1
    }

    fn next(&mut self) -> bool {
        self.at = 0;
        if !self.started {
            self.started = true;
            return true;
        }
        while let Some((i, n)) = self.taken.pop() {
            if i + 1 < n {
                self.taken.push((i + 1, n));
                return true;
            }
        }
        false
    }
}

/// Channels that never fire in these selects: their other ends are kept, unused, so
/// that they stay open and never ready.
struct Idle {
    tx: Sender<i32>,
    rx: Receiver<i32>,
    nil: Receiver<i32>,
    _other_ends: (Receiver<i32>, Sender<i32>),
}

impl Idle {
    fn new() -> Idle {
        let (tx, other_rx) = chan::bounded(0);
        let (other_tx, rx) = chan::bounded(0);
        Idle {
            tx,
            rx,
            nil: chan::never(),
            _other_ends: (other_rx, other_tx),
        }
    }
}

/// Add the idle cases the path asks for around the real one, which `add_real` adds at
/// the position the path picks; returns the real case's index.
fn with_idle_cases<'a>(
    paths: &mut Paths,
    sel: &mut Select<'a>,
    idle: &'a Idle,
    add_real: impl FnOnce(&mut Select<'a>) -> usize,
) -> usize {
    #[derive(Clone, Copy)]
    enum IdleCase {
        Send,
        Recv,
        RecvNever,
    }
    let wanted: Vec<IdleCase> = [IdleCase::Send, IdleCase::Recv, IdleCase::RecvNever]
        .into_iter()
        .filter(|_| paths.maybe())
        .collect();
    let position = paths.choose(wanted.len() + 1);
    let mut add_real = Some(add_real);
    let mut real = usize::MAX;
    for (i, case) in wanted.into_iter().enumerate() {
        if i == position {
            real = (add_real.take().unwrap())(sel);
        }
        match case {
            IdleCase::Send => sel.send(&idle.tx, 1),
            IdleCase::Recv => sel.recv(&idle.rx),
            IdleCase::RecvNever => sel.recv(&idle.nil),
        };
    }
    if let Some(add_real) = add_real {
        real = add_real(sel);
    }
    real
}

fn select5(_: Spawn) {
    let idle = Idle::new();
    let (c_tx, c_rx) = chan::bounded::<i32>(1);
    let mut n = 0;
    let mut programs = 0;

    // Receive n, alone or in a select.
    let mut paths = Paths::default();
    while paths.next() {
        n += 1;
        c_tx.send(n).unwrap();
        let x = if paths.maybe() {
            c_rx.recv().unwrap()
        } else {
            let nonblocking = paths.maybe();
            let mut sel = Select::new();
            let real = with_idle_cases(&mut paths, &mut sel, &idle, |s| s.recv(&c_rx));
            let fired = if nonblocking {
                sel.try_select()
                    .expect("the ready receive, not the default")
            } else {
                sel.select()
            };
            assert_eq!(fired, real, "an idle case fired");
            sel.recv_result::<i32>(fired).unwrap()
        };
        assert_eq!(x, n);
        programs += 1;
    }

    // Send n, alone or in a select, then receive it.
    let mut paths = Paths::default();
    while paths.next() {
        n += 1;
        if paths.maybe() {
            c_tx.send(n).unwrap();
        } else {
            let nonblocking = paths.maybe();
            let mut sel = Select::new();
            let real = with_idle_cases(&mut paths, &mut sel, &idle, |s| s.send(&c_tx, n));
            let fired = if nonblocking {
                sel.try_select().expect("the ready send, not the default")
            } else {
                sel.select()
            };
            assert_eq!(fired, real, "an idle case fired");
            sel.send_result::<i32>(fired).unwrap();
        }
        assert_eq!(c_rx.recv(), Ok(n));
        programs += 1;
    }

    // Only idle cases and a default: the default, and nothing moves.
    let mut paths = Paths::default();
    while paths.next() {
        let mut sel = Select::new();
        with_idle_cases(&mut paths, &mut sel, &idle, |_| usize::MAX);
        assert_eq!(sel.try_select(), None, "an idle case fired");
        programs += 1;
    }
    assert!(c_rx.is_empty());
    // Idle subsets and the real case's positions among them: sum over k of C(3, k) ·
    // (k + 1) = 20. Receive and send: alone, or 20 selects blocking and 20 not; the
    // default-only programs: 20.
    assert_eq!(programs, 41 + 41 + 20, "paths enumerated");

    // select5.go's order programs: a select evaluates its channel and value
    // expressions once each, in source order, before it picks a case.
    let order = Cell::new(0);
    let at = |o: i32| {
        assert!(o > order.get(), "evaluated {o} after {}", order.get());
        order.set(o);
    };
    c_tx.send(7).unwrap();
    let got = goru::select! {
        send({ at(1); &idle.tx }, { at(2); 1 }) -> _ => unreachable!(),
        recv({ at(3); &c_rx }) -> v => v.unwrap(),
        recv({ at(4); &idle.nil }) -> _ => unreachable!(),
    };
    assert_eq!((got, order.get()), (7, 4));
    order.set(0);
    goru::select! {
        recv({ at(1); &idle.rx }) -> _ => unreachable!(),
        send({ at(2); &c_tx }, { at(3); 8 }) -> r => r.unwrap(),
        default => unreachable!("the send was ready"),
    }
    assert_eq!((c_rx.recv(), order.get()), (Ok(8), 3));
}

#[test]
fn select5_every_phrasing_of_one_operation() {
    both(select5);
}
