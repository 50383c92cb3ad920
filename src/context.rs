//! `context`: cancellation, deadlines and request-scoped values, as Go's `context`.
//!
//! Contexts form a tree. A cancellable node (from [`with_cancel`], [`with_timeout`],
//! [`with_deadline`]) registers with its nearest cancellable ancestor; cancelling a
//! node cancels its whole subtree and never its parent. A node derived from an already
//! cancelled parent starts cancelled. [`with_value`] nodes only carry a value and
//! answer `done`/`err`/`deadline` from their parent.
//!
//! Nothing leaks per context: a parent holds its children weakly and a child removes
//! itself from its parent when it is cancelled or dropped; a deadline's timer is
//! stopped on cancellation and holds the node weakly. No goroutine is ever started.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use crate::chan::{self, Receiver, Sender};
use crate::park::sight::Sight;
use crate::park::Unparker;
use crate::time::timers::{TimerAction, TimerKey};

/// Why a context was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextError {
    /// Cancelled by its `CancelFn` (or an ancestor's).
    Canceled,
    /// Its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Canceled => "context canceled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for ContextError {}

/// A node of the context tree. Cheap to clone; `Send + Sync`.
///
/// ```
/// use std::time::Duration;
/// use goru::context;
/// goru::run(|| {
///     let (ctx, cancel) = context::with_cancel(&context::background());
///     let worker = {
///         let ctx = ctx.clone(); // cheap: shared with the worker
///         goru::go(move || loop {
///             goru::select! {
///                 recv(ctx.done()) -> _ => return ctx.err(),
///                 recv(goru::time::after(Duration::from_millis(1))) -> _ => {} // work
///             }
///         })
///     };
///     cancel.cancel();
///     assert_eq!(worker.join().unwrap(), Some(context::ContextError::Canceled));
/// });
/// ```
#[derive(Clone)]
pub struct Context {
    node: Arc<Node>,
}

enum Node {
    Background,
    Cancel(CancelNode),
    Value {
        parent: Context,
        key: TypeId,
        value: Arc<dyn Any + Send + Sync>,
    },
    /// [`without_cancel`]: the parent's values, none of its cancellation.
    Detached {
        parent: Context,
    },
}

/// Why a context was cancelled, as [`Context::cause`] tells it.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

struct CancelNode {
    id: u64,
    /// The context it was derived from (values are looked up through it; we are
    /// registered with its nearest cancellable ancestor).
    parent: Context,
    deadline: Option<Instant>,
    /// Made on the first `done()` (as Go's `Done`), so that a context nobody selects on
    /// costs no channel.
    done: OnceLock<Receiver<()>>,
    state: Mutex<CancelState>,
    /// Who has made, derived from or cancelled it (`park::sight`): a `done` channel
    /// of a context in the hands of a plain thread is out of the runtime's sight.
    sight: Sight,
}

struct CancelState {
    err: Option<ContextError>,
    /// Dropping it closes `done`; None until `done` is made, and once cancelled.
    done_tx: Option<Sender<()>>,
    children: Vec<(u64, Weak<Node>)>,
    timer: Option<TimerKey>,
    /// Parked callers to unpark on cancellation (sockets waiting with a context).
    watchers: Vec<(u64, Unparker)>,
    /// The cause given with the cancellation ([`with_cancel_cause`]), or inherited.
    cause: Option<Cause>,
    /// [`after_func`] calls to start on cancellation, keyed for `stop`.
    callbacks: Vec<(u64, Box<dyn FnOnce() + Send>)>,
}

