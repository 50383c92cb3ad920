#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Instant;
fn main() {
    let workers: usize = std::env::args().nth(1).map_or(1, |s| s.parse().unwrap());
    let rt = goru::Runtime::builder().workers(workers).build().unwrap();
    for _ in 0..5 {
        let t = Instant::now();
        let sum = rt.run(|| {
            let hs: Vec<_> = (0..1_000_000u64).map(|i| goru::go(move || i * 2)).collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        });
        eprintln!("{sum} {:?}", t.elapsed());
    }
}
