//! TLS sockets against a rustls server with certificates made at test time.
#![cfg(feature = "tls")]

mod common;
#[path = "common/pki.rs"]
mod pki;

use common::*;
use pki::*;
use rustls::version::{TLS12, TLS13};
use socketcore::*;
use std::ffi::CString;
use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::Duration;

/// A TLS echo server for `max` connections; each handshake's outcome goes to the channel.
fn echo_server(
    cfg: std::sync::Arc<rustls::ServerConfig>,
    max: usize,
) -> (Server, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let tx = parking_lot::Mutex::new(tx);
    let server = tcp_server(max, move |tcp| {
        let mut tls = accept(&cfg, tcp);
        let mut buf = vec![0u8; 65536];
        let outcome = loop {
            match tls.read(&mut buf) {
                Ok(0) => break "close_notify".to_string(),
                Ok(n) => {
                    if tls.write_all(&buf[..n]).is_err() {
                        break "write failed".into();
                    }
                }
                Err(e) => break format!("error: {e}"),
            }
        };
        let kind = format!("{:?}", tls.conn.handshake_kind());
        let _ = tx.lock().send(format!("{kind} {outcome}"));
    });
    (server, rx)
}

fn echo_check(id: i32, len: usize) {
    let data = pattern(len, 3);
    for chunk in data.chunks(100_000) {
        assert_eq!(send(id, chunk), 1);
        expect(MSG_SOCK_SEND_CNF, id, 0);
    }
    assert_eq!(read_stream(id, len), data);
}

#[test]
fn private_ca_connects_echoes_negotiates_alpn_and_sends_close_notify() {
    let _s = session();
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["localhost"], false, false);
    let (server, outcomes) = echo_server(
        server_config(&leaf, None, &[&TLS13], &["h2", "http/1.1"]),
        1,
    );
    let cert = Cert::new(Some("localhost"), Some(&ca.pem), None, None);
    let alpn = CString::new("spdy/1,http/1.1").unwrap();
    let id = tls_conn(server.port, "127.0.0.1", &cert, |o| o.alpn = alpn.as_ptr());
    expect(MSG_SOCK_CONN_CNF, id, 0);
    let mut buf = [0 as std::ffi::c_char; 32];
    let n = unsafe { sock_tls_alpn(id, buf.as_mut_ptr(), buf.len()) };
    assert_eq!(n, 8);
    let got = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    assert_eq!(got.to_str().unwrap(), "http/1.1");
    assert_eq!(
        unsafe { sock_tls_alpn(id, buf.as_mut_ptr(), 8) },
        -SOCK_ERR_EARG
    );
    echo_check(id, 300_000);
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    assert_eq!(outcomes.recv().unwrap(), "Some(Full) close_notify");
    server.join();
}

#[test]
fn certificate_failures_are_ssl_ecert_in_each_mode() {
    let _s = session();
    let ca = Ca::new("test CA");
    let stranger = Ca::new("other CA");
    let good = ca.leaf(&["localhost"], false, false);
    let expired = ca.leaf(&["localhost"], false, true);
    let other_name = ca.leaf(&["elsewhere.example"], false, false);
    let cases: [(&Leaf, &str, i32, i32); 8] = [
        (
            &good,
            &stranger.pem,
            SOCK_TLS_VERIFY_FULL,
            SOCK_ERR_SSL_ECERT,
        ),
        (&expired, &ca.pem, SOCK_TLS_VERIFY_FULL, SOCK_ERR_SSL_ECERT),
        (
            &other_name,
            &ca.pem,
            SOCK_TLS_VERIFY_FULL,
            SOCK_ERR_SSL_ECERT,
        ),
        (
            &other_name,
            &ca.pem,
            SOCK_TLS_VERIFY_NO_HOSTNAME,
            SOCK_ERR_OK,
        ),
        (
            &good,
            &stranger.pem,
            SOCK_TLS_VERIFY_NO_HOSTNAME,
            SOCK_ERR_SSL_ECERT,
        ),
        (
            &expired,
            &ca.pem,
            SOCK_TLS_VERIFY_NO_HOSTNAME,
            SOCK_ERR_SSL_ECERT,
        ),
        (
            &other_name,
            &stranger.pem,
            SOCK_TLS_VERIFY_NONE,
            SOCK_ERR_OK,
        ),
        (&expired, &stranger.pem, SOCK_TLS_VERIFY_NONE, SOCK_ERR_OK),
    ];
    for (leaf, trust, mode, want) in cases {
        let cfg = server_config(leaf, None, &[&TLS13, &TLS12], &[]);
        let server = tcp_server(1, move |tcp| {
            let mut tls = accept(&cfg, tcp);
            let _ = tls.read(&mut [0u8; 16]);
        });
        let cert = Cert::new(Some("localhost"), Some(trust), None, None);
        let id = tls_conn(server.port, "127.0.0.1", &cert, |o| o.tls_verify = mode);
        expect(MSG_SOCK_CONN_CNF, id, want);
        if want != 0 {
            assert_eq!(sock_error(id), want);
        }
        sock_destroy(id);
        server.join();
    }
}

