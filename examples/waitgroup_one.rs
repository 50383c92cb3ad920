//! The smallest WaitGroup program of the notes: main waits for one goroutine, so
//! "New routine" always prints before "Main routine".
//!
//! `cargo run --example waitgroup_one`

use goru::sync::WaitGroup;

fn foo(wg: &WaitGroup) {
    println!("New routine");
    wg.done(); // foo is finished
}

#[goru::main]
fn main() {
    let wg = WaitGroup::new();
    wg.add(1); // one goroutine to wait for
    let w = wg.clone();
    goru::go(move || foo(&w));
    wg.wait(); // until every goroutine is done
    println!("Main routine");
}
