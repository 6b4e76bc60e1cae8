//! `SOCK_TYPE_SSL` in a build without the `tls` feature: `sock_conn` refuses it with
//! `SOCK_ERR_SSL_EINIT`, so no TLS connection ever exists. The types mirror `tls.rs` but
//! cannot be constructed (they hold `Infallible`), which lets the socket state machine compile
//! unchanged while the compiler drops every TLS branch as unreachable.

use crate::codes::SOCK_ERR_SSL_EINIT;
use crate::conn_config::ConnConfig;
use crate::ffi::CertInput;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::ffi::c_int;
use std::io;

pub(crate) struct TlsSetup {
    never: Infallible,
}

pub(crate) struct TlsConn {
    pub unflushed: VecDeque<usize>,
    pub close_notify_sent: bool,
    pub cert_requested: bool,
    pub awaiting_verdict: bool,
    never: Infallible,
}

#[allow(dead_code)] // matched by the state machine, never produced here
pub(crate) enum Records {
    Processed,
    WouldBlock,
    Eof,
}

/// Always `SOCK_ERR_SSL_EINIT`: this build has no TLS (a bad certificate field is not looked at).
pub(crate) fn setup(_cert: CertInput, _addr: &str, _cfg: &ConnConfig) -> Result<TlsSetup, c_int> {
    Err(SOCK_ERR_SSL_EINIT)
}

pub(crate) fn clear_cache() {}

impl TlsConn {
    pub(crate) fn new(setup: &TlsSetup) -> Result<TlsConn, c_int> {
        match setup.never {}
    }

    pub(crate) fn write_out(&mut self, _tcp: &mut impl io::Write) -> io::Result<(usize, bool)> {
        match self.never {}
    }

    pub(crate) fn read_records(&mut self, _tcp: &mut impl io::Read) -> Result<Records, c_int> {
        match self.never {}
    }

    pub(crate) fn is_tls13(&self) -> bool {
        match self.never {}
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        match self.never {}
    }

    pub(crate) fn wants_write(&self) -> bool {
        match self.never {}
    }

    pub(crate) fn write_plain(&mut self, _data: &[u8]) -> io::Result<usize> {
        match self.never {}
    }

    pub(crate) fn read_plain(&mut self, _out: &mut [u8]) -> io::Result<usize> {
        match self.never {}
    }

    pub(crate) fn send_close_notify(&mut self) {
        match self.never {}
    }

    pub(crate) fn alpn(&self) -> Option<Vec<u8>> {
        match self.never {}
    }

    pub(crate) fn resumed(&self) -> bool {
        match self.never {}
    }

    pub(crate) fn error_text(&self) -> Option<String> {
        match self.never {}
    }

    pub(crate) fn summary(&self) -> String {
        match self.never {}
    }
}
