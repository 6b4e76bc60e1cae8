//! `sock_setopt`: the lwIP-numbered option table, its value ranges, and how each is applied to
//! the host socket. Options set before the OS socket exists are remembered and applied when it
//! is created, before connect.

use crate::constants::*;
use socket2::SockRef;
use std::ffi::c_int;
use std::io;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Opt {
    ReuseAddr,
    KeepAlive,
    SndBuf,
    RcvBuf,
    NoDelay,
    KeepIdle,
    KeepIntvl,
    KeepCnt,
    UserTimeout,
}

impl Opt {
    /// Looks up a (level, name) pair and checks the value's range.
    pub(crate) fn parse(level: c_int, name: c_int, value: c_int) -> Option<Opt> {
        let (opt, min, max) = match (level, name) {
            (SOCK_SOL_SOCKET, SOCK_SO_REUSEADDR) => (Opt::ReuseAddr, 0, 1),
            (SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE) => (Opt::KeepAlive, 0, 1),
            (SOCK_SOL_SOCKET, SOCK_SO_SNDBUF) => (Opt::SndBuf, 1024, SOCK_MAX_BUF),
            (SOCK_SOL_SOCKET, SOCK_SO_RCVBUF) => (Opt::RcvBuf, 1024, SOCK_MAX_BUF),
            (SOCK_IPPROTO_TCP, SOCK_TCP_NODELAY) => (Opt::NoDelay, 0, 1),
            (SOCK_IPPROTO_TCP, SOCK_TCP_KEEPIDLE) => (Opt::KeepIdle, 1, 32767),
            (SOCK_IPPROTO_TCP, SOCK_TCP_KEEPINTVL) => (Opt::KeepIntvl, 1, 32767),
            (SOCK_IPPROTO_TCP, SOCK_TCP_KEEPCNT) => (Opt::KeepCnt, 1, 127),
            (SOCK_IPPROTO_TCP, SOCK_TCP_USER_TIMEOUT) => (Opt::UserTimeout, 0, c_int::MAX),
            _ => return None,
        };
        (min..=max).contains(&value).then_some(opt)
    }

    pub(crate) fn is_tcp_only(self) -> bool {
        matches!(
            self,
            Opt::NoDelay
                | Opt::KeepIdle
                | Opt::KeepIntvl
                | Opt::KeepCnt
                | Opt::KeepAlive
                | Opt::UserTimeout
        )
    }
}

/// Options remembered for a socket, applied in this order when its OS socket is made.
#[derive(Default, Debug, Clone)]
pub(crate) struct SockOpts {
    values: Vec<(Opt, c_int)>,
}

impl SockOpts {
    /// No options (for a static).
    pub(crate) const fn none() -> Self {
        SockOpts { values: Vec::new() }
    }

    pub(crate) fn remember(&mut self, opt: Opt, value: c_int) {
        self.values.retain(|(o, _)| *o != opt);
        self.values.push((opt, value));
    }

    pub(crate) fn apply_all(&self, sock: SockRef<'_>) -> io::Result<()> {
        self.values
            .iter()
            .try_for_each(|(opt, value)| apply(&sock, *opt, *value))
    }
}

/// Sets one option on a live socket.
pub(crate) fn apply(sock: &SockRef<'_>, opt: Opt, value: c_int) -> io::Result<()> {
    let on = value != 0;
    match opt {
        Opt::ReuseAddr => sock.set_reuse_address(on),
        Opt::KeepAlive => sock.set_keepalive(on),
        Opt::SndBuf => sock.set_send_buffer_size(value as usize),
        Opt::RcvBuf => sock.set_recv_buffer_size(value as usize),
        Opt::NoDelay => sock.set_tcp_nodelay(on),
        // Set one by one, not through socket2's TcpKeepalive, which also switches
        // SO_KEEPALIVE on: the timings must not start probes the application did not ask for.
        Opt::KeepIdle => set_tcp_int(sock, libc::TCP_KEEPIDLE, value),
        Opt::KeepIntvl => set_tcp_int(sock, libc::TCP_KEEPINTVL, value),
        Opt::KeepCnt => set_tcp_int(sock, libc::TCP_KEEPCNT, value),
        Opt::UserTimeout => {
            sock.set_tcp_user_timeout((value > 0).then(|| Duration::from_millis(value as u64)))
        }
    }
}

