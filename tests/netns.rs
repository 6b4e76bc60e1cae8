//! Real links (issue 11): behaviour on lossy, slow, dead and multi-address networks, in
//! network namespaces of this test's own with faults made by the kernel (nftables, tbf, link
//! down). Needs root and `ip`, `nft`, `tc`, `ss`; otherwise it prints why it is skipped and
//! passes. Runs its scenarios one after another (they share the rig), each bounded in time.
//!
//! `cargo test --test netns [NAME...]` runs the scenarios whose names contain a NAME.
//! In CI (`CI=true`) and with `SOCKETCORE_LONG=1` the 1 Mbit/s transfer is 16 MiB each way
//! too (about 2.7 minutes instead of 10 s).

mod common;
#[path = "netns/eyeballs.rs"]
mod eyeballs;
#[cfg(feature = "tls")]
#[path = "common/pki.rs"]
mod pki;
#[path = "netns/rig.rs"]
mod rig;

use common::*;
use rig::*;
use socketcore::*;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const INNER: &str = "SOCKETCORE_NETNS_INNER";
const MIB: usize = 1 << 20;

/// How late a kernel timeout (keepalive, TCP_USER_TIMEOUT) may be reported: the kernel's
/// timers run on jiffies and retransmission timers, and the event crosses epoll and the ring.
pub const SLACK: Duration = Duration::from_millis(1000);
/// How early: the kernel counts from the last packet it saw, a little before our mark.
pub const EARLY: Duration = Duration::from_millis(200);

type Scenario = (&'static str, fn());

const SCENARIOS: &[Scenario] = &[
    ("bulk_16mib_each_way_through_5pct_loss", bulk_loss_5),
    ("bulk_16mib_each_way_through_20pct_loss", bulk_loss_20),
    ("bulk_each_way_through_1mbit_tbf", bulk_tbf_1mbit),
    ("link_down_2s_then_up_transfer_completes", link_flap),
    (
        "keepalive_detects_blackholed_peer_and_none_without",
        keepalive_blackhole,
    ),
    (
        "user_timeout_fails_blackholed_upload",
        user_timeout_blackhole,
    ),
    (
        "link_down_past_user_timeout_fails_socket",
        user_timeout_link_down,
    ),
    ("rst_mid_stream_gives_erst_after_data", rst_mid_stream),
    ("icmp_unreachable_on_connect", icmp_unreachable),
    (
        "eyeballs_first_address_blackholed_v4",
        eyeballs::first_blackholed_v4,
    ),
    (
        "eyeballs_first_address_blackholed_mixed_families",
        eyeballs::first_blackholed_mixed,
    ),
    (
        "eyeballs_all_addresses_dead_one_etimeout",
        eyeballs::all_dead,
    ),
    (
        "eyeballs_all_addresses_refuse_promptly",
        eyeballs::all_refused,
    ),
    (
        "eyeballs_local_port_one_attempt_at_a_time",
        eyeballs::local_port_one_at_a_time,
    ),
    #[cfg(feature = "tls")]
    (
        "eyeballs_tls_first_address_blackholed",
        eyeballs::tls_first_blackholed,
    ),
];

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if std::env::var_os(INNER).is_some() {
        std::process::exit(run_scenarios(&args));
    }
    if std::env::args().any(|a| a == "--list") {
        for (name, _) in SCENARIOS {
            println!("{name}: test");
        }
        return;
    }
    if let Some(why) = missing_prerequisite() {
        println!("netns: SKIPPED, {why}");
        return;
    }
    let _lock = lock_rig();
    let rig = Rig::create();
    let status = Command::new("ip")
        .args(["netns", "exec", NS_C])
        .arg(std::env::current_exe().unwrap())
        .args(&args)
        .env(INNER, "1")
        .status();
    drop(rig);
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => {
            eprintln!("netns: scenarios failed ({s})");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("netns: could not run the scenarios: {e}");
            std::process::exit(1);
        }
    }
}

