//! Medians and the side-by-side table.

use std::time::Duration;

/// One measurement: the time per operation of one run.
pub type Sample = Duration;

pub fn median_of(mut samples: Vec<Sample>) -> Sample {
    samples.sort();
    samples[samples.len() / 2]
}

/// What the Go column's allocator is called: Go's own, whatever the Rust side runs.
pub const GO_ALLOC: &str = "Go's own";

pub struct Row {
    name: &'static str,
    unit: &'static str,
    /// (runtime, allocator, median).
    cells: Vec<(&'static str, &'static str, Sample)>,
}

impl Row {
    pub fn new(name: &'static str, unit: &'static str) -> Row {
        Row {
            name,
            unit,
            cells: Vec::new(),
        }
    }

    pub fn add(&mut self, peer: &'static str, alloc: &'static str, sample: Sample) {
        self.cells.push((peer, alloc, sample));
    }

    /// goru's median on `alloc`; Go's cell is set against goru on the first allocator
    /// measured (the system one unless only mimalloc was asked for).
    fn goru_on(&self, alloc: &str) -> Option<Sample> {
        let goru = |a: &str| {
            self.cells
                .iter()
                .find(|(p, cell_alloc, _)| *p == "goru" && *cell_alloc == a)
                .map(|c| c.2)
        };
        if alloc == GO_ALLOC {
            let first = self.cells.iter().find(|c| c.0 == "goru")?.1;
            goru(first)
        } else {
            goru(alloc)
        }
    }
}

#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn print(&self) {
        println!("| workload | unit | runtime | allocator | median | peer / goru |");
        println!("| --- | --- | --- | --- | ---: | ---: |");
        for row in &self.rows {
            for (peer, alloc, sample) in &row.cells {
                let ratio = match row.goru_on(alloc) {
                    Some(g) if *peer != "goru" && !g.is_zero() => {
                        format!("{:.2}", sample.as_secs_f64() / g.as_secs_f64())
                    }
                    _ => String::new(),
                };
                println!(
                    "| {} | {} | {peer} | {alloc} | {} | {ratio} |",
                    row.name,
                    row.unit,
                    fmt(*sample)
                );
            }
        }
    }
}

fn fmt(d: Duration) -> String {
    let ns = d.as_secs_f64() * 1e9;
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}
