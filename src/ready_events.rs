//! The leader's wait on mio's epoll descriptor, made as a plain system call, and the
//! readiness it returns. mio registers every source; only the wait is ours: the C library's
//! `epoll_wait` is a cancellation point, which in a process with more than one thread (the
//! poll thread, once started, makes ours one) wraps each call in two atomic updates of the thread's
//! cancellation state, once per round trip of a request/response loop. The readiness is
//! read exactly as mio reads it (`mio::event::Event` on Linux).

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// What one event says.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ready {
    pub token: mio::Token,
    pub readable: bool,
    pub writable: bool,
    pub error: bool,
    pub read_closed: bool,
    pub write_closed: bool,
}

/// The events of the last wait.
pub(crate) struct ReadyEvents {
    buf: Vec<libc::epoll_event>,
    len: usize,
}

impl ReadyEvents {
    pub(crate) fn with_capacity(capacity: usize) -> ReadyEvents {
        ReadyEvents {
            buf: vec![libc::epoll_event { events: 0, u64: 0 }; capacity.max(1)],
            len: 0,
        }
    }

    /// Waits on `epfd` at most `timeout` (None: until an event), rounded up to whole
    /// milliseconds as mio does, so that a short wait never becomes a busy one.
    pub(crate) fn wait(&mut self, epfd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
        self.len = 0;
        let ms = timeout.map_or(-1, |t| {
            let up = t.checked_add(Duration::from_nanos(999_999)).unwrap_or(t);
            libc::c_int::try_from(up.as_millis()).unwrap_or(libc::c_int::MAX)
        });
        // SAFETY: the buffer holds `buf.len()` writable events; no signal mask is passed
        // (NULL), so epoll_pwait is epoll_wait, which exists under that name on every
        // architecture.
        let n = unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait,
                epfd,
                self.buf.as_mut_ptr(),
                self.buf.len() as libc::c_int,
                ms,
                std::ptr::null::<libc::sigset_t>(),
                std::mem::size_of::<libc::sigset_t>(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        self.len = (n as usize).min(self.buf.len());
        Ok(())
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Ready> + '_ {
        self.buf[..self.len].iter().map(|e| ready(e.events, e.u64))
    }
}

/// mio's reading of the event bits.
fn ready(events: u32, data: u64) -> Ready {
    let bits = events as libc::c_int;
    let has = |flag: libc::c_int| bits & flag != 0;
    Ready {
        token: mio::Token(data as usize),
        readable: has(libc::EPOLLIN) || has(libc::EPOLLPRI),
        writable: has(libc::EPOLLOUT),
        error: has(libc::EPOLLERR),
        read_closed: has(libc::EPOLLHUP) || (has(libc::EPOLLIN) && has(libc::EPOLLRDHUP)),
        write_closed: has(libc::EPOLLHUP)
            || (has(libc::EPOLLOUT) && has(libc::EPOLLERR))
            || bits == libc::EPOLLERR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    #[test]
    fn reads_readiness_as_mio_does_for_the_events_it_registered() {
        let poll = mio::Poll::new().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = mio::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let token = mio::Token(7 << 32 | 3);
        poll.registry()
            .register(
                &mut client,
                token,
                mio::Interest::READABLE | mio::Interest::WRITABLE,
            )
            .unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b"hi").unwrap();
        drop(server); // data, then FIN
        let mut ev = ReadyEvents::with_capacity(8);
        let mut seen = None;
        for _ in 0..50 {
            ev.wait(poll.as_raw_fd(), Some(Duration::from_millis(100)))
                .unwrap();
            if let Some(r) = ev.iter().find(|r| r.token == token && r.read_closed) {
                seen = Some(r);
                break;
            }
        }
        let r = seen.expect("readable and read-closed within 5 s");
        assert!(r.readable && r.writable && !r.error);
        ev.clear();
        assert_eq!(ev.iter().count(), 0);
        // A zero timeout returns at once; a bad descriptor is an error, not a panic.
        ev.wait(poll.as_raw_fd(), Some(Duration::ZERO)).unwrap();
        assert!(ev.wait(-1, Some(Duration::ZERO)).is_err());
    }

    #[test]
    fn bits_mean_what_mio_says() {
        let r = ready(libc::EPOLLERR as u32, 1);
        assert!(r.error && r.write_closed && !r.read_closed && !r.readable);
        let r = ready((libc::EPOLLIN | libc::EPOLLRDHUP) as u32, 2);
        assert!(r.readable && r.read_closed && !r.write_closed);
        let r = ready(libc::EPOLLHUP as u32, 3);
        assert!(r.read_closed && r.write_closed && !r.readable);
        let r = ready((libc::EPOLLOUT | libc::EPOLLERR) as u32, u64::MAX);
        assert!(r.writable && r.write_closed && r.error);
        assert_eq!(r.token, mio::Token(usize::MAX));
    }
}