/// Inside the client namespace: runs the selected scenarios; returns the exit code.
fn run_scenarios(filters: &[String]) -> i32 {
    let selected: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f)))
        .collect();
    println!("netns: running {} scenarios", selected.len());
    wait_until_reachable();
    let mut failed = vec![];
    for (name, f) in selected {
        clear_faults();
        let start = Instant::now();
        println!("netns {name} ...");
        let outcome = catch_unwind(AssertUnwindSafe(f));
        let took = start.elapsed().as_secs_f64();
        match outcome {
            Ok(()) => println!("netns {name} ok ({took:.2} s)"),
            Err(_) => {
                println!("netns {name} FAILED ({took:.2} s)");
                failed.push(*name);
            }
        }
    }
    clear_faults();
    if failed.is_empty() {
        println!("netns: all passed");
        0
    } else {
        println!("netns: failed: {failed:?}");
        1
    }
}

/// The full 16 MiB through the 1 Mbit/s link: in CI (`CI=true`, as `.ci/run` runs) and
/// with `SOCKETCORE_LONG=1`; 1 MiB otherwise, to keep a developer's test run short.
fn long_run() -> bool {
    std::env::var_os("SOCKETCORE_LONG").is_some() || std::env::var("CI").is_ok_and(|v| v == "true")
}

// ----- the data -----

/// The test stream: position-dependent bytes, so that a lost, repeated or reordered byte
/// shows. Both ends generate it in step.
pub struct Stream(u32);

impl Stream {
    pub fn new(seed: u32) -> Stream {
        Stream(seed.wrapping_mul(2654435761) | 1)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            *b = self.0 as u8;
        }
    }

    pub fn take(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }
}

/// The server side of a bulk transfer: reads `up` bytes and checks them against the stream,
/// meanwhile writes `down` bytes, then closes (FIN). Returns the bytes that matched and when
/// the last of them came.
fn bulk_server(addr: &str, up: usize, down: usize) -> JoinHandle<(usize, Instant)> {
    serve(addr, move |l: TcpListener| {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            let mut stream = Stream::new(2);
            let mut buf = vec![0; 64 * 1024];
            let mut left = down;
            while left > 0 {
                let n = left.min(buf.len());
                stream.fill(&mut buf[..n]);
                w.write_all(&buf[..n]).unwrap();
                left -= n;
            }
        });
        let mut stream = Stream::new(1);
        let (mut buf, mut want) = (vec![0; 64 * 1024], vec![0; 64 * 1024]);
        let mut got = 0;
        while got < up {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "upload ended early at {got} of {up}");
            stream.fill(&mut want[..n]);
            assert!(buf[..n] == want[..n], "upload differs near byte {got}");
            got += n;
        }
        let done = Instant::now();
        writer.join().unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        // Our FIN went out; the client closes after it: wait for its FIN, so no RST.
        let _ = s.read(&mut buf);
        (got, done)
    })
}

/// What one bulk transfer measured.
pub struct Bulk {
    pub took: Duration,
    pub down_done: Duration,
    pub up_done: Duration,
}

