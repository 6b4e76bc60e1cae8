//! Happy Eyeballs scenarios: names of the client namespace's hosts file with several
//! addresses, some of them silent (SYNs dropped), refusing, or working.

use super::common::*;
use super::rig::*;
use socketcore::*;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The default Connection Attempt Delay.
const DELAY: Duration = Duration::from_millis(SOCK_DEFAULT_ATTEMPT_DELAY_MS as u64);

/// The addresses of `name` in the order the resolver gives them (the library sees the same).
fn resolve(name: &str, port: u16) -> Vec<SocketAddr> {
    (name, port).to_socket_addrs().unwrap().collect()
}

/// The nft match for packets to `addr`'s address and port.
fn to(addr: &SocketAddr) -> String {
    let family = if addr.is_ipv6() { "ip6" } else { "ip" };
    format!("{family} daddr {} tcp dport {}", addr.ip(), addr.port())
}

/// Drops SYNs to `addr`, counting them under `name`.
fn silence(addr: &SocketAddr, name: &str) {
    nft_rule(&format!("{} counter drop comment \"{name}\"", to(addr)));
}

/// A dual-stack listener on every server address; the address each connection reached goes
/// to the channel.
fn accept_server(port: u16, max: usize) -> mpsc::Receiver<SocketAddr> {
    let (tx, rx) = mpsc::channel();
    let _ = serve(&format!("[::]:{port}"), move |l: TcpListener| {
        for s in l.incoming().take(max) {
            let s = s.unwrap();
            let local = s.local_addr().unwrap();
            let _ = tx.send(canonical(local));
            std::thread::spawn(move || echo(s));
        }
    });
    rx
}

/// An IPv4-mapped IPv6 address as plain IPv4.
fn canonical(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), v6.port()),
            None => a,
        },
        a => a,
    }
}

/// The first address of `name` drops SYNs; the next in RFC 8305 order must win, one delay
/// later, long before the 30 s connect timeout.
fn first_blackholed(name: &str, port: u16) {
    let _s = session();
    let addrs = resolve(name, port);
    assert_eq!(addrs.len(), 2, "{name}: {addrs:?}");
    let accepted = accept_server(port, 1);
    silence(&addrs[0], "first");
    let start = Instant::now();
    let id = conn(SOCK_TYPE_TCP, port, name);
    expect_within(5_000, MSG_SOCK_CONN_CNF, id, 0);
    let took = start.elapsed();
    let winner = accepted.recv_timeout(Duration::from_secs(1)).unwrap();
    println!(
        "    {name} {addrs:?}: first silent, connected to {winner} after {:.3} s",
        took.as_secs_f64()
    );
    assert_eq!(winner, addrs[1]);
    assert!(took >= DELAY - Duration::from_millis(20), "not staggered");
    assert!(took < Duration::from_secs(1));
    assert!(nft_packets("first") >= 1, "the first address was not tried");
    // The losing attempt was closed: no SYN-SENT socket is left behind.
    assert_eq!(syn_sent_to(port), 0);
    assert_eq!(send(id, b"ping"), 1);
    expect(MSG_SOCK_SEND_CNF, id, 0);
    let m = expect(MSG_SOCK_RECV_IND, id, 0);
    assert_eq!(recv(id, m.recv_len as usize), b"ping");
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    quiet(50);
}

pub fn first_blackholed_v4() {
    first_blackholed("he-v4.sc11", 7101);
}

pub fn first_blackholed_mixed() {
    first_blackholed("he-mixed.sc11", 7102);
}

/// Every address silent: one CONN_CNF(ETIMEOUT) when the whole connect's time is up, after
/// every address was tried.
pub fn all_dead() {
    let _s = session();
    let port = 7103;
    let addrs = resolve("he-three.sc11", port);
    assert_eq!(addrs.len(), 3, "{addrs:?}");
    for (i, a) in addrs.iter().enumerate() {
        silence(a, &format!("a{i}"));
    }
    let timeout = Duration::from_millis(1500);
    let start = Instant::now();
    let id = conn_opts(SOCK_TYPE_TCP, port, "he-three.sc11", |o| {
        o.connect_timeout_ms = timeout.as_millis() as i32
    });
    expect_within(5_000, MSG_SOCK_CONN_CNF, id, SOCK_ERR_ETIMEOUT);
    let took = start.elapsed();
    println!(
        "    3 silent addresses, timeout {} ms: CONN_CNF(ETIMEOUT) after {:.3} s",
        timeout.as_millis(),
        took.as_secs_f64()
    );
    assert!(took >= timeout && took < timeout + Duration::from_millis(500));
    for i in 0..3 {
        assert!(nft_packets(&format!("a{i}")) >= 1, "address {i} not tried");
    }
    quiet(300); // one CONN_CNF, nothing more
    assert_eq!(syn_sent_to(port), 0, "attempts left behind");
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
}

