//! Execution traces: what each worker ran, when, and why it stopped.
//!
//! While a trace is on, the scheduler records, per thread, goroutine *create*, *run*
//! (one span per resume, with how it ended: yield, park and its reason, or exit),
//! *unpark* and *steal* events. [`stop`] gathers them into a [`Trace`], which writes
//! Chrome trace-event JSON (open it in Perfetto or chrome://tracing) and renders an
//! SVG timeline with one lane per worker and one colour per goroutine.
//!
//! Switched off, each recording site costs one relaxed load of a global flag.
//! Each thread appends to a buffer of its own (an uncontended lock), so tracing
//! does not serialise the workers either.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use crate::park::WaitReason;

pub use super::svg::render_svg;

static ENABLED: AtomicBool = AtomicBool::new(false);
/// Bumped at every start, so that threads register a fresh buffer.
static EPOCH: AtomicU64 = AtomicU64::new(0);
/// One thread's events.
type Buffer = Arc<Mutex<Vec<Event>>>;

static BUFFERS: Mutex<Vec<Buffer>> = Mutex::new(Vec::new());
/// When the current trace started, in nanoseconds since [`base`].
static STARTED_AT: AtomicU64 = AtomicU64::new(0);

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// Never 0 (which `span_start` uses for "off").
fn now_nanos() -> u64 {
    base().elapsed().as_nanos() as u64 + 1
}

/// The lane of events recorded outside any worker (plain threads, the monitor).
pub const OTHER_THREADS: usize = usize::MAX;

/// How a run span ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// The goroutine yielded (or was preempted at a preemption point).
    Yield,
    /// It parked, for this reason.
    Park(WaitReason),
    /// Its body returned.
    Exit,
}

#[derive(Clone, Debug)]
enum Kind {
    Create {
        site: &'static Location<'static>,
    },
    Run {
        end_ns: u64,
        end: RunEnd,
    },
    Unpark,
    Steal {
        victim: usize,
    },
    /// Its labels changed (`runtime::with_labels`), to these (`key=value ...`).
    Labels {
        labels: Arc<str>,
    },
}

#[derive(Clone, Debug)]
struct Event {
    at_ns: u64,
    runtime: u64,
    lane: usize,
    goroutine: u64,
    kind: Kind,
}

/// Whether a trace is being recorded (the one check on the hot path).
#[inline(always)]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Whether a trace is being recorded.
pub fn is_recording() -> bool {
    enabled()
}

/// Start recording (a trace already running goes on). Also started by `run` when the
/// environment variable `GORU_TRACE` names a file, which then receives the JSON when
/// `run` returns.
///
/// ```
/// goru::trace::start();
/// goru::run(|| goru::go(|| 1).join().unwrap());
/// let trace = goru::trace::stop();
/// assert!(trace.spans().iter().any(|s| s.end == "exit"));
/// assert!(trace.to_json().starts_with("{\"traceEvents\""));
/// assert!(trace.to_svg("example").starts_with("<svg"));
/// ```
pub fn start() {
    if ENABLED.load(Ordering::Acquire) {
        return;
    }
    BUFFERS.lock().unwrap_or_else(|e| e.into_inner()).clear();
    EPOCH.fetch_add(1, Ordering::AcqRel);
    STARTED_AT.store(now_nanos(), Ordering::Release);
    ENABLED.store(true, Ordering::Release);
}

/// Stop recording and collect everything recorded since [`start`].
pub fn stop() -> Trace {
    ENABLED.store(false, Ordering::Release);
    let buffers = std::mem::take(&mut *BUFFERS.lock().unwrap_or_else(|e| e.into_inner()));
    let mut events: Vec<Event> = buffers
        .iter()
        .flat_map(|b| std::mem::take(&mut *b.lock().unwrap_or_else(|e| e.into_inner())))
        .collect();
    events.sort_by_key(|e| e.at_ns);
    Trace {
        started_at_ns: STARTED_AT.load(Ordering::Acquire),
        events,
    }
}