/// Sends `up` bytes and receives `down` bytes at once over one TCP connection to `addr`,
/// checking every byte and the message rules: one CONN_CNF first, at most one RECV_IND
/// outstanding, exactly one SEND_CNF (result 0, right length, in order) per accepted send,
/// CLOSE_IND(0) after the last byte and nothing after it. `tick` sees (bytes received, bytes
/// confirmed) after every message. Fails if any message takes longer than `stall`.
fn bulk(
    addr: &str,
    port: u16,
    up: usize,
    down: usize,
    stall: Duration,
    mut tick: impl FnMut(usize, usize),
) -> Bulk {
    let server = bulk_server(&format!("{addr}:{port}"), up, down);
    let host = addr.trim_start_matches('[').trim_end_matches(']');
    let start = Instant::now();
    let id = conn_opts(SOCK_TYPE_TCP, port, host, |o| {
        o.connect_timeout_ms = 10_000;
        o.snd_buf_size = 1 << 20;
    });
    assert!(id >= 0);
    expect_within(15_000, MSG_SOCK_CONN_CNF, id, 0);
    let (mut up_gen, mut down_gen) = (Stream::new(1), Stream::new(2));
    let mut held: Option<Vec<u8>> = None;
    let (mut offered, mut confirmed, mut received) = (0usize, 0usize, 0usize);
    let mut pending: VecDeque<usize> = VecDeque::new();
    let mut recv_ind: Option<usize> = None;
    let mut closed = false;
    let mut down_done = Duration::ZERO;
    let mut want = vec![];
    while !(closed && confirmed == up) {
        // Offer sends until the queue refuses one.
        while offered < up {
            let chunk = held.take().unwrap_or_else(|| {
                let n = (up - offered).min(48 * 1024 + offered % 4099);
                up_gen.take(n)
            });
            if send(id, &chunk) == 1 {
                pending.push_back(chunk.len());
                offered += chunk.len();
            } else {
                assert_eq!(sock_error(id), SOCK_ERR_ENOBUFS);
                held = Some(chunk);
                break;
            }
        }
        // Take every message that is there before reading, so that a second RECV_IND
        // posted while one is outstanding would show.
        let first = wait(stall.as_millis() as i32).unwrap_or_else(|| {
            panic!(
                "stalled {stall:?}: received {received}/{down}, confirmed {confirmed}/{up}, \
                 closed {closed}\n{}",
                tcp_info(port)
            )
        });
        let mut batch = vec![first];
        while let Some(m) = wait(0) {
            batch.push(m);
        }
        for m in batch {
            assert_eq!(m.socket_index, id, "{m:?}");
            assert!(
                !closed || m.id == MSG_SOCK_SEND_CNF,
                "after CLOSE_IND: {m:?}"
            );
            match m.id {
                MSG_SOCK_SEND_CNF => {
                    let len = pending.pop_front().expect("SEND_CNF with no send");
                    assert_eq!((m.result, m.send_len as usize), (0, len), "{m:?}");
                    confirmed += len;
                }
                MSG_SOCK_RECV_IND => {
                    assert!(recv_ind.is_none(), "two RECV_IND outstanding");
                    assert!(m.recv_len > 0);
                    recv_ind = Some(m.recv_len as usize);
                }
                MSG_SOCK_CLOSE_IND => {
                    assert_eq!(m.result, 0, "{m:?}");
                    let announced = received + recv_ind.unwrap_or(0);
                    assert_eq!(announced, down, "CLOSE_IND before the last byte's RECV_IND");
                    closed = true;
                }
                _ => panic!("unexpected {m:?}"),
            }
        }
        if let Some(len) = recv_ind.take() {
            let got = recv(id, len);
            assert_eq!(got.len(), len, "RECV_IND announced {len}");
            want.resize(len, 0);
            down_gen.fill(&mut want);
            assert!(got == want, "download differs near byte {received}");
            received += len;
            assert!(received <= down, "more bytes than were sent");
            if received == down {
                down_done = start.elapsed();
            }
        }
        tick(received, confirmed);
    }
    assert!(pending.is_empty() && held.is_none());
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    let took = start.elapsed();
    assert_eq!(sock_destroy(id), 1);
    let (verified, up_at) = server.join().expect("server failed");
    assert_eq!(verified, up);
    quiet(20);
    Bulk {
        took,
        down_done,
        up_done: up_at.duration_since(start),
    }
}

fn report(what: &str, up: usize, down: usize, b: &Bulk) {
    let rate = |bytes: usize, t: Duration| bytes as f64 * 8.0 / t.as_secs_f64() / 1e6;
    println!(
        "    {what}: {} MiB up in {:.2} s ({:.2} Mbit/s), {} MiB down in {:.2} s ({:.2} Mbit/s), \
         all in {:.2} s",
        up / MIB,
        b.up_done.as_secs_f64(),
        rate(up, b.up_done),
        down / MIB,
        b.down_done.as_secs_f64(),
        rate(down, b.down_done),
        b.took.as_secs_f64()
    );
}

// ----- scenarios: bulk -----

fn bulk_loss(percent: u32, size: usize, port: u16) {
    let _s = session();
    loss(port, percent);
    // A message may be minutes apart only while the upload crawls through the kernel's
    // backed-off retransmissions; every message still has this bound.
    let b = bulk(
        SERVER_V4[0],
        port,
        size,
        size,
        Duration::from_secs(180),
        |_, _| {},
    );
    report(&format!("{percent} % loss"), size, size, &b);
}

