//! The loopback peers the fuzzed sockets talk to, started once per process: a TCP echo server,
//! a TCP server that resets each connection, a TLS echo server (private CA in fuzz/certs), a
//! TLS server that resets after the handshake, a UDP echo socket, a TCP port that refuses and
//! a UDP port that answers with ICMP "port unreachable". Each listens on 127.0.0.1 and, when
//! the host has it, on ::1 with the same port number, so that "localhost", "127.0.0.1" and
//! "::1" all reach our own peer and never a stranger's (other test suites may run on this
//! machine at the same time).
//!
//! Every socket a peer serves has read and write timeouts, so no peer thread outlives its
//! connection by more than a couple of seconds.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub const CA_PEM: &str = include_str!("../certs/ca.pem");
pub const CA_KEY: &str = include_str!("../certs/ca.key");
pub const SERVER_PEM: &str = include_str!("../certs/server.pem");
pub const SERVER_KEY: &str = include_str!("../certs/server.key");
/// What the TLS server offers; `sock_tls_alpn` may only ever report one of these.
pub const SERVER_ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

const IO_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Peers {
    pub tcp_echo: u16,
    pub tcp_reset: u16,
    pub tcp_refused: u16,
    pub tls_echo: u16,
    pub tls_drop: u16,
    pub udp_echo: u16,
    pub udp_unreachable: u16,
    /// Sockets held open so that their ports stay ours (refusing / unreachable ports).
    _held: Vec<socket2::Socket>,
}

pub fn get() -> &'static Peers {
    static PEERS: OnceLock<Peers> = OnceLock::new();
    PEERS.get_or_init(start)
}

fn v4(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}
fn v6(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv6Addr::LOCALHOST, port))
}

/// A socket bound to 127.0.0.1 on a kernel-chosen port plus, if ::1 exists and the same port
/// is free there, one bound to ::1:port. Retries a few ports to get the pair.
fn bind_pair(ty: socket2::Type) -> (u16, Vec<socket2::Socket>) {
    use socket2::{Domain, Socket};
    let mut fallback = None;
    for _ in 0..20 {
        let a = Socket::new(Domain::IPV4, ty, None).expect("socket");
        a.bind(&v4(0).into()).expect("bind 127.0.0.1");
        let port = a.local_addr().unwrap().as_socket().unwrap().port();
        let Ok(b) = Socket::new(Domain::IPV6, ty, None) else {
            return (port, vec![a]); // no IPv6 at all
        };
        let _ = b.set_only_v6(true);
        match b.bind(&v6(port).into()) {
            Ok(()) => return (port, vec![a, b]),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => fallback = Some((port, a)),
            Err(_) => return (port, vec![a]), // no ::1 on this host
        }
    }
    let (port, a) = fallback.expect("some port");
    (port, vec![a])
}

fn listeners() -> (u16, Vec<TcpListener>) {
    let (port, socks) = bind_pair(socket2::Type::STREAM);
    let ls = socks
        .into_iter()
        .map(|s| {
            s.listen(128).expect("listen");
            TcpListener::from(s)
        })
        .collect();
    (port, ls)
}

fn serve(ls: Vec<TcpListener>, name: &str, handler: fn(TcpStream)) {
    for l in ls {
        std::thread::Builder::new()
            .name(format!("fuzz-{name}-accept"))
            .spawn(move || {
                for conn in l.incoming() {
                    let Ok(c) = conn else { continue };
                    let _ = c.set_read_timeout(Some(IO_TIMEOUT));
                    let _ = c.set_write_timeout(Some(IO_TIMEOUT));
                    // A thread per connection: each lives at most until its peer closes or
                    // IO_TIMEOUT passes without traffic.
                    let _ = std::thread::Builder::new().spawn(move || handler(c));
                }
            })
            .expect("spawn");
    }
}

fn echo(mut c: TcpStream) {
    let mut buf = vec![0u8; 65536];
    loop {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if c.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

fn reset(mut c: TcpStream) {
    // Wait a moment for the first byte (so that some sends land before the reset), then
    // close with SO_LINGER 0: the client sees ECONNRESET.
    let _ = c.set_read_timeout(Some(Duration::from_millis(3)));
    let _ = c.read(&mut [0u8; 1]);
    let _ = socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO));
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    static CONFIG: OnceLock<Arc<rustls::ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(CertificateDer::from_pem_slice(CA_PEM.as_bytes()).unwrap())
                .unwrap();
            // Client certificates are optional, and checked against the CA when sent.
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .allow_unauthenticated()
            .build()
            .unwrap();
            let chain = vec![
                CertificateDer::from_pem_slice(SERVER_PEM.as_bytes()).unwrap(),
                CertificateDer::from_pem_slice(CA_PEM.as_bytes()).unwrap(),
            ];
            let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).unwrap();
            let mut config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_client_cert_verifier(verifier)
                .with_single_cert(chain, key)
                .unwrap();
            config.alpn_protocols = SERVER_ALPN.iter().map(|p| p.to_vec()).collect();
            Arc::new(config)
        })
        .clone()
}

