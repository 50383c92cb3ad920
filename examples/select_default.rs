//! `select!` over two channels, with and without `default`: like `Promise.race`,
//! the first ready case wins; with `default`, nothing waits.
//!
//! `cargo run --example select_default`

use std::time::Duration;

use goru::chan;

#[goru::main]
fn main() {
    let (tx1, ch1) = chan::bounded::<&str>(0);
    let (tx2, ch2) = chan::bounded::<&str>(0);

    // Nothing is ready yet: default runs.
    goru::select! {
        recv(ch1) -> msg => println!("Received {}", msg.unwrap()),
        recv(ch2) -> msg => println!("Received {}", msg.unwrap()),
        default => println!("No message"),
    }

    goru::go(move || {
        goru::time::sleep(Duration::from_millis(20));
        tx2.send("from ch2").unwrap();
    });
    goru::go(move || {
        goru::time::sleep(Duration::from_millis(200));
        let _ = tx1.send("from ch1");
    });
    // Without default, select waits for the first ready case.
    goru::select! {
        recv(ch1) -> msg => println!("Received {}", msg.unwrap()),
        recv(ch2) -> msg => println!("Received {}", msg.unwrap()),
    }
}
