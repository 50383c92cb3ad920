//! The `select!` macro: Go's `select` statement over goru channels.

/// Wait on several channel operations and run the body of the one that completes.
///
/// ```
/// use std::time::Duration;
/// use goru::chan;
///
/// goru::run(|| {
///     let (tx, rx) = chan::bounded::<&str>(0);
///     let (quit_tx, quit_rx) = chan::bounded::<()>(0);
///     goru::go(move || {
///         tx.send("tick").unwrap();
///         quit_tx.send(()).unwrap();
///     });
///     let mut got = Vec::new();
///     loop {
///         goru::select! {
///             recv(rx) -> msg => got.push(msg.unwrap()),
///             recv(quit_rx) -> _ => break,
///             recv(goru::time::after(Duration::from_secs(5))) -> _ => panic!("timed out"),
///         }
///     }
///     assert_eq!(got, ["tick"]);
/// });
/// ```
///
/// Cases:
///
/// - `recv(rx) -> res => body`: `res` is `Result<T, RecvError>` (`Err` once `rx` is
///   closed and drained). `rx` may be a `Receiver` or a reference to one.
/// - `send(tx, value) -> res => body`: `res` is `Result<(), SendError<T>>` (`Err` with
///   the value if the channel is closed). The value is evaluated (and dropped if another
///   case wins) whatever happens.
/// - `default => body`: taken at once when no other case is ready, which makes the
///   select non-blocking.
///
/// Without `default` it blocks until a case can proceed; when several can, one is picked
/// uniformly at random. Bodies are code of the enclosing function: `return`, `break`,
/// `continue` and `?` act on it. Works in goroutines and on plain threads. For a set of
/// cases known only at run time, see [`chan::Select`](crate::chan::Select). Up to 48
/// cases per `select!`.
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(
            ([__goru_case0 0] [__goru_case1 1] [__goru_case2 2] [__goru_case3 3] [__goru_case4 4] [__goru_case5 5] [__goru_case6 6] [__goru_case7 7] [__goru_case8 8] [__goru_case9 9] [__goru_case10 10] [__goru_case11 11] [__goru_case12 12] [__goru_case13 13] [__goru_case14 14] [__goru_case15 15] [__goru_case16 16] [__goru_case17 17] [__goru_case18 18] [__goru_case19 19] [__goru_case20 20] [__goru_case21 21] [__goru_case22 22] [__goru_case23 23] [__goru_case24 24] [__goru_case25 25] [__goru_case26 26] [__goru_case27 27] [__goru_case28 28] [__goru_case29 29] [__goru_case30 30] [__goru_case31 31] [__goru_case32 32] [__goru_case33 33] [__goru_case34 34] [__goru_case35 35] [__goru_case36 36] [__goru_case37 37] [__goru_case38 38] [__goru_case39 39] [__goru_case40 40] [__goru_case41 41] [__goru_case42 42] [__goru_case43 43] [__goru_case44 44] [__goru_case45 45] [__goru_case46 46] [__goru_case47 47])
            ()
            ()
            $($tokens)*
        )
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // recv
    (([$label:ident $index:tt] $($labels:tt)*) ($($cases:tt)*) ($($default:tt)*)
        recv($r:expr) -> $res:pat => $body:block , $($rest:tt)*) => {
        $crate::__select_parse!(($($labels)*) ($($cases)* [$label $index recv ($r) ($res) ($body)]) ($($default)*) $($rest)*)
    };
    (([$label:ident $index:tt] $($labels:tt)*) ($($cases:tt)*) ($($default:tt)*)
        recv($r:expr) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(($($labels)*) ($($cases)* [$label $index recv ($r) ($res) ($body)]) ($($default)*) $($rest)*)
    };
    (([$label:ident $index:tt] $($labels:tt)*) ($($cases:tt)*) ($($default:tt)*)
        recv($r:expr) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(($($labels)*) ($($cases)* [$label $index recv ($r) ($res) ($body)]) ($($default)*) $($rest)*)
    };
    (([$label:ident $index:tt] $($labels:tt)*) ($($cases:tt)*) ($($default:tt)*)
        recv($r:expr) -> $res:pat => $body:expr) => {
        $crate::__select_parse!(($($labels)*) ($($cases)* [$label $index recv ($r) ($res) ($body)]) ($($default)*))
    };
    // send
    (([$label:ident $index:tt] $($labels:tt)*) ($($cases:tt)*) ($($default:tt)*)
        send($s:expr, $v:expr) -> $res:pat => $body:block , $($rest:tt)*) => {
        $crate::__select_parse!(($($labels)*) ($($cases)* [$label $index send ($s, $v) ($res) ($body)]) ($($default)*) $($rest)*)
    };
    (([$label:ident $index:tt] $($labels:tt)*) ($($cases:tt)*) ($($default:tt)*)
        send($s:expr, $v:expr) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(($($labels)*) ($($cases)* [$label $index send ($s, $v) ($res) ($body)]) ($($default)*) $($rest)*)
    };
    (([$label:ident $index:tt] $($labels:tt)*) ($($cases:tt)*) ($($default:tt)*)
        send($s:expr, $v:expr) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(($($labels)*) ($($cases)* [$label $index send ($s, $v) ($res) ($body)]) ($($default)*) $($rest)*)
    };
    (([$label:ident $index:tt] $($labels:tt)*) ($($cases:tt)*) ($($default:tt)*)
        send($s:expr, $v:expr) -> $res:pat => $body:expr) => {
        $crate::__select_parse!(($($labels)*) ($($cases)* [$label $index send ($s, $v) ($res) ($body)]) ($($default)*))
    };
    // default (at most one)
    (($($labels:tt)*) ($($cases:tt)*) ()
        default => $body:block , $($rest:tt)*) => {
        $crate::__select_parse!(($($labels)*) ($($cases)*) (($body)) $($rest)*)
    };
    (($($labels:tt)*) ($($cases:tt)*) ()
        default => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(($($labels)*) ($($cases)*) (($body)) $($rest)*)
    };
    (($($labels:tt)*) ($($cases:tt)*) ()
        default => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(($($labels)*) ($($cases)*) (($body)) $($rest)*)
    };
    (($($labels:tt)*) ($($cases:tt)*) ()
        default => $body:expr) => {
        $crate::__select_parse!(($($labels)*) ($($cases)*) (($body)))
    };
    (($($labels:tt)*) ($($cases:tt)*) ($($default:tt)+) default $($rest:tt)*) => {
        ::core::compile_error!("select! takes at most one `default` case")
    };
    // done
    (($($labels:tt)*) ($($cases:tt)*) ($($default:tt)*)) => {
        $crate::__select_emit!(($($cases)*) ($($default)*))
    };
    (() $($rest:tt)*) => {
        ::core::compile_error!("select! takes at most 48 cases; use goru::chan::Select for more")
    };
    (($($labels:tt)*) ($($cases:tt)*) ($($default:tt)*) $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `recv(rx) -> res => body`, `send(tx, value) -> res => body` or `default => body`, found: ",
            ::core::stringify!($($rest)+)
        ))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_emit {
    (($([$label:ident $index:tt $kind:ident $args:tt $res:tt $body:tt])*) ($($default:tt)*)) => {{
        $( $crate::__select_case!($label $kind $args); )*
        let __goru_fired = $crate::chan::__select_run_static(
            &[$( &$label as &dyn $crate::chan::SelectCase ),*],
            // The first pass dispatches statically: each arm is the case's own type.
            |__goru_index: usize| match __goru_index {
                $( $index => $crate::chan::SelectCase::try_alone(&$label, true), )*
                _ => ::core::unreachable!(),
            },
            $crate::__select_has_default!($($default)*),
        );
        let _ = __goru_fired;
        $crate::__select_dispatch!(($([$label $res $body])*) ($($default)*))
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_case {
    ($label:ident recv ($r:expr)) => {
        let $label = &$r;
        let $label =
            $crate::chan::__RecvCase::new($crate::chan::__AsReceiver::__as_receiver($label));
    };
    ($label:ident send ($s:expr, $v:expr)) => {
        let $label = &$s;
        let $label =
            $crate::chan::__SendCase::new($crate::chan::__AsSender::__as_sender($label), $v);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_has_default {
    () => {
        false
    };
    ($($default:tt)+) => {
        true
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_dispatch {
    (([$label:ident ($res:pat) ($body:expr)] $($rest:tt)*) ($($default:tt)*)) => {
        match $label.take() {
            ::core::option::Option::Some(__goru_result) => {
                let $res = __goru_result;
                $body
            }
            ::core::option::Option::None => $crate::__select_dispatch!(($($rest)*) ($($default)*)),
        }
    };
    (() (($default:expr))) => { $default };
    (() ()) => { ::core::unreachable!("a blocking select returned without a case") };
}
