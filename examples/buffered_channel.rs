//! Buffered channels: sends do not block until the buffer is full.
//!
//! `cargo run --example buffered_channel`: two values fit in a capacity-2 channel
//! without a receiver; with capacity 3, a fourth send waits for a receive.

use std::time::Duration;

use goru::chan;

#[goru::main]
fn main() {
    let (tx, rx) = chan::bounded::<i32>(2); // make(chan int, 2)
    tx.send(10).unwrap();
    tx.send(20).unwrap(); // neither blocks: the buffer holds both
    println!("{}", rx.recv().unwrap());
    println!("{}", rx.recv().unwrap());

    let (tx, rx) = chan::bounded::<i32>(3);
    for v in 1..=3 {
        tx.send(v).unwrap();
    }
    println!("buffer full: {} of {}", tx.len(), tx.capacity().unwrap());
    assert!(tx.try_send(4).is_err(), "a fourth send would block");
    let sender = goru::go(move || {
        tx.send(4).unwrap(); // blocks until main receives
        println!("the fourth send went through");
    });
    goru::time::sleep(Duration::from_millis(50));
    println!("the sender is still waiting: {}", !sender.is_finished());
    println!("received {}", rx.recv().unwrap());
    sender.join().unwrap();
    let rest: Vec<i32> = (0..3).map(|_| rx.recv().unwrap()).collect();
    println!("then {rest:?}");
}
