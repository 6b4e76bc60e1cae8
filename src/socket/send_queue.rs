//! The send side of a socket's state machine: writing straight from the caller's buffer when
//! nothing is queued, queueing (a copy of) what the kernel cannot take now, flushing the queue
//! with `writev` on the writable event, and confirming each send with its SEND_CNF, at once or
//! (`send_cnf_on_ack`) once the peer has acknowledged its last byte.

use super::{Conn, Cx, Phase, State, Stream};
use crate::codes::*;
use crate::constants::*;
use crate::errno::code_of;
use crate::os_socket::{self, Io};
use crate::send_buffers;
use crate::timers::TimerKind;
use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::time::Duration;

/// How often a socket in `send_cnf_on_ack` mode looks at the kernel's unacknowledged count.
const ACK_POLL: Duration = Duration::from_millis(1);
/// Buffers handed to one `writev`.
const WRITEV_MAX: usize = 64;

pub(super) struct SendReq {
    pub data: Vec<u8>,
    pub off: usize,
    /// The length the caller passed, reported as `send_len`.
    pub total: usize,
}

/// Sends waiting for the kernel, oldest first; the queue is made when a send first waits, as
/// most sockets never queue one.
#[derive(Default)]
#[expect(
    clippy::box_collection,
    reason = "one word in every socket instead of four while nothing waits"
)]
pub(super) struct SendQueue(Option<Box<VecDeque<SendReq>>>);

impl SendQueue {
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|q| q.is_empty())
    }

    pub fn push_back(&mut self, req: SendReq) {
        self.0.get_or_insert_default().push_back(req);
    }

    pub fn front(&self) -> Option<&SendReq> {
        self.0.as_ref()?.front()
    }

    pub fn front_mut(&mut self) -> Option<&mut SendReq> {
        self.0.as_mut()?.front_mut()
    }

    pub fn pop_front(&mut self) -> Option<SendReq> {
        self.0.as_mut()?.pop_front()
    }

    pub fn iter(&self) -> impl Iterator<Item = &SendReq> {
        self.0.iter().flat_map(|q| q.iter())
    }

    /// Empties the queue, handing its sends out oldest first.
    pub fn take(&mut self) -> impl Iterator<Item = SendReq> + use<> {
        self.0.take().into_iter().flat_map(|q| *q)
    }
}

/// A finished send in `send_cnf_on_ack` mode, waiting for the peer's acknowledgement.
pub(super) struct AckWait {
    pub end: u64,
    pub total: usize,
}

impl State {
    pub(super) fn enqueue(&mut self, cx: &Cx<'_>, data: &[u8]) {
        if self.tls().is_some() {
            // rustls copies the plaintext when it encrypts; queue it and pump at once.
            self.sendq.push_back(SendReq {
                data: send_buffers::copy_of(data),
                off: 0,
                total: data.len(),
            });
            self.queued_bytes += data.len();
            return self.flush(cx);
        }
        let mut done = 0;
        // Fast path: nothing queued ahead of us, so write straight from the caller's buffer.
        if self.sendq.is_empty() {
            match self.write_direct(data) {
                Ok(n) => done = n,
                Err(e) => {
                    self.sendq.push_back(SendReq {
                        data: Vec::new(),
                        off: 0,
                        total: data.len(),
                    });
                    self.fail_or_drop_datagram(cx, &e);
                    return;
                }
            }
        }
        if done == data.len() {
            self.completed(cx, data.len());
        } else {
            self.sendq.push_back(SendReq {
                data: send_buffers::copy_of(&data[done..]),
                off: 0,
                total: data.len(),
            });
            self.queued_bytes += data.len() - done;
        }
        self.check_acks(cx);
    }