/// The current clock reading for a span start (0 when tracing is off).
#[inline]
pub(crate) fn span_start() -> u64 {
    if enabled() {
        now_nanos()
    } else {
        0
    }
}

pub(crate) fn record_create(runtime: u64, lane: usize, goroutine: u64, site: &'static Location) {
    record(runtime, lane, goroutine, Kind::Create { site }, None);
}

pub(crate) fn record_run(runtime: u64, lane: usize, goroutine: u64, start_ns: u64, end: RunEnd) {
    let end_ns = now_nanos();
    record(
        runtime,
        lane,
        goroutine,
        Kind::Run { end_ns, end },
        Some(start_ns),
    );
}

/// `g`'s labels are now what it carries (set by `with_labels`, or inherited at spawn).
pub(crate) fn record_labels(runtime: u64, lane: usize, g: &crate::goroutine::Goroutine) {
    let labels = g
        .labels()
        .map_or_else(String::new, |l| super::labels::format(&l));
    let kind = Kind::Labels {
        labels: labels.into(),
    };
    record(runtime, lane, g.id, kind, None);
}

pub(crate) fn record_unpark(runtime: u64, lane: usize, goroutine: u64) {
    record(runtime, lane, goroutine, Kind::Unpark, None);
}

pub(crate) fn record_steal(runtime: u64, lane: usize, goroutine: u64, victim: usize) {
    record(runtime, lane, goroutine, Kind::Steal { victim }, None);
}

thread_local! {
    /// This thread's buffer and the trace epoch it belongs to.
    static LOCAL: RefCell<Option<(u64, Buffer)>> = const { RefCell::new(None) };
}

/// `#[inline(never)]`: goroutine code may call this, and must not keep a thread-local
/// address across a switch.
#[inline(never)]
fn record(runtime: u64, lane: usize, goroutine: u64, kind: Kind, at: Option<u64>) {
    let event = Event {
        at_ns: at.unwrap_or_else(now_nanos),
        runtime,
        lane,
        goroutine,
        kind,
    };
    let epoch = EPOCH.load(Ordering::Acquire);
    let _ = LOCAL.try_with(|local| {
        let mut local = local.borrow_mut();
        let buffer = match &*local {
            Some((e, buffer)) if *e == epoch => buffer.clone(),
            _ => {
                let buffer = Arc::new(Mutex::new(Vec::with_capacity(1024)));
                BUFFERS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(buffer.clone());
                *local = Some((epoch, buffer.clone()));
                buffer
            }
        };
        buffer.lock().unwrap_or_else(|e| e.into_inner()).push(event);
    });
}

/// A recorded trace.
#[derive(Clone, Debug)]
pub struct Trace {
    started_at_ns: u64,
    events: Vec<Event>,
}

/// One stretch of a goroutine running on a worker.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    /// Which runtime (runtimes are numbered from 1 in the order they started).
    pub runtime: u64,
    /// The worker's index ([`OTHER_THREADS`] never runs goroutines).
    pub worker: usize,
    /// The goroutine's id.
    pub goroutine: u64,
    /// Microseconds since the trace started.
    pub start_us: f64,
    /// Its length in microseconds.
    pub duration_us: f64,
    /// How it ended: `yield`, `exit`, or `park: <reason>`.
    pub end: String,
}

