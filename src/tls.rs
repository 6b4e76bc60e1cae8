//! TLS for `SOCK_TYPE_SSL`: building rustls client configurations from the firmware's
//! certificate table, the three verification modes, and the record pump between a rustls
//! connection and its non-blocking TCP stream. The socket state machine (`socket.rs`) decides
//! when to pump; this module knows how.

use crate::codes::*;
use crate::conn_config::ConnConfig;
use crate::constants::*;
use crate::ffi::CertInput;
use parking_lot::Mutex;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, Error, RootCertStore,
    SignatureScheme,
};
use std::cell::Cell;
use std::collections::VecDeque;
use std::ffi::c_int;
use std::io::{self, Write};
use std::sync::{Arc, OnceLock};

/// Client configurations kept for reuse; each carries its own bounded session cache
/// (rustls's default, 256 sessions), so sessions are shared only between identical settings.
const CONFIG_CACHE: usize = 16;

/// What a TLS socket is made with, fixed at `sock_conn_ext`.
pub(crate) struct TlsSetup {
    pub config: Arc<ClientConfig>,
    pub server_name: ServerName<'static>,
}

#[derive(PartialEq, Eq)]
struct ConfigKey {
    ca: Option<Vec<u8>>,
    cert: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    verify: c_int,
    alpn: Vec<Vec<u8>>,
}

static CONFIGS: Mutex<VecDeque<(ConfigKey, Arc<ClientConfig>)>> = Mutex::new(VecDeque::new());

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// Forgets cached configurations and their sessions (`sock_shutdown`).
pub(crate) fn clear_cache() {
    CONFIGS.lock().clear();
}

/// Checks the certificate table and builds (or reuses) the client configuration. The first
/// bad field decides the code: `hostName` (`SOCK_ERR_EARG`), then the server name it gives,
/// then the PEM texts in table order (`SOCK_ERR_SSL_EINVALID`).
pub(crate) fn setup(input: CertInput, addr: &str, cfg: &ConnConfig) -> Result<TlsSetup, c_int> {
    let host_name = match input.host_name? {
        Some(name) => name,
        None => crate::ffi::ip_literal(addr).map_or_else(|| addr.to_owned(), |ip| ip.to_string()),
    };
    let server_name = ServerName::try_from(host_name).map_err(|_| SOCK_ERR_EARG)?;
    let key = ConfigKey {
        ca: input.ca?,
        cert: input.cert?,
        key: input.key?,
        verify: cfg.tls_verify,
        alpn: cfg.alpn.clone(),
    };
    let mut cache = CONFIGS.lock();
    let config = match cache.iter().position(|(k, _)| *k == key) {
        Some(i) => {
            let entry = cache.remove(i).ok_or(SOCK_ERR_SSL_EINIT)?;
            let config = entry.1.clone();
            cache.push_front(entry);
            config
        }
        None => {
            let config = Arc::new(build_config(&key)?);
            cache.push_front((key, config.clone()));
            cache.truncate(CONFIG_CACHE);
            config
        }
    };
    Ok(TlsSetup {
        config,
        server_name,
    })
}

fn build_config(key: &ConfigKey) -> Result<ClientConfig, c_int> {
    let provider = provider();
    let roots = match &key.ca {
        None => Arc::new(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }),
        Some(pem) => {
            let mut store = RootCertStore::empty();
            for der in CertificateDer::pem_slice_iter(pem) {
                let der = der.map_err(|_| SOCK_ERR_SSL_EINVALID)?;
                store.add(der).map_err(|_| SOCK_ERR_SSL_EINVALID)?;
            }
            if store.is_empty() {
                return Err(SOCK_ERR_SSL_EINVALID);
            }
            Arc::new(store)
        }
    };
    let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|_| SOCK_ERR_SSL_EINIT)?;
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ServerCertVerifier> = match key.verify {
        SOCK_TLS_VERIFY_FULL => webpki,
        SOCK_TLS_VERIFY_NO_HOSTNAME => Arc::new(Relaxed {
            chain: Some(webpki),
            algorithms,
        }),
        _ => Arc::new(Relaxed {
            chain: None,
            algorithms,
        }),
    };
    let client_key = match (&key.cert, &key.key) {
        (None, None) => None,
        (Some(cert_pem), Some(key_pem)) => {
            let chain = CertificateDer::pem_slice_iter(cert_pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| SOCK_ERR_SSL_EINVALID)?;
            if chain.is_empty() {
                return Err(SOCK_ERR_SSL_EINVALID);
            }
            let private =
                PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| SOCK_ERR_SSL_EINVALID)?;
            // from_der also checks that the key belongs to the certificate.
            let certified = CertifiedKey::from_der(chain, private, &provider)
                .map_err(|_| SOCK_ERR_SSL_EINVALID)?;
            Some(Arc::new(certified))
        }
        _ => return Err(SOCK_ERR_SSL_EINVALID), // half a client pair
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|_| SOCK_ERR_SSL_EINIT)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(ClientAuth(client_key)));
    config.alpn_protocols = key.alpn.clone();
    // A debugging aid, off unless asked for: with SSLKEYLOGFILE set, rustls appends every
    // session's secrets to that file (NSS key log format, for Wireshark). Anyone who can read
    // the file can decrypt the traffic: never set it in production.
    if std::env::var_os("SSLKEYLOGFILE").is_some() {
        log::warn!(target: "socketcore", "SSLKEYLOGFILE is set: TLS secrets are written to it");
        config.key_log = Arc::new(rustls::KeyLogFile::new());
    }
    Ok(config)
}

