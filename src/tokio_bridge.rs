//! A bridge to tokio (feature `tokio`), for crates whose futures need a tokio runtime
//! (reqwest, sqlx, tonic): they run on one process-wide runtime, started on first use,
//! while the calling goroutine parks.

use std::future::Future;
use std::sync::OnceLock;

/// Run `fut` on a process-wide tokio runtime (multi-threaded, I/O and time drivers on,
/// started on first use) and park the calling goroutine until it is done; its worker
/// runs other goroutines meanwhile. On a plain thread the thread blocks. A panic in
/// `fut` resumes in the caller.
///
/// ```
/// goru::run(|| {
///     let n = goru::tokio::block_on(async {
///         tokio::time::sleep(std::time::Duration::from_millis(5)).await;
///         42
///     });
///     assert_eq!(n, 42);
/// });
/// ```
pub fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = runtime().spawn(fut);
    match crate::block_on(task) {
        Ok(output) => output,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        // Only a runtime shutdown cancels a task, and this one is never shut down.
        Err(err) => panic!("goru::tokio::block_on: the task did not finish: {err}"),
    }
}

/// The runtime, started on first use. Its threads are named `goru-tokio`.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("goru-tokio")
            .build()
            .expect("goru::tokio: cannot start the tokio runtime")
    })
}
