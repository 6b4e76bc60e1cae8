//! Scripted fault peers: each gives its documented messages and codes, the socket can still be
//! closed and destroyed, and no descriptor leaks.

mod common;
#[cfg(feature = "tls")]
#[path = "common/pki.rs"]
mod pki;

use common::*;
use socketcore::*;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::Duration;

/// Closes and destroys `id`, then checks that the process holds no more descriptors than
/// before the fault.
fn close_and_check(id: i32, fds_before: usize) {
    assert_eq!(sock_close(id), 1);
    loop {
        let m = next();
        assert_eq!(m.socket_index, id, "{m:?}");
        if m.id == MSG_SOCK_CLOSE_CNF {
            break;
        }
    }
    assert_eq!(sock_destroy(id), 1);
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        fd_count() <= fds_before,
        "descriptor leaked: {} > {fds_before}",
        fd_count()
    );
}

fn baseline() -> usize {
    let _ = sock_msg_fd(); // the instance's own descriptors exist before we count
    fd_count()
}

#[test]
fn reset_in_mid_stream() {
    let _s = session();
    let fds = baseline();
    let sent = pattern(200_000, 1);
    let data = sent.clone();
    let server = tcp_server(1, move |mut s| {
        s.write_all(&data).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    });
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    let mut got = vec![];
    let code = loop {
        let m = next();
        match m.id {
            MSG_SOCK_RECV_IND => got.extend(recv(id, m.recv_len as usize)),
            MSG_SOCK_CLOSE_IND => break m.result,
            other => panic!("unexpected {other}"),
        }
    };
    assert_eq!(code, SOCK_ERR_ERST);
    got.extend(recv(id, 1 << 20)); // anything still buffered stays readable
    assert!(
        sent.starts_with(&got),
        "received bytes are not a prefix of what was sent"
    );
    server.join();
    close_and_check(id, fds);
}

#[test]
fn fin_with_data_in_flight_delivers_everything_then_close_ind() {
    let _s = session();
    let fds = baseline();
    let total = 8 << 20;
    let server = tcp_server(1, move |mut s| {
        s.write_all(&pattern(total, 2)).unwrap(); // and close at once
    });
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    assert!(read_stream(id, total) == pattern(total, 2));
    expect(MSG_SOCK_CLOSE_IND, id, 0);
    server.join();
    close_and_check(id, fds);
}

#[test]
fn half_close_peer_still_reads_what_we_send_after_close_ind() {
    let _s = session();
    let fds = baseline();
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = parking_lot::Mutex::new(tx);
    let server = tcp_server(1, move |mut s| {
        s.write_all(b"request").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut got = vec![];
        s.read_to_end(&mut got).unwrap();
        tx.lock().send(got).unwrap();
    });
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    assert_eq!(read_stream(id, 7), b"request");
    expect(MSG_SOCK_CLOSE_IND, id, 0);
    let reply = pattern(100_000, 3);
    assert_eq!(send(id, &reply), 1);
    expect(MSG_SOCK_SEND_CNF, id, 0);
    close_and_check(id, fds);
    assert_eq!(rx.recv().unwrap(), reply);
    server.join();
}

#[test]
fn peer_that_stops_reading_then_resumes_gets_everything() {
    let _s = session();
    let fds = baseline();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let go_rx = parking_lot::Mutex::new(go_rx);
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = parking_lot::Mutex::new(tx);
    let server = tcp_server(1, move |mut s| {
        let _ = go_rx.lock().recv();
        let mut got = vec![];
        s.read_to_end(&mut got).unwrap();
        tx.lock().send(got).unwrap();
    });
    let id = conn_opts(SOCK_TYPE_TCP, server.port, "127.0.0.1", |o| {
        o.snd_buf_size = 65536
    });
    expect(MSG_SOCK_CONN_CNF, id, 0);
    let data = pattern(16 << 20, 4);
    let mut chunks = data.chunks(16384).peekable();
    let mut enobufs = 0;
    let mut pending = 0;
    while chunks.peek().is_some() {
        if send(id, chunks.peek().unwrap()) == 1 {
            chunks.next();
            pending += 1;
            continue;
        }
        assert_eq!(sock_error(id), SOCK_ERR_ENOBUFS);
        enobufs += 1;
        if enobufs == 1 {
            // Take the confirmations of what the kernel already holds; then nothing moves
            // until the peer reads, and our queue stays full.
            while let Some(m) = wait(200) {
                assert_eq!((m.id, m.result), (MSG_SOCK_SEND_CNF, 0));
                pending -= 1;
            }
            let mut st = sock_counters::default();
            unsafe { sock_stats(id, &mut st) };
            assert!(st.send_queued > 0, "the queue drained without a reader");
            go_tx.send(()).unwrap();
            continue;
        }
        let m = expect(MSG_SOCK_SEND_CNF, id, 0);
        assert_eq!(m.send_len, 16384);
        pending -= 1;
    }
    for _ in 0..pending {
        expect(MSG_SOCK_SEND_CNF, id, 0);
    }
    close_and_check(id, fds);
    assert!(rx.recv().unwrap() == data);
    assert!(enobufs > 0);
    server.join();
}

