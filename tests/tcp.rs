//! TCP: connect, send, receive, close, and their message sequences.

mod common;
use common::*;
use socketcore::*;
use std::io::{Read, Write};
use std::time::Duration;

#[test]
fn echo_round_trip_keeps_order_and_confirms_each_send() {
    let _s = session();
    let server = tcp_server(1, echo);
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    let data = pattern(300_000, 1);
    let mut sent = 0;
    let mut confirmed = 0;
    let mut received = Vec::new();
    let mut chunks = data.chunks(7000);
    while received.len() < data.len() {
        if let Some(chunk) = chunks.next() {
            assert_eq!(send(id, chunk), 1, "error {}", sock_error(id));
            sent += 1;
        }
        while let Some(m) = wait(if sent == 43 { 1000 } else { 0 }) {
            assert_eq!(m.socket_index, id);
            match m.id {
                MSG_SOCK_SEND_CNF => {
                    assert_eq!(m.result, 0);
                    confirmed += 1;
                }
                MSG_SOCK_RECV_IND => received.extend(recv(id, m.recv_len as usize)),
                other => panic!("unexpected {other}"),
            }
        }
    }
    assert_eq!(received, data);
    assert_eq!(confirmed, sent);
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    assert_eq!(sock_destroy(id), 1);
    server.join();
}

#[test]
fn refused_port_gives_conn_cnf_econnrefused() {
    let _s = session();
    let id = conn(SOCK_TYPE_TCP, closed_port(), "127.0.0.1");
    assert!(id >= 0);
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_ECONNREFUSED);
    assert_eq!(sock_error(id), SOCK_ERR_ECONNREFUSED);
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    assert_eq!(sock_destroy(id), 1);
    quiet(50);
}

#[test]
fn unresolvable_name_gives_edns_and_names_resolve() {
    let _s = session();
    let id = conn(SOCK_TYPE_TCP, 80, "no-such-host.invalid");
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_EDNS);
    let server = tcp_server(1, echo);
    let id2 = connected(SOCK_TYPE_TCP, server.port, "localhost");
    assert_eq!(send(id2, b"hi"), 1);
    expect(MSG_SOCK_SEND_CNF, id2, 0);
    assert_eq!(read_stream(id2, 2), b"hi");
}

#[test]
fn ipv6_literal_connects() {
    let _s = session();
    let Ok(l) = std::net::TcpListener::bind("[::1]:0") else {
        return; // the host has no IPv6 loopback; nothing to prove here
    };
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || echo(l.accept().unwrap().0));
    let id = connected(SOCK_TYPE_TCP, port, "::1");
    assert_eq!(send(id, b"six"), 1);
    expect(MSG_SOCK_SEND_CNF, id, 0);
    assert_eq!(read_stream(id, 3), b"six");
    sock_destroy(id);
    t.join().unwrap();
}

#[test]
fn send_before_connected_and_after_close_is_enotconn() {
    let _s = session();
    let server = tcp_server(1, echo);
    let id = conn(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    // Before CONN_CNF is taken: a loopback connect may already be done (then CONN_CNF is
    // posted first and the send accepted), else the send is refused. A connect that cannot
    // complete is checked in lifecycle.rs (full backlog).
    let early = send(id, b"early");
    if early == 0 {
        assert_eq!(sock_error(id), SOCK_ERR_ENOTCONN);
    }
    expect(MSG_SOCK_CONN_CNF, id, 0);
    if early == 1 {
        expect(MSG_SOCK_SEND_CNF, id, 0);
    }
    assert_eq!(sock_close(id), 1);
    assert_eq!(send(id, b"late"), 0);
    assert_eq!(sock_error(id), SOCK_ERR_ENOTCONN);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    assert_eq!(sock_close(id), 0);
    assert_eq!(sock_error(id), SOCK_ERR_EALREADY);
    quiet(50);
}

#[test]
fn peer_close_comes_after_last_data_which_stays_readable() {
    let _s = session();
    let server = tcp_server(1, |mut s| {
        s.write_all(&pattern(100_000, 9)).unwrap();
    });
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    server.join();
    let mut announced = 0;
    loop {
        let m = next();
        assert_eq!(m.socket_index, id);
        if m.id == MSG_SOCK_CLOSE_IND {
            assert_eq!(m.result, 0);
            break;
        }
        assert_eq!(m.id, MSG_SOCK_RECV_IND);
        announced += m.recv_len as usize;
        // Read only half of each announcement; the rest stays buffered.
        let half = recv(id, (m.recv_len as usize).div_ceil(2));
        announced -= half.len();
    }
    let rest = recv(id, 200_000);
    assert_eq!(rest.len(), announced);
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    quiet(50);
}

#[test]
fn reset_by_peer_is_close_ind_erst_and_fails_pending_sends() {
    let _s = session();
    let server = tcp_server(1, |s| {
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        drop(s); // SO_LINGER 0: close sends RST
    });
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    server.join();
    expect(MSG_SOCK_CLOSE_IND, id, SOCK_ERR_ERST);
    assert_eq!(send(id, b"x"), 0);
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
}

#[test]
fn close_flushes_sends_first_and_peer_gets_everything() {
    let _s = session();
    let total = 2_000_000;
    let (tx, rx) = std::sync::mpsc::channel();
    let server = tcp_server(1, move |mut s| {
        std::thread::sleep(Duration::from_millis(200)); // let our queue fill up first
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        tx.send(got).unwrap();
    });
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    let data = pattern(total, 5);
    let mut accepted = 0;
    let mut cnfs = 0;
    for chunk in data.chunks(50_000) {
        while send(id, chunk) == 0 {
            assert_eq!(sock_error(id), SOCK_ERR_ENOBUFS);
            let m = expect(MSG_SOCK_SEND_CNF, id, 0);
            assert_eq!(m.send_len, 50_000);
            cnfs += 1;
        }
        accepted += 1;
    }
    assert_eq!(sock_close(id), 1);
    loop {
        let m = next();
        if m.id == MSG_SOCK_CLOSE_CNF {
            assert_eq!(m.result, 0);
            break;
        }
        assert_eq!((m.id, m.result), (MSG_SOCK_SEND_CNF, 0));
        cnfs += 1;
    }
    assert_eq!(cnfs, accepted);
    assert_eq!(rx.recv().unwrap(), data);
    server.join();
}

/// The usual close: everything read, nothing queued. No shutdown or drain is made then; the
/// peer must still get our last bytes and an orderly end (EOF), not a reset.
#[test]
fn close_after_reading_everything_ends_with_fin() {
    let _s = session();
    let (tx, rx) = std::sync::mpsc::channel();
    let server = tcp_server(1, move |mut s| {
        let mut req = [0u8; 64];
        s.read_exact(&mut req).unwrap();
        s.write_all(&req).unwrap();
        let mut rest = Vec::new();
        tx.send(s.read_to_end(&mut rest).map(|_| rest).map_err(|e| e.kind()))
            .unwrap();
    });
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    let req = pattern(64, 21);
    assert_eq!(send(id, &req), 1);
    expect(MSG_SOCK_SEND_CNF, id, 0);
    assert_eq!(read_stream(id, 64), req);
    let last = pattern(10_000, 22);
    assert_eq!(send(id, &last), 1);
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_SEND_CNF, id, 0);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    assert_eq!(rx.recv().unwrap(), Ok(last));
    server.join();
}

