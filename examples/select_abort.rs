//! A select loop over an input, an output and an abort channel, with a default, as
//! in the notes: receive when there is input, send when the consumer is ready,
//! stop when aborted, and otherwise do something else.
//!
//! `cargo run --example select_abort`

use std::time::Duration;

use goru::chan;

#[goru::main]
fn main() {
    let (in_tx, in_channel) = chan::bounded::<i32>(1);
    let (out_channel, out_rx) = chan::bounded::<i32>(1);
    let (abort_tx, abort) = chan::bounded::<()>(0);
    in_tx.send(7).unwrap();
    goru::go(move || {
        goru::time::sleep(Duration::from_millis(30));
        abort_tx.send(()).unwrap();
    });
    let b = 1;
    let (mut received, mut sent, mut idle) = (0, 0, 0);
    loop {
        goru::select! {
            recv(in_channel) -> a => {
                println!("Received a = {}", a.unwrap());
                received += 1;
            },
            send(out_channel, b) -> _ => {
                println!("Sent b");
                sent += 1;
            },
            recv(abort) -> _ => {
                println!("aborted");
                break;
            },
            default => {
                idle += 1; // nothing ready: do other work
                goru::time::sleep(Duration::from_millis(1));
            },
        }
    }
    println!(
        "received {received}, sent {sent}, left in out: {}",
        out_rx.len()
    );
    assert!(idle > 0);
}
