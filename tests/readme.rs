//! The README's error table must say what the library says.

#[test]
fn error_table_matches_the_library() {
    let readme = include_str!("../README.md");
    let mut rows = 0;
    for line in readme.lines() {
        let Some(rest) = line.strip_prefix("| `SOCK_ERR_") else {
            continue;
        };
        let cells: Vec<&str> = rest.split('|').map(str::trim).collect();
        let value: i32 = cells[1].parse().expect("a numeric value column");
        let text = unsafe { std::ffi::CStr::from_ptr(socketcore::sock_strerror(value)) };
        assert_eq!(
            cells[2],
            text.to_str().unwrap(),
            "README row for code {value}"
        );
        assert_eq!(value, rows, "rows are in numeric order without gaps");
        rows += 1;
    }
    assert_eq!(rows, 27);
}

/// What one call returned, as the Faults table writes it.
#[derive(Debug, PartialEq)]
enum Returned {
    Int(i32),
    Text(String),
    Nothing,
}

/// Every exported function, called with harmless arguments; what each returned.
fn call_every_function() -> Vec<(&'static str, Returned)> {
    use Returned::*;
    use socketcore::*;
    use std::ffi::{CStr, c_char};
    use std::ptr::{null, null_mut};
    let mut buf = [0 as c_char; 64];
    let (b, n) = (buf.as_mut_ptr(), buf.len());
    let mut opts: sock_conn_opts = unsafe { std::mem::zeroed() };
    let mut msg = sock_msg::default();
    let mut counters: sock_counters = unsafe { std::mem::zeroed() };
    let mut global: sock_global_counters = unsafe { std::mem::zeroed() };
    let text = |p: *const c_char| Text(unsafe { CStr::from_ptr(p) }.to_string_lossy().into());
    let a = c"127.0.0.1".as_ptr();
    unsafe {
        vec![
            ("sock_conn", Int(sock_conn(SOCK_TYPE_TCP, 9, a, null()))),
            (
                "sock_conn_ext",
                Int(sock_conn_ext(SOCK_TYPE_TCP, 9, a, null(), null())),
            ),
            ("sock_conn_opts_init", Int(sock_conn_opts_init(&mut opts))),
            ("sock_send", Int(sock_send(0, b"x".as_ptr().cast(), 1))),
            ("sock_recv", Int(sock_recv(0, b.cast(), n))),
            ("sock_close", Int(sock_close(0))),
            ("sock_destroy", Int(sock_destroy(0))),
            (
                "sock_setopt",
                Int(sock_setopt(0, SOCK_SOL_SOCKET, SOCK_SO_KEEPALIVE, 1)),
            ),
            ("sock_error", Int(sock_error(0))),
            ("sock_wait_msg", Int(sock_wait_msg(&mut msg, 0))),
            ("sock_timer_start", Int(sock_timer_start(1, 1000))),
            ("sock_timer_stop", Int(sock_timer_stop(1))),
            ("sock_set_compat", Int(sock_set_compat(0))),
            ("sock_msg_fd", Int(sock_msg_fd())),
            ("sock_stats", Int(sock_stats(0, &mut counters))),
            ("sock_set_max_sockets", Int(sock_set_max_sockets(8))),
            ("sock_tls_alpn", Int(sock_tls_alpn(0, b, n))),
            ("sock_tls_resumed", Int(sock_tls_resumed(0))),
            ("sock_strerror", text(sock_strerror(0))),
            ("sock_version", text(sock_version())),
            ("sock_shutdown", {
                sock_shutdown();
                Nothing
            }),
            (
                "sock_set_log",
                Int(sock_set_log(SOCK_LOG_OFF, None, null_mut())),
            ),
            ("sock_tls_error_text", Int(sock_tls_error_text(0, b, n))),
            ("sock_peer_addr", Int(sock_peer_addr(0, b, n))),
            ("sock_local_addr", Int(sock_local_addr(0, b, n))),
            ("sock_tls_info", Int(sock_tls_info(0, b, n))),
            ("sock_global_stats", Int(sock_global_stats(&mut global))),
        ]
    }
}

