//! "Don't block forever": a send on an unbuffered channel that nobody receives. Go
//! stops such a program with `all goroutines are asleep - deadlock!`; so does goru,
//! with a dump of every goroutine and where it waits. Here the report is caught and
//! printed so the example can go on to the fix.
//!
//! `cargo run --example deadlock`

use goru::chan;

fn main() {
    let report = std::panic::catch_unwind(|| {
        goru::run(|| {
            let (tx, _rx) = chan::bounded::<i32>(0);
            tx.send(42).unwrap(); // nobody will ever receive
        })
    })
    .expect_err("the deadlock is reported");
    let text = report.downcast_ref::<String>().cloned().unwrap_or_default();
    println!("goru::run panicked with:\n{text}");

    // The fix: someone receives.
    let got = goru::run(|| {
        let (tx, rx) = chan::bounded::<i32>(0);
        goru::go(move || tx.send(42).unwrap());
        rx.recv().unwrap()
    });
    println!("with a receiver: got {got}");
}
