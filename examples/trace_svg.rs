//! Render a goru trace (Chrome trace-event JSON, from `GORU_TRACE=path` or
//! `goru::trace::stop().write_json(..)`) as an SVG timeline: one lane per worker, one
//! colour per goroutine, each span's end (its park reason) on hover.
//!
//! `cargo run --example trace_svg -- trace.json [out.svg]`

use goru::trace::{render_svg, Span};

/// The run spans of a Chrome trace-event JSON document written by goru.
pub fn spans_from_json(json: &str) -> Result<Vec<Span>, String> {
    let doc: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let events = doc["traceEvents"]
        .as_array()
        .ok_or("no traceEvents array: not a Chrome trace")?;
    let mut spans = Vec::new();
    for e in events.iter().filter(|e| e["ph"] == "X") {
        let field = |name: &str| e[name].as_f64().ok_or(format!("event without {name}: {e}"));
        spans.push(Span {
            runtime: field("pid")? as u64,
            worker: field("tid")? as usize,
            goroutine: e["args"]["goroutine"]
                .as_u64()
                .ok_or("span without goroutine")?,
            start_us: field("ts")?,
            duration_us: field("dur")?,
            end: e["args"]["end"].as_str().unwrap_or("").to_string(),
        });
    }
    Ok(spans)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(input) = args.next() else {
        eprintln!("usage: trace_svg TRACE.json [OUT.svg]");
        std::process::exit(2);
    };
    let output = args
        .next()
        .unwrap_or_else(|| format!("{}.svg", input.trim_end_matches(".json")));
    let json = std::fs::read_to_string(&input).unwrap_or_else(|e| {
        eprintln!("cannot read {input}: {e}");
        std::process::exit(1);
    });
    let spans = spans_from_json(&json).unwrap_or_else(|e| {
        eprintln!("{input}: {e}");
        std::process::exit(1);
    });
    std::fs::write(&output, render_svg(&spans, &input)).unwrap_or_else(|e| {
        eprintln!("cannot write {output}: {e}");
        std::process::exit(1);
    });
    println!("{} spans from {input} rendered to {output}", spans.len());
}
