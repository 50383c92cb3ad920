#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::{Duration, Instant};
fn main() {
    let w: usize = std::env::args().nth(1).map_or(2, |s| s.parse().unwrap());
    let ss: usize = std::env::args().nth(2).map_or(256, |s| s.parse().unwrap());
    let rt = goru::Runtime::builder().workers(w).stack_size(ss * 1024).build().unwrap();
    for _ in 0..3 {
        let o = rt.run(|| {
            let hs: Vec<_> = (0..10_000).map(|_| goru::go(|| { let s = Instant::now(); for _ in 0..50 { goru::time::sleep(Duration::from_millis(1)); } s.elapsed() })).collect();
            hs.into_iter().map(|h| h.join().unwrap()).max().unwrap()
        });
        eprintln!("per sleep {:?}", o / 50);
    }
}