static FROM_CALLBACK: std::sync::Mutex<Option<Vec<(&str, Returned)>>> = std::sync::Mutex::new(None);

unsafe extern "C" fn call_back_in(_: i32, _: *const std::ffi::c_char, _: *mut std::ffi::c_void) {
    let mut results = FROM_CALLBACK.lock().unwrap();
    if results.is_none() {
        *results = Some(call_every_function());
    }
}

/// The Faults table: every function of the header in one row, and the value of that row is
/// what the function returns when refused. A call from inside the log callback is refused
/// through the same guard, with the same value, as a caught panic, so the test makes those.
#[test]
fn fault_table_matches_the_library() {
    use socketcore::*;
    let readme = include_str!("../README.md");
    let header = include_str!("../include/socketcore.h");
    let rows: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| return shape | functions | after a fault |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    let mut expected = std::collections::BTreeMap::new();
    for row in &rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let value = match cells[3].split('`').nth(1).unwrap_or(cells[3]) {
            "-SOCK_ERR_EPANIC" => Some(Returned::Int(-SOCK_ERR_EPANIC)),
            "SOCK_ERR_EPANIC" => Some(Returned::Int(SOCK_ERR_EPANIC)),
            "0" => Some(Returned::Int(0)),
            "-1" => Some(Returned::Int(-1)),
            "\"internal fault\"" => Some(Returned::Text("internal fault".into())),
            "nothing" => Some(Returned::Nothing),
            v if v.starts_with("not guarded") => None, // they run as usual
            other => panic!("unknown value {other:?} in {row}"),
        };
        for name in cells[2].split('`').filter(|w| w.starts_with("sock_")) {
            let value = value.as_ref().map(|v| format!("{v:?}"));
            assert!(expected.insert(name, value).is_none(), "{name} twice");
        }
    }
    let declared: std::collections::BTreeSet<&str> = header
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#'))
        .filter_map(|l| l.split_once('(')?.0.rsplit([' ', '*']).next())
        .filter(|name| name.starts_with("sock_"))
        .collect();
    let listed: std::collections::BTreeSet<&str> = expected.keys().copied().collect();
    assert_eq!(declared, listed, "the header's functions and the table's");

    *FROM_CALLBACK.lock().unwrap() = None;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_eq!(
        unsafe { sock_set_log(SOCK_LOG_DEBUG, Some(call_back_in), std::ptr::null_mut()) },
        0
    );
    // A refused connect is logged (by whichever thread handles it) and so calls back.
    let addr = c"127.0.0.1".as_ptr();
    let id = unsafe { sock_conn(SOCK_TYPE_TCP, port as i32, addr, std::ptr::null()) };
    assert!(id >= 0);
    let mut msg = sock_msg::default();
    while unsafe { sock_wait_msg(&mut msg, 5000) } == 1 && msg.id != MSG_SOCK_CONN_CNF {}
    assert_eq!(
        msg.id, MSG_SOCK_CONN_CNF,
        "the connect ends (the callback's sock_shutdown was refused)"
    );
    unsafe { sock_set_log(SOCK_LOG_OFF, None, std::ptr::null_mut()) };
    let results = FROM_CALLBACK
        .lock()
        .unwrap()
        .take()
        .expect("the callback ran");
    for (name, returned) in results {
        match &expected[name] {
            Some(value) => assert_eq!(&format!("{returned:?}"), value, "{name}"),
            None if name == "sock_version" => {
                assert_eq!(returned, Returned::Text(env!("CARGO_PKG_VERSION").into()))
            }
            None => assert_eq!(returned, Returned::Int(0), "{name} ran"),
        }
    }
    sock_destroy(id);
    sock_shutdown();
}
