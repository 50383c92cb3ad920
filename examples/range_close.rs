//! `for v in &rx` is Go's `for v := range c`: it ends when the channel is closed,
//! so the producer must close it (here explicitly; dropping the last sender also
//! closes it).
//!
//! `cargo run --example range_close`

use goru::chan;

#[goru::main]
fn main() {
    let (tx, rx) = chan::bounded::<i32>(3);
    goru::go(move || {
        for i in 1..=5 {
            tx.send(i * i).unwrap();
        }
        tx.close(); // without it, the range below would wait forever
    });
    for v in &rx {
        println!("{v}");
    }
    println!("channel closed, loop over");
}