    /// Writes as much of `data` as the kernel takes now (all or nothing for datagrams).
    pub(super) fn write_direct(&mut self, data: &[u8]) -> io::Result<usize> {
        loop {
            let r = match &mut self.io {
                Io::Tcp(s) => os_socket::send_stream(s, data),
                Io::Udp(s) => s.send(data),
                Io::Raw(s) => s.send(data),
                Io::None => return Ok(0),
            };
            match r {
                Ok(n) => {
                    self.written(n);
                    // A datagram goes whole or not at all. A short stream write means the
                    // kernel's buffer is full: another try now would only say WouldBlock, and
                    // the writable event brings the rest.
                    return Ok(if self.io_is_tcp() { n } else { data.len() });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    pub(super) fn io_is_tcp(&self) -> bool {
        matches!(self.io, Io::Tcp(_))
    }

    pub(super) fn written(&mut self, n: usize) {
        self.bytes_sent += n as u64;
        if let Some(a) = self.acks() {
            a.written_total += n as u64;
        }
    }

    /// A send's bytes are all with the kernel.
    pub(super) fn completed(&mut self, cx: &Cx<'_>, total: usize) {
        match self.acks() {
            Some(a) => {
                let end = a.written_total;
                a.waiting.push_back(AckWait { end, total });
            }
            None => cx.post(MSG_SOCK_SEND_CNF, SOCK_ERR_OK, 0, total),
        }
    }

    /// A datagram that the kernel refuses fails alone; a stream error fails the connection.
    pub(super) fn fail_or_drop_datagram(&mut self, cx: &Cx<'_>, e: &io::Error) {
        if cx.sock.kind.is_stream() {
            self.fail(cx, code_of(e));
        } else if let Some(req) = self.sendq.pop_front() {
            self.queued_bytes -= req.data.len() - req.off;
            self.last_error = code_of(e);
            cx.post(MSG_SOCK_SEND_CNF, code_of(e), 0, req.total);
        }
    }

    /// Hands queued sends to the kernel until it pushes back.
    pub(super) fn flush(&mut self, cx: &Cx<'_>) {
        if self.tls().is_some() {
            return self.flush_tls(cx);
        }
        while !self.sendq.is_empty() {
            let mut offered = 0;
            let result = match &mut self.io {
                Io::Tcp(s) => {
                    let mut slices = [IoSlice::new(&[]); WRITEV_MAX];
                    let mut count = 0;
                    for (slot, req) in slices.iter_mut().zip(self.sendq.iter()) {
                        *slot = IoSlice::new(&req.data[req.off..]);
                        offered += slot.len();
                        count += 1;
                    }
                    os_socket::NoSignal(s).write_vectored(&slices[..count])
                }
                Io::Udp(s) => s.send(self.sendq.front().map_or(&[][..], |r| &r.data)),
                Io::Raw(s) => s.send(self.sendq.front().map_or(&[][..], |r| &r.data)),
                Io::None => return,
            };
            match result {
                Ok(n) => {
                    self.written(n);
                    self.consume(cx, n);
                    if n < offered {
                        break; // the kernel's buffer is full; the writable event resumes
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.fail_or_drop_datagram(cx, &e);
                    if self.life.phase() == Phase::Closed {
                        return;
                    }
                }
            }
        }
        self.close_if_flushed(cx);
    }

    /// Advances the queue past `n` written bytes (a whole datagram for UDP/RAW).
    pub(super) fn consume(&mut self, cx: &Cx<'_>, mut n: usize) {
        if !self.io_is_tcp() {
            if let Some(req) = self.sendq.pop_front() {
                self.queued_bytes -= req.data.len();
                self.completed(cx, req.total);
                send_buffers::recycle(req.data);
            }
            return;
        }
        while n > 0 {
            let Some(front) = self.sendq.front_mut() else {
                break;
            };
            let left = front.data.len() - front.off;
            let step = left.min(n);
            front.off += step;
            n -= step;
            self.queued_bytes -= step;
            if front.off == front.data.len() {
                let total = front.total;
                if let Some(req) = self.sendq.pop_front() {
                    send_buffers::recycle(req.data);
                }
                self.completed(cx, total);
            }
        }
    }

    /// `send_cnf_on_ack`: confirm the sends the peer has acknowledged; look again soon if some
    /// are still waiting.
    pub(super) fn check_acks(&mut self, cx: &Cx<'_>) {
        if self.acks().is_none_or(|a| a.waiting.is_empty()) {
            return;
        }
        let unacked = match self.io.unacked_bytes() {
            Ok(n) => n,
            Err(e) => return self.fail(cx, code_of(&e)),
        };
        if let Conn::Stream(Stream { acks: Some(a), .. }) = &mut self.conn {
            let acked = a.written_total - unacked.min(a.written_total);
            while a.waiting.front().is_some_and(|w| w.end <= acked) {
                if let Some(w) = a.waiting.pop_front() {
                    cx.post(MSG_SOCK_SEND_CNF, SOCK_ERR_OK, 0, w.total);
                }
            }
            if !a.waiting.is_empty() && !a.timer_armed {
                a.timer_armed = true;
                cx.arm(TimerKind::AckPoll, ACK_POLL);
            }
        }
        self.close_if_flushed(cx);
    }
}
