//! The live debug page (`goru::http::debug_handler`): every endpoint served to a real
//! client, and the HTML page loaded in a real headless browser (Debian's chromium,
//! installed by `scripts/install-chromium.sh` when missing), its screenshot taken and
//! its numbers checked against `runtime::metrics()`.
#![cfg(feature = "http")]

use std::io::Read;
use std::time::{Duration, Instant};

use goru::chan;
use goru::net::TcpListener;

/// Where the screenshot goes (under the build directory, like every test output).
const SCREENSHOT: &str = "target/debug-page.png";

fn get(url: &str) -> (u16, String, String) {
    let agent = goru::http::agent_with(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    let mut response = agent.get(url).call().unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let mut body = String::new();
    response
        .body_mut()
        .as_reader()
        .read_to_string(&mut body)
        .unwrap();
    (status, kind, body)
}

/// `n` goroutines parked in a channel receive until `release` is dropped.
fn parked_receivers(n: usize) -> (chan::Sender<()>, Vec<goru::JoinHandle<bool>>) {
    let (release, rx) = chan::bounded::<()>(0);
    let waiters = (0..n)
        .map(|_| {
            let rx = rx.clone();
            goru::go(move || rx.recv().is_err())
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while waiting_in_recv() < n {
        assert!(Instant::now() < deadline, "receivers never parked");
        goru::time::sleep(Duration::from_millis(1));
    }
    (release, waiters)
}

fn waiting_in_recv() -> usize {
    let m = goru::runtime::metrics();
    m.by_wait_reason
        .iter()
        .find(|(r, _)| r.to_string() == "chan receive")
        .map_or(0, |(_, n)| *n)
}

fn serve_debug() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    goru::go(move || goru::http::serve(listener, goru::http::debug_handler()));
    format!("http://{addr}/debug/goru")
}

#[test]
fn every_endpoint_answers_what_it_says() {
    goru::run(|| {
        let base = serve_debug();
        let (release, waiters) = parked_receivers(300);

        let (status, kind, text) = get(&format!("{base}/metrics"));
        assert_eq!(status, 200);
        assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
        assert!(
            text.contains("goru_goroutines_waiting{runtime=\"")
                && text.contains(",reason=\"chan receive\"} 300"),
            "{text}"
        );

        let (status, _, dump) = get(&format!("{base}/goroutines"));
        assert_eq!(status, 200);
        assert_eq!(dump.matches("[chan receive").count(), 300, "{dump}");
        assert!(dump.contains("goroutine 1 ["), "{dump}");
        let (_, _, with_backtraces) = get(&format!("{base}/goroutines?backtraces=1"));
        assert!(
            with_backtraces.contains("Receiver<T>::recv"),
            "{with_backtraces}"
        );

        let (status, _, profile) = get(&format!("{base}/profile"));
        assert_eq!(status, 200);
        let first = profile.lines().next().unwrap();
        assert!(
            first.starts_with("spawned at tests/debug_page.rs:"),
            "{profile}"
        );
        assert!(first.ends_with(";[chan receive] 300"), "{profile}");

        // A timeline of the next 200 ms, and a second one refused meanwhile.
        let timeline = goru::go({
            let base = base.clone();
            move || get(&format!("{base}/trace?seconds=0.2"))
        });
        goru::time::sleep(Duration::from_millis(50));
        let (conflict, _, _) = get(&format!("{base}/trace?seconds=0.2"));
        let (status, kind, svg) = timeline.join().unwrap();
        assert_eq!((status, kind.as_str()), (200, "image/svg+xml"));
        assert!(
            svg.starts_with("<svg") && svg.contains("goru: 200 ms"),
            "{svg}"
        );
        assert_eq!(conflict, 409);
        assert_eq!(get(&format!("{base}/trace?seconds=soon")).0, 400);
        assert_eq!(get(&format!("{base}/nothing-here")).0, 404);

        drop(release);
        assert!(waiters.into_iter().all(|w| w.join().unwrap()));
    });
}

/// The number in `html` inside the element whose opening tag contains `marker`.
fn number_after(html: &str, marker: &str) -> f64 {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in the page:\n{html}"));
    let rest = &html[at..];
    let value = &rest[rest.find('>').unwrap() + 1..];
    let value = &value[..value.find('<').unwrap()];
    value
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{marker}: {value:?}"))
}

#[test]
fn the_page_in_a_real_browser_shows_the_runtimes_numbers() {
    let installed = std::process::Command::new("scripts/install-chromium.sh")
        .status()
        .expect("run scripts/install-chromium.sh");
    assert!(installed.success(), "chromium could not be installed");
    let rt = goru::Runtime::builder().workers(2).build().unwrap();
    rt.run(|| {
        let page = format!("{}/", serve_debug());
        let (release, waiters) = parked_receivers(500);
        let chromium = |extra: &[&str]| {
            let profile =
                std::env::temp_dir().join(format!("goru-chromium-{}", std::process::id()));
            let out = goru::process::Command::new("chromium")
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--hide-scrollbars",
                    "--window-size=900,900",
                ])
                .arg(format!("--user-data-dir={}", profile.display()))
                .args(extra)
                .arg(&page)
                .output()
                .expect("start chromium");
            assert!(
                out.status.success(),
                "chromium failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        // The DOM as the browser built it, then the numbers right after.
        let dom = chromium(&["--dump-dom"]);
        let m = goru::runtime::metrics();
        assert_eq!(number_after(&dom, "id=\"workers\"") as usize, m.workers);
        assert_eq!(
            number_after(&dom, "data-reason=\"chan receive\"") as usize,
            500
        );
        // Live goroutines: ours, plus the server's connection and request goroutines,
        // which come and go with the browser's requests.
        let shown = number_after(&dom, "id=\"goroutines\"") as usize;
        assert!(
            (500..=m.goroutines + 8).contains(&shown) && shown + 8 >= m.goroutines,
            "page {shown}, metrics {}",
            m.goroutines
        );
        assert!(number_after(&dom, "id=\"spawned\"") as u64 <= m.spawned);
        let latency = &dom[dom.find("id=\"sched_latency\"").expect("the latency")..];
        if cfg!(feature = "metrics") {
            assert!(latency.contains(">p50 ≤ "), "{latency}");
        }
        let bars = dom.matches("class=\"busy\" data-worker=").count();
        assert_eq!(bars, m.per_worker.len(), "one bar per worker");
        for link in ["goroutines", "profile", "metrics", "trace?seconds=1"] {
            assert!(dom.contains(&format!("href=\"{link}\"")), "{link}");
        }
        // And a picture of it.
        let _ = std::fs::remove_file(SCREENSHOT);
        chromium(&[&format!("--screenshot={SCREENSHOT}")]);
        let png = std::fs::read(SCREENSHOT).expect("the screenshot");
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 5_000,
            "{} bytes",
            png.len()
        );
        drop(release);
        assert!(waiters.into_iter().all(|w| w.join().unwrap()));
    });
}
