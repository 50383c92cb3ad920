#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Instant;
fn main() {
    let n: usize = std::env::args().nth(1).map_or(10_000, |s| s.parse().unwrap());
    let rt = goru::Runtime::builder().workers(2).build().unwrap();
    for _ in 0..3 {
        let t = rt.run(move || {
            let s = Instant::now();
            let hs: Vec<_> = (0..n).map(|_| goru::go(|| { for _ in 0..50 { goru::yield_now(); } })).collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
            s.elapsed()
        });
        eprintln!("n={n}: per yield {:?}", t / (50 * n as u32));
    }
}
