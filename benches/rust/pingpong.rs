//! Ping-pong latency through socketcore against plain blocking sockets in the same run:
//! `cargo bench --bench pingpong`. 64-byte request/response over one loopback connection.

use socketcore::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const ROUNDS: usize = 20_000;

fn server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let mut s = s.unwrap();
            s.set_nodelay(true).unwrap();
            std::thread::spawn(move || {
                let mut b = [0u8; 64];
                while s.read_exact(&mut b).is_ok() {
                    if s.write_all(&b).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn percentile(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * p) as usize].as_nanos() as f64 / 1000.0
}

fn raw(port: u16) -> Vec<Duration> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_nodelay(true).unwrap();
    let mut b = [7u8; 64];
    (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            s.write_all(&b).unwrap();
            s.read_exact(&mut b).unwrap();
            t.elapsed()
        })
        .collect()
}

fn ours(port: u16) -> Vec<Duration> {
    let addr = c"127.0.0.1";
    let id = unsafe { sock_conn(SOCK_TYPE_TCP, port as i32, addr.as_ptr(), std::ptr::null()) };
    let mut m = sock_msg::default();
    assert_eq!(unsafe { sock_wait_msg(&mut m, 5000) }, 1);
    assert_eq!((m.id, m.result), (MSG_SOCK_CONN_CNF, 0));
    sock_setopt(id, SOCK_IPPROTO_TCP, SOCK_TCP_NODELAY, 1);
    let req = [7u8; 64];
    let mut buf = [0u8; 64];
    let v = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            assert_eq!(unsafe { sock_send(id, req.as_ptr().cast(), 64) }, 1);
            let mut got = 0;
            while got < 64 {
                assert_eq!(unsafe { sock_wait_msg(&mut m, 5000) }, 1);
                if m.id == MSG_SOCK_RECV_IND {
                    let n = unsafe { sock_recv(id, buf.as_mut_ptr().cast(), 64) };
                    got += n as usize;
                }
            }
            t.elapsed()
        })
        .collect();
    sock_destroy(id);
    v
}

fn main() {
    let port = server();
    let (mut r50, mut o50, mut r99, mut o99) = (vec![], vec![], vec![], vec![]);
    for _ in 0..3 {
        let mut r = raw(port);
        let mut o = ours(port);
        r50.push(percentile(&mut r, 0.5));
        r99.push(percentile(&mut r, 0.99));
        o50.push(percentile(&mut o, 0.5));
        o99.push(percentile(&mut o, 0.99));
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (r50, o50, r99, o99) = (med(&mut r50), med(&mut o50), med(&mut r99), med(&mut o99));
    println!("ping-pong 64 B, {ROUNDS} rounds x 3, medians:");
    println!("  blocking  p50 {r50:7.1} us  p99 {r99:7.1} us");
    println!(
        "  socketcore p50 {o50:7.1} us  p99 {o99:7.1} us   ratio p50 {:.2}",
        o50 / r50
    );
    sock_shutdown();
}
