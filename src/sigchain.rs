//! Passing a signal on to the handler installed before ours, as goru's own handlers
//! (the stack-overflow report, the blocking-call report's backtrace) do with what is
//! not theirs.

/// Call `previous` with what our handler received, in the form it was registered in
/// (`SA_SIGINFO` or not). Returns false, calling nothing, when it is `SIG_DFL` or
/// `SIG_IGN`: what that means depends on the signal, so the caller decides.
///
/// # Safety
/// To be called from a signal handler for `signum`, with the arguments it was given;
/// `previous` is what `sigaction` returned when ours was installed.
pub(crate) unsafe fn call_previous(
    previous: &libc::sigaction,
    signum: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) -> bool {
    let action = previous.sa_sigaction;
    if action == libc::SIG_DFL || action == libc::SIG_IGN {
        return false;
    }
    // SAFETY: a handler other than DFL/IGN is a function of the form its flags say,
    // called as the kernel would have (caller contract).
    unsafe {
        if previous.sa_flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(action);
            f(signum, info, context);
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(action);
            f(signum);
        }
    }
    true
}
