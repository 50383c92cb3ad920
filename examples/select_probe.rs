use std::time::Instant;
fn main() {
    let rt = goru::Runtime::builder().workers(2).build().unwrap();
    for _ in 0..5 {
        let t = rt.run(|| {
            let start = Instant::now();
            let (tx1, rx1) = goru::chan::bounded::<u64>(1024);
            let (tx2, rx2) = goru::chan::bounded::<u64>(1024);
            let (p1, p2) = (tx1.clone(), tx2.clone());
            goru::go(move || (0..1_000_000u64).for_each(|v| p1.send(v).unwrap()));
            goru::go(move || (0..1_000_000u64).for_each(|v| p2.send(v).unwrap()));
            let mut sum = 0;
            for _ in 0..2_000_000 {
                goru::select! {
                    recv(rx1) -> v => sum += v.unwrap(),
                    recv(rx2) -> v => sum += v.unwrap(),
                }
            }
            std::hint::black_box(sum);
            drop((tx1, tx2));
            start.elapsed() / 2_000_000
        });
        eprint!("{t:?} ");
    }
    eprintln!();
}
