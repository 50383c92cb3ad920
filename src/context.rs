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
}

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
}

struct CancelState {
    err: Option<ContextError>,
    /// Dropping it closes `done`; None until `done` is made, and once cancelled.
    done_tx: Option<Sender<()>>,
    children: Vec<(u64, Weak<Node>)>,
    timer: Option<TimerKey>,
    /// Parked callers to unpark on cancellation (sockets waiting with a context).
    watchers: Vec<(u64, Unparker)>,
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

fn new_cancel_node(parent: &Context, own_deadline: Option<Instant>) -> (Context, CancelFn) {
    let ancestor = parent.cancel_ancestor();
    let deadline = match (own_deadline, parent.deadline()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let node = Arc::new(Node::Cancel(CancelNode {
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
        }),
    }));
    if let Some(anc) = ancestor {
        let Node::Cancel(a) = &*anc else {
            unreachable!("cancel_ancestor returns cancel nodes")
        };
        let mut st = a.state.lock().unwrap_or_else(|e| e.into_inner());
        match st.err {
            Some(err) => {
                drop(st);
                cancel_node(&node, err); // derived from a cancelled parent: born cancelled
            }
            None => st.children.push((id, Arc::downgrade(&node))),
        }
    }
    (Context { node: node.clone() }, CancelFn { node })
}

/// Cancel `node` and its subtree with `err` (first cancellation wins). Iterative, so a
/// deep chain of contexts cannot overflow a goroutine's stack.
fn cancel_node(node: &Arc<Node>, err: ContextError) {
    // The subtree below the first node, if any: no allocation for a leaf.
    let mut pending = cancel_one(node, err);
    while let Some(node) = pending.pop() {
        pending.extend(cancel_one(&node, err));
    }
}

/// Cancel `node` alone (if it is not already); returns its children, to cancel next.
fn cancel_one(node: &Node, err: ContextError) -> Vec<Arc<Node>> {
    let Node::Cancel(c) = node else {
        return Vec::new();
    };
    let (children, timer, done_tx, watchers) = {
        let mut st = c.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.err.is_some() {
            return Vec::new();
        }
        st.err = Some(err);
        (
            std::mem::take(&mut st.children),
            st.timer.take(),
            st.done_tx.take(),
            std::mem::take(&mut st.watchers),
        )
    };
    for (_, waiter) in watchers {
        waiter.unpark();
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

impl CancelNode {
    /// The `done` receiver, made now if this is the first call. Its sender goes where
    /// `cancel_node` will drop it, under the state lock; made after the cancellation,
    /// it is dropped at once, so the receiver starts closed.
    fn done_channel(&self) -> &Receiver<()> {
        self.done.get_or_init(|| {
            let (tx, rx) = chan::bounded(0);
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if st.err.is_none() {
                st.done_tx = Some(tx);
            }
            rx
        })
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
            Node::Value { parent, .. } => parent,
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
            Node::Background => chan::never(),
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
            Node::Background => None,
            Node::Cancel(c) => c.state.lock().unwrap_or_else(|e| e.into_inner()).err,
            Node::Value { parent, .. } => parent.err(),
        }
    }

    /// When it will be cancelled by a deadline, if it has one (its own or inherited).
    pub fn deadline(&self) -> Option<Instant> {
        match &*self.node {
            Node::Background => None,
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
                Node::Background => return None,
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