thread_local! {
    /// Set when the server asked for a client certificate while this thread processed records.
    static CERT_REQUESTED: Cell<bool> = const { Cell::new(false) };
}

/// Offers the configured client certificate, noting that the server asked for one.
#[derive(Debug)]
struct ClientAuth(Option<Arc<CertifiedKey>>);

impl ResolvesClientCert for ClientAuth {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        CERT_REQUESTED.set(true);
        self.0.clone()
    }

    fn has_certs(&self) -> bool {
        self.0.is_some()
    }
}

/// The two relaxed modes. `SOCK_TLS_VERIFY_NO_HOSTNAME` (`chain` set): the chain must verify,
/// a name mismatch is forgiven. `SOCK_TLS_VERIFY_NONE` (`chain` unset): any certificate is
/// accepted. Handshake signatures are checked against the presented certificate either way,
/// which without a trusted chain proves nothing.
#[derive(Debug)]
struct Relaxed {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The code for a TLS error: certificate problems are `SSL_ECERT`; anything else during the
/// handshake is `SSL_EHANDSHAKE`, and after it `EIO`.
pub(crate) fn code_for(err: &Error, handshaking: bool) -> c_int {
    match err {
        Error::InvalidCertificate(_) => SOCK_ERR_SSL_ECERT,
        _ if handshaking => SOCK_ERR_SSL_EHANDSHAKE,
        _ => SOCK_ERR_EIO,
    }
}

/// One TLS connection's state beside its TCP stream.
pub(crate) struct TlsConn {
    conn: ClientConnection,
    /// Sends whose plaintext is encrypted but whose records are not all with the kernel yet.
    pub unflushed: VecDeque<usize>,
    pub close_notify_sent: bool,
    /// The server asked for a client certificate during the handshake.
    pub cert_requested: bool,
    /// TLS 1.3 with client authentication: the handshake is done on our side, and CONN_CNF
    /// waits for the server's first record (its tickets, data, or its refusal as an alert).
    pub awaiting_verdict: bool,
    /// rustls' words for the error that ended the connection.
    error: Option<String>,
}

/// What one read of TLS records gave.
pub(crate) enum Records {
    /// Records were read and processed.
    Processed,
    /// Nothing to read now.
    WouldBlock,
    /// The TCP stream ended.
    Eof,
}

impl TlsConn {
    pub(crate) fn new(setup: &TlsSetup) -> Result<TlsConn, c_int> {
        let conn = ClientConnection::new(setup.config.clone(), setup.server_name.clone())
            .map_err(|_| SOCK_ERR_SSL_EINIT)?;
        Ok(TlsConn {
            conn,
            unflushed: VecDeque::new(),
            close_notify_sent: false,
            cert_requested: false,
            awaiting_verdict: false,
            error: None,
        })
    }

    /// Hands pending records to the kernel. Ok(bytes written, all out?).
    pub(crate) fn write_out(&mut self, tcp: &mut impl Write) -> io::Result<(usize, bool)> {
        let mut total = 0;
        while self.conn.wants_write() {
            match self.conn.write_tls(tcp) {
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((total, false)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok((total, true))
    }

    /// Reads one batch of records from the kernel and processes them.
    pub(crate) fn read_records(&mut self, tcp: &mut impl io::Read) -> Result<Records, c_int> {
        let handshaking = self.conn.is_handshaking() || self.awaiting_verdict;
        loop {
            match self.conn.read_tls(tcp) {
                Ok(0) => return Ok(Records::Eof),
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Records::WouldBlock),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(crate::errno::code_of(&e)),
            }
        }
        CERT_REQUESTED.set(false);
        let processed = self.conn.process_new_packets();
        self.cert_requested |= CERT_REQUESTED.get();
        match processed {
            Ok(_) => Ok(Records::Processed),
            Err(e) => {
                log::debug!(target: "socketcore", "TLS error: {e}");
                self.error = Some(e.to_string());
                Err(code_for(&e, handshaking))
            }
        }
    }

    pub(crate) fn is_tls13(&self) -> bool {
        self.conn.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3)
    }

    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Records wait to be handed to the kernel.
    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Encrypts plaintext into records (rustls copies it); returns how much it took.
    pub(crate) fn write_plain(&mut self, data: &[u8]) -> io::Result<usize> {
        self.conn.writer().write(data)
    }

    /// Takes decrypted plaintext: Ok(0) after close_notify, WouldBlock when none is ready.
    pub(crate) fn read_plain(&mut self, out: &mut [u8]) -> io::Result<usize> {
        io::Read::read(&mut self.conn.reader(), out)
    }

    pub(crate) fn send_close_notify(&mut self) {
        self.conn.send_close_notify();
    }

    pub(crate) fn alpn(&self) -> Option<Vec<u8>> {
        self.conn.alpn_protocol().map(<[u8]>::to_vec)
    }

    pub(crate) fn resumed(&self) -> bool {
        self.conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
    }

    /// rustls' words for the error that ended the connection, if one did.
    pub(crate) fn error_text(&self) -> Option<String> {
        self.error.clone()
    }

    /// The negotiated version and cipher suite, for the log.
    pub(crate) fn summary(&self) -> String {
        let version = self.conn.protocol_version().map(|v| format!("{v:?}"));
        let suite = self
            .conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()));
        format!(
            "{} {}",
            version.unwrap_or_default(),
            suite.unwrap_or_default()
        )
    }
}
