//! Helpers shared by the integration tests: serialisation (the library has one global
//! instance and one ring), message waiting, and small loopback peers.
#![allow(dead_code)]

use parking_lot::{Mutex, MutexGuard};
use socketcore::*;
use std::ffi::CString;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the library for one test; shuts it down (freeing everything) when dropped.
pub struct Session(#[allow(dead_code)] MutexGuard<'static, ()>);

impl Drop for Session {
    fn drop(&mut self) {
        sock_shutdown();
    }
}

pub fn session() -> Session {
    let guard = SERIAL.lock();
    sock_shutdown();
    sock_set_max_sockets(SOCK_DEFAULT_MAX_SOCKETS);
    sock_set_compat(0);
    Session(guard)
}

pub fn conn(ty: i32, port: u16, addr: &str) -> i32 {
    let a = CString::new(addr).unwrap();
    unsafe {
        sock_conn_ext(
            ty,
            port as i32,
            a.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
        )
    }
}

pub fn conn_opts(ty: i32, port: u16, addr: &str, f: impl FnOnce(&mut sock_conn_opts)) -> i32 {
    let a = CString::new(addr).unwrap();
    let mut o: sock_conn_opts = unsafe { std::mem::zeroed() };
    unsafe { sock_conn_opts_init(&mut o) };
    f(&mut o);
    unsafe { sock_conn_ext(ty, port as i32, a.as_ptr(), std::ptr::null(), &o) }
}

pub fn send(id: i32, data: &[u8]) -> i32 {
    unsafe { sock_send(id, data.as_ptr().cast(), data.len()) }
}

pub fn recv(id: i32, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let n = unsafe { sock_recv(id, buf.as_mut_ptr().cast(), len) };
    assert!(n >= 0, "sock_recv({id}) failed: {n}");
    buf.truncate(n as usize);
    buf
}

pub fn wait(timeout_ms: i32) -> Option<sock_msg> {
    let mut m = sock_msg::default();
    match unsafe { sock_wait_msg(&mut m, timeout_ms) } {
        1 => Some(m),
        0 => None,
        e => panic!("sock_wait_msg failed: {e}"),
    }
}

/// Waits for the next message, failing the test after 10 s.
pub fn next() -> sock_msg {
    wait(10_000).expect("no message within 10 s")
}

/// Waits for the next message and checks its kind, socket and result.
pub fn expect(kind: i32, id: i32, result: i32) -> sock_msg {
    expect_within(10_000, kind, id, result)
}

/// As `expect`, failing the test after `ms` instead of 10 s.
pub fn expect_within(ms: i32, kind: i32, id: i32, result: i32) -> sock_msg {
    let m = wait(ms).unwrap_or_else(|| panic!("no message within {ms} ms"));
    assert_eq!(
        (m.id, m.socket_index, m.result),
        (kind, id, result),
        "unexpected message {m:?}"
    );
    m
}

/// Asserts that no message arrives within `ms`.
pub fn quiet(ms: i32) {
    if let Some(m) = wait(ms) {
        panic!("unexpected message {m:?}");
    }
}

pub fn connected(ty: i32, port: u16, addr: &str) -> i32 {
    let id = conn(ty, port, addr);
    assert!(id >= 0, "sock_conn failed: {id}");
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_OK);
    id
}

/// A TCP listener on 127.0.0.1 whose accepted connections are handed to `serve`, each on its
/// own thread, up to `max` connections.
pub struct Server {
    pub port: u16,
    pub addr: SocketAddr,
    handle: Option<JoinHandle<()>>,
}

/// A TCP socket connected to `listener` (on loopback): its id, the accepted peer, and the
/// socket's own address as the peer sees it. Its CONN_CNF has been taken.
pub fn connected_to(listener: &TcpListener) -> (i32, TcpStream, SocketAddr) {
    let id = conn(
        SOCK_TYPE_TCP,
        listener.local_addr().unwrap().port(),
        "127.0.0.1",
    );
    let (peer, ours) = listener.accept().unwrap();
    expect(MSG_SOCK_CONN_CNF, id, 0);
    (id, peer, ours)
}

pub fn tcp_server(max: usize, serve: impl Fn(TcpStream) + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serve = std::sync::Arc::new(serve);
    let handle = std::thread::spawn(move || {
        let mut workers = vec![];
        for stream in listener.incoming().take(max) {
            let Ok(stream) = stream else { break };
            let serve = serve.clone();
            workers.push(std::thread::spawn(move || serve(stream)));
        }
        for w in workers {
            let _ = w.join();
        }
    });
    Server {
        port: addr.port(),
        addr,
        handle: Some(handle),
    }
}

impl Server {
    /// Leaves the server threads to end on their own (their peers are closed by shutdown).
    pub fn join_detached(mut self) {
        self.handle.take();
    }

    pub fn join(mut self) {
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
    }
}

/// Echoes everything until EOF, then closes.
pub fn echo(mut s: TcpStream) {
    let mut buf = vec![0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

/// A UDP socket on 127.0.0.1 echoing `count` datagrams.
pub fn udp_echo(count: usize) -> (u16, JoinHandle<()>) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let port = s.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        for _ in 0..count {
            let Ok((n, from)) = s.recv_from(&mut buf) else {
                return;
            };
            let _ = s.send_to(&buf[..n], from);
        }
    });
    (port, h)
}

/// A port on 127.0.0.1 that nobody listens on.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Deterministic test data.
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Reads the stream announced by RECV_INDs on `id` until `len` bytes arrived.
pub fn read_stream(id: i32, len: usize) -> Vec<u8> {
    let mut got = Vec::with_capacity(len);
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < len {
        assert!(Instant::now() < deadline, "stream stalled at {}", got.len());
        let m = next();
        if m.id == MSG_SOCK_RECV_IND && m.socket_index == id {
            let chunk = recv(id, m.recv_len as usize);
            assert_eq!(chunk.len(), m.recv_len as usize);
            got.extend_from_slice(&chunk);
        }
    }
    got
}

pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The inode of this machine's IPv4 TCP socket from local port `local` to remote port
/// `remote` (/proc/net/tcp), if there is one with an inode (an orphaned socket has none).
pub fn tcp_socket_inode(local: u16, remote: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next()?, 16).ok();
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let inode: u64 = f.get(9)?.parse().ok()?;
        (port(f.get(1)?)? == local && port(f.get(2)?)? == remote && inode != 0).then_some(inode)
    })
}

/// Whether this process has a descriptor open on the socket with this inode: unlike a count
/// of descriptors, not moved by other threads opening or closing theirs.
pub fn holds_socket(inode: u64) -> bool {
    let want = format!("socket:[{inode}]");
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .any(|target| target.to_str() == Some(want.as_str()))
}