fn bulk_loss_5() {
    bulk_loss(5, 16 * MIB, 7001);
}

fn bulk_loss_20() {
    bulk_loss(20, 16 * MIB, 7002);
}

fn bulk_tbf_1mbit() {
    let _s = session();
    rate_limit("1mbit", "16kb");
    let size = if long_run() { 16 * MIB } else { MIB };
    let b = bulk(
        &format!("[{}]", SERVER_V6[0]),
        7003,
        size,
        size,
        Duration::from_secs(30),
        |_, _| {},
    );
    report("1 Mbit/s tbf, IPv6", size, size, &b);
    // The link carries at most 1 Mbit/s each way: faster would mean tbf was not in the path.
    assert!(b.down_done.as_secs_f64() > size as f64 * 8.0 / 1e6 * 0.9);
}

fn link_flap() {
    let _s = session();
    rate_limit("20mbit", "64kb"); // long enough a transfer to cut in its middle
    let size = 6 * MIB;
    let mut flap: Option<JoinHandle<Instant>> = None;
    let mut at_up: Option<(usize, usize)> = None;
    let b = bulk(
        SERVER_V4[0],
        7004,
        size,
        size,
        Duration::from_secs(30),
        |r, c| {
            if flap.is_none() && r >= size / 4 {
                flap = Some(std::thread::spawn(|| {
                    server_link(false);
                    std::thread::sleep(Duration::from_secs(2));
                    server_link(true);
                    Instant::now()
                }));
            }
            if at_up.is_none() && flap.as_ref().is_some_and(|h| h.is_finished()) {
                at_up = Some((r, c));
            }
        },
    );
    let (r, c) = at_up.expect("the transfer ended before the link came back up");
    flap.unwrap().join().unwrap();
    println!(
        "    link came back with {:.1} MiB of {} received and {:.1} MiB confirmed",
        r as f64 / MIB as f64,
        size / MIB,
        c as f64 / MIB as f64
    );
    assert!(r < size, "nothing was left to transfer after the flap");
    report("link down 2 s", size, size, &b);
    assert!(b.took > Duration::from_secs(2));
}

// ----- scenarios: dead peers -----

/// One echo connection per accept, in the server namespace, for `max` connections.
fn echo_server(addr: String, max: usize) -> JoinHandle<()> {
    serve(&addr, move |l: TcpListener| {
        for s in l.incoming().take(max) {
            let s = s.unwrap();
            std::thread::spawn(move || echo(s));
        }
    })
}

fn ping(id: i32) {
    assert_eq!(send(id, b"ping"), 1);
    expect(MSG_SOCK_SEND_CNF, id, 0);
    let m = expect(MSG_SOCK_RECV_IND, id, 0);
    assert_eq!(recv(id, m.recv_len as usize), b"ping");
}

fn setopt(id: i32, level: i32, name: i32, value: i32) {
    assert_eq!(sock_setopt(id, level, name, value), 0, "option {name}");
}

