//! Medians and the side-by-side table.

use std::time::Duration;

/// One measurement: the time per operation of one run.
pub type Sample = Duration;

pub fn median_of(mut samples: Vec<Sample>) -> Sample {
    samples.sort();
    samples[samples.len() / 2]
}

pub struct Row {
    name: &'static str,
    unit: &'static str,
    cells: Vec<(&'static str, Sample)>,
}

impl Row {
    pub fn new(name: &'static str, unit: &'static str) -> Row {
        Row {
            name,
            unit,
            cells: Vec::new(),
        }
    }

    pub fn add(&mut self, peer: &'static str, sample: Sample) {
        self.cells.push((peer, sample));
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
        println!("| workload | unit | runtime | median | peer / goru |");
        println!("| --- | --- | --- | ---: | ---: |");
        for row in &self.rows {
            let goru = row.cells.iter().find(|(p, _)| *p == "goru").map(|c| c.1);
            for (peer, sample) in &row.cells {
                let ratio = match goru {
                    Some(g) if *peer != "goru" && !g.is_zero() => {
                        format!("{:.2}", sample.as_secs_f64() / g.as_secs_f64())
                    }
                    _ => String::new(),
                };
                println!(
                    "| {} | {} | {peer} | {} | {ratio} |",
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
