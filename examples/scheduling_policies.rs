//! The classic scheduling policies from the notes, simulated on one job set: first
//! come first served, shortest job next, priority, shortest remaining time, round
//! robin and multilevel queues. Each policy is simulated in its own goroutine and
//! the results come back over a channel; the table shows each order and its average
//! waiting time side by side.
//!
//! `cargo run --example scheduling_policies`

use std::collections::VecDeque;

use goru::chan;

#[derive(Clone, Copy, Debug)]
pub struct Job {
    pub name: &'static str,
    pub arrival: u32,
    pub burst: u32,
    /// Lower is more urgent.
    pub priority: u32,
}

pub const JOBS: [Job; 5] = [
    Job {
        name: "P1",
        arrival: 0,
        burst: 8,
        priority: 3,
    },
    Job {
        name: "P2",
        arrival: 1,
        burst: 4,
        priority: 1,
    },
    Job {
        name: "P3",
        arrival: 2,
        burst: 9,
        priority: 4,
    },
    Job {
        name: "P4",
        arrival: 3,
        burst: 5,
        priority: 2,
    },
    Job {
        name: "P5",
        arrival: 4,
        burst: 2,
        priority: 5,
    },
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Fcfs,
    ShortestJobNext,
    Priority,
    ShortestRemaining,
    RoundRobin(u32),
    Multilevel,
}

impl Policy {
    pub fn name(self) -> String {
        match self {
            Policy::Fcfs => "first-come first-served".into(),
            Policy::ShortestJobNext => "shortest job next".into(),
            Policy::Priority => "priority".into(),
            Policy::ShortestRemaining => "shortest remaining time".into(),
            Policy::RoundRobin(q) => format!("round robin (q={q})"),
            Policy::Multilevel => "multilevel queues".into(),
        }
    }
}

/// The outcome of one policy: who ran when, and the average waiting time.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub policy: Policy,
    /// (job, start, end) stretches in time order.
    pub timeline: Vec<(&'static str, u32, u32)>,
    pub average_wait: f64,
}

/// Simulate `policy` one time unit at a time.
pub fn simulate(policy: Policy, jobs: &[Job]) -> Schedule {
    let mut remaining: Vec<u32> = jobs.iter().map(|j| j.burst).collect();
    let mut finish = vec![0u32; jobs.len()];
    let mut queues: [VecDeque<usize>; 2] = [VecDeque::new(), VecDeque::new()];
    let mut running: Option<usize> = None;
    let mut slice = 0; // units the running job has had in its current turn
    let mut units: Vec<&'static str> = Vec::new();
    let mut t = 0;
    while remaining.iter().any(|&r| r > 0) {
        // Arrivals join the queues (the multilevel policy sorts them by priority).
        for (i, job) in jobs.iter().enumerate() {
            if job.arrival == t {
                let level = usize::from(policy == Policy::Multilevel && job.priority > 2);
                queues[level].push_back(i);
            }
        }
        let ready: Vec<usize> = (0..jobs.len())
            .filter(|&i| jobs[i].arrival <= t && remaining[i] > 0)
            .collect();
        let best =
            |key: &dyn Fn(usize) -> (u32, u32)| ready.iter().copied().min_by_key(|&i| key(i));
        let next = match policy {
            Policy::Fcfs => running.or_else(|| best(&|i| (jobs[i].arrival, i as u32))),
            Policy::ShortestJobNext => {
                running.or_else(|| best(&|i| (jobs[i].burst, jobs[i].arrival)))
            }
            Policy::Priority => running.or_else(|| best(&|i| (jobs[i].priority, jobs[i].arrival))),
            Policy::ShortestRemaining => best(&|i| (remaining[i], jobs[i].arrival)),
            Policy::RoundRobin(_) | Policy::Multilevel => {
                let q = if let Policy::RoundRobin(q) = policy {
                    q
                } else {
                    2
                };
                // The running job's turn ends after q units (or when a more urgent
                // queue has work, for the multilevel policy); it goes to the back.
                if let Some(r) = running {
                    let level = usize::from(policy == Policy::Multilevel && jobs[r].priority > 2);
                    let preempted = level == 1 && !queues[0].is_empty();
                    if slice >= q && level == 0 || preempted {
                        queues[level].push_back(r);
                        running = None;
                    }
                }
                running.or_else(|| {
                    let level = if queues[0].is_empty() { 1 } else { 0 };
                    queues[level].pop_front()
                })
            }
        };
        if next != running {
            slice = 0;
        }
        running = next;
        match running {
            Some(i) => {
                units.push(jobs[i].name);
                remaining[i] -= 1;
                slice += 1;
                if remaining[i] == 0 {
                    finish[i] = t + 1;
                    running = None;
                }
            }
            None => units.push("idle"),
        }
        t += 1;
    }
    let mut timeline: Vec<(&'static str, u32, u32)> = Vec::new();
    for (at, name) in units.into_iter().enumerate() {
        match timeline.last_mut() {
            Some(last) if last.0 == name => last.2 = at as u32 + 1,
            _ => timeline.push((name, at as u32, at as u32 + 1)),
        }
    }
    let total_wait: u32 = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| finish[i] - j.arrival - j.burst)
        .sum();
    Schedule {
        policy,
        timeline,
        average_wait: total_wait as f64 / jobs.len() as f64,
    }
}

pub const POLICIES: [Policy; 6] = [
    Policy::Fcfs,
    Policy::ShortestJobNext,
    Policy::Priority,
    Policy::ShortestRemaining,
    Policy::RoundRobin(2),
    Policy::Multilevel,
];

/// Simulate every policy in a goroutine of its own; results in `POLICIES` order.
pub fn simulate_all() -> Vec<Schedule> {
    let (tx, rx) = chan::unbounded();
    for (k, policy) in POLICIES.into_iter().enumerate() {
        let tx = tx.clone();
        goru::go(move || tx.send((k, simulate(policy, &JOBS))).unwrap());
    }
    drop(tx);
    let mut results: Vec<(usize, Schedule)> = rx.iter().collect();
    results.sort_by_key(|(k, _)| *k);
    results.into_iter().map(|(_, s)| s).collect()
}

#[goru::main]
fn main() {
    println!("jobs (name arrival burst priority):");
    for j in JOBS {
        println!(
            "  {} {:>2} {:>2} {:>2}",
            j.name, j.arrival, j.burst, j.priority
        );
    }
    println!();
    println!("{:<26} {:>8}  order", "policy", "avg wait");
    for s in simulate_all() {
        let order: Vec<String> = s
            .timeline
            .iter()
            .map(|(name, start, end)| format!("{name}[{start}-{end})"))
            .collect();
        println!(
            "{:<26} {:>8.1}  {}",
            s.policy.name(),
            s.average_wait,
            order.join(" ")
        );
    }
}
