//! The seeded strategies that make every scheduling decision of one explored run.

use std::collections::HashMap;

use crate::sched::driver::{Choice, Chooser};

/// How schedules are explored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// At every step, each runnable goroutine (and a due timer) is equally likely to go
    /// next: a uniform random walk over schedules.
    Random,
    /// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): goroutines
    /// get random priorities and the highest runnable one runs; at `depth - 1` random
    /// steps the running goroutine drops to the lowest priority. A bug that needs
    /// `depth` ordering constraints is found with probability at least
    /// 1 / (n · k^(depth-1)) per run (n goroutines, k steps).
    Pct {
        /// The bug depth to aim at (at least 1).
        depth: usize,
    },
}

/// A 64-bit mixer (splitmix64): each iteration's seed is the mix of the one before.
pub(crate) fn next_seed(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xorshift64*: the random source of one run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(next_seed(seed) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Steps over which PCT spreads its priority change points.
pub(crate) const PCT_HORIZON: usize = 200;

pub(crate) struct RandomWalk {
    rng: Rng,
}

impl RandomWalk {
    pub(crate) fn new(seed: u64) -> RandomWalk {
        RandomWalk {
            rng: Rng::new(seed),
        }
    }
}

impl Chooser for RandomWalk {
    fn choose(&mut self, options: &[Choice]) -> usize {
        self.rng.below(options.len())
    }

    fn random_below(&mut self, n: usize) -> usize {
        self.rng.below(n)
    }
}

pub(crate) struct Pct {
    rng: Rng,
    priorities: HashMap<Choice, u64>,
    /// Steps (counted over decisions with a real choice) at which priorities drop.
    change_points: Vec<usize>,
    steps: usize,
}

impl Pct {
    pub(crate) fn new(seed: u64, depth: usize) -> Pct {
        let mut rng = Rng::new(seed);
        let change_points = (1..depth.max(1))
            .map(|_| 1 + rng.below(PCT_HORIZON))
            .collect();
        Pct {
            rng,
            priorities: HashMap::new(),
            change_points,
            steps: 0,
        }
    }

    fn priority(&mut self, c: Choice) -> u64 {
        let rng = &mut self.rng;
        // Initial priorities sit above every change-point priority (which are < depth).
        *self
            .priorities
            .entry(c)
            .or_insert_with(|| (rng.next() >> 1) + 1_000)
    }
}

impl Chooser for Pct {
    fn choose(&mut self, options: &[Choice]) -> usize {
        let mut best = 0;
        let mut best_priority = 0;
        for (i, c) in options.iter().enumerate() {
            let p = self.priority(*c);
            if p > best_priority {
                best = i;
                best_priority = p;
            }
        }
        self.steps += 1;
        if let Some(k) = self.change_points.iter().position(|&s| s == self.steps) {
            // Drop the chosen goroutine below everyone: the k-th change point.
            self.priorities.insert(options[best], k as u64 + 1);
        }
        best
    }

    fn random_below(&mut self, n: usize) -> usize {
        self.rng.below(n)
    }
}