impl Trace {
    /// Number of events recorded.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    fn us(&self, ns: u64) -> f64 {
        ns.saturating_sub(self.started_at_ns) as f64 / 1000.0
    }

    /// The run spans, in start order.
    pub fn spans(&self) -> Vec<Span> {
        let mut spans: Vec<Span> = self
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                Kind::Run { end_ns, end } => Some(Span {
                    runtime: e.runtime,
                    worker: e.lane,
                    goroutine: e.goroutine,
                    start_us: self.us(e.at_ns),
                    duration_us: (end_ns - e.at_ns) as f64 / 1000.0,
                    end: end_text(*end),
                }),
                _ => None,
            })
            .collect();
        spans.sort_by(|a, b| a.start_us.total_cmp(&b.start_us));
        spans
    }

    /// Chrome trace-event JSON (the "JSON object format"): one process per runtime,
    /// one thread per worker; runs are complete (`X`) events named after the
    /// goroutine, creates, unparks and steals are instant (`i`) events.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"traceEvents\":[\n");
        let mut lanes: BTreeMap<(u64, usize), ()> = BTreeMap::new();
        let mut first = true;
        for e in &self.events {
            lanes.insert((e.runtime, e.lane), ());
            let tid = lane_tid(e.lane);
            let ts = self.us(e.at_ns);
            let line = match &e.kind {
                Kind::Run { end_ns, end } => format!(
                    "{{\"name\":\"goroutine {}\",\"cat\":\"run\",\"ph\":\"X\",\"ts\":{ts:.3},\"dur\":{:.3},\"pid\":{},\"tid\":{tid},\"args\":{{\"goroutine\":{},\"end\":\"{}\"}}}}",
                    e.goroutine,
                    (end_ns - e.at_ns) as f64 / 1000.0,
                    e.runtime,
                    e.goroutine,
                    end_text(*end)
                ),
                Kind::Create { site } => format!(
                    "{{\"name\":\"create goroutine {}\",\"cat\":\"create\",\"ph\":\"i\",\"s\":\"t\",\"ts\":{ts:.3},\"pid\":{},\"tid\":{tid},\"args\":{{\"goroutine\":{},\"site\":\"{}\"}}}}",
                    e.goroutine,
                    e.runtime,
                    e.goroutine,
                    json_escape(&site.to_string())
                ),
                Kind::Labels { labels } => format!(
                    "{{\"name\":\"labels goroutine {}\",\"cat\":\"labels\",\"ph\":\"i\",\"s\":\"t\",\"ts\":{ts:.3},\"pid\":{},\"tid\":{tid},\"args\":{{\"goroutine\":{},\"labels\":\"{}\"}}}}",
                    e.goroutine,
                    e.runtime,
                    e.goroutine,
                    json_escape(labels)
                ),
                Kind::Unpark => format!(
                    "{{\"name\":\"unpark goroutine {}\",\"cat\":\"unpark\",\"ph\":\"i\",\"s\":\"t\",\"ts\":{ts:.3},\"pid\":{},\"tid\":{tid},\"args\":{{\"goroutine\":{}}}}}",
                    e.goroutine, e.runtime, e.goroutine
                ),
                Kind::Steal { victim } => format!(
                    "{{\"name\":\"steal goroutine {} from worker {victim}\",\"cat\":\"steal\",\"ph\":\"i\",\"s\":\"t\",\"ts\":{ts:.3},\"pid\":{},\"tid\":{tid},\"args\":{{\"goroutine\":{},\"victim\":{victim}}}}}",
                    e.goroutine, e.runtime, e.goroutine
                ),
            };
            if !first {
                out.push_str(",\n");
            }
            first = false;
            out.push_str(&line);
        }
        for (runtime, lane) in lanes.keys() {
            let name = if *lane == OTHER_THREADS {
                "other threads".to_string()
            } else {
                format!("worker {lane}")
            };
            let _ = write!(
                out,
                "{}{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{runtime},\"tid\":{},\"args\":{{\"name\":\"{name}\"}}}}",
                if first { "" } else { ",\n" },
                lane_tid(*lane)
            );
            first = false;
        }
        out.push_str("\n],\"displayTimeUnit\":\"ns\"}\n");
        out
    }

    /// Write [`to_json`](Self::to_json) to `path`.
    pub fn write_json(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_json())
    }

    /// An SVG timeline of [`spans`](Self::spans) (see [`render_svg`]).
    pub fn to_svg(&self, title: &str) -> String {
        render_svg(&self.spans(), title)
    }
}

fn lane_tid(lane: usize) -> u64 {
    if lane == OTHER_THREADS {
        9999
    } else {
        lane as u64
    }
}

fn end_text(end: RunEnd) -> String {
    match end {
        RunEnd::Yield => "yield".into(),
        RunEnd::Exit => "exit".into(),
        RunEnd::Park(reason) => format!("park: {reason}"),
    }
}

fn json_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
