//! Child processes whose waits park the goroutine: `std::process` look-alikes.
//!
//! [`Child::wait`] parks on a pidfd in the runtime's poller (readable when the child
//! exits), with a blocking-pool wait where the kernel has no pidfd (before Linux 5.3).
//! The child's stdin, stdout and stderr, when piped, are [`PollFd`]s whose reads and
//! writes park too. [`Child::wait_context`] kills the child when a context is
//! cancelled, as Go's `exec.CommandContext` does. Statuses and outputs are std's.
//!
//! ```
//! use std::io::Read;
//! use goru::process::{Command, Stdio};
//!
//! goru::run(|| {
//!     let out = Command::new("echo").arg("hello").output().unwrap();
//!     assert!(out.status.success());
//!     assert_eq!(out.stdout, b"hello\n");
//!
//!     let mut child = Command::new("sh").args(["-c", "echo piped"]).stdout(Stdio::piped()).spawn().unwrap();
//!     let mut text = String::new();
//!     child.stdout.take().unwrap().read_to_string(&mut text).unwrap();
//!     assert_eq!(text, "piped\n");
//!     assert!(child.wait().unwrap().success());
//! });
//! ```

use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

pub use std::process::{ExitStatus, Output, Stdio};

use crate::context::Context;
use crate::io::PollFd;
use crate::net::pollio::{context_error, Limits};

/// The child's stdin: writes park while the pipe is full.
pub type ChildStdin = PollFd<std::process::ChildStdin>;
/// The child's stdout: reads park until it writes.
pub type ChildStdout = PollFd<std::process::ChildStdout>;
/// The child's stderr: reads park until it writes.
pub type ChildStderr = PollFd<std::process::ChildStderr>;

/// A process builder, as `std::process::Command`.
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
}

impl Command {
    /// A command for the program at `program` (looked up in `PATH` if it has no `/`).
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command {
            std: std::process::Command::new(program),
        }
    }

    /// Add an argument.
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Add arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Set an environment variable.
    pub fn env<K: AsRef<OsStr>, V: AsRef<OsStr>>(&mut self, key: K, val: V) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Remove an environment variable.
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Start with an empty environment.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// The working directory of the child.
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's stdin (`Stdio::piped()` makes [`Child::stdin`]).
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// The child's stdout (`Stdio::piped()` makes [`Child::stdout`]).
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// The child's stderr (`Stdio::piped()` makes [`Child::stderr`]).
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Start the child (the fork and exec run on the blocking pool).
    pub fn spawn(&mut self) -> io::Result<Child> {
        let std = &mut self.std;
        let child = crate::blocking(move || std.spawn())?;
        Child::from_std(child)
    }

    /// Run to completion, capturing stdout and stderr (stdin is null unless set), as
    /// std's `output`; both pipes are read at once, so neither can fill and stall it.
    pub fn output(&mut self) -> io::Result<Output> {
        self.std.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self.spawn()?;
        drop(child.stdin.take());
        let stderr = child.stderr.take();
        let errors = crate::go(move || -> io::Result<Vec<u8>> {
            let mut buf = Vec::new();
            if let Some(mut e) = stderr {
                e.read_to_end(&mut buf)?;
            }
            Ok(buf)
        });
        let mut stdout = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            out.read_to_end(&mut stdout)?;
        }
        let stderr = errors
            .join()
            .map_err(|_| io::Error::other("stderr reader panicked"))??;
        let status = child.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// Run to completion and return its status (the child inherits stdio).
    pub fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait()
    }
}

/// A running or exited child process, as `std::process::Child`.
#[derive(Debug)]
pub struct Child {
    std: std::process::Child,
    /// Readable once the child has exited; `None` where the kernel has no pidfd.
    pidfd: Option<PollFd<OwnedFd>>,
    /// Its stdin, if piped.
    pub stdin: Option<ChildStdin>,
    /// Its stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// Its stderr, if piped.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    fn from_std(mut std: std::process::Child) -> io::Result<Child> {
        let stdin = std.stdin.take().map(PollFd::new).transpose()?;
        let stdout = std.stdout.take().map(PollFd::new).transpose()?;
        let stderr = std.stderr.take().map(PollFd::new).transpose()?;
        Ok(Child {
            pidfd: pidfd_open(std.id()).and_then(|fd| PollFd::new(fd).ok()),
            std,
            stdin,
            stdout,
            stderr,
        })
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.std.id()
    }

    /// Send it SIGKILL (std's `kill`: an exited, unwaited child is not an error).
    pub fn kill(&mut self) -> io::Result<()> {
        self.std.kill()
    }

    /// Its status if it has exited, without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.std.try_wait()
    }

    /// Wait for it to exit, parking the goroutine. Its stdin is closed first, as std
    /// does, so a child reading it sees end of file.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        self.wait_within(Limits::default())
    }

    /// Wait until it exits or `ctx` is cancelled; on cancellation it is killed and
    /// reaped, and the error (kind `Other`, or `TimedOut` for a deadline) holds the
    /// [`ContextError`](crate::context::ContextError), as Go's `CommandContext` does.
    pub fn wait_context(&mut self, ctx: &Context) -> io::Result<ExitStatus> {
        match self.wait_within(Limits::context(ctx)) {
            Err(err) if ctx.err().is_some() => {
                self.std.kill()?;
                self.wait()?; // reap it: no zombie left behind
                Err(err)
            }
            other => other,
        }
    }

    fn wait_within(&mut self, limits: Limits<'_>) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        let Some(pidfd) = &self.pidfd else {
            return self.wait_on_pool(limits);
        };
        let std = &mut self.std;
        pidfd.run_readable(limits, |_| match std.try_wait()? {
            Some(status) => Ok(status),
            None => Err(io::ErrorKind::WouldBlock.into()),
        })
    }

    /// Without a pidfd: wait on the blocking pool (a context is checked only before).
    fn wait_on_pool(&mut self, limits: Limits<'_>) -> io::Result<ExitStatus> {
        if let Some(err) = limits.ctx.and_then(Context::err) {
            return Err(context_error(err));
        }
        let std = &mut self.std;
        crate::blocking(move || std.wait())
    }
}

/// A pidfd for `pid` (Linux 5.3+), or `None`.
fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the kernel just gave us this descriptor; nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
