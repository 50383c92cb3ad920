//! The SVG timeline of a trace: one lane per worker, one colour per goroutine, the
//! park reason of each run on hover (an SVG `<title>`), so the seeds' pictures of
//! concurrency and parallelism come from real runs.

use std::fmt::Write as _;

use super::trace::Span;

/// Render run spans as an SVG timeline: one lane per (runtime, worker), one colour
/// per goroutine (its id labels the span where it fits), and each span's goroutine,
/// timing and end (the park reason) in a tooltip on hover.
pub fn render_svg(spans: &[Span], title: &str) -> String {
    const WIDTH: f64 = 1200.0;
    const LEFT: f64 = 110.0;
    const LANE: f64 = 36.0;
    const TOP: f64 = 40.0;
    let lanes: Vec<(u64, usize)> = {
        let mut l: Vec<_> = spans.iter().map(|s| (s.runtime, s.worker)).collect();
        l.sort();
        l.dedup();
        l
    };
    let t0 = spans
        .iter()
        .map(|s| s.start_us)
        .fold(f64::INFINITY, f64::min);
    let t1 = spans
        .iter()
        .map(|s| s.start_us + s.duration_us)
        .fold(0.0, f64::max);
    let (t0, t1) = if spans.is_empty() {
        (0.0, 1.0)
    } else {
        (t0, t1.max(t0 + 1.0))
    };
    let scale = (WIDTH - LEFT - 20.0) / (t1 - t0);
    let height = TOP + LANE * lanes.len() as f64 + 40.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" font-family=\"monospace\" font-size=\"12\">"
    );
    let _ = writeln!(
        out,
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/><text x=\"10\" y=\"22\" font-size=\"15\">{}</text>",
        xml_escape(title)
    );
    for (i, (runtime, worker)) in lanes.iter().enumerate() {
        let y = TOP + LANE * i as f64;
        let label = if lanes.iter().any(|l| l.0 != *runtime) {
            format!("rt {runtime} worker {worker}")
        } else {
            format!("worker {worker}")
        };
        let _ = writeln!(
            out,
            "<g class=\"lane\" data-worker=\"{worker}\"><rect x=\"{LEFT}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"#f3f3f3\"/><text x=\"8\" y=\"{}\">{label}</text>",
            WIDTH - LEFT - 20.0,
            LANE - 6.0,
            y + LANE / 2.0
        );
        // Consecutive runs of one goroutine less than a pixel apart are drawn as one
        // block (a goroutine that yields every few microseconds would otherwise make
        // thousands of invisible rectangles).
        let mut blocks: Vec<(u64, f64, f64, usize, String)> = Vec::new();
        let min_gap_us = 1.0 / scale;
        for s in spans
            .iter()
            .filter(|s| s.runtime == *runtime && s.worker == *worker)
        {
            match blocks.last_mut() {
                Some(b) if b.0 == s.goroutine && s.start_us - (b.1 + b.2) < min_gap_us => {
                    b.2 = s.start_us + s.duration_us - b.1;
                    b.3 += 1;
                    b.4.clone_from(&s.end);
                }
                _ => blocks.push((s.goroutine, s.start_us, s.duration_us, 1, s.end.clone())),
            }
        }
        for (goroutine, start_us, duration_us, runs, end) in blocks {
            let x = LEFT + (start_us - t0) * scale;
            let w = (duration_us * scale).max(0.5);
            let hue = (goroutine.wrapping_mul(137) % 360) as u32;
            let runs = if runs > 1 {
                format!(" in {runs} runs")
            } else {
                String::new()
            };
            let _ = write!(
                out,
                "<rect class=\"span\" x=\"{x:.2}\" y=\"{y}\" width=\"{w:.2}\" height=\"{}\" fill=\"hsl({hue},65%,55%)\"><title>goroutine {goroutine}: {duration_us:.1} µs from {start_us:.1} µs{runs}, then {}</title></rect>",
                LANE - 6.0,
                xml_escape(&end)
            );
            if w > 24.0 {
                let _ = write!(
                    out,
                    "<text x=\"{:.2}\" y=\"{}\" fill=\"black\" pointer-events=\"none\">g{goroutine}</text>",
                    x + 3.0,
                    y + LANE / 2.0
                );
            }
            out.push('\n');
        }
        out.push_str("</g>\n");
    }
    // A time axis with five ticks.
    let axis_y = TOP + LANE * lanes.len() as f64 + 14.0;
    for k in 0..=4 {
        let t = t0 + (t1 - t0) * k as f64 / 4.0;
        let x = LEFT + (t - t0) * scale;
        let _ = writeln!(
            out,
            "<text x=\"{x:.1}\" y=\"{axis_y}\" text-anchor=\"middle\">{}</text>",
            format_us(t)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn format_us(us: f64) -> String {
    if us >= 1_000_000.0 {
        format!("{:.2} s", us / 1_000_000.0)
    } else if us >= 1000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
