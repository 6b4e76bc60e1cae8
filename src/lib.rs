//! socketcore: the Luat `socketcore` asynchronous socket API (TCP, UDP, TLS, RAW; results as
//! messages) for ordinary hosts, as a C library. See README.md for the contract.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod api;
mod bytering;
pub mod codes;
mod conn_config;
pub mod constants;
mod errno;
mod ffi;
mod options;
mod os_socket;
mod poll_loop;
mod resolver;
mod ring;
mod runtime;
mod socket;
mod table;
mod timers;
mod tls;
pub mod types;

pub use api::*;

/// Shuts the instance down when the shared library is unloaded (or the process exits), so a
/// `dlclose` without `sock_shutdown` never leaves a thread running in unmapped code.
#[used]
#[unsafe(link_section = ".fini_array")]
static ON_UNLOAD: extern "C" fn() = on_unload;

extern "C" fn on_unload() {
    ffi::guard((), runtime::shutdown);
}
pub use codes::*;
pub use constants::*;
pub use types::*;

/// Internal counters for tests of the bounds; not part of the C API.
#[doc(hidden)]
pub mod introspect {
    /// (messages pending in the ring, the most ever pending, sockets open, resolver threads,
    /// timers pending, bytes of buffer held by all sockets).
    pub fn snapshot() -> Option<(usize, usize, usize, usize, usize, usize)> {
        let sh = crate::runtime::current()?;
        let table = sh.table.read();
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

    pub fn max_sockets() -> usize {
        crate::runtime::max_sockets()
    }
}
