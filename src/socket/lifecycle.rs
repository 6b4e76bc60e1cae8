//! A socket's life as one value (`Lifecycle`): its phase, what the application did to it
//! (closed, destroyed), the peer's end, and the per-socket message bounds that keep the ring
//! finite: one CONN_CNF in its life, at most one RECV_IND outstanding, one CLOSE_IND, one
//! CLOSE_CNF, and at most `max_sends` SEND_CNFs.
//!
//! The first four are kept here: each transition is a method that says whether the message
//! that goes with it may be posted, and the fields are private, so a combination that would
//! break a bound (a CLOSE_IND before the peer ended, a second CLOSE_CNF, a closing socket
//! that was never closed) cannot be written down. The fifth is `Sock::sends_outstanding`, an
//! atomic beside the lock: a SEND_CNF taken from the ring frees its slot without the
//! socket's lock, which keeps the lock off that path. The effects of each transition on the
//! socket (closing the OS socket, posting) are in `milestones.rs`.

use crate::codes::SOCK_ERR_OK;
use std::ffi::c_int;

/// What the rest of the socket matches on; `Lifecycle::phase` derives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for the resolver (or for the poll thread to start the connect).
    Resolving,
    /// The OS connect (or the TLS handshake) is in progress.
    Connecting,
    /// CONN_CNF 0 was posted; sending is allowed.
    Open,
    /// `sock_close` accepted; flushing queued sends before shutting down.
    Closing,
    /// No OS socket any more (failed, closed, never connected, or destroyed).
    Closed,
}

/// The phase with the application's release folded in, so that "closing but never closed"
/// or "destroyed while open" has no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Stage {
    Resolving,
    Connecting,
    Open,
    /// The connect failed (its CONN_CNF said so): there is nothing to announce.
    ConnectFailed,
    /// `sock_close` accepted while open: flushing, then CLOSE_CNF.
    Closing,
    /// No OS socket any more. `by_close`: `sock_close` was accepted (a second one is
    /// EALREADY, and nothing more is announced); otherwise the connection broke after it
    /// was open.
    Closed {
        by_close: bool,
    },
    /// `sock_destroy`: every later call is EBADID, nothing is posted.
    Destroyed,
}

/// How far the peer's end has got: seen (with its code, 0 for an orderly end), then announced
/// by the one CLOSE_IND.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum PeerEnd {
    NotYet,
    Ended(c_int),
    Announced(c_int),
}

/// The outstanding RECV_IND, if any: a new one needs the last one both taken from the ring
/// and answered by a `sock_recv`, in either order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
enum RecvInd {
    /// None outstanding: the next may be posted.
    #[default]
    Free,
    /// Posted; `taken`: out of the ring; `read`: `sock_recv` called since.
    Posted { taken: bool, read: bool },
}

impl RecvInd {
    fn mark(&mut self, taken: bool, read: bool) {
        if let RecvInd::Posted { taken: t, read: r } = self {
            *t |= taken;
            *r |= read;
            if *t && *r {
                *self = RecvInd::Free;
            }
        }
    }
}

/// What an accepted `sock_close` does, by the phase it finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CloseStep {
    /// Still connecting: the connect ends with CONN_CNF EABORT, then CLOSE_CNF 0.
    Cancel,
    /// Open: now `Closing`; CLOSE_CNF comes once the sends are flushed (`close_flushed`) or
    /// the connection breaks (`broke`).
    Flush,
    /// Already without an OS socket: CLOSE_CNF 0 at once.
    Confirm,
}

/// What a broken connection means for the messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Broken {
    /// It was closing: CLOSE_CNF with the code ends the close.
    ConfirmClose,
    /// The peer's end is now known: announce it (CLOSE_IND, after what was received).
    PeerEnded,
    /// Nothing new to say (not open, or the peer's end was already known).
    Nothing,
}

/// A socket's phase and message bounds (see the module's first lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Lifecycle {
    stage: Stage,
    peer: PeerEnd,
    recv_ind: RecvInd,
}

impl Lifecycle {
    pub(super) const fn new() -> Lifecycle {
        Lifecycle {
            stage: Stage::Resolving,
            peer: PeerEnd::NotYet,
            recv_ind: RecvInd::Free,
        }
    }

    pub(super) fn phase(&self) -> Phase {
        match self.stage {
            Stage::Resolving => Phase::Resolving,
            Stage::Connecting => Phase::Connecting,
            Stage::Open => Phase::Open,
            Stage::Closing => Phase::Closing,
            Stage::ConnectFailed | Stage::Closed { .. } | Stage::Destroyed => Phase::Closed,
        }
    }

    pub(super) fn is_destroyed(&self) -> bool {
        self.stage == Stage::Destroyed
    }

    /// Resolving or connecting: CONN_CNF is still to come.
    pub(super) fn connecting(&self) -> bool {
        matches!(self.stage, Stage::Resolving | Stage::Connecting)
    }

    /// The addresses came: the OS connect starts. Only from `Resolving`.
    pub(super) fn start_connecting(&mut self) {
        if self.stage == Stage::Resolving {
            self.stage = Stage::Connecting;
        }
    }

