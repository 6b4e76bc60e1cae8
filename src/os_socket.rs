//! Making the host socket for one connection attempt: create, apply remembered options, bind the
//! local port, start a non-blocking connect, and wrap it for mio.

use crate::options::SockOpts;
use mio::net::{TcpStream, UdpSocket};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;

/// The host socket of a connection, once it exists.
pub(crate) enum Io {
    None,
    Tcp(TcpStream),
    Udp(UdpSocket),
    Raw(Socket),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Stream,
    Datagram,
    Raw(i32),
}

/// Creates the socket and starts connecting to `addr`. For a stream the connect usually
/// completes later (the poll thread sees the socket become writable).
pub(crate) fn open(
    transport: Transport,
    addr: SocketAddr,
    local_port: u16,
    opts: &SockOpts,
) -> io::Result<Io> {
    let domain = Domain::for_address(addr);
    let (ty, proto) = match transport {
        Transport::Stream => (Type::STREAM, Some(Protocol::TCP)),
        Transport::Datagram => (Type::DGRAM, Some(Protocol::UDP)),
        Transport::Raw(p) => (Type::RAW, Some(Protocol::from(p))),
    };
    let socket = Socket::new(domain, ty.nonblocking().cloexec(), proto)?;
    opts.apply_all(socket2::SockRef::from(&socket))?;
    if local_port != 0 {
        let local = match addr {
            SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, local_port)),
            SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, local_port)),
        };
        socket.bind(&SockAddr::from(local))?;
    }
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(match transport {
        Transport::Stream => Io::Tcp(TcpStream::from_std(socket.into())),
        Transport::Datagram => Io::Udp(UdpSocket::from_std(socket.into())),
        Transport::Raw(_) => Io::Raw(socket),
    })
}

impl Io {
    pub(crate) fn sock_ref(&self) -> Option<socket2::SockRef<'_>> {
        match self {
            Io::None => None,
            Io::Tcp(s) => Some(socket2::SockRef::from(s)),
            Io::Udp(s) => Some(socket2::SockRef::from(s)),
            Io::Raw(s) => Some(socket2::SockRef::from(s)),
        }
    }

    /// The connected peer's address, or this socket's own; `ENOTCONN` while there is none.
    pub(crate) fn address(&self, peer: bool) -> Result<std::net::SocketAddr, std::ffi::c_int> {
        use crate::codes::SOCK_ERR_ENOTCONN;
        let s = self.sock_ref().ok_or(SOCK_ERR_ENOTCONN)?;
        let addr = if peer { s.peer_addr() } else { s.local_addr() };
        match addr {
            Ok(a) => a.as_socket().ok_or(SOCK_ERR_ENOTCONN),
            Err(e) if e.kind() == std::io::ErrorKind::NotConnected => Err(SOCK_ERR_ENOTCONN),
            Err(e) => Err(crate::errno::code_of(&e)),
        }
    }

    pub(crate) fn is_some(&self) -> bool {
        !matches!(self, Io::None)
    }

    /// Bytes written to a TCP socket that the peer has not acknowledged yet.
    pub(crate) fn unacked_bytes(&self) -> io::Result<u64> {
        let Io::Tcp(s) = self else { return Ok(0) };
        let mut pending: libc::c_int = 0;
        // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int through the pointer we pass.
        let rc = unsafe { libc::ioctl(s.as_raw_fd(), libc::TIOCOUTQ, &mut pending) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(pending.max(0) as u64)
    }
}

/// Reads from a stream with `recv`, made as a plain system call. The C library's `recv` and
/// `send` are cancellation points: each wraps the call in two atomic updates of the thread's
/// cancellation state (about 1 % of a one-CPU round trip, where a round trip makes one of
/// each), and under `pthread_cancel` could end a thread inside them, holding its socket's lock.
pub(crate) fn recv_stream(s: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: recvfrom writes at most `buf.len()` bytes into `buf`, which is writable for that
    // long; no address is asked for (both address pointers are NULL).
    let n = unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            s.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
            0,
            std::ptr::null_mut::<libc::sockaddr>(),
            std::ptr::null_mut::<libc::socklen_t>(),
        )
    };
    syscall_result(n)
}

/// Writes to a stream with `send(MSG_NOSIGNAL)` as a plain system call (see `recv_stream`): a
/// peer that has gone makes it fail with EPIPE instead of raising SIGPIPE.
pub(crate) fn send_stream(s: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: sendto reads at most `buf.len()` bytes from `buf`; no address is passed.
    let n = unsafe {
        libc::syscall(
            libc::SYS_sendto,
            s.as_raw_fd(),
            buf.as_ptr(),
            buf.len(),
            libc::MSG_NOSIGNAL,
            std::ptr::null::<libc::sockaddr>(),
            0 as libc::socklen_t,
        )
    };
    syscall_result(n)
}

