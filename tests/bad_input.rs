//! Bad input never crashes and changes nothing: each gets its documented code.

mod common;
use common::*;
use socketcore::*;
use std::ffi::CString;
use std::ptr::null;

fn conn_raw(ty: i32, port: i32, addr: &[u8]) -> i32 {
    let mut a = addr.to_vec();
    a.push(0);
    unsafe { sock_conn_ext(ty, port, a.as_ptr().cast(), null(), null()) }
}

#[cfg(not(feature = "tls"))]
#[test]
fn ssl_is_refused_at_once_in_a_build_without_tls() {
    let _s = session();
    let before = unsafe { sock_conn_ext(SOCK_TYPE_TCP, 9, c"127.0.0.1".as_ptr(), null(), null()) };
    assert!(before >= 0);
    assert_eq!(
        conn_raw(SOCK_TYPE_SSL, 443, b"127.0.0.1"),
        -SOCK_ERR_SSL_EINIT
    );
    assert_eq!(
        conn_raw(SOCK_TYPE_SSL, 443, b"example.invalid"),
        -SOCK_ERR_SSL_EINIT
    );
    // Nothing was made: the next id is the one after `before`, and TCP still works.
    let after = unsafe { sock_conn_ext(SOCK_TYPE_TCP, 9, c"127.0.0.1".as_ptr(), null(), null()) };
    assert_eq!(after, before + 1);
    for id in [before, after] {
        assert_eq!(sock_destroy(id), 1);
    }
}

#[test]
fn sock_conn_arguments() {
    let _s = session();
    let ok = b"127.0.0.1";
    for (ty, port, addr) in [
        (3, 80, &ok[..]),
        (-1, 80, ok),
        (99, 80, ok),
        (SOCK_TYPE_TCP, 0, ok),
        (SOCK_TYPE_TCP, 65536, ok),
        (SOCK_TYPE_UDP, -1, ok),
        (SOCK_TYPE_RAW, 0, ok),
        (SOCK_TYPE_RAW, 256, ok),
        (SOCK_TYPE_TCP, 80, b""),
        (SOCK_TYPE_TCP, 80, &[b'a'; 256]),
        (SOCK_TYPE_TCP, 80, b"\xff\xfe\xfd"),
        (SOCK_TYPE_TCP, 80, b"host name"),
        (SOCK_TYPE_TCP, 80, b"line\nbreak"),
    ] {
        assert_eq!(
            conn_raw(ty, port, addr),
            -SOCK_ERR_EARG,
            "{ty} {port} {addr:?}"
        );
    }
    let a = CString::new("127.0.0.1").unwrap();
    assert_eq!(
        unsafe { sock_conn_ext(SOCK_TYPE_TCP, 80, null(), null(), null()) },
        -SOCK_ERR_EARG
    );
    assert_eq!(
        unsafe { sock_conn(SOCK_TYPE_TCP, 0, a.as_ptr(), null()) },
        -1
    );
    assert_eq!(unsafe { sock_conn(SOCK_TYPE_TCP, 80, null(), null()) }, -1);
    // 255 bytes is the longest name accepted (it then fails to resolve).
    let id = conn_raw(SOCK_TYPE_TCP, 80, &[b'a'; 255]);
    assert!(id >= 0);
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_EDNS);
    quiet(20);
}

#[test]
fn conn_opts_arguments() {
    let _s = session();
    let bad: [fn(&mut sock_conn_opts); 9] = [
        |o| o.attempt_delay_ms = SOCK_MIN_ATTEMPT_DELAY_MS - 1,
        |o| o.attempt_delay_ms = SOCK_MAX_ATTEMPT_DELAY_MS + 1,
        |o| o.rcv_buf_size = -1,
        |o| o.snd_buf_size = SOCK_MAX_BUF + 1,
        |o| o.connect_timeout_ms = -1,
        |o| o.local_port = 70000,
        |o| o.max_sends = -3,
        |o| o.tls_verify = 7,
        |o| o.size = 0,
    ];
    for f in bad {
        assert_eq!(conn_opts(SOCK_TYPE_TCP, 80, "127.0.0.1", f), -SOCK_ERR_EARG);
    }
    assert_eq!(
        unsafe { sock_conn_opts_init(std::ptr::null_mut()) },
        -SOCK_ERR_EARG
    );
    quiet(20);
}

