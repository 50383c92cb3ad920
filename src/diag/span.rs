//! `tracing` spans that follow goroutines (feature `tracing`).
//!
//! A `tracing` subscriber keeps the entered spans per *thread*. A goroutine that enters
//! a span and parks would leave it entered on its worker's thread, where the next
//! goroutine's events would land in it, and would resume on another thread where the
//! span is not entered at all. So each goroutine carries:
//!
//! - its **own span**: the one current where it was spawned, or the one given to
//!   [`go_with_span`](crate::go_with_span), entered every time it resumes and exited
//!   every time it switches out;
//! - the spans **it entered itself** and still holds when it switches out (an
//!   `Entered` guard alive across a park): exited, innermost first, before the switch
//!   and entered again, outermost first, after it, on whatever thread it resumes.
//!
//! When a subscriber wants them (TRACE level, target `runtime::goroutine`), a goroutine
//! also has a **task span**, a child of its own span shaped as tokio's task spans are,
//! entered just before its own span and exited just after; tokio-console's
//! `console-subscriber` lists those as tasks: named `runtime.spawn`, with
//! fields `kind = "goroutine"`, `task.name`, `task.id` (the goroutine id) and the spawn
//! site as `loc.file`, `loc.line`, `loc.col`. Entered while the goroutine runs and
//! exited while it is parked, it gives the console each goroutine's busy and idle
//! time; it closes when the goroutine is gone. Parks and wakes are waker events
//! (target `runtime::waker`: `waker.clone` at a park, `waker.wake` or
//! `waker.wake_by_ref` at a wake), so the console counts wakes and wakers. `console_subscriber`'s
//! default filter (`tokio=trace,runtime=trace`) takes both.
//!
//! Invariant: between two switches, the thread's span stack is what it was before the
//! goroutine resumed, plus the goroutine's task span and own span (those it has),
//! plus the spans it holds. So a
//! span never leaks to another goroutine or thread. Found through the subscriber's
//! `current_span`, the held spans are the ones above the goroutine's own span; a
//! subscriber that keeps no stack (current span always none) has nothing to unwind.

#[cfg(feature = "tracing")]
use std::cell::{Cell, RefCell};
use std::panic::Location;

/// What `Shared::spawn_traced` is given: the span to carry, if not the current one.
#[cfg(feature = "tracing")]
pub(crate) type SpawnSpan = Option<tracing::Span>;
/// Without the feature there is no span to carry.
#[cfg(not(feature = "tracing"))]
pub(crate) struct SpawnSpan;

/// Carry the spawner's current span (what `go` does).
#[cfg(feature = "tracing")]
pub(crate) const INHERIT_SPAN: SpawnSpan = None;
#[cfg(not(feature = "tracing"))]
pub(crate) const INHERIT_SPAN: SpawnSpan = SpawnSpan;

/// Spans a goroutine may hold across a switch before the rest are left entered (a
/// bound on the walk, against a subscriber whose `exit` does not pop).
#[cfg(feature = "tracing")]
const MAX_HELD: usize = 64;

/// A goroutine's spans (module docs). Owner only: touched by the goroutine itself, on
/// its own stack, between its switches.
#[cfg(feature = "tracing")]
pub(crate) struct GoSpan {
    span: tracing::Span,
    /// Its task span (module docs); disabled when no subscriber wants it. `span` and
    /// `task` never change after the spawn: read from any thread.
    task: tracing::Span,
    /// Spans it entered and held at its last switch out, outermost first.
    held: RefCell<Vec<tracing::Id>>,
    /// The thread's current span when it last resumed: where unwinding stops.
    outer: RefCell<Option<tracing::Id>>,
    /// Entered on this thread now (between `resume` and `suspend`).
    entered: Cell<bool>,
}

#[cfg(feature = "tracing")]
impl GoSpan {
    /// The spans of goroutine `id` spawned at `site`: `span`, or the spawner's current
    /// span, and its task span when a subscriber wants one (module docs).
    pub(crate) fn new(span: SpawnSpan, id: u64, site: &'static Location<'static>) -> GoSpan {
        let span = span.unwrap_or_else(tracing::Span::current);
        let task = tracing::trace_span!(
            target: "runtime::goroutine",
            parent: &span,
            "runtime.spawn",
            kind = "goroutine",
            task.name = %format_args!("goroutine {id}"),
            task.id = id,
            loc.file = site.file(),
            loc.line = site.line(),
            loc.col = site.column(),
        );
        GoSpan {
            span,
            task,
            held: RefCell::new(Vec::new()),
            outer: RefCell::new(None),
            entered: Cell::new(false),
        }
    }

    /// A waker event for a task subscriber (any thread): `waker.clone` when it parks
    /// (a waker handed out), `waker.wake` when a wake queues it (the waker used up),
    /// `waker.wake_by_ref` when a wake finds it still running (it will not park).
    pub(crate) fn waker_op(&self, op: &'static str) {
        self.task.with_subscriber(|(id, dispatch)| {
            tracing::dispatcher::with_default(dispatch, || {
                tracing::trace!(target: "runtime::waker", op, task.id = id.into_u64());
            });
        });
    }

    /// The dispatcher its spans belong to: its own span's, else the thread's default.
    fn dispatch(&self) -> tracing::Dispatch {
        self.span
            .with_subscriber(|(_, d)| d.clone())
            .unwrap_or_else(|| tracing::dispatcher::get_default(Clone::clone))
    }

    /// Just resumed (or started): enter the own span, then the held ones.
    pub(crate) fn resume(&self) {
        let dispatch = self.dispatch();
        *self.outer.borrow_mut() = dispatch.current_span().id().cloned();
        self.task.with_subscriber(|(id, d)| d.enter(id));
        self.span.with_subscriber(|(id, d)| d.enter(id));
        for id in self.held.borrow_mut().drain(..) {
            dispatch.enter(&id);
        }
        self.entered.set(true);
    }

    /// About to switch out (or finish): exit the spans it holds, innermost first,
    /// remembering them, then its own span.
    pub(crate) fn suspend(&self) {
        if !self.entered.replace(false) {
            return;
        }
        let dispatch = self.dispatch();
        let own = self.span.id();
        let task = self.task.id();
        let outer = self.outer.borrow_mut().take();
        let mut held = self.held.borrow_mut();
        while held.len() < MAX_HELD {
            let Some(top) = dispatch.current_span().id().cloned() else {
                break;
            };
            if Some(&top) == own.as_ref()
                || Some(&top) == task.as_ref()
                || Some(&top) == outer.as_ref()
            {
                break;
            }
            dispatch.exit(&top);
            let popped = dispatch.current_span().id() != Some(&top);
            held.push(top);
            if !popped {
                break; // a subscriber that does not track the stack
            }
        }
        held.reverse();
        self.span.with_subscriber(|(id, d)| d.exit(id));
        self.task.with_subscriber(|(id, d)| d.exit(id));
    }
}

/// Feature `tracing` off: nothing to carry.
#[cfg(not(feature = "tracing"))]
pub(crate) struct GoSpan;

#[cfg(not(feature = "tracing"))]
impl GoSpan {
    pub(crate) fn new(_: SpawnSpan, _: u64, _: &'static Location<'static>) -> GoSpan {
        GoSpan
    }
}