/// `setsockopt(IPPROTO_TCP, name, value)`.
fn set_tcp_int(sock: &SockRef<'_>, name: c_int, value: c_int) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the borrow's lifetime; the kernel reads one c_int
    // from the pointer, whose length we pass.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_TCP,
            name,
            (&raw const value).cast(),
            std::mem::size_of::<c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_ranges() {
        assert_eq!(
            Opt::parse(SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE, 1),
            Some(Opt::KeepAlive)
        );
        assert_eq!(Opt::parse(SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE, 2), None);
        assert_eq!(
            Opt::parse(SOCK_IPPROTO_TCP, SOCK_TCP_KEEPCNT, 127),
            Some(Opt::KeepCnt)
        );
        assert_eq!(Opt::parse(SOCK_IPPROTO_TCP, SOCK_TCP_KEEPCNT, 128), None);
        assert_eq!(Opt::parse(SOCK_IPPROTO_TCP, SOCK_SO_KEEPALIVE, 1), None);
        assert_eq!(Opt::parse(SOCK_SOL_SOCKET, SOCK_TCP_NODELAY, 1), None);
        assert_eq!(Opt::parse(0, 0, 0), None);
        assert_eq!(Opt::parse(SOCK_SOL_SOCKET, SOCK_SO_RCVBUF, 1023), None);
    }

    #[test]
    fn remembered_options_reach_the_socket() {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let mut opts = SockOpts::default();
        opts.remember(Opt::KeepAlive, 0);
        opts.remember(Opt::KeepAlive, 1);
        opts.remember(Opt::KeepIdle, 77);
        opts.remember(Opt::NoDelay, 1);
        opts.apply_all(SockRef::from(&s)).unwrap();
        assert!(s.keepalive().unwrap());
        assert_eq!(s.tcp_keepalive_time().unwrap(), Duration::from_secs(77));
        assert!(s.tcp_nodelay().unwrap());
    }

    #[test]
    fn keepalive_timings_do_not_switch_probes_on() {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let mut opts = SockOpts::default();
        opts.remember(Opt::KeepIdle, 5);
        opts.remember(Opt::KeepIntvl, 2);
        opts.remember(Opt::KeepCnt, 4);
        opts.apply_all(SockRef::from(&s)).unwrap();
        assert!(!s.keepalive().unwrap());
        assert_eq!(s.tcp_keepalive_time().unwrap(), Duration::from_secs(5));
        assert_eq!(s.tcp_keepalive_interval().unwrap(), Duration::from_secs(2));
        assert_eq!(s.tcp_keepalive_retries().unwrap(), 4);
    }

    #[test]
    fn user_timeout_reaches_the_socket_and_zero_clears_it() {
        assert_eq!(
            Opt::parse(SOCK_IPPROTO_TCP, SOCK_TCP_USER_TIMEOUT, 0),
            Some(Opt::UserTimeout)
        );
        assert_eq!(
            Opt::parse(SOCK_IPPROTO_TCP, SOCK_TCP_USER_TIMEOUT, -1),
            None
        );
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let r = SockRef::from(&s);
        apply(&r, Opt::UserTimeout, 1500).unwrap();
        assert_eq!(
            s.tcp_user_timeout().unwrap(),
            Some(Duration::from_millis(1500))
        );
        apply(&r, Opt::UserTimeout, 0).unwrap();
        assert_eq!(s.tcp_user_timeout().unwrap(), None);
    }
}