/// Closing while the peer's bytes wait unread in the kernel (our receive buffer is full, so
/// reading paused): they are read and dropped first, so the kernel ends the connection with a
/// FIN rather than a reset that could destroy what the peer has not read yet.
#[test]
fn close_with_unread_input_still_ends_with_fin() {
    let _s = session();
    let (written_tx, written_rx) = std::sync::mpsc::channel();
    let (tx, rx) = std::sync::mpsc::channel();
    let server = tcp_server(1, move |mut s| {
        s.write_all(&pattern(64 << 10, 23)).unwrap();
        written_tx.send(()).unwrap();
        let mut rest = Vec::new();
        tx.send(
            s.read_to_end(&mut rest)
                .map(|_| rest.len())
                .map_err(|e| e.kind()),
        )
        .unwrap();
    });
    let id = conn_opts(SOCK_TYPE_TCP, server.port, "127.0.0.1", |o| {
        o.rcv_buf_size = 16384
    });
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_OK);
    let m = expect(MSG_SOCK_RECV_IND, id, 0);
    assert!(m.recv_len <= 16384);
    written_rx.recv().unwrap(); // on loopback the bytes are in our kernel once written
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    assert_eq!(rx.recv().unwrap(), Ok(0));
    server.join();
}

/// A server that speaks first: its bytes may come with the connect's own readiness event
/// (read then) or after it (their own event); either way they are announced after CONN_CNF.
#[test]
fn banner_sent_on_accept_is_announced_after_conn_cnf() {
    let _s = session();
    let server = tcp_server(1, |mut s| {
        s.write_all(b"220 hello").unwrap();
        let _ = s.read_to_end(&mut Vec::new()); // open until the client closes
    });
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    assert_eq!(read_stream(id, 9), b"220 hello");
    quiet(50);
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    server.join();
}

#[test]
fn close_while_connecting_cancels() {
    let _s = session();
    let id = conn(SOCK_TYPE_TCP, 80, "no-such-host-slow.invalid");
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_EABORT);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    quiet(200);
}

#[test]
fn destroy_discards_pending_messages_and_id_is_reused() {
    let _s = session();
    let server = tcp_server(1, echo);
    let id = conn(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    std::thread::sleep(Duration::from_millis(100)); // CONN_CNF is now in the ring
    assert_eq!(sock_destroy(id), 1);
    assert_eq!(sock_destroy(id), 0);
    assert_eq!(sock_error(id), SOCK_ERR_EBADID);
    quiet(100);
    let refused = conn(SOCK_TYPE_TCP, closed_port(), "127.0.0.1");
    assert_eq!(refused, id, "lowest free id is reused");
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_ECONNREFUSED);
    server.join();
}