/// A byte count, or the error `errno` holds (`syscall` sets it and returns -1).
fn syscall_result(n: libc::c_long) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Datagrams taken by one `recv_batch` call at most.
pub(crate) const BATCH: usize = 8;
/// Bytes per datagram slot of a batch: the largest UDP payload fits.
pub(crate) const SLOT: usize = 65536;

/// Receives up to `BATCH` datagrams with one `recvmmsg`, datagram `i` into
/// `scratch[i * SLOT..]` with its length in `lens[i]`. Returns how many came; fewer than
/// `BATCH` means the socket had no more at that moment (so no WouldBlock read is needed to
/// re-arm the edge-triggered epoll). Errors are those of `recv` (WouldBlock when none came).
pub(crate) fn recv_batch(
    fd: std::os::fd::RawFd,
    scratch: &mut [u8],
    lens: &mut [usize; BATCH],
) -> io::Result<usize> {
    assert!(scratch.len() >= BATCH * SLOT);
    // SAFETY: all-zero iovec and mmsghdr are valid values.
    let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for (i, (v, m)) in iov.iter_mut().zip(msgs.iter_mut()).enumerate() {
        v.iov_base = scratch[i * SLOT..].as_mut_ptr().cast();
        v.iov_len = SLOT;
        m.msg_hdr.msg_iov = v;
        m.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: each msghdr points at one iovec over its own SLOT bytes of `scratch`, which
    // outlives the call; the kernel writes at most that much into each.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            msgs.as_mut_ptr(),
            BATCH as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    for (len, m) in lens.iter_mut().zip(&msgs[..n]) {
        *len = m.msg_len as usize;
    }
    Ok(n)
}

/// Writes to a TCP stream with `MSG_NOSIGNAL`: a peer that has gone makes the write fail with
/// EPIPE instead of raising SIGPIPE, whose default action would kill the host process (std's
/// own `write` does this, but its `write_vectored` is a plain `writev`).
pub(crate) struct NoSignal<'a>(pub &'a TcpStream);

impl Write for NoSignal<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[io::IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        // Callers pass at most WRITEV_MAX buffers, far below the kernel's UIO_MAXIOV.
        socket2::SockRef::from(self.0).send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn writing_to_a_vanished_peer_fails_without_sigpipe() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (peer, _) = l.accept().unwrap();
        socket2::SockRef::from(&peer)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(peer); // the peer resets
        let stream = TcpStream::from_std(c);
        // With the default action, a SIGPIPE would end this test process.
        // SAFETY: signal() with a valid signal number and disposition.
        let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        let mut errors = vec![];
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(10));
            if let Err(e) = NoSignal(&stream).write_vectored(&[io::IoSlice::new(b"x")]) {
                errors.push(e.raw_os_error());
            }
        }
        // SAFETY: restores the previous disposition.
        unsafe { libc::signal(libc::SIGPIPE, old) };
        assert!(errors.contains(&Some(libc::EPIPE)), "{errors:?}");
    }

    /// The plain system calls behave as `recv` and `send(MSG_NOSIGNAL)`: bytes both ways,
    /// WouldBlock on an empty non-blocking socket, and an error (EPIPE or ECONNRESET) without
    /// SIGPIPE once the peer has reset.
    #[test]
    fn stream_calls_without_the_c_wrappers() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut peer, _) = l.accept().unwrap();
        c.set_nonblocking(true).unwrap();
        let stream = TcpStream::from_std(c);
        let mut buf = [0u8; 16];
        let e = recv_stream(&stream, &mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(send_stream(&stream, b"ping").unwrap(), 4);
        let mut got = [0u8; 4];
        io::Read::read_exact(&mut peer, &mut got).unwrap();
        assert_eq!(&got, b"ping");
        peer.write_all(b"pong").unwrap();
        let mut n = 0;
        for _ in 0..500 {
            match recv_stream(&stream, &mut buf) {
                Ok(k) => {
                    n = k;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(2))
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(&buf[..n], b"pong");
        socket2::SockRef::from(&peer)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(peer); // the peer resets
        // SAFETY: signal() with a valid signal number and disposition.
        let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        let mut errors = vec![];
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(10));
            if let Err(e) = send_stream(&stream, b"x") {
                errors.push(e.raw_os_error());
            }
        }
        // SAFETY: restores the previous disposition.
        unsafe { libc::signal(libc::SIGPIPE, old) };
        assert!(
            errors.contains(&Some(libc::EPIPE)) || errors.contains(&Some(libc::ECONNRESET)),
            "{errors:?}"
        );
    }
}
