//! The first program of the notes: `go printMessage("goroutine")` beside
//! `printMessage("main")`, with `#[goru::main]` in place of Go's `func main`.
//!
//! `cargo run --example hello_goroutines`. The goroutine's lines interleave with
//! main's; when main returns, the program ends, whether or not the goroutine is done.

use std::time::Duration;

fn print_message(msg: &str) {
    for i in 0..5 {
        println!("{msg} {i}");
        goru::time::sleep(Duration::from_millis(100));
    }
}

#[goru::main(workers = 2)]
fn main() {
    goru::go(|| print_message("goroutine")); // runs concurrently
    print_message("main"); // runs in the main goroutine
}
