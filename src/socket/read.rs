//! The stream receive path: reading what the kernel has into the receive buffer (through a
//! per-thread scratch while the buffer is empty), then announcing it. TLS reads are in
//! `tls_stream.rs`, datagrams in `datagrams.rs`.

use super::{Conn, Cx, State, Stream};
use crate::codes::*;
use crate::errno::code_of;
use crate::os_socket::{self, Io};
use std::cell::RefCell;
use std::io;

/// How far a read goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ReadUntil {
    /// Until the kernel says WouldBlock (or the buffer is full).
    WouldBlock,
    /// Until a read returns less than it was offered: the kernel had nothing more then, and
    /// anything that arrives later raises a new edge. Saves a syscall per readiness event.
    ShortRead,
}

thread_local! {
    /// Receive scratch for streams with no buffer yet and for draining on close (one per
    /// thread, reused).
    pub(super) static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; 65536]);
}

impl State {
    /// Reads what the kernel has, up to the receive bound, then announces it.
    pub(super) fn read(&mut self, cx: &Cx<'_>) {
        self.read_some(cx, ReadUntil::WouldBlock);
    }

    pub(super) fn read_some(&mut self, cx: &Cx<'_>, until: ReadUntil) {
        match self.conn {
            Conn::Stream(_) => self.read_stream(cx, until),
            Conn::Datagram(_) => self.read_datagrams(cx.sock.cfg.rcv_buf, until),
            Conn::Connecting(_) | Conn::Gone => {}
        }
        self.announce(cx);
    }

    pub(super) fn read_stream(&mut self, cx: &Cx<'_>, until: ReadUntil) {
        if self.read_done {
            return;
        }
        if self.tls().is_some() {
            return self.read_tls(cx);
        }
        let (Io::Tcp(s), Conn::Stream(Stream { buf, .. })) = (&mut self.io, &mut self.conn) else {
            return;
        };
        loop {
            let (got, room) = if buf.allocated() == 0 {
                // Nothing buffered: read into the thread's scratch first, so that a read that
                // finds nothing allocates nothing.
                SCRATCH.with_borrow_mut(|scratch| {
                    let room = scratch.len().min(cx.sock.cfg.rcv_buf);
                    let r = os_socket::recv_stream(s, &mut scratch[..room]);
                    if let Ok(n) = r {
                        buf.push_slice(&scratch[..n]);
                    }
                    (r, room)
                })
            } else {
                let spare = buf.spare();
                if spare.is_empty() {
                    return pause_reading(&mut self.read_paused, cx.sock.id);
                }
                let room = spare.len();
                let r = os_socket::recv_stream(s, spare);
                if let Ok(n) = r {
                    buf.commit(n);
                }
                (r, room)
            };
            match got {
                Ok(0) => {
                    self.read_done = true;
                    self.life.peer_ended(SOCK_ERR_OK);
                    return;
                }
                Ok(n) => {
                    self.unannounced += n;
                    self.bytes_received += n as u64;
                    if n < room && until == ReadUntil::ShortRead {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    buf.release_if_empty();
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(cx, code_of(&e)),
            }
        }
    }
}

/// The receive buffer is full: the socket is not read until `sock_recv` makes room, and flow
/// control holds the peer meanwhile.
pub(super) fn pause_reading(read_paused: &mut bool, id: i32) {
    log::debug!(target: "socketcore",
        "socket {id}: receive buffer full, reading paused until sock_recv");
    *read_paused = true;
}
