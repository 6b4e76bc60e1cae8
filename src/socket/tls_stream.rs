//! The TLS side of a stream socket's state machine: the handshake, encrypting queued sends,
//! decrypting into the receive buffer, and close_notify. `send_queue.rs` and `read.rs` call
//! these where a plain TCP socket would write or read directly; `tls.rs` owns the rustls connection itself.

use super::read::pause_reading;
use super::{Acks, Conn, Cx, ReadUntil, State, Stream};
use crate::bytering::ByteRing;
use crate::codes::*;
use crate::errno::code_of;
use crate::os_socket::{self, Io};
use crate::timers::TimerKind;
use crate::tls::{Records, TlsConn};
use mio::net::TcpStream;
use std::io;
use std::time::Duration;

/// TLS 1.3 with client authentication: how long CONN_CNF waits for the server's verdict
/// before assuming acceptance (a server that sends no tickets says nothing on success).
const TLS_VERDICT_WAIT: Duration = Duration::from_millis(500);

impl State {
    /// Drives the TLS handshake as far as the kernel allows; posts CONN_CNF when it ends.
    pub(super) fn tls_handshake(&mut self, cx: &Cx<'_>) {
        let Some((tcp, tls, _, acks)) = tls_parts(&mut self.io, &mut self.conn) else {
            return;
        };
        let outcome = loop {
            match tls.write_out(&mut os_socket::NoSignal(tcp)) {
                Ok((n, _)) => count_written(acks, n),
                Err(e) => break Err(code_of(&e)),
            }
            if !tls.is_handshaking() && !tls.awaiting_verdict {
                // Our side is done. Under TLS 1.3 a server checks our certificate after that,
                // so when it asked for one, wait for its verdict before confirming.
                if tls.cert_requested && tls.is_tls13() {
                    tls.awaiting_verdict = true;
                    cx.arm(TimerKind::TlsVerdict, TLS_VERDICT_WAIT);
                    continue;
                }
                break Ok(true);
            }
            match tls.read_records(tcp) {
                Ok(Records::Processed) if tls.awaiting_verdict => break Ok(true),
                Ok(Records::Processed) => {}
                Ok(Records::WouldBlock) => break Ok(false),
                Ok(Records::Eof) => break Err(SOCK_ERR_SSL_EHANDSHAKE),
                Err(code) => {
                    let _ = tls.write_out(&mut os_socket::NoSignal(tcp)); // tell the server why, if it still listens
                    break Err(code);
                }
            }
        };
        match outcome {
            Ok(true) => self.opened(cx, Some(ReadUntil::WouldBlock)),
            Ok(false) => {}
            Err(code) => self.fail_connect(cx, code),
        }
    }

    /// Encrypts queued plaintext and hands the records to the kernel. A send is confirmed
    /// once all records holding its plaintext are with the kernel.
    pub(super) fn flush_tls(&mut self, cx: &Cx<'_>) {
        loop {
            let Some((tcp, tls, _, acks)) = tls_parts(&mut self.io, &mut self.conn) else {
                return;
            };
            match tls.write_out(&mut os_socket::NoSignal(tcp)) {
                Ok((n, all_out)) => {
                    count_written(acks, n);
                    if !all_out {
                        return; // the writable event brings us back
                    }
                }
                Err(e) => return self.fail(cx, code_of(&e)),
            }
            let done: Vec<usize> = tls.unflushed.drain(..).collect();
            let Some(front) = self.sendq.front_mut() else {
                for total in done {
                    self.completed(cx, total);
                }
                break;
            };
            let n = match tls.write_plain(&front.data[front.off..]) {
                Ok(n) => n,
                Err(e) => return self.fail(cx, code_of(&e)),
            };
            front.off += n;
            self.queued_bytes -= n;
            self.bytes_sent += n as u64;
            if front.off == front.data.len() {
                tls.unflushed.push_back(front.total);
                if let Some(req) = self.sendq.pop_front() {
                    crate::send_buffers::recycle(req.data);
                }
            }
            for total in done {
                self.completed(cx, total);
            }
        }
        self.close_if_flushed(cx);
    }

    /// Moves decrypted bytes into the receive buffer, reading records only while it has room.
    pub(super) fn read_tls(&mut self, cx: &Cx<'_>) {
        let Some((tcp, tls, buf, _)) = tls_parts(&mut self.io, &mut self.conn) else {
            return;
        };
        let end = loop {
            // Drain what rustls has decrypted before asking the kernel for more.
            let spare = buf.spare();
            if spare.is_empty() {
                return pause_reading(&mut self.read_paused, cx.sock.id);
            }
            match tls.read_plain(spare) {
                Ok(0) => break Ok(SOCK_ERR_OK), // close_notify
                Ok(n) => {
                    buf.commit(n);
                    self.unannounced += n;
                    self.bytes_received += n as u64;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The TCP stream ended without close_notify: the data may be truncated.
                Err(_) => break Ok(SOCK_ERR_ECLSD),
            }
            match tls.read_records(tcp) {
                Ok(Records::WouldBlock) => {
                    buf.release_if_empty();
                    return;
                }
                Ok(Records::Processed | Records::Eof) => {
                    // Alerts or key updates may need an answer; a full kernel buffer is fine,
                    // the writable event finishes the job.
                    if let Err(e) = tls.write_out(&mut os_socket::NoSignal(tcp)) {
                        break Err(code_of(&e));
                    }
                }
                Err(code) => {
                    let _ = tls.write_out(&mut os_socket::NoSignal(tcp));
                    break Err(code);
                }
            }
        };
        match end {
            Ok(code) => {
                self.read_done = true;
                self.life.peer_ended(code);
                if code != SOCK_ERR_OK {
                    self.last_error = code;
                }
            }
            Err(code) => self.fail(cx, code),
        }
    }

    /// Sends close_notify (once) and pushes out what is pending; true when all of it is out.
    pub(super) fn tls_close_notify(&mut self, cx: &Cx<'_>) -> bool {
        let Some((tcp, tls, _, _)) = tls_parts(&mut self.io, &mut self.conn) else {
            return true;
        };
        if !tls.close_notify_sent {
            tls.close_notify_sent = true;
            tls.send_close_notify();
        }
        match tls.write_out(&mut os_socket::NoSignal(tcp)) {
            Ok((_, all_out)) => all_out,
            Err(e) => {
                self.fail(cx, code_of(&e));
                false
            }
        }
    }
}

/// The TCP socket, the TLS connection, the receive buffer and the ack tracking of a stream
/// with TLS, borrowed apart from the rest of the state.
fn tls_parts<'a>(
    io: &'a mut Io,
    conn: &'a mut Conn,
) -> Option<(
    &'a mut TcpStream,
    &'a mut TlsConn,
    &'a mut ByteRing,
    &'a mut Option<Box<Acks>>,
)> {
    match (io, conn) {
        (
            Io::Tcp(tcp),
            Conn::Stream(Stream {
                tls: Some(tls),
                buf,
                acks,
            }),
        ) => Some((tcp, tls, buf, acks)),
        _ => None,
    }
}

/// Records handed to the kernel count for `send_cnf_on_ack` like plain TCP writes.
fn count_written(acks: &mut Option<Box<Acks>>, n: usize) {
    if let Some(a) = acks {
        a.written_total += n as u64;
    }
}
