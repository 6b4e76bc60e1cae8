//! Growing the process's descriptor table ahead of the sockets.
//!
//! The kernel grows a process's table of open descriptors by doubling, and once the process has
//! a second thread (our poll thread) each growth waits for an RCU grace period, about 10 ms
//! here: opening 10,000 sockets one after another went through eight of them, 0.1 s of a 0.37 s
//! run spent asleep inside `socket()`. Asking once for a descriptor number that fits the socket
//! limit grows the table in one step, before the poll thread exists when the instance starts
//! (no wait at all), or with a single wait when `sock_set_max_sockets` raises the limit later.

use std::os::fd::RawFd;

/// Descriptors kept free beside the sockets: the epoll and wake-up descriptors, a resolver's,
/// the application's own files.
const MARGIN: usize = 64;

/// Makes room in the descriptor table for `sockets` more descriptors (capped by
/// RLIMIT_NOFILE), using `fd`, an open descriptor, as the template. Best effort: a failure
/// only means the table grows later, as it would have.
pub(crate) fn reserve(sockets: usize, fd: RawFd) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a writable rlimit, as getrlimit requires.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return;
    }
    let wanted = sockets.saturating_add(MARGIN) as u64;
    let highest = wanted.min(limit.rlim_cur).saturating_sub(1);
    if highest <= MARGIN as u64 || highest > libc::c_int::MAX as u64 {
        return;
    }
    // SAFETY: F_DUPFD_CLOEXEC takes an int and returns a new descriptor (at least `highest`)
    // that we own and close at once; only the table's size outlives it.
    unsafe {
        let dup = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, highest as libc::c_int);
        if dup >= 0 {
            libc::close(dup);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// The descriptor slots the kernel has allocated for this process (`FDSize`).
    fn fd_slots() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("FDSize:")).unwrap();
        line["FDSize:".len()..].trim().parse().unwrap()
    }

    /// One reserve grows the table to fit the sockets (up to RLIMIT_NOFILE) and leaves no
    /// descriptor open behind it.
    #[test]
    fn reserve_grows_the_table_at_once_and_keeps_no_descriptor() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: a writable rlimit.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        let sockets = 3000;
        reserve(sockets, file.as_raw_fd());
        let expected = ((sockets + MARGIN) as u64).min(limit.rlim_cur) as usize;
        assert!(
            fd_slots() >= expected,
            "{} slots, {expected} wanted",
            fd_slots()
        );
        // The probe took the lowest free number from the top slot up (other tests open
        // descriptors meanwhile, but none that high): it is closed again.
        // SAFETY: F_GETFD on any number only reads; EBADF if it is not open.
        let probe_open = unsafe { libc::fcntl(expected as libc::c_int - 1, libc::F_GETFD) } >= 0;
        assert!(!probe_open, "the probe descriptor was closed again");
    }
}
