//! Diagnostics: the log callback (connects, TLS failures, refusal of calls made from inside
//! it), the reason a TLS connect failed, and a socket's addresses.

mod common;
#[cfg(feature = "tls")]
#[path = "common/pki.rs"]
mod pki;

use common::*;
use parking_lot::Mutex;
use socketcore::*;
use std::ffi::{CStr, c_char, c_int, c_void};

/// Lines the callback received: (level, line).
static LINES: Mutex<Vec<(c_int, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn collect(level: c_int, line: *const c_char, user: *mut c_void) {
    assert_eq!(user as usize, 0x5c, "the user pointer comes back unchanged");
    let text = unsafe { CStr::from_ptr(line) }
        .to_string_lossy()
        .into_owned();
    LINES.lock().push((level, text));
}

fn start_collecting(level: c_int) {
    LINES.lock().clear();
    assert_eq!(
        unsafe { sock_set_log(level, Some(collect), 0x5c as *mut c_void) },
        0
    );
}

fn stop_collecting() -> Vec<(c_int, String)> {
    assert_eq!(
        unsafe { sock_set_log(SOCK_LOG_OFF, None, std::ptr::null_mut()) },
        0
    );
    std::mem::take(&mut *LINES.lock())
}

fn text_of(f: unsafe extern "C" fn(c_int, *mut c_char, usize) -> c_int, id: c_int) -> String {
    let mut buf = [0 as c_char; 256];
    let n = unsafe { f(id, buf.as_mut_ptr(), buf.len()) };
    assert!(n >= 0, "failed: {n}");
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
    assert_eq!(text.len(), n as usize);
    text.to_owned()
}

#[test]
fn levels_outside_the_range_are_refused() {
    let _s = session();
    for level in [-1, 6, 100] {
        assert_eq!(
            unsafe { sock_set_log(level, None, std::ptr::null_mut()) },
            -SOCK_ERR_EARG
        );
    }
}

#[test]
fn a_connect_and_a_refused_connect_are_logged_with_addresses() {
    let _s = session();
    let server = tcp_server(1, echo);
    start_collecting(SOCK_LOG_INFO);
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    let peer = text_of(sock_peer_addr, id);
    let local = text_of(sock_local_addr, id);
    assert_eq!(peer, server.addr.to_string());
    assert!(local.starts_with("127.0.0.1:") && local != peer, "{local}");
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    assert_eq!(
        unsafe { sock_peer_addr(id, [0 as c_char; 64].as_mut_ptr(), 64) },
        -SOCK_ERR_ENOTCONN
    );
    sock_destroy(id);
    server.join();

    let closed = closed_port();
    let id = conn(SOCK_TYPE_TCP, closed, "127.0.0.1");
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_ECONNREFUSED);
    let lines = stop_collecting();
    let want = format!("socketcore: socket {id}: connected to {peer} from {local}");
    assert!(
        lines.iter().any(|(l, t)| *l == SOCK_LOG_INFO && *t == want),
        "no '{want}' in {lines:?}"
    );
    assert!(
        lines.iter().any(|(l, t)| *l == SOCK_LOG_ERROR
            && t.contains(&format!("socket {id}: connect failed: "))
            && t.contains("refused")),
        "no refused connect in {lines:?}"
    );
    // Nothing below the level asked for.
    assert!(lines.iter().all(|(l, _)| *l <= SOCK_LOG_INFO), "{lines:?}");
    // Off means off.
    let id = conn(SOCK_TYPE_TCP, closed, "127.0.0.1");
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_ECONNREFUSED);
    assert!(LINES.lock().is_empty());
}