fn keepalive_blackhole() {
    let _s = session();
    let port = 7005;
    let _server = echo_server(format!("{}:{port}", SERVER_V4[0]), 2);
    let (idle, intvl, cnt) = (2, 1, 2);
    let bound = Duration::from_secs(idle + intvl * cnt);
    let with = connected(SOCK_TYPE_TCP, port, SERVER_V4[0]);
    let without = connected(SOCK_TYPE_TCP, port, SERVER_V4[0]);
    setopt(with, SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE, 1);
    setopt(with, SOCK_IPPROTO_TCP, SOCK_TCP_KEEPIDLE, idle as i32);
    setopt(with, SOCK_IPPROTO_TCP, SOCK_TCP_KEEPINTVL, intvl as i32);
    setopt(with, SOCK_IPPROTO_TCP, SOCK_TCP_KEEPCNT, cnt as i32);
    ping(without);
    ping(with);
    let last_heard = Instant::now();
    blackhole(port);
    // Keepalive: CLOSE_IND(ETIMEOUT) at idle + intvl * cnt after the last packet heard.
    let m = wait((bound + SLACK).as_millis() as i32 + 500).expect("keepalive detected nothing");
    let after = last_heard.elapsed();
    assert_eq!(
        (m.id, m.socket_index, m.result),
        (MSG_SOCK_CLOSE_IND, with, SOCK_ERR_ETIMEOUT),
        "{m:?}"
    );
    println!(
        "    keepalive idle {idle} s + {cnt} x {intvl} s = {} s: CLOSE_IND(ETIMEOUT) after {:.3} s",
        bound.as_secs(),
        after.as_secs_f64()
    );
    assert!(after + EARLY >= bound, "detected before the probes ran out");
    assert!(after <= bound + SLACK, "detected too late");
    // Without keepalive an idle connection to a vanished peer stays open: nothing arrives.
    let quiet_until = last_heard + bound + Duration::from_secs(2);
    quiet(
        quiet_until
            .saturating_duration_since(Instant::now())
            .as_millis() as i32,
    );
    clear_faults();
    ping(without); // still connected, and usable once the peer is back
    assert_eq!(sock_close(with), 1);
    expect(MSG_SOCK_CLOSE_CNF, with, 0);
    assert_eq!(sock_close(without), 1);
    expect(MSG_SOCK_CLOSE_CNF, without, 0);
}

/// A sink in the server namespace: reads and drops everything.
fn sink_server(addr: String) -> JoinHandle<()> {
    serve(&addr, move |l: TcpListener| {
        if let Ok((mut s, _)) = l.accept() {
            let mut buf = vec![0; 65536];
            while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        }
    })
}

/// Uploads until `fault` cuts the path, with `SOCK_TCP_USER_TIMEOUT` of `uto`; the socket
/// must fail with ETIMEOUT within uto (+ slack) of the cut: every accepted send gets its
/// SEND_CNF (the unsent ones with ETIMEOUT), then CLOSE_IND(ETIMEOUT), and close completes.
fn upload_until_dead(port: u16, uto: Duration, fault: impl FnOnce(), code: i32, what: &str) {
    let mut fault = Some(fault);
    let _s = session();
    let _server = sink_server(format!("{}:{port}", SERVER_V4[0]));
    let id = connected(SOCK_TYPE_TCP, port, SERVER_V4[0]);
    setopt(
        id,
        SOCK_IPPROTO_TCP,
        SOCK_TCP_USER_TIMEOUT,
        uto.as_millis() as i32,
    );
    let chunk = vec![0x5a; 32 * 1024];
    let (mut accepted, mut cnfs, mut confirmed_bytes) = (0usize, 0usize, 0usize);
    let mut cut: Option<Instant> = None;
    let mut failed_at: Option<Instant> = None;
    let mut failures = 0;
    let deadline = Instant::now() + uto + SLACK + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "the socket never failed");
        if failed_at.is_none() {
            while send(id, &chunk) == 1 {
                accepted += 1;
            }
            // Refused because the queue is full, or because the socket just failed.
            let e = sock_error(id);
            assert!(e == SOCK_ERR_ENOBUFS || e == SOCK_ERR_ENOTCONN, "{e}");
        }
        if let Some(fault) = fault.take_if(|_| confirmed_bytes >= 2 * MIB) {
            fault();
            cut = Some(Instant::now());
        }
        let Some(m) = wait(200) else { continue };
        assert_eq!(m.socket_index, id);
        match (m.id, m.result) {
            (MSG_SOCK_SEND_CNF, 0) => {
                assert_eq!(failures, 0, "a send succeeded after one failed");
                cnfs += 1;
                confirmed_bytes += m.send_len as usize;
            }
            (MSG_SOCK_SEND_CNF, c) if c == code => {
                failed_at.get_or_insert_with(Instant::now);
                failures += 1;
                cnfs += 1;
            }
            (MSG_SOCK_CLOSE_IND, c) if c == code => {
                failed_at.get_or_insert_with(Instant::now);
                break;
            }
            _ => panic!("unexpected {m:?}"),
        }
    }
    let cut = cut.expect("failed before the fault");
    let after = failed_at.unwrap().duration_since(cut);
    println!(
        "    {what}, TCP_USER_TIMEOUT {} ms: failed with code {code} {:.3} s after the cut \
         ({failures} queued sends failed, {} MiB confirmed before)",
        uto.as_millis(),
        after.as_secs_f64(),
        confirmed_bytes / MIB
    );
    assert!(after + EARLY >= uto, "failed before the user timeout");
    assert!(after <= uto + SLACK, "failed too late");
    assert_eq!(cnfs, accepted, "every accepted send gets one SEND_CNF");
    assert!(failures > 0, "queued sends were not failed");
    assert_eq!(send(id, b"x"), 0);
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    quiet(50);
}