/// Cancels its context when called or dropped (Go's `CancelFunc`, made hard to forget).
///
/// ```
/// use goru::context;
/// let (parent, cancel_parent) = context::with_cancel(&context::background());
/// let (child, _cancel_child) = context::with_cancel(&parent);
/// drop(cancel_parent); // dropping cancels, like calling cancel()
/// assert!(parent.err().is_some() && child.err().is_some(), "the subtree goes too");
/// ```
pub struct CancelFn {
    node: Arc<Node>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The root context: never cancelled, no deadline, no values.
///
/// ```
/// let ctx = goru::context::background();
/// assert!(ctx.err().is_none() && ctx.deadline().is_none());
/// ```
pub fn background() -> Context {
    static BACKGROUND: OnceLock<Context> = OnceLock::new();
    BACKGROUND
        .get_or_init(|| Context {
            node: Arc::new(Node::Background),
        })
        .clone()
}

/// A child that is cancelled when `cancel` is called or dropped, or when `parent` is.
///
/// ```
/// use goru::context::{self, ContextError};
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// let (child, _keep) = context::with_cancel(&ctx);
/// cancel.cancel();
/// assert_eq!(child.err(), Some(ContextError::Canceled));
/// assert!(child.done().recv().is_err(), "done is closed");
/// ```
pub fn with_cancel(parent: &Context) -> (Context, CancelFn) {
    new_cancel_node(parent, None)
}

/// A child cancelled after `d` (with `DeadlineExceeded`), or earlier by `cancel`/parent.
///
/// ```
/// use std::time::Duration;
/// use goru::context::{self, ContextError};
/// goru::run(|| {
///     let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(10));
///     assert!(ctx.done().recv().is_err(), "done closes when the time is up");
///     assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
/// });
/// ```
pub fn with_timeout(parent: &Context, d: Duration) -> (Context, CancelFn) {
    with_deadline(parent, crate::time::now() + d)
}

/// A child cancelled at `at` (with `DeadlineExceeded`), or earlier by `cancel`/parent.
///
/// ```
/// use std::time::Duration;
/// use goru::context::{self, ContextError};
/// goru::run(|| {
///     let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(10));
///     goru::select! {
///         recv(ctx.done()) -> _ => assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded)),
///         recv(goru::time::after(Duration::from_secs(5))) -> _ => panic!("no timeout"),
///     }
/// });
/// ```
pub fn with_deadline(parent: &Context, at: Instant) -> (Context, CancelFn) {
    let inherited = parent.deadline();
    if inherited.is_some_and(|p| p <= at) {
        return new_cancel_node(parent, None); // the parent's deadline comes first anyway
    }
    let (ctx, cancel) = new_cancel_node(parent, Some(at));
    if ctx.err().is_none() {
        if at <= crate::time::now() {
            cancel_node(&ctx.node, ContextError::DeadlineExceeded);
        } else {
            let weak = Arc::downgrade(&ctx.node);
            let key = crate::time::clock::Clock::current().add(
                at,
                TimerAction::Call(Box::new(move || {
                    if let Some(node) = weak.upgrade() {
                        cancel_node(&node, ContextError::DeadlineExceeded);
                    }
                })),
            );
            if let Node::Cancel(c) = &*ctx.node {
                let mut st = c.state.lock().unwrap_or_else(|e| e.into_inner());
                if st.err.is_none() {
                    st.timer = Some(key);
                } else {
                    drop(st);
                    key.stop();
                }
            }
        }
    }
    (ctx, cancel)
}

/// A child carrying `v`, found by [`Context::value`] with its type as the key.
///
/// ```
/// use goru::context;
/// struct RequestId(u64);
/// let ctx = context::with_value(&context::background(), RequestId(7));
/// let (child, _cancel) = context::with_cancel(&ctx);
/// assert_eq!(child.value::<RequestId>().unwrap().0, 7);
/// assert!(child.value::<String>().is_none());
/// ```
pub fn with_value<V: Send + Sync + 'static>(parent: &Context, v: V) -> Context {
    Context {
        node: Arc::new(Node::Value {
            parent: parent.clone(),
            key: TypeId::of::<V>(),
            value: Arc::new(v),
        }),
    }
}