    /// The connect succeeded: whether CONN_CNF 0 may be posted (only while connecting).
    #[must_use]
    pub(super) fn opened(&mut self) -> bool {
        self.end_connect(Stage::Open)
    }

    /// The connect failed: whether its CONN_CNF may be posted (only while connecting).
    #[must_use]
    pub(super) fn connect_failed(&mut self) -> bool {
        self.end_connect(Stage::ConnectFailed)
    }

    fn end_connect(&mut self, to: Stage) -> bool {
        let connecting = self.connecting();
        if connecting {
            self.stage = to;
        }
        connecting
    }

    /// `sock_close`: accepted once (EALREADY after), EBADID once destroyed.
    pub(super) fn close(&mut self) -> Result<CloseStep, c_int> {
        use crate::codes::{SOCK_ERR_EALREADY, SOCK_ERR_EBADID};
        let (to, step) = match self.stage {
            Stage::Resolving | Stage::Connecting => {
                (Stage::Closed { by_close: true }, CloseStep::Cancel)
            }
            Stage::Open => (Stage::Closing, CloseStep::Flush),
            Stage::ConnectFailed | Stage::Closed { by_close: false } => {
                (Stage::Closed { by_close: true }, CloseStep::Confirm)
            }
            Stage::Closing | Stage::Closed { by_close: true } => return Err(SOCK_ERR_EALREADY),
            Stage::Destroyed => return Err(SOCK_ERR_EBADID),
        };
        self.stage = to;
        Ok(step)
    }

    /// The sends are flushed: whether the close ends now with CLOSE_CNF (only while closing).
    #[must_use]
    pub(super) fn close_flushed(&mut self) -> bool {
        let closing = self.stage == Stage::Closing;
        if closing {
            self.stage = Stage::Closed { by_close: true };
        }
        closing
    }

    /// The connection broke (or a close timed out) with `code`.
    #[must_use]
    pub(super) fn broke(&mut self, code: c_int) -> Broken {
        match self.stage {
            Stage::Closing => {
                self.stage = Stage::Closed { by_close: true };
                Broken::ConfirmClose
            }
            Stage::Open => {
                self.stage = Stage::Closed { by_close: false };
                match self.peer {
                    PeerEnd::NotYet => {
                        self.peer = PeerEnd::Ended(code);
                        Broken::PeerEnded
                    }
                    PeerEnd::Ended(_) | PeerEnd::Announced(_) => Broken::Nothing,
                }
            }
            _ => Broken::Nothing,
        }
    }

    /// The read side saw the peer's end (`code` 0: orderly); only the first end counts.
    pub(super) fn peer_ended(&mut self, code: c_int) {
        if self.peer == PeerEnd::NotYet {
            self.peer = PeerEnd::Ended(code);
        }
    }

    /// `sock_destroy`: the end, from any phase.
    pub(super) fn destroy(&mut self) {
        self.stage = Stage::Destroyed;
    }

    /// Whether `sock_send` may queue: open, not closed by the application, and the peer has
    /// not broken the connection (an orderly end leaves our direction open).
    pub(super) fn may_send(&self) -> bool {
        self.stage == Stage::Open
            && matches!(
                self.peer,
                PeerEnd::NotYet | PeerEnd::Ended(SOCK_ERR_OK) | PeerEnd::Announced(SOCK_ERR_OK)
            )
    }

    /// Whether the CLOSE_IND has been posted.
    pub(super) fn peer_end_announced(&self) -> bool {
        matches!(self.peer, PeerEnd::Announced(_))
    }

    /// The application listens: the socket was opened (CONN_CNF 0 came first) and not closed
    /// by it.
    fn announcing(&self) -> bool {
        matches!(self.stage, Stage::Open | Stage::Closed { by_close: false })
    }

    /// Claims the RECV_IND: whether one may be posted now (none outstanding, the application
    /// listening). The caller posts it.
    #[must_use]
    pub(super) fn claim_recv_ind(&mut self) -> bool {
        let free = self.announcing() && self.recv_ind == RecvInd::Free;
        if free {
            self.recv_ind = RecvInd::Posted {
                taken: false,
                read: false,
            };
        }
        free
    }

    /// A RECV_IND was posted and has not been taken from the ring.
    pub(super) fn recv_ind_in_ring(&self) -> bool {
        matches!(self.recv_ind, RecvInd::Posted { taken: false, .. })
    }

    /// Its RECV_IND was taken from the ring.
    pub(super) fn recv_ind_taken(&mut self) {
        self.recv_ind.mark(true, false);
    }

    /// The application called `sock_recv`.
    pub(super) fn recv_called(&mut self) {
        self.recv_ind.mark(false, true);
    }

    /// Claims the CLOSE_IND once everything received is announced: its code, if the peer has
    /// ended, it was not announced yet and the application listens. The caller posts it.
    #[must_use]
    pub(super) fn claim_close_ind(&mut self) -> Option<c_int> {
        match self.peer {
            PeerEnd::Ended(code) if self.announcing() => {
                self.peer = PeerEnd::Announced(code);
                Some(code)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