fn user_timeout_blackhole() {
    upload_until_dead(
        7006,
        Duration::from_millis(2000),
        || blackhole(7006),
        SOCK_ERR_ETIMEOUT,
        "blackhole",
    );
}

fn user_timeout_link_down() {
    upload_until_dead(
        7007,
        Duration::from_millis(1500),
        || server_link(false),
        // The router answers with ICMP network unreachable while its link is down; the kernel
        // gives that as the reason when the user timeout ends the connection.
        SOCK_ERR_ERTE,
        "router's link to the server down",
    );
    server_link(true);
}

fn rst_mid_stream() {
    let _s = session();
    let port = 7008;
    let size = 200 * 1024; // within the receive buffer
    let _server = serve(
        &format!("{}:{port}", SERVER_V4[0]),
        move |l: TcpListener| {
            let (mut s, _) = l.accept().unwrap();
            s.write_all(&Stream::new(3).take(size)).unwrap();
            let mut b = [0; 16];
            let _ = s.read(&mut b); // holds the connection open until it is reset
        },
    );
    let id = connected(SOCK_TYPE_TCP, port, SERVER_V4[0]);
    // Let all of it reach the library's buffer without reading it.
    let first = expect(MSG_SOCK_RECV_IND, id, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut st = sock_counters::default();
        assert_eq!(unsafe { sock_stats(id, &mut st) }, 0);
        if st.bytes_received as usize == size {
            break;
        }
        assert!(Instant::now() < deadline, "data did not arrive");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The next packet from us is answered with a reset by the server's kernel.
    nft_rule(&format!("tcp dport {port} reject with tcp reset"));
    assert_eq!(send(id, b"x"), 1);
    expect(MSG_SOCK_SEND_CNF, id, 0);
    let mut got = recv(id, first.recv_len as usize);
    loop {
        let m = next();
        assert_eq!(m.socket_index, id);
        match m.id {
            MSG_SOCK_RECV_IND => got.extend(recv(id, m.recv_len as usize)),
            MSG_SOCK_CLOSE_IND => {
                assert_eq!(m.result, SOCK_ERR_ERST, "{m:?}");
                break;
            }
            _ => panic!("unexpected {m:?}"),
        }
    }
    assert_eq!(got.len(), size, "data before the reset was lost");
    assert!(got == Stream::new(3).take(size));
    println!("    {size} bytes, then CLOSE_IND(ERST)");
    quiet(50);
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
}

fn icmp_unreachable() {
    let _s = session();
    let port = 7009;
    nft_rule(&format!(
        "tcp dport {port} reject with icmpx type host-unreachable"
    ));
    for addr in [SERVER_V4[0], SERVER_V6[0]] {
        let start = Instant::now();
        let id = conn(SOCK_TYPE_TCP, port, addr);
        let m = wait(10_000).expect("no CONN_CNF");
        assert_eq!(
            (m.id, m.socket_index, m.result),
            (MSG_SOCK_CONN_CNF, id, SOCK_ERR_ERTE),
            "{addr}: {m:?}"
        );
        println!(
            "    {addr}: host unreachable, CONN_CNF(ERTE) after {:.3} s",
            start.elapsed().as_secs_f64()
        );
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(sock_close(id), 1);
        expect(MSG_SOCK_CLOSE_CNF, id, 0);
    }
}
