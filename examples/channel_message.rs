//! Communicating instead of sharing: a worker sends "task finished" over an
//! unbuffered channel and main receives it.
//!
//! `cargo run --example channel_message`

use goru::chan::{self, Sender};

fn worker(ch: Sender<String>) {
    ch.send("task finished".to_string()).unwrap(); // send data into the channel
}

#[goru::main]
fn main() {
    let (tx, rx) = chan::bounded(0); // unbuffered, like make(chan string)
    goru::go(move || worker(tx));
    let msg = rx.recv().unwrap(); // receive: waits until the worker sends
    println!("Message: {msg}");
}