#[test]
fn id_based_calls_with_bad_ids() {
    let _s = session();
    let server = tcp_server(1, echo);
    let live = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    let gone = conn(SOCK_TYPE_TCP, closed_port(), "127.0.0.1");
    expect(MSG_SOCK_CONN_CNF, gone, SOCK_ERR_ECONNREFUSED);
    assert_eq!(sock_destroy(gone), 1);
    let mut buf = [0u8; 16];
    let mut st = sock_counters::default();
    for id in [-1, -1000, i32::MIN, i32::MAX, 4096, gone] {
        assert_eq!(send(id, b"x"), 0);
        assert_eq!(
            unsafe { sock_recv(id, buf.as_mut_ptr().cast(), 16) },
            -SOCK_ERR_EBADID
        );
        assert_eq!(sock_close(id), 0);
        assert_eq!(sock_destroy(id), 0);
        assert_eq!(sock_setopt(id, SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE, 1), -1);
        assert_eq!(sock_error(id), SOCK_ERR_EBADID);
        assert_eq!(unsafe { sock_stats(id, &mut st) }, -SOCK_ERR_EBADID);
        assert_eq!(sock_tls_resumed(id), -SOCK_ERR_EBADID);
    }
    // The live socket was not disturbed.
    assert_eq!(send(live, b"still here"), 1);
    expect(MSG_SOCK_SEND_CNF, live, 0);
    assert_eq!(read_stream(live, 10), b"still here");
    server.join_detached();
}

#[test]
fn data_arguments() {
    let _s = session();
    let server = tcp_server(1, echo);
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    let mut buf = [0u8; 16];
    assert_eq!(unsafe { sock_send(id, null(), 5) }, 0);
    assert_eq!(sock_error(id), SOCK_ERR_EARG);
    assert_eq!(unsafe { sock_send(id, buf.as_ptr().cast(), 0) }, 0);
    assert_eq!(sock_error(id), SOCK_ERR_EARG);
    let big = vec![0u8; SOCK_DEFAULT_SND_BUF as usize + 1];
    assert_eq!(send(id, &big), 0);
    assert_eq!(sock_error(id), SOCK_ERR_EARG);
    assert_eq!(unsafe { sock_send(id, buf.as_ptr().cast(), usize::MAX) }, 0);
    assert_eq!(
        unsafe { sock_recv(id, std::ptr::null_mut(), 16) },
        -SOCK_ERR_EARG
    );
    assert_eq!(
        unsafe { sock_recv(id, buf.as_mut_ptr().cast(), 0) },
        -SOCK_ERR_EARG
    );
    assert_eq!(
        unsafe { sock_recv(id, buf.as_mut_ptr().cast(), usize::MAX) },
        -SOCK_ERR_EARG
    );
    let mut m = sock_msg::default();
    assert_eq!(
        unsafe { sock_wait_msg(std::ptr::null_mut(), 0) },
        -SOCK_ERR_EARG
    );
    assert_eq!(unsafe { sock_wait_msg(&mut m, -2) }, -SOCK_ERR_EARG);
    assert_eq!(unsafe { sock_wait_msg(&mut m, i32::MIN) }, -SOCK_ERR_EARG);
    assert_eq!(
        unsafe { sock_stats(id, std::ptr::null_mut()) },
        -SOCK_ERR_EARG
    );
    assert_eq!(
        unsafe { sock_tls_alpn(id, buf.as_mut_ptr().cast(), 16) },
        -SOCK_ERR_EINVAL
    );
    assert_eq!(sock_tls_resumed(id), -SOCK_ERR_EINVAL);
    assert_eq!(sock_set_max_sockets(0), -SOCK_ERR_EARG);
    assert_eq!(
        sock_set_max_sockets(SOCK_MAX_SOCKETS_LIMIT + 1),
        -SOCK_ERR_EARG
    );
    // Nothing above produced a message, and the socket still works.
    quiet(20);
    assert_eq!(send(id, b"ok"), 1);
    expect(MSG_SOCK_SEND_CNF, id, 0);
    assert_eq!(read_stream(id, 2), b"ok");
    server.join_detached();
}