#[test]
fn without_ca_cert_the_web_roots_are_used_and_a_private_ca_is_refused() {
    let _s = session();
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["localhost"], false, false);
    let cfg = server_config(&leaf, None, &[&TLS13], &[]);
    let server = tcp_server(1, move |tcp| {
        let _ = accept(&cfg, tcp).read(&mut [0u8; 16]);
    });
    let cert = Cert::new(None, None, None, None);
    let id = tls_conn(server.port, "localhost", &cert, |_| {});
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_SSL_ECERT);
    server.join();
}

#[test]
fn client_certificates_required_given_and_missing() {
    let _s = session();
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["localhost"], false, false);
    let client = ca.leaf(&["device-1"], true, false);
    for versions in [&[&TLS13][..], &[&TLS12][..]] {
        let (server, outcomes) = echo_server(server_config(&leaf, Some(&ca), versions, &[]), 2);
        let with = Cert::new(
            Some("localhost"),
            Some(&ca.pem),
            Some(&client.cert_pem),
            Some(&client.key_pem),
        );
        let id = tls_conn(server.port, "127.0.0.1", &with, |_| {});
        expect(MSG_SOCK_CONN_CNF, id, 0);
        echo_check(id, 10_000);
        sock_close(id);
        expect(MSG_SOCK_CLOSE_CNF, id, 0);
        assert!(outcomes.recv().unwrap().ends_with("close_notify"));

        let without = Cert::new(Some("localhost"), Some(&ca.pem), None, None);
        let id = tls_conn(server.port, "127.0.0.1", &without, |_| {});
        expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_SSL_EHANDSHAKE);
        assert!(outcomes.recv().unwrap().contains("error"));
        server.join();
    }
}

#[test]
fn second_connection_resumes_the_session() {
    let _s = session();
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["localhost"], false, false);
    for versions in [&[&TLS13][..], &[&TLS12][..]] {
        let (server, outcomes) = echo_server(server_config(&leaf, None, versions, &[]), 2);
        let cert = Cert::new(Some("localhost"), Some(&ca.pem), None, None);
        let mut kinds = vec![];
        for _ in 0..2 {
            let id = tls_conn(server.port, "127.0.0.1", &cert, |_| {});
            expect(MSG_SOCK_CONN_CNF, id, 0);
            echo_check(id, 1000); // lets the TLS 1.3 tickets arrive
            kinds.push(sock_tls_resumed(id));
            sock_close(id);
            expect(MSG_SOCK_CLOSE_CNF, id, 0);
            sock_destroy(id);
        }
        assert_eq!(kinds, vec![0, 1]);
        assert_eq!(outcomes.recv().unwrap(), "Some(Full) close_notify");
        assert_eq!(outcomes.recv().unwrap(), "Some(Resumed) close_notify");
        server.join();
        // A client holding TLS 1.3 tickets offers those first; start the next version afresh.
        sock_shutdown();
    }
}

#[test]
fn sixty_four_mib_each_way_with_checksum() {
    let _s = session();
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["localhost"], false, false);
    let total = 64 << 20;
    let cfg = server_config(&leaf, None, &[&TLS13], &[]);
    let (tx, rx) = mpsc::channel();
    let tx = parking_lot::Mutex::new(tx);
    // The server checksums what it reads while a second thread streams 64 MiB back.
    let server = tcp_server(1, move |tcp| {
        let tls = std::sync::Arc::new(parking_lot::Mutex::new(accept(&cfg, tcp)));
        let mut sum = 0u64;
        let mut got = 0usize;
        let mut sent = 0usize;
        let down = pattern(1 << 20, 8);
        let mut buf = vec![0u8; 65536];
        let mut t = tls.lock();
        t.sock.set_nonblocking(true).unwrap();
        while got < total || sent < total {
            let mut progress = false;
            match t.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    sum = buf[..n]
                        .iter()
                        .fold(sum, |s, b| s.wrapping_mul(31).wrapping_add(*b as u64));
                    got += n;
                    progress = true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("server read: {e}"),
            }
            if sent < total {
                match t.write(&down[sent % down.len()..]) {
                    Ok(n) => {
                        sent += n;
                        progress = true;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("server write: {e}"),
                }
            }
            let _ = t.flush();
            if !progress {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        // rustls may still hold encrypted records: flush them before the stream is dropped.
        t.sock.set_nonblocking(false).unwrap();
        t.conn.send_close_notify();
        t.flush().unwrap();
        tx.lock().send(sum).unwrap();
    });
    let cert = Cert::new(Some("localhost"), Some(&ca.pem), None, None);
    let id = tls_conn(server.port, "127.0.0.1", &cert, |_| {});
    expect(MSG_SOCK_CONN_CNF, id, 0);
    let up = pattern(1 << 20, 9);
    let (mut queued, mut down_sum, mut down_len) = (0usize, 0u64, 0usize);
    let expected_down: u64 = (0..total / up.len()).fold(0u64, |s, _| {
        pattern(1 << 20, 8)
            .iter()
            .fold(s, |s, b| s.wrapping_mul(31).wrapping_add(*b as u64))
    });
    let chunk = 64 * 1024;
    while down_len < total || queued < total {
        while queued < total {
            let off = queued % up.len();
            if send(id, &up[off..off + chunk]) == 0 {
                assert_eq!(sock_error(id), SOCK_ERR_ENOBUFS);
                break;
            }
            queued += chunk;
        }
        let m = next();
        match m.id {
            MSG_SOCK_SEND_CNF => assert_eq!(m.result, 0),
            MSG_SOCK_RECV_IND => {
                let data = recv(id, m.recv_len as usize);
                down_sum = data
                    .iter()
                    .fold(down_sum, |s, b| s.wrapping_mul(31).wrapping_add(*b as u64));
                down_len += data.len();
            }
            other => panic!("unexpected message {other}: {m:?}"),
        }
    }
    assert_eq!(down_len, total);
    assert_eq!(down_sum, expected_down);
    let up_sum = (0..total / up.len()).fold(0u64, |s, _| {
        up.iter()
            .fold(s, |s, b| s.wrapping_mul(31).wrapping_add(*b as u64))
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(60)).unwrap(), up_sum);
    server.join();
}

#[test]
fn peer_close_notify_and_truncation_are_told_apart() {
    let _s = session();
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["localhost"], false, false);
    for clean in [true, false] {
        let cfg = server_config(&leaf, None, &[&TLS13], &[]);
        let server = tcp_server(1, move |tcp| {
            let mut tls = accept(&cfg, tcp);
            tls.write_all(b"bye").unwrap();
            if clean {
                tls.conn.send_close_notify();
            }
            tls.flush().unwrap();
        });
        let cert = Cert::new(Some("localhost"), Some(&ca.pem), None, None);
        let id = tls_conn(server.port, "127.0.0.1", &cert, |_| {});
        expect(MSG_SOCK_CONN_CNF, id, 0);
        assert_eq!(read_stream(id, 3), b"bye");
        let want = if clean { SOCK_ERR_OK } else { SOCK_ERR_ECLSD };
        expect(MSG_SOCK_CLOSE_IND, id, want);
        assert_eq!(sock_error(id), want);
        server.join();
    }
}

