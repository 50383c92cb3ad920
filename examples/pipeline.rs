//! A pipeline of stages connected by channels: generate → square → keep the odd
//! ones → sum. Each stage is a goroutine that ranges over its input and closes its
//! output (by dropping the sender) when the input ends.
//!
//! `cargo run --example pipeline`

use goru::chan::{self, Receiver};

fn generate(n: u64) -> Receiver<u64> {
    let (tx, rx) = chan::bounded(16);
    goru::go(move || {
        for i in 1..=n {
            tx.send(i).unwrap();
        }
    }); // tx dropped here: the channel closes
    rx
}

fn stage(input: Receiver<u64>, f: impl Fn(u64) -> Option<u64> + Send + 'static) -> Receiver<u64> {
    let (tx, rx) = chan::bounded(16);
    goru::go(move || {
        for v in &input {
            if let Some(out) = f(v) {
                tx.send(out).unwrap();
            }
        }
    });
    rx
}

pub fn odd_squares_sum(n: u64) -> u64 {
    let squares = stage(generate(n), |v| Some(v * v));
    let odd = stage(squares, |v| (v % 2 == 1).then_some(v));
    odd.iter().sum()
}

#[goru::main]
fn main() {
    for n in [10, 1000] {
        println!("sum of the odd squares of 1..={n}: {}", odd_squares_sum(n));
    }
}
