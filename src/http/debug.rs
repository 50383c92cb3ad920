//! A live look at a running program, as Go's `net/http/pprof`: [`debug_handler`]
//! serves the runtime's metrics, dump, goroutine profile and a timeline of the next
//! few seconds, under `/debug/goru/`.

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{header, Body, Request, Response, StatusCode};
use crate::runtime::{self, Metrics};

/// The longest timeline `/debug/goru/trace` records.
const MAX_TRACE: Duration = Duration::from_secs(60);

/// A handler for [`serve`](super::serve) that answers, on the runtime it runs in:
///
/// | path | what |
/// |---|---|
/// | `/debug/goru/` | an HTML page: live goroutine count, per-worker busy chart, goroutines by wait reason, links to the rest (it refreshes itself every 2 s) |
/// | `/debug/goru/goroutines` | the goroutine dump; `?backtraces=1` adds where each parked goroutine waits (which wakes each one briefly) |
/// | `/debug/goru/metrics` | [`Metrics`] as Prometheus text |
/// | `/debug/goru/trace?seconds=N` | the SVG timeline of the next N seconds (default 1, at most 60; one at a time) |
/// | `/debug/goru/profile` | the goroutine profile, as folded stacks for a flame graph |
///
/// Anything else is `404`. Mount it beside an application's own routes by handing it
/// the requests whose path starts with `/debug/goru/`, on a listener only operators
/// reach (it tells a lot about the program, as Go's pprof does).
///
/// ```
/// use std::io::Read;
/// goru::run(|| {
///     let listener = goru::net::TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     goru::go(move || goru::http::serve(listener, goru::http::debug_handler()));
///     let mut response = goru::http::agent()
///         .get(&format!("http://{addr}/debug/goru/metrics"))
///         .call()
///         .unwrap();
///     let text = response.body_mut().read_to_string().unwrap();
///     assert!(text.contains("goru_goroutines"));
/// });
/// ```
pub fn debug_handler() -> impl Fn(Request<Body>) -> Response<Body> + Send + Sync + Clone + 'static {
    |req: Request<Body>| {
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or("").to_owned();
        match path.as_str() {
            "/debug/goru" | "/debug/goru/" => page(&runtime::metrics()),
            "/debug/goru/goroutines" => {
                let dump = if query_flag(&query, "backtraces") {
                    runtime::dump_with_backtraces()
                } else {
                    runtime::dump()
                };
                text(StatusCode::OK, "text/plain; charset=utf-8", dump)
            }
            "/debug/goru/metrics" => text(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                runtime::metrics().to_prometheus(),
            ),
            "/debug/goru/profile" => text(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                runtime::goroutine_profile(),
            ),
            "/debug/goru/trace" => trace(&query),
            _ => text(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                format!("404 page not found: {path}\n"),
            ),
        }
    }
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

/// The value of `key` in a query string `a=1&b=2`.
fn query_value<'q>(query: &'q str, key: &str) -> Option<&'q str> {
    query
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some((k, v)) if k == key => Some(v),
            None if pair == key => Some(""),
            _ => None,
        })
}

fn query_flag(query: &str, key: &str) -> bool {
    matches!(query_value(query, key), Some("" | "1" | "true"))
}

/// `/debug/goru/trace?seconds=N`: record the next N seconds, answer the timeline.
fn trace(query: &str) -> Response<Body> {
    let plain = "text/plain; charset=utf-8";
    let seconds = match query_value(query, "seconds").map(str::parse::<f64>) {
        None => 1.0,
        Some(Ok(s)) if s > 0.0 && s.is_finite() => s,
        Some(_) => {
            let why = "seconds must be a positive number\n".to_string();
            return text(StatusCode::BAD_REQUEST, plain, why);
        }
    };
    let length = Duration::from_secs_f64(seconds).min(MAX_TRACE);
    // One recording at a time in the process: the recorder is process-wide.
    static TAKING: AtomicBool = AtomicBool::new(false);
    if crate::trace::is_recording() || TAKING.swap(true, Ordering::AcqRel) {
        let why = "a trace is being recorded already; try again when it ends\n".to_string();
        return text(StatusCode::CONFLICT, plain, why);
    }
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            TAKING.store(false, Ordering::Release);
        }
    }
    let _done = Done;
    crate::trace::start();
    crate::time::sleep(length);
    let trace = crate::trace::stop();
    let title = format!("goru: {} ms", length.as_millis());
    text(StatusCode::OK, "image/svg+xml", trace.to_svg(&title))
}

