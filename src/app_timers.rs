//! Application timers (`sock_timer_start` / `sock_timer_stop`): the firmware's rtos timers,
//! whose expiries come through the same ring as socket messages (`MSG_TIMER`, the timer id in
//! `socket_index`), so a host's one message loop serves both, as `rtos.receive` does.
//!
//! The rules that keep a timer from being lost or firing twice:
//! - a timer id is armed at most once at a time; every arming gets a new generation, and the
//!   deadline heap holds (id, generation), so a deadline whose generation is no
//!   longer the armed one is stale and fires nothing;
//! - an expiry is posted once, marking the arming `posted`; the arming ends when the expiry is
//!   taken from the ring, or when a stop or restart removes the expiry from the ring first;
//! - all of it happens under one lock, taken before the ring's, so a stop or restart that
//!   returns has left no expiry of the old arming in the ring.
//!
//! Bounds: at most `SOCK_MAX_TIMERS` armings exist (each with at most one expiry in the ring),
//! and stale heap entries are purged once they outnumber the live ones.

use crate::codes::*;
use crate::constants::{MSG_TIMER, SOCK_MAX_TIMERS};
use crate::reactor::Reactor;
use crate::ring::Entry;
use crate::timers::{Timer, TimerKind};
use crate::types::sock_msg;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::ffi::c_int;
use std::time::{Duration, Instant};

/// Stale heap entries tolerated before a purge (a purge costs one pass over the heap).
const PURGE_AFTER: usize = 256;

#[derive(Default)]
pub(crate) struct AppTimers {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    armed: HashMap<i32, Arming>,
    next_generation: u32,
    /// Heap entries of armings that were stopped or replaced before they fired.
    stale: usize,
}

#[derive(Clone, Copy)]
struct Arming {
    generation: u32,
    /// Its expiry is in the ring, not yet taken.
    posted: bool,
}

impl AppTimers {
    /// Arms timer `id` to expire `ms` from now, replacing any arming it had.
    pub(crate) fn start(&self, sh: &Reactor, id: c_int, ms: c_int) -> Result<(), c_int> {
        if id < 0 || ms < 0 {
            return Err(SOCK_ERR_EARG);
        }
        let generation = {
            let mut inner = self.inner.lock();
            if !inner.armed.contains_key(&id) && inner.armed.len() >= SOCK_MAX_TIMERS as usize {
                return Err(SOCK_ERR_ENOBUFS);
            }
            inner.end_arming(sh, id);
            inner.next_generation = inner.next_generation.wrapping_add(1).max(1);
            let generation = inner.next_generation;
            inner.armed.insert(
                id,
                Arming {
                    generation,
                    posted: false,
                },
            );
            inner.purge_if_stale(sh);
            generation
        };
        // Added after the lock is released: a stop meanwhile only makes this entry stale.
        sh.add_timer(Timer {
            at: Instant::now() + Duration::from_millis(ms as u64),
            id,
            generation,
            kind: TimerKind::App,
        });
        Ok(())
    }

    /// Ends timer `id`'s arming, removing its expiry from the ring if it is there. Returns
    /// whether there was one.
    pub(crate) fn stop(&self, sh: &Reactor, id: c_int) -> Result<bool, c_int> {
        if id < 0 {
            return Err(SOCK_ERR_EARG);
        }
        let mut inner = self.inner.lock();
        let had = inner.end_arming(sh, id);
        inner.purge_if_stale(sh);
        Ok(had)
    }

    /// A deadline came due (on whichever thread runs the timers): post the expiry if the
    /// arming is still the current one.
    pub(crate) fn fire(&self, sh: &Reactor, id: c_int, generation: u32) {
        let wake = {
            let mut inner = self.inner.lock();
            match inner.armed.get_mut(&id) {
                Some(a) if a.generation == generation && !a.posted => {
                    a.posted = true;
                    sh.ring.push_quiet(Entry {
                        msg: sock_msg {
                            id: MSG_TIMER,
                            socket_index: id,
                            ..sock_msg::default()
                        },
                        generation,
                        settled: false,
                    })
                }
                _ => return,
            }
        };
        if wake {
            sh.ring.wake_one();
        }
        sh.poller.notify_leader();
    }

    /// The expiry of (id, generation) was taken from the ring: that arming is over.
    pub(crate) fn taken(&self, id: c_int, generation: u32) {
        let mut inner = self.inner.lock();
        if inner
            .armed
            .get(&id)
            .is_some_and(|a| a.generation == generation && a.posted)
        {
            inner.armed.remove(&id);
        }
    }

    /// Armings that exist (running, or expired and not yet taken).
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().armed.len()
    }
}

impl Inner {
    fn end_arming(&mut self, sh: &Reactor, id: c_int) -> bool {
        match self.armed.remove(&id) {
            Some(a) if a.posted => {
                sh.ring.discard_timer(id);
                true
            }
            Some(_) => {
                self.stale += 1;
                true
            }
            None => false,
        }
    }

    fn purge_if_stale(&mut self, sh: &Reactor) {
        if self.stale < PURGE_AFTER || self.stale < self.armed.len() {
            return;
        }
        let armed = &self.armed;
        sh.timers.retain(|t| {
            t.kind != TimerKind::App
                || armed
                    .get(&t.id)
                    .is_some_and(|a| a.generation == t.generation && !a.posted)
        });
        self.stale = 0;
    }
}
