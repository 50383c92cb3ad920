//! Metrics out of the process: Prometheus's text format (for the debug page), and with
//! feature `metrics` the `metrics` facade, which every exporter of that crate reads.

use std::fmt::Write;

use super::metrics::Metrics;

impl Metrics {
    /// The snapshot in Prometheus's text exposition format (version 0.0.4), each
    /// series labelled with its `runtime` number.
    ///
    /// ```
    /// goru::run(|| {
    ///     let text = goru::runtime::metrics().to_prometheus();
    ///     assert!(text.contains("goru_goroutines{runtime=\"1\"} 1"));
    /// });
    /// ```
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let rt = format!("runtime=\"{}\"", self.runtime);
        let mut series = |name: &str, kind: &str, help: &str, rows: &[(String, f64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in rows {
                let _ = writeln!(out, "{name}{{{rt}{labels}}} {value}");
            }
        };
        let one = |v: f64| vec![(String::new(), v)];
        for (name, kind, help, value) in self.scalars() {
            series(name, kind, help, &one(value));
        }
        let reasons: Vec<(String, f64)> = self
            .by_wait_reason
            .iter()
            .map(|(r, n)| (format!(",reason=\"{r}\""), *n as f64))
            .collect();
        series(
            "goru_goroutines_waiting",
            "gauge",
            "Parked goroutines by wait reason.",
            &reasons,
        );
        let per_worker = |f: &dyn Fn(&super::metrics::WorkerMetrics) -> f64| {
            self.per_worker
                .iter()
                .map(|w| (format!(",worker=\"{}\"", w.index), f(w)))
                .collect::<Vec<_>>()
        };
        series(
            "goru_worker_busy_seconds_total",
            "counter",
            "Time each worker has been awake.",
            &per_worker(&|w| w.busy.as_secs_f64()),
        );
        series(
            "goru_worker_parks_total",
            "counter",
            "Times each worker fell asleep for want of work.",
            &per_worker(&|w| w.parks as f64),
        );
        series(
            "goru_worker_queued",
            "gauge",
            "Goroutines queued on each worker.",
            &per_worker(&|w| w.queued as f64),
        );
        let h = &self.sched_latency;
        if h.samples() > 0 {
            let name = "goru_sched_latency_seconds";
            let _ = writeln!(
                out,
                "# HELP {name} Sampled wait of woken goroutines before they ran.\n\
                 # TYPE {name} histogram"
            );
            let mut cumulative = 0;
            for (i, n) in h.counts.iter().enumerate() {
                cumulative += n;
                let le = h
                    .bounds
                    .get(i)
                    .map_or("+Inf".to_string(), |b| format!("{}", b.as_secs_f64()));
                let _ = writeln!(out, "{name}_bucket{{{rt},le=\"{le}\"}} {cumulative}");
            }
            let _ = writeln!(out, "{name}_count{{{rt}}} {cumulative}");
        }
        out
    }

    /// The single-valued series: name, type, help, value.
    fn scalars(&self) -> [(&'static str, &'static str, &'static str, f64); 14] {
        [
            (
                "goru_workers",
                "gauge",
                "Workers (GOMAXPROCS).",
                self.workers as f64,
            ),
            (
                "goru_goroutines",
                "gauge",
                "Live goroutines.",
                self.goroutines as f64,
            ),
            (
                "goru_goroutines_spawned_total",
                "counter",
                "Goroutines spawned.",
                self.spawned as f64,
            ),
            (
                "goru_goroutines_parked",
                "gauge",
                "Parked goroutines.",
                self.parked as f64,
            ),
            (
                "goru_goroutines_runnable",
                "gauge",
                "Queued goroutines.",
                self.runnable as f64,
            ),
            (
                "goru_goroutines_running",
                "gauge",
                "Running goroutines.",
                self.running as f64,
            ),
            (
                "goru_steals_total",
                "counter",
                "Work steals between workers.",
                self.steals as f64,
            ),
            (
                "goru_blocking_threads",
                "gauge",
                "Blocking-pool threads.",
                self.blocking_threads as f64,
            ),
            (
                "goru_blocking_queue",
                "gauge",
                "Calls queued for the blocking pool.",
                self.blocking_queue as f64,
            ),
            (
                "goru_blocking_calls",
                "gauge",
                "Goroutines waiting on a blocking call.",
                self.blocking_calls as f64,
            ),
            (
                "goru_timers",
                "gauge",
                "Pending timers.",
                self.timers as f64,
            ),
            (
                "goru_poll_waiters",
                "gauge",
                "Goroutines waiting on a socket or fd.",
                self.poll_waiters as f64,
            ),
            (
                "goru_stack_bytes",
                "gauge",
                "Committed goroutine stack memory.",
                self.stack_bytes as f64,
            ),
            (
                "goru_uptime_seconds",
                "counter",
                "Time since the runtime started.",
                self.uptime.as_secs_f64(),
            ),
        ]
    }

    /// Feature `metrics`: hand the snapshot to the `metrics` facade (gauges and
    /// absolute counters, labelled with `runtime`); a no-op until a recorder is
    /// installed. The monitor calls it once a second.
    #[cfg(feature = "metrics")]
    pub(crate) fn publish(&self) {
        let rt = self.runtime.to_string();
        for (name, kind, _, value) in self.scalars() {
            if kind == "counter" && name != "goru_uptime_seconds" {
                metrics::counter!(name, "runtime" => rt.clone()).absolute(value as u64);
            } else {
                metrics::gauge!(name, "runtime" => rt.clone()).set(value);
            }
        }
        for (reason, n) in &self.by_wait_reason {
            metrics::gauge!("goru_goroutines_waiting", "runtime" => rt.clone(), "reason" => reason.as_str())
                .set(*n as f64);
        }
        for w in &self.per_worker {
            let worker = w.index.to_string();
            metrics::gauge!("goru_worker_busy_seconds", "runtime" => rt.clone(), "worker" => worker.clone())
                .set(w.busy.as_secs_f64());
            metrics::counter!("goru_worker_parks_total", "runtime" => rt.clone(), "worker" => worker)
                .absolute(w.parks);
        }
    }
}
