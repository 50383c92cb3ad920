//! `sync.Once` from the notes: two goroutines call `dostuff`, which runs `setup`
//! through a Once, so "Should be called only once" prints once and the other line
//! twice.
//!
//! `cargo run --example once`

use std::sync::Arc;

use goru::sync::{Once, WaitGroup};

fn setup() {
    println!("Should be called only once");
}

fn dostuff(on: &Once, wg: &WaitGroup) {
    on.call_once(setup); // setup runs, but only once
    println!("This will be called as many times the goroutine is called");
    wg.done();
}

#[goru::main]
fn main() {
    let on = Arc::new(Once::new());
    let wg = WaitGroup::new();
    wg.add(2); // two goroutines
    for _ in 0..2 {
        let (on, wg) = (on.clone(), wg.clone());
        goru::go(move || dostuff(&on, &wg));
    }
    wg.wait();
}
