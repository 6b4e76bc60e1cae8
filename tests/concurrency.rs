//! Many threads calling the API at once, on shared and separate ids, with destroys racing
//! sends and waits: nothing crashes, and every stable socket loses and repeats nothing.

mod common;
use common::*;
use parking_lot::Mutex;
use socketcore::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Seen {
    conn_cnf: usize,
    send_cnf: usize,
    data: Vec<u8>,
}

#[test]
fn eight_threads_hammer_the_api() {
    let _s = session();
    let server = tcp_server(usize::MAX, echo);
    let port = server.port;
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<HashMap<i32, Seen>>> = Arc::default();
    let recv_locks: Arc<Vec<Mutex<()>>> = Arc::new((0..1024).map(|_| Mutex::new(())).collect());
    // The owners' sockets are opened before any other thread runs, so no earlier socket of
    // the chaos thread ever had their ids (messages are counted per id).
    let owner_ids: Vec<i32> = (0..4)
        .map(|_| conn(SOCK_TYPE_TCP, port, "127.0.0.1"))
        .collect();
    assert!(owner_ids.iter().all(|&id| id >= 0));

    // Three waiters take every message; RECV_IND data is appended per socket under a lock
    // held across sock_recv, so appends happen in stream order.
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let (stop, seen, locks) = (stop.clone(), seen.clone(), recv_locks.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Some(m) = wait(20) else { continue };
                    let id = m.socket_index;
                    match m.id {
                        MSG_SOCK_RECV_IND => {
                            let _g = locks[id as usize].lock();
                            let mut buf = vec![0u8; m.recv_len.max(1) as usize];
                            let n = unsafe { sock_recv(id, buf.as_mut_ptr().cast(), buf.len()) };
                            if n > 0 {
                                seen.lock()
                                    .entry(id)
                                    .or_default()
                                    .data
                                    .extend(&buf[..n as usize]);
                            }
                        }
                        MSG_SOCK_SEND_CNF if m.result == 0 => {
                            seen.lock().entry(id).or_default().send_cnf += 1
                        }
                        MSG_SOCK_CONN_CNF => seen.lock().entry(id).or_default().conn_cnf += 1,
                        _ => {}
                    }
                }
            })
        })
        .collect();

    // Four owners each stream their own data through their own socket.
    let owners: Vec<_> = (0..4u32)
        .map(|k| {
            let seen = seen.clone();
            let id = owner_ids[k as usize];
            std::thread::spawn(move || {
                let data = pattern(400_000, k);
                let deadline = Instant::now() + Duration::from_secs(30);
                let mut accepted = 0;
                for chunk in data.chunks(4000 + k as usize * 1000) {
                    while send(id, chunk) == 0 {
                        let e = sock_error(id);
                        assert!(e == SOCK_ERR_ENOTCONN || e == SOCK_ERR_ENOBUFS, "error {e}");
                        assert!(Instant::now() < deadline, "owner {k} stalled");
                        std::thread::sleep(Duration::from_micros(300));
                    }
                    accepted += 1;
                }
                // Wait until everything came back.
                while seen.lock().get(&id).map_or(0, |s| s.data.len()) < data.len() {
                    assert!(Instant::now() < deadline, "owner {k} never got its echo");
                    std::thread::sleep(Duration::from_millis(2));
                }
                (id, data, accepted)
            })
        })
        .collect();

    // One chaos thread opens, sends on and destroys its own sockets at random moments and
    // pokes read-only calls at every id, including the owners'.
    let chaos = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut rng = 12345u32;
            let mut mine: Vec<i32> = vec![];
            let mut calls = 0usize;
            while !stop.load(Ordering::SeqCst) && calls < 200_000 {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                calls += 1;
                match rng % 6 {
                    0 if mine.len() < 20 => {
                        let ty = if rng & 64 == 0 {
                            SOCK_TYPE_TCP
                        } else {
                            SOCK_TYPE_UDP
                        };
                        let id = conn(ty, port, "127.0.0.1");
                        if id >= 0 {
                            mine.push(id);
                        }
                    }
                    1 if !mine.is_empty() => {
                        let id = mine.swap_remove(rng as usize % mine.len());
                        if rng & 128 == 0 {
                            sock_close(id);
                        }
                        sock_destroy(id);
                    }
                    2 if !mine.is_empty() => {
                        send(mine[rng as usize % mine.len()], b"noise");
                    }
                    3 => {
                        let id = (rng % 40) as i32 - 2;
                        sock_error(id);
                        let mut st = sock_counters::default();
                        unsafe { sock_stats(id, &mut st) };
                        sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE, 1);
                    }
                    4 => {
                        sock_close(-1);
                        sock_destroy(9999);
                        send(-5, b"x");
                    }
                    _ => std::thread::yield_now(),
                }
            }
            for id in mine {
                sock_destroy(id);
            }
            calls
        })
    };

    let results: Vec<_> = owners.into_iter().map(|o| o.join().unwrap()).collect();
    // Let the last SEND_CNFs be taken.
    let deadline = Instant::now() + Duration::from_secs(10);
    while results
        .iter()
        .any(|(id, _, accepted)| seen.lock().get(id).map_or(0, |s| s.send_cnf) < *accepted)
    {
        assert!(Instant::now() < deadline, "SEND_CNFs missing");
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::SeqCst);
    let calls = chaos.join().unwrap();
    for w in waiters {
        w.join().unwrap();
    }
    let seen = seen.lock();
    for (id, data, accepted) in &results {
        let s = &seen[id];
        assert_eq!(s.conn_cnf, 1, "socket {id}");
        assert_eq!(s.send_cnf, *accepted, "socket {id}");
        assert!(s.data == *data, "socket {id}: stream differs");
    }
    eprintln!("chaos thread made {calls} calls");
    server.join_detached();
}