/// SEND_CNF and RECV_IND, which a socket does not count one by one, are discarded by a
/// destroy as the rarer messages are: none reaches the next socket with the same id.
#[test]
fn destroy_discards_a_pending_send_cnf_and_recv_ind() {
    let _s = session();
    let server = tcp_server(usize::MAX, echo);
    for round in 0..5 {
        let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
        assert_eq!(send(id, b"echo me"), 1);
        std::thread::sleep(Duration::from_millis(150)); // the echo has come back
        let mut st = sock_counters::default();
        unsafe { sock_stats(id, &mut st) }; // dispatches it: a RECV_IND joins the SEND_CNF
        let (pending, ..) = socketcore::introspect::snapshot().unwrap();
        assert_eq!(pending, 2, "round {round}: both in the ring");
        assert_eq!(sock_destroy(id), 1);
        let (pending, ..) = socketcore::introspect::snapshot().unwrap();
        assert_eq!(pending, 0, "round {round}: both discarded");
        let again = conn(SOCK_TYPE_TCP, server.port, "127.0.0.1");
        assert_eq!(again, id);
        expect(MSG_SOCK_CONN_CNF, again, 0);
        assert_eq!(sock_destroy(again), 1);
    }
    server.join_detached();
}

#[test]
fn slow_reader_holds_the_peer_with_bounded_memory_and_loses_nothing() {
    let _s = session();
    let total = 16 << 20;
    let server = tcp_server(1, move |mut s| {
        let _ = s.write_all(&pattern(total, 77));
    });
    let rcv = 64 * 1024;
    let id = conn_opts(SOCK_TYPE_TCP, server.port, "127.0.0.1", |o| {
        o.rcv_buf_size = rcv
    });
    expect(MSG_SOCK_CONN_CNF, id, 0);
    std::thread::sleep(Duration::from_millis(300)); // we do not read: the peer must stall
    let mut st = sock_counters::default();
    unsafe { sock_stats(id, &mut st) };
    assert!(
        st.recv_buffered as i32 <= rcv,
        "buffered {}",
        st.recv_buffered
    );
    assert!(
        st.bytes_received < total as u64 / 2,
        "peer was not held back"
    );
    let got = read_stream(id, total);
    assert!(got == pattern(total, 77));
    server.join();
}

#[test]
fn peer_that_never_reads_fills_the_queue_then_enobufs() {
    let _s = session();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = parking_lot::Mutex::new(rx);
    let server = tcp_server(1, move |s| {
        let _ = rx.lock().recv(); // hold the connection, never read
        drop(s);
    });
    let id = conn_opts(SOCK_TYPE_TCP, server.port, "127.0.0.1", |o| {
        o.snd_buf_size = 64 * 1024
    });
    expect(MSG_SOCK_CONN_CNF, id, 0);
    let chunk = vec![1u8; 16 * 1024];
    let mut accepted = 0;
    while send(id, &chunk) == 1 {
        accepted += 1;
        assert!(accepted < 10_000, "the queue never filled");
    }
    assert_eq!(sock_error(id), SOCK_ERR_ENOBUFS);
    tx.send(()).unwrap();
    server.join();
}

/// A lone connect to a literal address is made in the caller's thread (no worker thread is
/// started); a burst of them, made while others are still in flight, goes to the resolver's
/// workers. Either way every socket connects once and carries its data, and nothing stays
/// counted in flight.
#[test]
fn a_burst_of_literal_connects_goes_to_workers_and_a_lone_one_does_not() {
    let _s = session();
    let server = tcp_server(usize::MAX, echo);
    let workers = || socketcore::introspect::snapshot().unwrap().3;
    let in_flight = || socketcore::introspect::connects_in_flight().unwrap();
    for _ in 0..20 {
        let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
        assert_eq!(in_flight(), 0);
        assert_eq!(sock_destroy(id), 1);
    }
    assert_eq!(workers(), 0, "one connect at a time starts no worker");
    let n = 200;
    let ids: Vec<i32> = (0..n)
        .map(|_| conn(SOCK_TYPE_TCP, server.port, "127.0.0.1"))
        .collect();
    assert!(ids.iter().all(|&id| id >= 0));
    let mut open = std::collections::HashSet::new();
    while open.len() < n {
        let m = next();
        assert_eq!((m.id, m.result), (MSG_SOCK_CONN_CNF, 0), "{m:?}");
        assert!(
            open.insert(m.socket_index),
            "two CONN_CNFs for {}",
            m.socket_index
        );
    }
    assert_eq!(in_flight(), 0);
    assert!(workers() >= 1, "the burst went to the workers");
    for &id in &ids {
        assert_eq!(send(id, &id.to_le_bytes()), 1);
    }
    let mut echoed = 0;
    while echoed < n {
        let m = next();
        match m.id {
            MSG_SOCK_SEND_CNF => assert_eq!(m.result, 0),
            MSG_SOCK_RECV_IND => {
                assert_eq!(m.recv_len, 4, "{m:?}");
                assert_eq!(recv(m.socket_index, 4), m.socket_index.to_le_bytes());
                echoed += 1;
            }
            _ => panic!("unexpected {m:?}"),
        }
    }
    for id in ids {
        assert_eq!(sock_destroy(id), 1);
    }
    server.join_detached();
}
