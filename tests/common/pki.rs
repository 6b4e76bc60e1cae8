//! Test certificates made at test time with rcgen, a rustls server on loopback, and the
//! client side: a `sock_cert` and a TLS `sock_conn_ext`.
#![allow(dead_code)] // each test file uses its own part

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use socketcore::*;
use std::ffi::CString;
use std::net::TcpStream;
use std::sync::Arc;

pub struct Ca {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server (or, with `client`, a client) certificate for `names`.
    pub fn leaf(&self, names: &[&str], client: bool, expired: bool) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        if expired {
            params.not_before = date_time_ymd(2001, 1, 1);
            params.not_after = date_time_ymd(2002, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls server config; `client_ca` demands a client certificate from that CA.
pub fn server_config(
    leaf: &Leaf,
    client_ca: Option<&Ca>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&str],
) -> Arc<ServerConfig> {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(leaf.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap();
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(ca.pem.as_bytes()) {
                roots.add(c.unwrap()).unwrap();
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider())
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut cfg = builder.with_single_cert(chain, key).unwrap();
    cfg.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Arc::new(cfg)
}

pub type TlsStream = StreamOwned<ServerConnection, TcpStream>;

/// Wraps an accepted TCP stream in a server-side TLS stream (the handshake runs on first use).
pub fn accept(cfg: &Arc<ServerConfig>, tcp: TcpStream) -> TlsStream {
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    StreamOwned::new(ServerConnection::new(cfg.clone()).unwrap(), tcp)
}

/// The C strings behind a `sock_cert`, kept alive with it.
pub struct Cert {
    fields: [Option<CString>; 4],
}

impl Cert {
    pub fn new(
        host: Option<&str>,
        ca: Option<&str>,
        cert: Option<&str>,
        key: Option<&str>,
    ) -> Cert {
        let c = |s: Option<&str>| s.map(|s| CString::new(s).unwrap());
        Cert {
            fields: [c(host), c(ca), c(cert), c(key)],
        }
    }

    pub fn raw(&self) -> sock_cert {
        let p = |i: usize| {
            self.fields[i]
                .as_ref()
                .map_or(std::ptr::null(), |s| s.as_ptr())
        };
        sock_cert {
            hostName: p(0),
            caCert: p(1),
            clientCert: p(2),
            clientKey: p(3),
        }
    }
}

pub fn tls_conn(port: u16, addr: &str, cert: &Cert, f: impl FnOnce(&mut sock_conn_opts)) -> i32 {
    let a = CString::new(addr).unwrap();
    let raw = cert.raw();
    let mut o: sock_conn_opts = unsafe { std::mem::zeroed() };
    unsafe { sock_conn_opts_init(&mut o) };
    f(&mut o);
    unsafe { sock_conn_ext(SOCK_TYPE_SSL, port as i32, a.as_ptr(), &raw, &o) }
}
