//! Per-connection settings: a caller's `sock_conn_opts` (as `ffi::ConnOpts` has read it),
//! checked and defaulted.

use crate::codes::SOCK_ERR_EARG;
use crate::constants::*;
use crate::ffi::ConnOpts;
use std::ffi::c_int;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ConnConfig {
    pub rcv_buf: usize,
    pub snd_buf: usize,
    pub connect_timeout: Duration,
    pub local_port: u16,
    pub send_cnf_on_ack: bool,
    pub max_sends: usize,
    pub close_timeout: Duration,
    // Checked in every build, so that options are valid or not whatever the features; read
    // only by the TLS module.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub tls_verify: c_int,
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub alpn: Vec<Vec<u8>>,
    pub attempt_delay: Duration,
}

fn ms(v: c_int) -> Duration {
    Duration::from_millis(v as u64)
}

/// Zero takes the default; otherwise the value must lie in `min..=max`.
fn pick(value: c_int, default: c_int, min: c_int, max: c_int) -> Result<c_int, c_int> {
    match value {
        0 => Ok(default),
        v if (min..=max).contains(&v) => Ok(v),
        _ => Err(SOCK_ERR_EARG),
    }
}

impl ConnConfig {
    /// Checks the caller's values: 0 takes the default, anything else must lie in its range
    /// (`SOCK_ERR_EARG` if not).
    pub(crate) fn new(o: &ConnOpts) -> Result<Self, c_int> {
        let buf = |v, d| pick(v, d, 1, SOCK_MAX_BUF).map(|v| v as usize);
        Ok(ConnConfig {
            rcv_buf: buf(o.rcv_buf_size, SOCK_DEFAULT_RCV_BUF)?,
            snd_buf: buf(o.snd_buf_size, SOCK_DEFAULT_SND_BUF)?,
            connect_timeout: ms(pick(
                o.connect_timeout_ms,
                SOCK_DEFAULT_CONNECT_TIMEOUT_MS,
                1,
                c_int::MAX,
            )?),
            local_port: pick(o.local_port, 0, 1, 65535)? as u16,
            send_cnf_on_ack: o.send_cnf_on_ack != 0,
            max_sends: pick(o.max_sends, SOCK_DEFAULT_MAX_SENDS, 1, 65536)? as usize,
            close_timeout: ms(pick(
                o.close_timeout_ms,
                SOCK_DEFAULT_CLOSE_TIMEOUT_MS,
                1,
                c_int::MAX,
            )?),
            tls_verify: match o.tls_verify {
                v @ (SOCK_TLS_VERIFY_FULL | SOCK_TLS_VERIFY_NO_HOSTNAME | SOCK_TLS_VERIFY_NONE) => {
                    v
                }
                _ => return Err(SOCK_ERR_EARG),
            },
            alpn: parse_alpn(&o.alpn)?,
            attempt_delay: ms(pick(
                o.attempt_delay_ms,
                SOCK_DEFAULT_ATTEMPT_DELAY_MS,
                SOCK_MIN_ATTEMPT_DELAY_MS,
                SOCK_MAX_ATTEMPT_DELAY_MS,
            )?),
        })
    }
}

impl ConnConfig {
    /// The settings as sockets hold them: every socket opened with the default options shares
    /// one copy (most do), the others own theirs.
    pub(crate) fn shared(self) -> Arc<ConnConfig> {
        static DEFAULT: OnceLock<Option<Arc<ConnConfig>>> = OnceLock::new();
        let default =
            DEFAULT.get_or_init(|| ConnConfig::new(&ConnOpts::default()).ok().map(Arc::new));
        match default {
            Some(d) if **d == self => d.clone(),
            _ => Arc::new(self),
        }
    }
}

/// "h2,http/1.1" into its protocol names; each 1 to 255 bytes. Empty text: none.
fn parse_alpn(text: &[u8]) -> Result<Vec<Vec<u8>>, c_int> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(|b| *b == b',')
        .map(|p| {
            if (1..=255).contains(&p.len()) {
                Ok(p.to_vec())
            } else {
                Err(SOCK_ERR_EARG)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_means_default() {
        let c = ConnConfig::new(&ConnOpts::default()).unwrap();
        assert_eq!(c.rcv_buf, SOCK_DEFAULT_RCV_BUF as usize);
        assert_eq!(c.local_port, 0);
        assert_eq!(c.tls_verify, SOCK_TLS_VERIFY_FULL);
        assert_eq!(c.attempt_delay, ms(SOCK_DEFAULT_ATTEMPT_DELAY_MS));
        assert!(c.alpn.is_empty() && !c.send_cnf_on_ack);
        let shared = ConnConfig::new(&ConnOpts::default()).unwrap().shared();
        assert!(Arc::ptr_eq(&shared, &c.clone().shared()));
        let own = ConnOpts {
            max_sends: 3,
            ..ConnOpts::default()
        };
        assert!(!Arc::ptr_eq(
            &shared,
            &ConnConfig::new(&own).unwrap().shared()
        ));
    }

    #[test]
    fn out_of_range_is_earg() {
        let bad: [fn(&mut ConnOpts); 7] = [
            |o| o.attempt_delay_ms = 9,
            |o| o.attempt_delay_ms = 60_001,
            |o| o.rcv_buf_size = -1,
            |o| o.snd_buf_size = SOCK_MAX_BUF + 1,
            |o| o.local_port = 65536,
            |o| o.tls_verify = 3,
            |o| o.connect_timeout_ms = -5,
        ];
        for f in bad {
            let mut o = ConnOpts::default();
            f(&mut o);
            assert_eq!(ConnConfig::new(&o).unwrap_err(), SOCK_ERR_EARG, "{o:?}");
        }
    }

    #[test]
    fn alpn_lists() {
        let o = ConnOpts {
            alpn: b"h2,http/1.1".to_vec(),
            ..ConnOpts::default()
        };
        let c = ConnConfig::new(&o).unwrap();
        assert_eq!(c.alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        for bad in [&b"h2,,x"[..], b",", b"h2,"] {
            let o = ConnOpts {
                alpn: bad.to_vec(),
                ..ConnOpts::default()
            };
            assert_eq!(ConnConfig::new(&o).unwrap_err(), SOCK_ERR_EARG);
        }
        let long = ConnOpts {
            alpn: vec![b'a'; 256],
            ..ConnOpts::default()
        };
        assert!(ConnConfig::new(&long).is_err());
    }
}
