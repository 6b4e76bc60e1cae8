//! The instance's sockets: the id table behind its lock, and each thread's memory of the
//! socket it found last, so that the calls of a request/response loop (send, wait, recv on
//! one socket) find it with no lock and no reference count touched.
//!
//! The memory is valid while the table has not changed since: every insert and removal
//! counts a change, and a remembered socket is used only if the count read now is the one
//! read when it was found (and the instance is the same). A socket destroyed meanwhile by
//! another thread may still be used once, as if it had been looked up just before; its own
//! lifecycle answers `EBADID` then, as it does for any call that races a destroy. What a
//! thread remembers keeps that socket's memory (never its descriptor: destroy closes it)
//! until the thread's next miss, or its exit.

use crate::socket::Sock;
use crate::table::Table;
use crate::thread_memo::{self, Memo};
use parking_lot::{RwLock, RwLockReadGuard};
use std::cell::RefCell;
use std::ffi::c_int;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) struct Sockets {
    table: RwLock<Table<Sock>>,
    /// Inserts and removals so far.
    changes: AtomicU64,
    /// The instance these sockets belong to (unique per process run of `runtime::start`).
    instance: u64,
}

/// A socket this thread found, and when.
struct Found {
    instance: u64,
    changes: u64,
    sock: Arc<Sock>,
}

thread_local! {
    static FOUND: Memo<Found> = const { RefCell::new(None) };
}

impl Sockets {
    pub(crate) fn new(limit: usize, instance: u64) -> Sockets {
        Sockets {
            table: RwLock::new(Table::new(limit)),
            changes: AtomicU64::new(0),
            instance,
        }
    }

    /// Runs `f` on socket `id` (of `generation`, if given), if it is in the table.
    pub(crate) fn with<R>(
        &self,
        id: c_int,
        generation: Option<u32>,
        f: impl FnOnce(&Arc<Sock>) -> R,
    ) -> Option<R> {
        let changes = self.changes.load(Ordering::Acquire);
        let mut f = Some(move |found: &Found| f(&found.sock));
        let valid = |found: &Found| {
            found.instance == self.instance
                && found.changes == changes
                && found.sock.id == id
                && generation.is_none_or(|g| g == found.sock.generation)
        };
        if let Some(result) = thread_memo::recall(&FOUND, valid, &mut f) {
            return Some(result);
        }
        let sock = {
            let table = self.table.read();
            match generation {
                Some(g) => table.get_current(id, g),
                None => table.get(id),
            }?
            .clone()
        };
        let found = Found {
            instance: self.instance,
            changes,
            sock,
        };
        let result = f.take()?(&found);
        thread_memo::store(&FOUND, Some(found));
        Some(result)
    }

    /// Stores a new socket under the lowest free id (None at the limit).
    pub(crate) fn insert(&self, make: impl FnOnce(i32, u32) -> Sock) -> Option<(i32, Arc<Sock>)> {
        let mut table = self.table.write();
        let inserted = table.insert(make);
        self.changes.fetch_add(1, Ordering::Release);
        inserted
    }

    pub(crate) fn remove(&self, id: c_int) -> Option<Arc<Sock>> {
        let mut table = self.table.write();
        let removed = table.remove(id);
        self.changes.fetch_add(1, Ordering::Release);
        removed
    }

    /// Removes every socket (for `sock_shutdown`).
    pub(crate) fn drain(&self) -> Vec<Arc<Sock>> {
        let mut table = self.table.write();
        let all = table.drain();
        self.changes.fetch_add(1, Ordering::Release);
        all
    }

    pub(crate) fn set_limit(&self, limit: usize) {
        self.table.write().set_limit(limit);
    }

    /// The table, read-locked (for counting and sums over every socket).
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Table<Sock>> {
        self.table.read()
    }
}

/// Forgets what this thread remembers (after `sock_shutdown`).
pub(crate) fn forget() {
    thread_memo::store(&FOUND, None);
}