#[cfg(feature = "tls")]
#[test]
fn tls_peer_that_drops_inside_a_record() {
    let _s = session();
    let fds = baseline();
    let ca = pki::Ca::new("test CA");
    let leaf = ca.leaf(&["localhost"], false, false);
    let cfg = pki::server_config(&leaf, None, &[&rustls::version::TLS13], &[]);
    let server = tcp_server(1, move |tcp| {
        let mut tls = pki::accept(&cfg, tcp);
        tls.write_all(b"whole").unwrap();
        tls.flush().unwrap();
        // Encrypt one more record and send only half of it, then cut the connection.
        tls.conn.writer().write_all(&[9u8; 1000]).unwrap();
        let mut record = vec![];
        tls.conn.write_tls(&mut record).unwrap();
        tls.sock.write_all(&record[..record.len() / 2]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    });
    let ca_pem = std::ffi::CString::new(ca.pem.clone()).unwrap();
    let host = std::ffi::CString::new("localhost").unwrap();
    let cert = sock_cert {
        hostName: host.as_ptr(),
        caCert: ca_pem.as_ptr(),
        clientCert: std::ptr::null(),
        clientKey: std::ptr::null(),
    };
    let addr = std::ffi::CString::new("127.0.0.1").unwrap();
    let id = unsafe {
        sock_conn_ext(
            SOCK_TYPE_SSL,
            server.port as i32,
            addr.as_ptr(),
            &cert,
            std::ptr::null(),
        )
    };
    expect(MSG_SOCK_CONN_CNF, id, 0);
    assert_eq!(read_stream(id, 5), b"whole");
    expect(MSG_SOCK_CLOSE_IND, id, SOCK_ERR_ECLSD);
    server.join();
    close_and_check(id, fds);
}

#[test]
fn refused_and_unresolvable_leave_nothing_behind() {
    let _s = session();
    let fds = baseline();
    let a = conn(SOCK_TYPE_TCP, closed_port(), "127.0.0.1");
    expect(MSG_SOCK_CONN_CNF, a, SOCK_ERR_ECONNREFUSED);
    close_and_check(a, fds);
    let b = conn(SOCK_TYPE_TCP, 80, "nothing-here.invalid");
    expect(MSG_SOCK_CONN_CNF, b, SOCK_ERR_EDNS);
    close_and_check(b, fds);
}

#[cfg(feature = "tls")]
#[test]
fn garbage_instead_of_tls_leaves_nothing_behind() {
    let _s = session();
    let fds = baseline();
    let server = tcp_server(1, |mut s| {
        let _ = s.write_all(&[0x17; 300]);
        std::thread::sleep(Duration::from_millis(100));
    });
    let host = std::ffi::CString::new("127.0.0.1").unwrap();
    let c = unsafe {
        sock_conn(
            SOCK_TYPE_SSL,
            server.port as i32,
            host.as_ptr(),
            std::ptr::null(),
        )
    };
    expect(MSG_SOCK_CONN_CNF, c, SOCK_ERR_SSL_EHANDSHAKE);
    server.join(); // its listener counted against the baseline
    close_and_check(c, fds);
}

#[test]
fn failure_confirms_sends_in_order_in_ack_mode() {
    // Found by the fuzzer: sends written and awaiting the peer's ACK must fail before the ones
    // still queued behind them.
    let _s = session();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = parking_lot::Mutex::new(rx);
    let server = tcp_server(1, move |s| {
        socket2::SockRef::from(&s)
            .set_recv_buffer_size(4096)
            .unwrap();
        let _ = rx.lock().recv(); // never read; then reset
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    });
    let id = conn_opts(SOCK_TYPE_TCP, server.port, "127.0.0.1", |o| {
        o.send_cnf_on_ack = 1;
        o.snd_buf_size = 8 << 20;
    });
    expect(MSG_SOCK_CONN_CNF, id, 0);
    // Distinct lengths tell the sends apart.
    let mut accepted = vec![];
    for i in 0..120 {
        let len = 60_000 + i;
        if send(id, &vec![b'x'; len]) == 0 {
            break;
        }
        accepted.push(len as i32);
    }
    std::thread::sleep(Duration::from_millis(200));
    tx.send(()).unwrap();
    server.join();
    let mut confirmed = vec![];
    while confirmed.len() < accepted.len() {
        let m = next();
        if m.id == MSG_SOCK_SEND_CNF {
            confirmed.push(m.send_len);
        }
    }
    assert_eq!(confirmed, accepted, "SEND_CNFs out of order");
}