/// A context cancelled when one of `signals` arrives (Go's `signal.NotifyContext`), or
/// when its [`CancelFn`] is called or dropped; then it stops listening. The first
/// signal is also the context's [`cause`](Context::cause).
///
/// ```no_run
/// goru::run(|| {
///     let (ctx, _stop) = goru::context::with_signals(&goru::context::background(), &[libc::SIGTERM]);
///     // Serve until SIGTERM: goru::http::Server::new().shutdown_on(&ctx).serve(...)
///     # drop(ctx);
/// });
/// ```
///
/// # Panics
/// As [`signal::notify`](crate::signal::notify), for a signal that cannot be caught.
pub fn with_signals(parent: &Context, signals: &[i32]) -> (Context, CancelFn) {
    let arrived = crate::signal::notify(signals);
    let (ctx, node) = new_cancel_tree_node(parent, None);
    let watched = ctx.clone();
    let target = Arc::downgrade(&node);
    std::thread::Builder::new()
        .name("goru-signal-context".into())
        .spawn(move || {
            crate::select! {
                recv(arrived) -> sig => if let (Ok(sig), Some(node)) = (sig, target.upgrade()) {
                    let cause: Cause = Arc::new(std::io::Error::other(format!("received signal {sig}")));
                    cancel_node_with(&node, ContextError::Canceled, Some(cause));
                },
                recv(watched.done()) -> _ => {}, // cancelled otherwise: stop listening
            }
        })
        .expect("goru::context::with_signals: cannot start its thread");
    (ctx, CancelFn { node })
}

/// [`with_cancel`], whose cancel function takes a cause (Go's `WithCancelCause`):
/// [`Context::cause`] then tells it, here and in every context derived from this one.
/// Dropping the function cancels without a cause.
pub fn with_cancel_cause(parent: &Context) -> (Context, CancelCauseFn) {
    let (ctx, node) = new_cancel_tree_node(parent, None);
    (ctx, CancelCauseFn { node })
}

/// A context with `parent`'s values that is never cancelled and has no deadline (Go's
/// `WithoutCancel`): for work that must finish even though the request that started it
/// was cancelled.
///
/// ```
/// use goru::context;
/// struct User(&'static str);
/// let (req, cancel) = context::with_cancel(&context::with_value(&context::background(), User("ann")));
/// let audit = context::without_cancel(&req);
/// cancel.cancel();
/// assert!(req.err().is_some() && audit.err().is_none());
/// assert_eq!(audit.value::<User>().unwrap().0, "ann");
/// ```
pub fn without_cancel(parent: &Context) -> Context {
    Context {
        node: Arc::new(Node::Detached {
            parent: parent.clone(),
        }),
    }
}

/// Call `f` on a goroutine of its own once `ctx` is cancelled (at once if it already
/// is), as Go's `context.AfterFunc`. [`AfterFuncStop::stop`] undoes the arrangement if
/// `f` has not been started. A context that is never cancelled never calls `f`.
///
/// ```
/// use goru::context;
/// goru::run(|| {
///     let (ctx, cancel) = context::with_cancel(&context::background());
///     let (tx, rx) = goru::chan::bounded(1);
///     let _call = context::after_func(&ctx, move || tx.send("cleaned up").unwrap());
///     cancel.cancel();
///     assert_eq!(rx.recv().unwrap(), "cleaned up");
/// });
/// ```
pub fn after_func(ctx: &Context, f: impl FnOnce() + Send + 'static) -> AfterFuncStop {
    let key = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let Some(node) = ctx.cancel_ancestor() else {
        return AfterFuncStop { node: None, key };
    };
    let Node::Cancel(c) = &*node else {
        unreachable!("cancel_ancestor returns cancel nodes")
    };
    let mut st = c.state.lock().unwrap_or_else(|e| e.into_inner());
    if st.err.is_some() {
        drop(st);
        start_callback(Box::new(f));
    } else {
        st.callbacks.push((key, Box::new(f)));
        drop(st);
    }
    AfterFuncStop {
        node: Some(node),
        key,
    }
}

/// Undoes an [`after_func`] arrangement.
pub struct AfterFuncStop {
    node: Option<Arc<Node>>,
    key: u64,
}

impl AfterFuncStop {
    /// Stop `f` from being called; true if this stopped it, false if it had been
    /// started already (or stopped before).
    pub fn stop(&self) -> bool {
        let Some(node) = &self.node else {
            return true; // a context that never cancels: it never runs
        };
        let Node::Cancel(c) = &**node else {
            unreachable!("after_func keeps a cancel node")
        };
        let mut st = c.state.lock().unwrap_or_else(|e| e.into_inner());
        let before = st.callbacks.len();
        st.callbacks.retain(|(k, _)| *k != self.key);
        st.callbacks.len() < before
    }
}

