//! Integrity soak and slow consumer. Quick by default (as in CI); set SOCKETCORE_LONG=1 for
//! the long runs (4 GiB soak, 1 GiB slow consumer). Each prints the figures it checked.

mod common;
use common::*;
use socketcore::*;
use std::time::{Duration, Instant};

fn long() -> bool {
    std::env::var("SOCKETCORE_LONG").is_ok_and(|v| v == "1")
}

/// Byte `i` of the stream numbered `seed`: every byte is checkable without keeping a copy.
fn byte(seed: u64, i: u64) -> u8 {
    let mut z = seed ^ (i / 8).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)).to_le_bytes()[(i % 8) as usize]
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn settle_memory() {
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe { libc::malloc_trim(0) };
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Default)]
struct Conn {
    id: i32,
    seed: u64,
    total: u64,
    sent: u64,
    received: u64,
    connected: bool,
    closing: bool,
}

#[test]
fn integrity_soak_64_connections() {
    let _s = session();
    let target: u64 = if long() { 4 << 30 } else { 256 << 20 };
    let server = tcp_server(usize::MAX, echo);
    let port = server.port;
    // Warm up so that the instance and the allocator have their long-lived parts.
    let w = connected(SOCK_TYPE_TCP, port, "127.0.0.1");
    sock_destroy(w);
    settle_memory();
    let (fds0, rss0) = (fd_count(), rss_kib());

    let mut rng = Rng(0x5eed);
    let mut next_seed = 1u64;
    let open = |rng: &mut Rng, next_seed: &mut u64| -> Conn {
        let id = conn(SOCK_TYPE_TCP, port, "127.0.0.1");
        assert!(id >= 0, "sock_conn: {id}");
        *next_seed += 1;
        Conn {
            id,
            seed: *next_seed,
            total: 1 + rng.below(4 << 20),
            ..Default::default()
        }
    };
    let mut conns: Vec<Conn> = (0..64).map(|_| open(&mut rng, &mut next_seed)).collect();
    let (mut verified, mut cycles, mut abandoned) = (0u64, 0u64, 0u64);
    let mut chunk = vec![0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(if long() { 3600 } else { 300 });
    while verified < target {
        assert!(
            Instant::now() < deadline,
            "soak stalled at {verified} bytes"
        );
        // Send random chunk sizes on every connection until its queue refuses.
        for c in conns.iter_mut().filter(|c| c.connected && !c.closing) {
            while c.sent < c.total {
                let n = (1 + rng.below(65536)).min(c.total - c.sent) as usize;
                for (k, b) in chunk[..n].iter_mut().enumerate() {
                    *b = byte(c.seed, c.sent + k as u64);
                }
                if send(c.id, &chunk[..n]) == 0 {
                    assert_eq!(sock_error(c.id), SOCK_ERR_ENOBUFS);
                    break;
                }
                c.sent += n as u64;
            }
        }
        // Take messages for a while.
        for _ in 0..256 {
            let Some(m) = wait(if verified == 0 { 100 } else { 0 }) else {
                break;
            };
            let Some(i) = conns.iter().position(|c| c.id == m.socket_index) else {
                panic!("message for an unknown socket: {m:?}");
            };
            let c = &mut conns[i];
            match m.id {
                MSG_SOCK_CONN_CNF => {
                    assert_eq!(m.result, 0);
                    c.connected = true;
                }
                MSG_SOCK_SEND_CNF => assert_eq!(m.result, 0),
                MSG_SOCK_RECV_IND => {
                    let data = recv(c.id, m.recv_len as usize);
                    assert_eq!(data.len(), m.recv_len as usize);
                    for (k, b) in data.iter().enumerate() {
                        assert_eq!(
                            *b,
                            byte(c.seed, c.received + k as u64),
                            "socket {} byte {}",
                            c.id,
                            c.received + k as u64
                        );
                    }
                    c.received += data.len() as u64;
                    verified += data.len() as u64;
                    if c.received == c.total && !c.closing {
                        c.closing = true;
                        assert_eq!(sock_close(c.id), 1);
                    } else if rng.below(2000) == 0 {
                        // Now and then drop a connection in mid-stream.
                        assert_eq!(sock_destroy(c.id), 1);
                        abandoned += 1;
                        *c = open(&mut rng, &mut next_seed);
                    }
                }
                MSG_SOCK_CLOSE_CNF => {
                    assert_eq!(m.result, 0);
                    assert_eq!(sock_destroy(c.id), 1);
                    cycles += 1;
                    *c = open(&mut rng, &mut next_seed);
                }
                other => panic!("unexpected message {other}: {m:?}"),
            }
        }
    }
    for c in &conns {
        sock_destroy(c.id);
    }
    std::thread::sleep(Duration::from_millis(300)); // the echo threads see their peers go
    settle_memory();
    let (fds1, rss1) = (fd_count(), rss_kib());
    eprintln!(
        "soak: {} MiB checked byte by byte, {cycles} connections completed, {abandoned} destroyed mid-stream; fds {fds0} -> {fds1}, RSS {rss0} -> {rss1} KiB",
        verified >> 20
    );
    assert!(fds1 <= fds0, "descriptors leaked: {fds0} -> {fds1}");
    assert!(rss1 < rss0 + 16 * 1024, "RSS grew: {rss0} -> {rss1} KiB");
    server.join_detached();
}

#[test]
fn slow_consumer_is_bounded_and_loses_nothing() {
    let _s = session();
    let per_peer: usize = if long() { 256 << 20 } else { 32 << 20 };
    let peers = 4;
    let rcv = 128 * 1024;
    let server = tcp_server(peers, move |mut s| {
        let mut buf = vec![0u8; 65536];
        let mut sent = 0usize;
        let seed = {
            let mut b = [0u8; 1];
            std::io::Read::read_exact(&mut s, &mut b).unwrap();
            b[0] as u64
        };
        while sent < per_peer {
            let n = buf.len().min(per_peer - sent);
            for (k, b) in buf[..n].iter_mut().enumerate() {
                *b = byte(seed, (sent + k) as u64);
            }
            if std::io::Write::write_all(&mut s, &buf[..n]).is_err() {
                return;
            }
            sent += n;
        }
    });
    settle_memory();
    let rss0 = rss_kib();
    let ids: Vec<i32> = (0..peers)
        .map(|_| {
            conn_opts(SOCK_TYPE_TCP, server.port, "127.0.0.1", |o| {
                o.rcv_buf_size = rcv
            })
        })
        .collect();
    // Each connects once, in any order (a burst's connects are made side by side).
    let mut open = std::collections::HashSet::new();
    while open.len() < ids.len() {
        let m = next();
        assert_eq!((m.id, m.result), (MSG_SOCK_CONN_CNF, 0), "{m:?}");
        assert!(ids.contains(&m.socket_index) && open.insert(m.socket_index));
    }
    for (k, &id) in ids.iter().enumerate() {
        assert_eq!(send(id, &[k as u8]), 1);
    }
    // The application stops taking messages and reading for a second.
    std::thread::sleep(Duration::from_secs(1));
    let (_, _, _, _, _, buffers) = socketcore::introspect::snapshot().unwrap();
    let mut held = 0u64;
    for &id in &ids {
        let mut st = sock_counters::default();
        unsafe { sock_stats(id, &mut st) };
        assert!(st.recv_buffered <= rcv as u64);
        held += st.bytes_received;
    }
    let rss_stalled = rss_kib();
    assert!(
        buffers <= peers * rcv as usize + 64 * 1024,
        "library buffers {buffers}"
    );
    assert!(
        held < (peers * per_peer) as u64 / 2,
        "peers were not held back: {held}"
    );
    // Resume: everything arrives intact.
    let mut received = vec![0u64; peers];
    let deadline = Instant::now() + Duration::from_secs(600);
    while received.iter().sum::<u64>() < (peers * per_peer) as u64 {
        assert!(Instant::now() < deadline);
        let m = next();
        let k = ids.iter().position(|&i| i == m.socket_index).unwrap();
        if m.id == MSG_SOCK_RECV_IND {
            let data = recv(ids[k], m.recv_len as usize);
            for (j, b) in data.iter().enumerate() {
                assert_eq!(*b, byte(k as u64, received[k] + j as u64));
            }
            received[k] += data.len() as u64;
        }
    }
    eprintln!(
        "slow consumer: {} MiB held back by flow control while stalled ({} KiB buffered by the library, RSS +{} KiB), then {} MiB received intact",
        (peers * per_peer - held as usize) >> 20,
        buffers / 1024,
        rss_stalled.saturating_sub(rss0),
        (peers * per_peer) >> 20
    );
    server.join();
}