/// `/debug/goru/`: the numbers of `m`, in elements with ids a test (or a scraper) can
/// read back.
fn page(m: &Metrics) -> Response<Body> {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"2\">\
         <title>goru debug</title><style>{STYLE}</style></head><body>\n\
         <h1>goru runtime {}</h1>\n<p class=\"big\"><span id=\"goroutines\">{}</span> \
         goroutines</p>\n<table id=\"summary\">",
        m.runtime, m.goroutines
    );
    let uptime = m.uptime.as_secs_f64();
    for (id, label, value) in [
        ("workers", "workers", m.workers.to_string()),
        ("spawned", "spawned", m.spawned.to_string()),
        ("running", "running", m.running.to_string()),
        ("runnable", "runnable", m.runnable.to_string()),
        ("parked", "parked", m.parked.to_string()),
        ("timers", "pending timers", m.timers.to_string()),
        ("poll_waiters", "socket waiters", m.poll_waiters.to_string()),
        (
            "blocking_calls",
            "blocking calls",
            m.blocking_calls.to_string(),
        ),
        (
            "blocking_queue",
            "blocking queue",
            m.blocking_queue.to_string(),
        ),
        (
            "stack_bytes",
            "stack KiB",
            (m.stack_bytes / 1024).to_string(),
        ),
        ("uptime", "uptime s", format!("{uptime:.1}")),
    ] {
        let _ = write!(
            html,
            "<tr><th>{label}</th><td id=\"{id}\">{value}</td></tr>"
        );
    }
    html.push_str("</table>\n<h2>workers busy</h2>\n");
    busy_chart(&mut html, m);
    html.push_str("<h2>goroutines by wait reason</h2>\n<table id=\"wait_reasons\">");
    for (reason, count) in &m.by_wait_reason {
        let _ = write!(
            html,
            "<tr><th>{reason}</th><td data-reason=\"{reason}\">{count}</td></tr>"
        );
    }
    let latency = match (
        m.sched_latency.quantile(0.5),
        m.sched_latency.quantile(0.99),
    ) {
        (Some(p50), Some(p99)) => format!(
            "p50 &le; {}, p99 &le; {}",
            short_duration(p50),
            short_duration(p99)
        ),
        _ => "not measured (feature <code>metrics</code>)".to_string(),
    };
    let _ = write!(
        html,
        "</table>\n<p>runnable-to-running latency: \
         <span id=\"sched_latency\">{latency}</span></p>\n<h2>more</h2><ul>\
         <li><a href=\"goroutines\">goroutine dump</a> \
         (<a href=\"goroutines?backtraces=1\">with backtraces</a>)</li>\
         <li><a href=\"profile\">goroutine profile</a> (folded stacks)</li>\
         <li><a href=\"metrics\">metrics</a> (Prometheus text)</li>\
         <li><a href=\"trace?seconds=1\">timeline of the next second</a> (SVG)</li>\
         </ul></body></html>\n"
    );
    text(StatusCode::OK, "text/html; charset=utf-8", html)
}

/// `d` in the unit that suits it: `850 ns`, `12.3 µs`, `4.19 ms`, `1.50 s`.
fn short_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    match ns {
        0..=999 => format!("{ns} ns"),
        1_000..=999_999 => format!("{:.1} µs", ns as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.2} ms", ns as f64 / 1e6),
        _ => format!("{:.2} s", ns as f64 / 1e9),
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
    .big{font-size:2.5em;margin:.2em 0}th{text-align:left;padding-right:1em;font-weight:normal}\
    td{text-align:right;font-family:monospace}rect.busy{fill:#3a7bd5}rect.idle{fill:#e4e9f2}";

/// One bar per worker: the share of its life it spent awake (running goroutines or
/// looking for some).
fn busy_chart(html: &mut String, m: &Metrics) {
    const WIDTH: f64 = 400.0;
    const ROW: usize = 22;
    let uptime = m.uptime.as_secs_f64().max(1e-9);
    let height = ROW * m.per_worker.len().max(1);
    let _ = write!(
        html,
        "<svg id=\"busy\" width=\"{}\" height=\"{height}\">",
        WIDTH as usize + 160
    );
    for (row, w) in m.per_worker.iter().enumerate() {
        let share = (w.busy.as_secs_f64() / uptime).clamp(0.0, 1.0);
        let y = row * ROW;
        let _ = write!(
            html,
            "<text x=\"0\" y=\"{}\">worker {}</text>\
             <rect class=\"idle\" x=\"80\" y=\"{y}\" width=\"{WIDTH}\" height=\"16\"/>\
             <rect class=\"busy\" data-worker=\"{}\" data-busy=\"{share:.4}\" x=\"80\" \
             y=\"{y}\" width=\"{:.1}\" height=\"16\"/>\
             <text x=\"{}\" y=\"{}\">{:.0}%</text>",
            y + 13,
            w.index,
            w.index,
            share * WIDTH,
            WIDTH as usize + 90,
            y + 13,
            share * 100.0
        );
    }
    html.push_str("</svg>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_and_flags() {
        assert_eq!(query_value("seconds=2&x", "seconds"), Some("2"));
        assert_eq!(query_value("seconds=2&x", "x"), Some(""));
        assert_eq!(query_value("", "seconds"), None);
        assert!(query_flag("backtraces=1", "backtraces"));
        assert!(!query_flag("backtraces=0", "backtraces"));
    }

    #[test]
    fn durations_in_the_unit_that_suits_them() {
        assert_eq!(short_duration(Duration::from_nanos(850)), "850 ns");
        assert_eq!(short_duration(Duration::from_nanos(12_345)), "12.3 µs");
        assert_eq!(short_duration(Duration::from_nanos(4_194_304)), "4.19 ms");
        assert_eq!(short_duration(Duration::from_millis(1500)), "1.50 s");
    }
}