#[test]
fn address_functions_check_their_arguments() {
    let _s = session();
    let server = tcp_server(1, echo);
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    let mut small = [0 as c_char; 4];
    assert_eq!(
        unsafe { sock_peer_addr(id, small.as_mut_ptr(), small.len()) },
        -SOCK_ERR_EARG
    );
    assert_eq!(
        unsafe { sock_local_addr(id, std::ptr::null_mut(), 64) },
        -SOCK_ERR_EARG
    );
    assert_eq!(
        unsafe { sock_peer_addr(999, small.as_mut_ptr(), small.len()) },
        -SOCK_ERR_EBADID
    );
    assert_eq!(text_of(sock_tls_error_text, id), ""); // not TLS: no reason
    sock_destroy(id);
    server.join();
}

fn global() -> sock_global_counters {
    let mut c = sock_global_counters::default();
    assert_eq!(unsafe { sock_global_stats(&mut c) }, 0);
    c
}

#[test]
fn global_counters_add_up_the_sockets() {
    let _s = session();
    assert_eq!(
        global(),
        sock_global_counters::default(),
        "nothing before the library runs"
    );
    assert_eq!(
        unsafe { sock_global_stats(std::ptr::null_mut()) },
        -SOCK_ERR_EARG
    );
    // Three connections to a server that sends 1000 bytes each and keeps the connection.
    let server = tcp_server(3, |mut s| {
        use std::io::Write;
        s.write_all(&[7u8; 1000]).unwrap();
        let _ = std::io::Read::read(&mut s, &mut [0u8; 1]);
    });
    let ids: Vec<c_int> = (0..3)
        .map(|_| conn(SOCK_TYPE_TCP, server.port, "127.0.0.1"))
        .collect();
    let (mut connected, mut announced) = (0, 0);
    while connected < 3 || announced < 3 {
        let m = next();
        assert!(
            ids.contains(&m.socket_index) && m.result == SOCK_ERR_OK,
            "{m:?}"
        );
        match m.id {
            MSG_SOCK_CONN_CNF => connected += 1,
            MSG_SOCK_RECV_IND => announced += 1,
            _ => panic!("unexpected {m:?}"),
        }
    }
    // Each RECV_IND may have announced part of the 1000 bytes: wait until all have arrived.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while global().recv_buffered < 3000 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let c = global();
    assert_eq!(c.sockets, 3);
    assert_eq!(c.recv_buffered, 3000);
    assert_eq!(c.send_queued, 0);
    assert!(c.messages_high_water >= 1, "{c:?}");
    assert_eq!(recv(ids[0], 4096).len(), 1000);
    assert_eq!(global().recv_buffered, 2000);
    for id in ids {
        sock_destroy(id);
    }
    let c = global();
    assert_eq!(
        (c.sockets, c.recv_buffered, c.messages_pending),
        (0, 0, 0),
        "{c:?}"
    );
    server.join_detached();
}

static SEND_FROM_CALLBACK: Mutex<Option<(c_int, c_int, c_int)>> = Mutex::new(None);

unsafe extern "C" fn calls_back_in(level: c_int, line: *const c_char, user: *mut c_void) {
    let id = user as usize as c_int;
    let text = unsafe { CStr::from_ptr(line) }
        .to_string_lossy()
        .into_owned();
    let mut first = SEND_FROM_CALLBACK.lock();
    if first.is_none() && text.contains("connected to") {
        let sent = unsafe { sock_send(id, b"x".as_ptr().cast(), 1) };
        let closed = sock_close(id);
        let err = sock_error(id);
        *first = Some((sent, closed, err));
    }
    LINES.lock().push((level, text));
}