#[test]
fn garbage_instead_of_tls_and_tls12_only_server() {
    let _s = session();
    let server = tcp_server(1, |mut tcp| {
        let _ = tcp.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\nthis is not TLS at all\r\n");
        std::thread::sleep(Duration::from_millis(200));
    });
    let cert = Cert::new(Some("localhost"), None, None, None);
    let id = tls_conn(server.port, "127.0.0.1", &cert, |_| {});
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_SSL_EHANDSHAKE);
    server.join();

    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["localhost"], false, false);
    let (server, outcomes) = echo_server(server_config(&leaf, None, &[&TLS12], &[]), 1);
    let cert = Cert::new(Some("localhost"), Some(&ca.pem), None, None);
    let id = tls_conn(server.port, "127.0.0.1", &cert, |_| {});
    expect(MSG_SOCK_CONN_CNF, id, 0);
    echo_check(id, 50_000);
    sock_close(id);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    assert!(outcomes.recv().unwrap().ends_with("close_notify"));
    server.join();
}

#[test]
fn bad_tls_material_is_refused_at_once() {
    let _s = session();
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["device"], true, false);
    let other = ca.leaf(&["device"], true, false);
    let long = "a".repeat(300);
    let garbage = "-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n";
    let cases: Vec<(Cert, i32)> = vec![
        (
            Cert::new(None, Some(garbage), None, None),
            SOCK_ERR_SSL_EINVALID,
        ),
        (
            Cert::new(None, Some("hello"), None, None),
            SOCK_ERR_SSL_EINVALID,
        ),
        (
            Cert::new(None, None, Some(&leaf.cert_pem), None),
            SOCK_ERR_SSL_EINVALID,
        ),
        (
            Cert::new(None, None, None, Some(&leaf.key_pem)),
            SOCK_ERR_SSL_EINVALID,
        ),
        (
            Cert::new(None, None, Some(&leaf.cert_pem), Some(&other.key_pem)),
            SOCK_ERR_SSL_EINVALID,
        ),
        (
            Cert::new(None, None, Some(garbage), Some(&leaf.key_pem)),
            SOCK_ERR_SSL_EINVALID,
        ),
        (
            Cert::new(None, None, Some(&leaf.cert_pem), Some("junk")),
            SOCK_ERR_SSL_EINVALID,
        ),
        (Cert::new(Some(&long), None, None, None), SOCK_ERR_EARG),
        (
            Cert::new(Some("bad name!"), None, None, None),
            SOCK_ERR_EARG,
        ),
    ];
    for (cert, want) in cases {
        assert_eq!(tls_conn(443, "127.0.0.1", &cert, |_| {}), -want);
    }
    // A NULL table is allowed: the address is the name and the web roots are trusted.
    let a = CString::new("127.0.0.1").unwrap();
    let id = unsafe {
        sock_conn(
            SOCK_TYPE_SSL,
            closed_port() as i32,
            a.as_ptr(),
            std::ptr::null(),
        )
    };
    assert!(id >= 0);
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_ECONNREFUSED);
    quiet(50);
}
