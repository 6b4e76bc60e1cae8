//! socketcore: the Luat `socketcore` asynchronous socket API (TCP, UDP, TLS, RAW; results as
//! messages) for ordinary hosts, as a C library. See README.md for the contract.

#![deny(unsafe_op_in_unsafe_fn)]

mod alarm;
pub mod api;
mod app_timers;
mod bytering;
mod clock;
pub mod codes;
mod compat;
mod conn_config;
pub mod constants;
pub mod diagnostics;
mod errno;
mod fd_table;
mod ffi;
mod library_pin;
mod options;
mod os_socket;
mod poll_loop;
mod poller;
mod reactor;
mod ready_events;
mod resolver;
mod ring;
mod runtime;
mod send_buffers;
mod socket;
mod sockets;
mod sync;
mod table;
mod thread_memo;
mod timers;
#[cfg(feature = "tls")]
mod tls;
// Without TLS, `crate::tls` is the module that refuses SOCK_TYPE_SSL (see its comment).
#[cfg(not(feature = "tls"))]
#[path = "tls_absent.rs"]
mod tls;
pub mod types;

pub use api::*;
pub use codes::*;
pub use constants::*;
pub use diagnostics::*;
pub use types::*;

/// Internal counters for tests of the bounds; not part of the C API.
#[doc(hidden)]
pub mod introspect {
    /// (messages pending in the ring, the most ever pending, sockets open, resolver threads,
    /// timers pending, bytes of buffer held by all sockets).
    pub fn snapshot() -> Option<(usize, usize, usize, usize, usize, usize)> {
        let sh = crate::runtime::current()?;
        // What has arrived or fallen due is counted, as `sock_global_stats` counts it.
        crate::poll_loop::catch_up(&sh);
        let table = sh.sockets.read();
        let buffers = table.values().map(|s| s.buffer_memory()).sum();
        Some((
            sh.ring.len(),
            sh.ring.high_water(),
            table.len(),
            sh.resolver.worker_count(),
            sh.timers.len(),
            buffers,
        ))
    }

    /// (application timers armed or pending, deadlines in the heap).
    pub fn timers() -> Option<(usize, usize)> {
        let sh = crate::runtime::current()?;
        Some((sh.app_timers.len(), sh.timers.len()))
    }

    pub fn max_sockets() -> usize {
        crate::runtime::max_sockets()
    }

    /// Sockets whose connect has not settled (no CONN_CNF yet).
    pub fn connects_in_flight() -> Option<usize> {
        let sh = crate::runtime::current()?;
        Some(
            sh.connects_in_flight
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }
}

/// Timings of the ring and the id table against standard-library baselines, for
/// `cargo bench --bench micro`; not part of the C API.
#[doc(hidden)]
pub mod micro {
    use std::time::{Duration, Instant};

    /// `n` pushes then `n` pops through the event ring.
    pub fn ring(n: usize) -> Duration {
        let ring = crate::ring::Ring::default();
        let entry = crate::ring::Entry {
            msg: crate::types::sock_msg::default(),
            generation: 1,
            settled: false,
        };
        let t = Instant::now();
        for _ in 0..n {
            ring.push(entry);
        }
        for _ in 0..n {
            std::hint::black_box(ring.try_pop().ok().flatten());
        }
        t.elapsed()
    }

    /// The same through a standard channel (the baseline).
    pub fn channel(n: usize) -> Duration {
        let (tx, rx) = std::sync::mpsc::channel();
        let t = Instant::now();
        for _ in 0..n {
            let _ = tx.send(crate::types::sock_msg::default());
        }
        for _ in 0..n {
            std::hint::black_box(rx.try_recv().ok());
        }
        t.elapsed()
    }

    /// `n` inserts, lookups and removals in the id table.
    pub fn table(n: usize) -> Duration {
        let mut table = crate::table::Table::new(n);
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(table.insert(|id, _| id));
        }
        for id in 0..n as i32 {
            std::hint::black_box(table.get(id));
        }
        for id in 0..n as i32 {
            std::hint::black_box(table.remove(id));
        }
        t.elapsed()
    }

    /// The same with a standard HashMap (the baseline).
    pub fn hashmap(n: usize) -> Duration {
        let mut map = std::collections::HashMap::new();
        let t = Instant::now();
        for id in 0..n as i32 {
            map.insert(id, std::sync::Arc::new(id));
        }
        for id in 0..n as i32 {
            std::hint::black_box(map.get(&id));
        }
        for id in 0..n as i32 {
            std::hint::black_box(map.remove(&id));
        }
        t.elapsed()
    }
}