/// Every address refuses: each refusal starts the next attempt at once, so ECONNREFUSED
/// comes well before two attempt delays.
pub fn all_refused() {
    let _s = session();
    let port = 7104; // nobody listens
    let addrs = resolve("he-three.sc11", port);
    for (i, a) in addrs.iter().enumerate() {
        nft_rule(&format!("{} counter comment \"r{i}\"", to(a)));
    }
    let start = Instant::now();
    let id = conn(SOCK_TYPE_TCP, port, "he-three.sc11");
    expect_within(5_000, MSG_SOCK_CONN_CNF, id, SOCK_ERR_ECONNREFUSED);
    let took = start.elapsed();
    println!(
        "    3 refusing addresses: CONN_CNF(ECONNREFUSED) after {:.3} s",
        took.as_secs_f64()
    );
    assert!(
        took < DELAY * 2,
        "refusals did not start the next attempt at once"
    );
    for i in 0..3 {
        assert!(nft_packets(&format!("r{i}")) >= 1, "address {i} not tried");
    }
    quiet(300);
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
}

/// With `local_port` only one socket can hold the port: attempts run one at a time, the
/// silent first one given up after its share of the connect timeout (half, of two).
pub fn local_port_one_at_a_time() {
    let _s = session();
    let port = 7106;
    let local_port = 47106;
    let name = "he-v4.sc11";
    let addrs = resolve(name, port);
    let (tx, accepted) = mpsc::channel();
    let _server = serve(&format!("[::]:{port}"), move |l: TcpListener| {
        let (s, peer) = l.accept().unwrap();
        let _ = tx.send((canonical(s.local_addr().unwrap()), canonical(peer)));
        echo(s);
    });
    silence(&addrs[0], "first");
    let timeout = Duration::from_millis(2000);
    let share = timeout / 2;
    let start = Instant::now();
    let id = conn_opts(SOCK_TYPE_TCP, port, name, |o| {
        o.connect_timeout_ms = timeout.as_millis() as i32;
        o.local_port = local_port as i32;
    });
    expect_within(5_000, MSG_SOCK_CONN_CNF, id, 0);
    let took = start.elapsed();
    let (winner, peer) = accepted.recv_timeout(Duration::from_secs(1)).unwrap();
    println!(
        "    {name} from local port {local_port}: first silent, given up after its share, \
         connected to {winner} after {:.3} s",
        took.as_secs_f64()
    );
    assert_eq!(winner, addrs[1]);
    assert_eq!(peer.port(), local_port);
    assert!(
        took >= share - Duration::from_millis(20),
        "not one at a time"
    );
    assert!(took < share + Duration::from_millis(500));
    assert!(nft_packets("first") >= 1, "the first address was not tried");
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    quiet(50);
}

/// TLS: the same race, the handshake only with the winner.
#[cfg(feature = "tls")]
pub fn tls_first_blackholed() {
    use super::pki::*;
    use std::io::{Read, Write};
    let _s = session();
    let port = 7105;
    let name = "he-v4.sc11";
    let addrs = resolve(name, port);
    let ca = Ca::new("netns CA");
    let cfg = server_config(
        &ca.leaf(&[name], false, false),
        None,
        &[&rustls::version::TLS13],
        &[],
    );
    let (tx, handshakes) = mpsc::channel();
    let _server = serve(&format!("[::]:{port}"), move |l: TcpListener| {
        let (tcp, _) = l.accept().unwrap();
        let local = canonical(tcp.local_addr().unwrap());
        let mut tls = accept(&cfg, tcp);
        let mut buf = [0; 4];
        tls.read_exact(&mut buf).unwrap();
        tls.write_all(&buf).unwrap();
        let _ = tx.send(local);
        let _ = tls.read(&mut buf);
    });
    silence(&addrs[0], "first");
    let cert = Cert::new(Some(name), Some(&ca.pem), None, None);
    let start = Instant::now();
    let id = tls_conn(port, name, &cert, |_| {});
    assert!(id >= 0);
    expect_within(5_000, MSG_SOCK_CONN_CNF, id, 0);
    let took = start.elapsed();
    println!(
        "    TLS {name}: first silent, handshake done after {:.3} s",
        took.as_secs_f64()
    );
    assert!(took < Duration::from_secs(1));
    assert_eq!(send(id, b"ping"), 1);
    expect(MSG_SOCK_SEND_CNF, id, 0);
    let m = expect(MSG_SOCK_RECV_IND, id, 0);
    assert_eq!(recv(id, m.recv_len as usize), b"ping");
    assert_eq!(
        handshakes.recv_timeout(Duration::from_secs(2)).unwrap(),
        addrs[1]
    );
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
}