#[test]
fn a_callback_calling_the_api_is_refused_not_deadlocked() {
    let _s = session();
    let server = tcp_server(1, echo);
    *SEND_FROM_CALLBACK.lock() = None;
    LINES.lock().clear();
    // The id the next connect gets: the lowest free one, 0 in a fresh session.
    assert_eq!(
        unsafe { sock_set_log(SOCK_LOG_INFO, Some(calls_back_in), std::ptr::null_mut()) },
        0
    );
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    assert_eq!(id, 0);
    let refused = SEND_FROM_CALLBACK.lock().expect("the callback ran");
    assert_eq!(
        refused,
        (0, 0, SOCK_ERR_EPANIC),
        "calls inside the callback are refused"
    );
    let lines = stop_collecting();
    assert!(
        lines.iter().any(|(l, t)| *l == SOCK_LOG_WARN
            && t.contains("the log callback called a socketcore function: refused")),
        "{lines:?}"
    );
    // The socket is untouched by the refused calls: it still works.
    assert_eq!(send(id, b"still here"), 1);
    expect(MSG_SOCK_SEND_CNF, id, SOCK_ERR_OK);
    expect(MSG_SOCK_RECV_IND, id, SOCK_ERR_OK);
    assert_eq!(recv(id, 64), b"still here");
    sock_destroy(id);
    server.join();
}

#[cfg(feature = "tls")]
#[test]
fn each_certificate_failure_reports_its_own_reason_and_is_logged() {
    use pki::*;
    use rustls::version::TLS13;
    use std::io::Read;
    let _s = session();
    let ca = Ca::new("test CA");
    let stranger = Ca::new("other CA");
    let good = ca.leaf(&["localhost"], false, false);
    let expired = ca.leaf(&["localhost"], false, true);
    let other_name = ca.leaf(&["elsewhere.example"], false, false);
    let cases = [
        (&good, &stranger.pem, "UnknownIssuer"),
        (&expired, &ca.pem, "certificate expired"),
        (&other_name, &ca.pem, "not valid for name \"localhost\""),
    ];
    start_collecting(SOCK_LOG_DEBUG);
    for (leaf, trust, reason) in cases {
        let cfg = server_config(leaf, None, &[&TLS13], &[]);
        let server = tcp_server(1, move |tcp| {
            let _ = accept(&cfg, tcp).read(&mut [0u8; 16]);
        });
        let cert = Cert::new(Some("localhost"), Some(trust), None, None);
        let id = tls_conn(server.port, "127.0.0.1", &cert, |_| {});
        expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_SSL_ECERT);
        let text = text_of(sock_tls_error_text, id);
        assert!(text.contains(reason), "{reason}: {text}");
        let mut tiny = [0 as c_char; 8];
        assert_eq!(
            unsafe { sock_tls_error_text(id, tiny.as_mut_ptr(), tiny.len()) },
            -SOCK_ERR_EARG
        );
        let lines = LINES.lock().clone();
        assert!(
            lines.iter().any(|(l, t)| *l == SOCK_LOG_ERROR
                && t.contains(&format!("socket {id}: connect failed: "))
                && t.contains(reason)),
            "no failure with {reason} in {lines:?}"
        );
        sock_destroy(id);
        server.join();
    }
    // A good certificate: no reason, and the version and suite are told.
    let cfg = server_config(&good, None, &[&TLS13], &[]);
    let server = tcp_server(1, move |tcp| {
        let mut tls = accept(&cfg, tcp);
        let _ = tls.read(&mut [0u8; 16]);
    });
    let cert = Cert::new(Some("localhost"), Some(&ca.pem), None, None);
    let id = tls_conn(server.port, "127.0.0.1", &cert, |_| {});
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_OK);
    assert_eq!(text_of(sock_tls_error_text, id), "");
    let info = text_of(sock_tls_info, id);
    assert!(info.starts_with("TLSv1_3 TLS13_"), "{info}");
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    assert_eq!(
        unsafe { sock_tls_info(id, [0 as c_char; 64].as_mut_ptr(), 64) },
        -SOCK_ERR_EINVAL,
        "closed: no TLS session any more"
    );
    sock_destroy(id);
    server.join();

    let lines = stop_collecting();
    assert!(
        lines
            .iter()
            .any(|(l, t)| *l == SOCK_LOG_INFO && t.ends_with(&info)),
        "the connect line names {info}: {lines:?}"
    );
    // rustls' own lines come through the same callback.
    assert!(
        lines.iter().any(|(_, t)| t.starts_with("rustls::")),
        "no rustls line in {lines:?}"
    );
}
