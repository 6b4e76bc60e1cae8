//! The datagram side (UDP, RAW) of a socket: connecting it, then its receive path: taking
//! datagrams from the kernel in batches, the per-socket queue and its bounds, and handing one
//! datagram to `sock_recv`.
//! A datagram socket has no flow control to hold the sender, so datagrams beyond the bounds
//! are dropped and counted.

use super::{Conn, Cx, Datagrams, ReadUntil, State, register};
use crate::errno::code_of;
use crate::os_socket::{self, Io};
use mio::Interest;
use std::cell::RefCell;
use std::ffi::c_int;
use std::io;

/// Datagrams queued per socket at most, whatever their size.
const MAX_DATAGRAMS: usize = 4096;

thread_local! {
    /// A batch of datagram slots (calloc'd: only the pages datagrams touch become resident).
    static DATAGRAM_SCRATCH: RefCell<Vec<u8>> =
        RefCell::new(vec![0; os_socket::BATCH * os_socket::SLOT]);
}

impl State {
    /// UDP and RAW: the first address whose socket opens is the peer (a datagram connect
    /// only sets the default destination, so there is nothing to wait for).
    pub(super) fn connect_datagram(&mut self, cx: &Cx<'_>, mut last: c_int) {
        let kind = cx.sock.kind;
        let Conn::Connecting(c) = &mut self.conn else {
            return self.fail_connect(cx, last);
        };
        while let Some(addr) = c.addrs.pop() {
            let opened = os_socket::open(kind.transport(), addr, cx.sock.cfg.local_port, c.opts())
                .and_then(|io| register(cx, io, Interest::READABLE));
            match opened {
                Ok(io) => {
                    self.io = io;
                    self.write_interest = false;
                    self.conn = Conn::Datagram(Box::new(Datagrams {
                        peer: Some(addr),
                        ..Datagrams::default()
                    }));
                    // Registered after the connect that filters what it may receive: a
                    // datagram already there raises an event, so there is nothing to read yet.
                    self.opened(cx, None);
                    return;
                }
                Err(e) => last = code_of(&e),
            }
        }
        self.fail_connect(cx, last);
    }

    /// Takes every datagram the kernel holds, a batch per syscall; those beyond the bound are
    /// dropped and counted (a datagram socket has no flow control to hold the sender).
    pub(super) fn read_datagrams(&mut self, bound: usize, until: ReadUntil) {
        use std::os::fd::AsRawFd;
        let fd = match &self.io {
            Io::Udp(s) => s.as_raw_fd(),
            Io::Raw(s) => s.as_raw_fd(),
            _ => return,
        };
        let mut lens = [0; os_socket::BATCH];
        DATAGRAM_SCRATCH.with_borrow_mut(|scratch| {
            loop {
                match os_socket::recv_batch(fd, scratch, &mut lens) {
                    Ok(count) => {
                        for (i, &n) in lens[..count].iter().enumerate() {
                            let datagram = &scratch[i * os_socket::SLOT..][..n];
                            self.keep_datagram(datagram, bound);
                        }
                        if count < os_socket::BATCH && until == ReadUntil::ShortRead {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    // ICMP errors (port unreachable) are reported once and cleared: note them
                    // and keep reading, as they concern one datagram, not the socket.
                    Err(e) => self.last_error = code_of(&e),
                }
            }
        });
    }

    fn keep_datagram(&mut self, datagram: &[u8], bound: usize) {
        let Conn::Datagram(d) = &mut self.conn else {
            return;
        };
        let n = datagram.len();
        if d.bytes + n > bound || d.queue.len() >= MAX_DATAGRAMS {
            d.dropped += 1;
            log::debug!(target: "socketcore",
                "datagram of {n} bytes dropped: the receive queue is full ({} dropped so far)",
                d.dropped);
        } else {
            d.queue.push_back(datagram.to_vec());
            d.bytes += n;
            self.unannounced += 1;
            self.bytes_received += n as u64;
        }
    }

    /// Moves the oldest datagram into `out` (cut to its length); 0 when none is queued.
    pub(super) fn take_datagram(&mut self, out: &mut [u8]) -> usize {
        let Conn::Datagram(queue) = &mut self.conn else {
            return 0;
        };
        let announced = queue.queue.len() - self.unannounced;
        let Some(d) = queue.queue.pop_front() else {
            return 0;
        };
        if announced == 0 {
            self.unannounced -= 1;
        }
        queue.bytes -= d.len();
        let n = d.len().min(out.len());
        out[..n].copy_from_slice(&d[..n]);
        n
    }
}