impl fmt::Debug for AfterFuncStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterFuncStop").finish_non_exhaustive()
    }
}

/// Cancels its context with a cause ([`with_cancel_cause`]), or without one when
/// dropped.
pub struct CancelCauseFn {
    node: Arc<Node>,
}

impl CancelCauseFn {
    /// Cancel the context (its `err` is `Canceled`) and everything derived from it,
    /// with `cause` for [`Context::cause`]. The first cancellation wins.
    pub fn cancel(&self, cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) {
        crate::sched::driver::switch_point("context cancel");
        let cause: Cause = Arc::from(cause.into());
        cancel_node_with(&self.node, ContextError::Canceled, Some(cause));
    }
}

impl Drop for CancelCauseFn {
    fn drop(&mut self) {
        cancel_node(&self.node, ContextError::Canceled);
    }
}

impl fmt::Debug for CancelCauseFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelCauseFn").finish_non_exhaustive()
    }
}

fn new_cancel_node(parent: &Context, own_deadline: Option<Instant>) -> (Context, CancelFn) {
    let (ctx, node) = new_cancel_tree_node(parent, own_deadline);
    (ctx, CancelFn { node })
}

/// A cancellable node under `parent`: the context, and the node its cancel function
/// holds.
fn new_cancel_tree_node(parent: &Context, own_deadline: Option<Instant>) -> (Context, Arc<Node>) {
    let ancestor = parent.cancel_ancestor();
    let deadline = match (own_deadline, parent.deadline()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let sight = Sight::here();
    if let Some(Node::Cancel(a)) = ancestor.as_deref() {
        // Whoever may cancel the parent may cancel this one.
        if a.sight.is_foreign() {
            sight.make_foreign();
        }
        a.sight.touch();
    }
    let node = Arc::new(Node::Cancel(CancelNode {
        sight,
        id,
        parent: parent.clone(),
        deadline,
        done: OnceLock::new(),
        state: Mutex::new(CancelState {
            err: None,
            done_tx: None,
            children: Vec::new(),
            timer: None,
            watchers: Vec::new(),
            cause: None,
            callbacks: Vec::new(),
        }),
    }));
    if let Some(anc) = ancestor {
        let Node::Cancel(a) = &*anc else {
            unreachable!("cancel_ancestor returns cancel nodes")
        };
        let mut st = a.state.lock().unwrap_or_else(|e| e.into_inner());
        match st.err {
            Some(err) => {
                let cause = st.cause.clone();
                drop(st);
                cancel_node_with(&node, err, cause); // born cancelled, as its parent is
            }
            None => st.children.push((id, Arc::downgrade(&node))),
        }
    }
    (Context { node: node.clone() }, node)
}

/// Cancel `node` and its subtree with `err` (first cancellation wins). Iterative, so a
/// deep chain of contexts cannot overflow a goroutine's stack.
fn cancel_node(node: &Arc<Node>, err: ContextError) {
    cancel_node_with(node, err, None);
}

/// [`cancel_node`] with a cause, which the subtree inherits (Go's `Cause`).
fn cancel_node_with(node: &Arc<Node>, err: ContextError, cause: Option<Cause>) {
    // The subtree below the first node, if any: no allocation for a leaf.
    let mut pending = cancel_one(node, err, &cause);
    while let Some(node) = pending.pop() {
        pending.extend(cancel_one(&node, err, &cause));
    }
}

/// Cancel `node` alone (if it is not already); returns its children, to cancel next.
fn cancel_one(node: &Node, err: ContextError, cause: &Option<Cause>) -> Vec<Arc<Node>> {
    let Node::Cancel(c) = node else {
        return Vec::new();
    };
    c.sight.touch();
    let (children, timer, done_tx, watchers, callbacks) = {
        let mut st = c.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.err.is_some() {
            return Vec::new();
        }
        st.err = Some(err);
        st.cause = cause.clone();
        (
            std::mem::take(&mut st.children),
            st.timer.take(),
            st.done_tx.take(),
            std::mem::take(&mut st.watchers),
            std::mem::take(&mut st.callbacks),
        )
    };
    for (_, waiter) in watchers {
        waiter.unpark();
    }
    for (_, f) in callbacks {
        start_callback(f);
    }
    if let Some(t) = timer {
        t.stop();
    }
    drop(done_tx); // closes `done`: every receiver, in select or not, wakes
    c.detach_from_parent();
    children
        .into_iter()
        .filter_map(|(_, child)| child.upgrade())
        .collect()
}

/// Start an [`after_func`] call on a goroutine of its own (a thread of its own when
/// the cancellation happens outside a runtime).
fn start_callback(f: Box<dyn FnOnce() + Send>) {
    if crate::goroutine::current_ptr().is_some() {
        drop(crate::go(f));
    } else {
        std::thread::spawn(f);
    }
}

impl CancelNode {
    /// The `done` receiver, made now if this is the first call. Its sender goes where
    /// `cancel_node` will drop it, under the state lock; made after the cancellation,
    /// it is dropped at once, so the receiver starts closed.
    fn done_channel(&self) -> &Receiver<()> {
        self.sight.touch();
        let done = self.done.get_or_init(|| {
            let (tx, rx) = chan::bounded(0);
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if st.err.is_none() {
                st.done_tx = Some(tx);
            }
            rx
        });
        if self.sight.is_foreign() {
            if let Some(chan) = done.chan() {
                chan.sight.make_foreign();
            }
        }
        done
    }

    fn detach_from_parent(&self) {
        if let Some(ancestor) = self.parent.cancel_ancestor() {
            if let Node::Cancel(p) = &*ancestor {
                let mut st = p.state.lock().unwrap_or_else(|e| e.into_inner());
                st.children.retain(|(id, _)| *id != self.id);
            }
        }
    }
}

impl Node {
    /// Leave the parent's list of children, stop the timer, and hand back the link to
    /// the parent (replaced by the background context).
    fn unlink(&mut self) -> Arc<Node> {
        let parent = match self {
            Node::Background => return background().node,
            Node::Cancel(c) => {
                let timer = c
                    .state
                    .get_mut()
                    .unwrap_or_else(|e| e.into_inner())
                    .timer
                    .take();
                if let Some(t) = timer {
                    t.stop();
                }
                c.detach_from_parent();
                &mut c.parent
            }
            Node::Value { parent, .. } | Node::Detached { parent } => parent,
        };
        std::mem::replace(parent, background()).node
    }
}

impl Drop for Node {
    /// A context nobody holds any more leaves its parent and stops its timer. The chain
    /// of parents it was the last holder of is released in a loop, not recursively, so
    /// dropping a chain of 100,000 contexts cannot overflow a goroutine's stack.
    fn drop(&mut self) {
        let mut next = self.unlink();
        while let Ok(mut parent) = Arc::try_unwrap(next) {
            next = parent.unlink(); // `parent` drops here with nothing left to release
        }
    }
}

impl Context {
    /// A receiver that is closed when this context is cancelled: its `recv` returns
    /// `Err` then, and a `select!` case on it becomes ready. Never closes for
    /// [`background`].
    ///
    /// ```
    /// let (ctx, cancel) = goru::context::with_cancel(&goru::context::background());
    /// goru::run(move || {
    ///     goru::go(move || cancel.cancel());
    ///     goru::select! {
    ///         recv(ctx.done()) -> _ => assert!(ctx.err().is_some()),
    ///     }
    /// });
    /// ```
    pub fn done(&self) -> Receiver<()> {
        match &*self.node {
            Node::Background | Node::Detached { .. } => chan::never(),
            Node::Cancel(c) => c.done_channel().clone(),
            Node::Value { parent, .. } => parent.done(),
        }
    }

    /// Why it was cancelled, or `None` while it is not.
    ///
    /// ```
    /// let (ctx, cancel) = goru::context::with_cancel(&goru::context::background());
    /// assert_eq!(ctx.err(), None);
    /// drop(cancel); // dropping the CancelFn cancels too
    /// assert_eq!(ctx.err(), Some(goru::context::ContextError::Canceled));
    /// ```
    pub fn err(&self) -> Option<ContextError> {
        match &*self.node {
            Node::Background | Node::Detached { .. } => None,
            Node::Cancel(c) => c.state.lock().unwrap_or_else(|e| e.into_inner()).err,
            Node::Value { parent, .. } => parent.err(),
        }
    }

    /// Why it was cancelled (Go's `context.Cause`): the cause given to a
    /// [`CancelCauseFn`] here or up the chain, else the [`err`](Self::err) itself;
    /// `None` while it is not cancelled.
    ///
    /// ```
    /// use goru::context;
    /// let (ctx, cancel) = context::with_cancel_cause(&context::background());
    /// let (child, _c) = context::with_cancel(&ctx);
    /// cancel.cancel("upstream closed");
    /// assert_eq!(child.cause().unwrap().to_string(), "upstream closed");
    /// assert_eq!(child.err(), Some(context::ContextError::Canceled));
    /// ```
    pub fn cause(&self) -> Option<Cause> {
        let node = self.cancel_ancestor()?;
        let Node::Cancel(c) = &*node else {
            unreachable!("cancel_ancestor returns cancel nodes")
        };
        let st = c.state.lock().unwrap_or_else(|e| e.into_inner());
        let err = st.err?;
        Some(st.cause.clone().unwrap_or_else(|| Arc::new(err)))
    }

    /// When it will be cancelled by a deadline, if it has one (its own or inherited).
    pub fn deadline(&self) -> Option<Instant> {
        match &*self.node {
            Node::Background | Node::Detached { .. } => None,
            Node::Cancel(c) => c.deadline,
            Node::Value { parent, .. } => parent.deadline(),
        }
    }

    /// The nearest value of type `V` on the path to the root.
    ///
    /// ```
    /// struct RequestId(u64);
    /// let ctx = goru::context::with_value(&goru::context::background(), RequestId(7));
    /// let (child, _cancel) = goru::context::with_cancel(&ctx);
    /// assert_eq!(child.value::<RequestId>().map(|r| r.0), Some(7));
    /// ```
    pub fn value<V: Send + Sync + 'static>(&self) -> Option<Arc<V>> {
        let mut node = &self.node;
        loop {
            match &**node {
                Node::Background => return None,
                Node::Cancel(c) => node = &c.parent.node,
                Node::Detached { parent } => node = &parent.node,
                Node::Value { parent, key, value } => {
                    if *key == TypeId::of::<V>() {
                        return value.clone().downcast::<V>().ok();
                    }
                    node = &parent.node;
                }
            }
        }
    }

    /// Unpark `waiter` when this context is cancelled (at once if it already is),
    /// until the returned guard is dropped. `None` for a context that never cancels.
    pub(crate) fn watch(&self, waiter: Unparker) -> Option<CancelWatch> {
        let node = self.cancel_ancestor()?;
        let Node::Cancel(c) = &*node else {
            unreachable!("cancel_ancestor returns cancel nodes")
        };
        let key = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let mut st = c.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.err.is_some() {
            drop(st);
            waiter.unpark();
        } else {
            st.watchers.push((key, waiter));
            drop(st);
        }
        Some(CancelWatch { node, key })
    }

    /// The nearest cancellable node at or above this one.
    fn cancel_ancestor(&self) -> Option<Arc<Node>> {
        let mut node = &self.node;
        loop {
            match &**node {
                Node::Background | Node::Detached { .. } => return None,
                Node::Cancel(_) => return Some(node.clone()),
                Node::Value { parent, .. } => node = &parent.node,
            }
        }
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("err", &self.err())
            .field("deadline", &self.deadline())
            .finish()
    }
}

/// Stops a [`Context::watch`] when dropped.
pub(crate) struct CancelWatch {
    node: Arc<Node>,
    key: u64,
}

impl Drop for CancelWatch {
    fn drop(&mut self) {
        if let Node::Cancel(c) = &*self.node {
            let mut st = c.state.lock().unwrap_or_else(|e| e.into_inner());
            st.watchers.retain(|(k, _)| *k != self.key);
        }
    }
}

impl CancelFn {
    /// Cancel the context (with `Canceled`) and everything derived from it.
    pub fn cancel(&self) {
        crate::sched::driver::switch_point("context cancel");
        cancel_node(&self.node, ContextError::Canceled);
    }
}

impl Drop for CancelFn {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for CancelFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelFn").finish_non_exhaustive()
    }
}
