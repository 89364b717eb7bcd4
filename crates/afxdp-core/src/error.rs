//! Errors with stable codes. Every failure that reaches JavaScript carries one
//! of these codes, and, when a syscall failed, the call's name and its errno.

use std::fmt;

/// Stable error codes. The string form (`as_str`) is part of the public API:
/// users match on it, so never rename one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// No interface with the given name or index (in this network namespace).
    NoSuchInterface,
    /// The queue id is not below the interface's number of RX queues.
    QueueOutOfRange,
    /// The process lacks a capability (the message names it).
    NotPermitted,
    /// Frame size is not 2048 or 4096.
    InvalidFrameSize,
    /// Frame count is zero, not a power of two, or too large.
    InvalidFrameCount,
    /// An option other than frame size/count is out of range.
    InvalidOption,
    /// Zero-copy was forced but the driver cannot do it.
    ZeroCopyUnsupported,
    /// Native (driver) XDP was forced but the driver cannot do it.
    NativeModeUnsupported,
    /// The interface already carries an XDP program that is not ours.
    XdpProgramBusy,
    /// The interface MTU does not fit in one frame in native mode.
    MtuTooLarge,
    /// The (interface, queue) already has an AF_XDP socket bound.
    QueueBusy,
    /// Locking the UMEM failed (RLIMIT_MEMLOCK) and could not be raised.
    MemlockLimit,
    /// The port, or the UMEM it lives on, is closed.
    Closed,
    /// A descriptor handed back from JS does not match the frame it came from.
    InvalidDescriptor,
    /// `rx` was called again before the previous batch was committed (a bug
    /// in a custom receive loop).
    BatchPending,
    /// A BPF object could not be loaded or attached.
    BpfLoad,
    /// Any other failing syscall; see `syscall` and `errno`.
    Syscall,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NoSuchInterface => "ERR_NO_SUCH_INTERFACE",
            ErrorCode::QueueOutOfRange => "ERR_QUEUE_OUT_OF_RANGE",
            ErrorCode::NotPermitted => "ERR_NOT_PERMITTED",
            ErrorCode::InvalidFrameSize => "ERR_INVALID_FRAME_SIZE",
            ErrorCode::InvalidFrameCount => "ERR_INVALID_FRAME_COUNT",
            ErrorCode::InvalidOption => "ERR_INVALID_OPTION",
            ErrorCode::ZeroCopyUnsupported => "ERR_ZEROCOPY_UNSUPPORTED",
            ErrorCode::NativeModeUnsupported => "ERR_NATIVE_MODE_UNSUPPORTED",
            ErrorCode::XdpProgramBusy => "ERR_XDP_PROGRAM_BUSY",
            ErrorCode::MtuTooLarge => "ERR_MTU_TOO_LARGE",
            ErrorCode::QueueBusy => "ERR_QUEUE_BUSY",
            ErrorCode::MemlockLimit => "ERR_MEMLOCK_LIMIT",
            ErrorCode::Closed => "ERR_CLOSED",
            ErrorCode::InvalidDescriptor => "ERR_INVALID_DESCRIPTOR",
            ErrorCode::BatchPending => "ERR_BATCH_PENDING",
            ErrorCode::BpfLoad => "ERR_BPF_LOAD",
            ErrorCode::Syscall => "ERR_SYSCALL",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    /// The failing syscall (or kernel interface), when one failed.
    pub syscall: Option<&'static str>,
    /// The errno it returned.
    pub errno: Option<i32>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), syscall: None, errno: None }
    }

    /// A failed syscall. EPERM/EACCES become `NotPermitted` with `capability`
    /// named in the message, so the user learns what to grant.
    pub fn syscall(syscall: &'static str, errno: i32, context: impl Into<String>) -> Self {
        let context = context.into();
        let code = match errno {
            libc::EPERM | libc::EACCES => ErrorCode::NotPermitted,
            _ => ErrorCode::Syscall,
        };
        let message = format!("{context}: {syscall} failed: {}", errno_text(errno));
        Error { code, message, syscall: Some(syscall), errno: Some(errno) }
    }

    /// Like `syscall`, but with the capability that EPERM means is missing.
    pub fn syscall_needing(syscall: &'static str, errno: i32, capability: &str, context: impl Into<String>) -> Self {
        let mut err = Self::syscall(syscall, errno, context);
        if err.code == ErrorCode::NotPermitted {
            err.message = format!("{} (needs {capability}; run as root or grant it)", err.message);
        }
        err
    }

    /// The same error with another code (the errno and syscall stay).
    pub fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = code;
        self
    }

    /// The errno of the last failed libc call.
    pub fn last_os(syscall: &'static str, context: impl Into<String>) -> Self {
        Self::syscall(syscall, last_errno(), context)
    }
}

pub fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
}

pub fn errno_text(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    // std renders "Operation not permitted (os error 1)"; keep the symbolic
    // name users can grep for.
    match errno_name(errno) {
        Some(name) => format!("{name} ({text})"),
        None => text,
    }
}

fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::ENOBUFS => "ENOBUFS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        _ => return None,
    })
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Error {}
