use std::time::{Duration, Instant};
#[test]
fn smoke() {
    for workers in [1, 2, 4] {
        let rt = goru::Runtime::builder().workers(workers).build().unwrap();
        let t = Instant::now();
        let sum = rt.run(|| {
            let hs: Vec<_> = (0..100_000u64).map(|i| goru::go(move || i * 2)).collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        });
        assert_eq!(sum, 2 * (100_000u64 * 99_999 / 2));
        eprintln!("workers={workers} {:?}", t.elapsed());
    }
    let t = Instant::now();
    goru::run(|| {
        let hs: Vec<_> = (0..10_000).map(|_| goru::go(|| goru::time::sleep(Duration::from_millis(100)))).collect();
        for h in hs { h.join().unwrap(); }
    });
    eprintln!("sleepers {:?}", t.elapsed());
}
