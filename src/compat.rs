//! The firmware's replies to calls this library refuses (`sock_set_compat`).
//!
//! On the firmware every `sock_close` posts a CLOSE_CNF for the slot, whatever its state
//! (openLuat `platform_socket_close`), a send that cannot be done posts a failed SEND_CNF, and
//! taking a CLOSE_IND closes the socket, so later sends fail. The firmware's Lua `socket`
//! library waits for those messages without a timeout (close) or for two minutes (send). The
//! C contract here is stricter (a refused call posts nothing; a peer's orderly close leaves
//! our direction open), so the firmware's behaviour is a library-wide option that the Lua
//! module turns on.
//!
//! A reply belongs to no socket state: it goes into the ring with the generation `REPLY` and
//! is handed out as it is. Replies in the ring are bounded by `SOCK_MAX_COMPAT_REPLIES`; past
//! that a refused call gets no reply, as without the option.

use crate::constants::*;
use crate::reactor::Reactor;
use crate::ring::{Entry, REPLY};
use crate::types::sock_msg;
use std::ffi::c_int;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

/// The `SOCK_COMPAT_*` flags in force; kept across `sock_shutdown`, like the socket limit.
static FLAGS: AtomicI32 = AtomicI32::new(0);

/// Sets the flags; returns the previous ones, or None for unknown bits.
pub(crate) fn set(flags: c_int) -> Option<c_int> {
    if flags & !SOCK_COMPAT_FIRMWARE != 0 {
        return None;
    }
    Some(FLAGS.swap(flags, Ordering::AcqRel))
}

pub(crate) fn enabled(flag: c_int) -> bool {
    FLAGS.load(Ordering::Acquire) & flag != 0
}

/// An id the firmware could have handed out: replies are only posted for those.
pub(crate) fn is_socket_id(id: c_int) -> bool {
    (0..SOCK_MAX_SOCKETS_LIMIT).contains(&id)
}

/// The count of replies in the ring of one instance.
#[derive(Default)]
pub(crate) struct Replies {
    pending: AtomicUsize,
}

impl Replies {
    /// Posts message `id` for socket `socket` with `result`; false when the bound is reached.
    pub(crate) fn post(&self, sh: &Reactor, id: c_int, socket: c_int, result: c_int) -> bool {
        let reserved = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < SOCK_MAX_COMPAT_REPLIES as usize).then_some(n + 1)
            })
            .is_ok();
        if !reserved {
            return false;
        }
        // No lock is held here, so the ring's own push wakes a waiter at once.
        sh.ring.push(Entry {
            msg: sock_msg {
                id,
                socket_index: socket,
                result,
                ..sock_msg::default()
            },
            generation: REPLY,
            settled: false,
        });
        sh.poller.notify_leader();
        true
    }

    /// `n` replies left the ring (taken, or discarded by `sock_destroy`).
    pub(crate) fn gone(&self, n: usize) {
        let _ = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                Some(p.saturating_sub(n))
            });
    }

    /// Replies may be in the ring.
    pub(crate) fn any(&self) -> bool {
        self.pending.load(Ordering::Acquire) > 0
    }
}