#[test]
fn option_table_and_ranges() {
    let _s = session();
    let server = tcp_server(1, echo);
    let tcp = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    let (uport, uh) = udp_echo(0);
    let udp = connected(SOCK_TYPE_UDP, uport, "127.0.0.1");
    for (level, name, value) in [
        (SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE, 2),
        (SOCK_SOL_SOCKET, SOCK_SO_REUSEADDR, -1),
        (SOCK_SOL_SOCKET, SOCK_SO_RCVBUF, 10),
        (SOCK_SOL_SOCKET, SOCK_SO_SNDBUF, SOCK_MAX_BUF + 1),
        (SOCK_IPPROTO_TCP, SOCK_TCP_KEEPIDLE, 0),
        (SOCK_IPPROTO_TCP, SOCK_TCP_KEEPINTVL, 40000),
        (SOCK_IPPROTO_TCP, SOCK_TCP_KEEPCNT, 128),
        (SOCK_IPPROTO_TCP, SOCK_TCP_USER_TIMEOUT, -1),
        (SOCK_IPPROTO_TCP, SOCK_SO_KEEPALIVE, 1),
        (SOCK_SOL_SOCKET, SOCK_TCP_KEEPIDLE, 1),
        (17, 1, 1),
        (SOCK_SOL_SOCKET, 0x9999, 1),
    ] {
        assert_eq!(
            sock_setopt(tcp, level, name, value),
            -1,
            "{level} {name} {value}"
        );
        assert_eq!(sock_error(tcp), SOCK_ERR_EARG);
    }
    assert_eq!(sock_setopt(udp, SOCK_IPPROTO_TCP, SOCK_TCP_NODELAY, 1), -1);
    assert_eq!(sock_error(udp), SOCK_ERR_EARG);
    assert_eq!(
        sock_setopt(udp, SOCK_IPPROTO_TCP, SOCK_TCP_USER_TIMEOUT, 1),
        -1
    );
    assert_eq!(sock_error(udp), SOCK_ERR_EARG);
    assert_eq!(sock_setopt(udp, SOCK_SOL_SOCKET, SOCK_SO_RCVBUF, 65536), 0);
    for (level, name, value) in [
        (SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE, 1),
        (SOCK_SOL_SOCKET, SOCK_SO_REUSEADDR, 1),
        (SOCK_SOL_SOCKET, SOCK_SO_SNDBUF, 65536),
        (SOCK_IPPROTO_TCP, SOCK_TCP_NODELAY, 1),
        (SOCK_IPPROTO_TCP, SOCK_TCP_KEEPIDLE, 30),
        (SOCK_IPPROTO_TCP, SOCK_TCP_KEEPINTVL, 5),
        (SOCK_IPPROTO_TCP, SOCK_TCP_KEEPCNT, 3),
        (SOCK_IPPROTO_TCP, SOCK_TCP_USER_TIMEOUT, 20_000),
        (SOCK_IPPROTO_TCP, SOCK_TCP_USER_TIMEOUT, 0),
    ] {
        assert_eq!(
            sock_setopt(tcp, level, name, value),
            0,
            "{level} {name} {value}"
        );
    }
    drop(uh);
    server.join_detached();
}

#[test]
fn strerror_and_version_never_fail() {
    for code in [-100, -1, 0, 5, 26, 27, 1000, i32::MIN, i32::MAX] {
        let p = sock_strerror(code);
        assert!(!p.is_null());
        assert!(!unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes().is_empty());
    }
    let v = unsafe { std::ffi::CStr::from_ptr(sock_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}