/// A TcpStream whose writes never raise SIGPIPE: std's `write` uses send(MSG_NOSIGNAL), but
/// its `write_vectored` (which rustls uses) is a plain writev. The default `write_vectored`
/// of this wrapper goes through `write`.
struct NoSigpipe(TcpStream);

impl Read for NoSigpipe {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for NoSigpipe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn tls_serve(c: TcpStream) {
    let Ok(conn) = rustls::ServerConnection::new(tls_config()) else {
        return;
    };
    let mut s = rustls::StreamOwned::new(conn, NoSigpipe(c));
    let mut buf = vec![0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if s.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    s.conn.send_close_notify();
    let _ = s.flush();
}

/// Completes the handshake, reads one record's worth, then resets the connection: the client's
/// next writes meet a dead socket.
fn tls_drop(c: TcpStream) {
    let Ok(conn) = rustls::ServerConnection::new(tls_config()) else {
        return;
    };
    let _ = c.set_read_timeout(Some(Duration::from_millis(50)));
    let mut s = rustls::StreamOwned::new(conn, NoSigpipe(c));
    let r = s.read(&mut [0u8; 1]);
    if std::env::var_os("SOCKETCORE_FUZZ_TRACE").is_some() {
        eprintln!("  tls-drop peer: read {r:?}");
    }
    let _ = socket2::SockRef::from(&s.sock.0).set_linger(Some(Duration::ZERO));
}

fn udp_echo(s: UdpSocket) {
    let mut buf = vec![0u8; 65536];
    loop {
        if let Ok((n, from)) = s.recv_from(&mut buf) {
            let _ = s.send_to(&buf[..n], from);
        }
    }
}

/// SIGPIPE kills a C program that has not ignored it (the default), so a library write that
/// raises it is a crash: turn it into an abort, which libFuzzer reports with the stack of the
/// writing thread. (A Rust program ignores SIGPIPE before main; libFuzzer's main does not.)
/// The peers above never raise it.
extern "C" fn on_sigpipe(_: libc::c_int) {
    const MSG: &[u8] = b"\n==== SIGPIPE: a write to a closed socket without MSG_NOSIGNAL ====\n";
    unsafe {
        libc::write(2, MSG.as_ptr().cast(), MSG.len());
        libc::abort();
    }
}

fn start() -> Peers {
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigpipe as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGPIPE, &sa, std::ptr::null_mut());
    }
    let _ = tls_config();
    let (tcp_echo, ls) = listeners();
    serve(ls, "echo", echo);
    let (tcp_reset, ls) = listeners();
    serve(ls, "reset", reset);
    let (tls_echo, ls) = listeners();
    serve(ls, "tls", tls_serve);
    let (tls_drop_port, ls) = listeners();
    serve(ls, "tls-drop", tls_drop);

    let (udp_echo_port, socks) = bind_pair(socket2::Type::DGRAM);
    for s in socks {
        let s = UdpSocket::from(s);
        std::thread::Builder::new()
            .name("fuzz-udp-echo".into())
            .spawn(move || udp_echo(s))
            .expect("spawn");
    }

    let mut held = Vec::new();
    // Bound and never listening: connects are refused.
    let (tcp_refused, socks) = bind_pair(socket2::Type::STREAM);
    held.extend(socks);
    // Bound, and connected elsewhere so that no datagram from us matches it: the kernel
    // answers ours with ICMP port unreachable, and the port cannot be anybody else's.
    let (udp_unreachable, socks) = bind_pair(socket2::Type::DGRAM);
    for s in socks {
        let elsewhere = match s.local_addr().ok().and_then(|a| a.as_socket()) {
            Some(SocketAddr::V4(_)) => v4(tcp_refused),
            _ => v6(tcp_refused),
        };
        let _ = s.connect(&elsewhere.into());
        held.push(s);
    }
    Peers {
        tcp_echo,
        tcp_reset,
        tcp_refused,
        tls_echo,
        tls_drop: tls_drop_port,
        udp_echo: udp_echo_port,
        udp_unreachable,
        _held: held,
    }
}
