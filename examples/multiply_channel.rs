//! Two goroutines multiply and send their products over one channel; main
//! receives both and multiplies them: (1·2)·(3·4) = 24, in whichever order they
//! arrive.
//!
//! `cargo run --example multiply_channel`

use goru::chan::{self, Sender};

fn multiply(v1: i64, v2: i64, c: Sender<i64>) {
    c.send(v1 * v2).unwrap();
}

#[goru::main]
fn main() {
    let (c, results) = chan::bounded(0);
    let c2 = c.clone();
    goru::go(move || multiply(1, 2, c));
    goru::go(move || multiply(3, 4, c2));
    let a = results.recv().unwrap();
    let b = results.recv().unwrap();
    println!("{}", a * b);
}
