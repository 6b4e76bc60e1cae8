//! `sock_set_compat`: the firmware's replies to refused calls (a CLOSE_CNF for every
//! `sock_close`, a failed SEND_CNF for a refused `sock_send`), which the Lua module turns on,
//! and the strict default that posts nothing.

mod common;
use common::*;
use socketcore::*;

/// A socket whose connect failed (refused port), destroyed as the firmware's Lua library does.
fn failed_and_destroyed() -> i32 {
    let id = conn(SOCK_TYPE_TCP, closed_port(), "127.0.0.1");
    assert!(id >= 0);
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_ECONNREFUSED);
    assert_eq!(sock_destroy(id), 1);
    id
}

#[test]
fn by_default_refused_calls_post_nothing() {
    let _s = session();
    let id = failed_and_destroyed();
    assert_eq!(sock_close(id), 0);
    assert_eq!(send(id, b"x"), 0);
    quiet(100);
}

#[test]
fn flags_are_checked_and_the_previous_ones_returned() {
    let _s = session();
    assert_eq!(sock_set_compat(SOCK_COMPAT_CLOSE_CNF), 0);
    assert_eq!(sock_set_compat(SOCK_COMPAT_FIRMWARE), SOCK_COMPAT_CLOSE_CNF);
    assert_eq!(sock_set_compat(8), -SOCK_ERR_EARG);
    assert_eq!(sock_set_compat(-1), -SOCK_ERR_EARG);
    assert_eq!(
        sock_set_compat(0),
        SOCK_COMPAT_FIRMWARE,
        "a refused change keeps the flags"
    );
}

#[test]
fn close_after_destroy_yields_one_close_cnf_per_call() {
    let _s = session();
    sock_set_compat(SOCK_COMPAT_CLOSE_CNF);
    let id = failed_and_destroyed();
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    assert_eq!(sock_close(-1), 0, "no reply for an id that cannot exist");
    assert_eq!(sock_close(SOCK_MAX_SOCKETS_LIMIT), 0);
    quiet(100);
}

#[test]
fn a_second_close_is_answered_too() {
    let _s = session();
    sock_set_compat(SOCK_COMPAT_CLOSE_CNF);
    let server = tcp_server(1, echo);
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    assert_eq!(sock_close(id), 1);
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    expect(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    assert_eq!(
        sock_error(id),
        SOCK_ERR_EALREADY,
        "the refusal is still recorded"
    );
    quiet(100);
    sock_destroy(id);
    server.join_detached();
}

#[test]
fn a_refused_send_yields_a_failed_send_cnf_with_its_code() {
    let _s = session();
    sock_set_compat(SOCK_COMPAT_SEND_CNF);
    let server = tcp_server(1, echo);
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    assert_eq!(send(id, b""), 0);
    let m = expect(MSG_SOCK_SEND_CNF, id, SOCK_ERR_EARG);
    assert_eq!(m.send_len, 0);
    assert_eq!(sock_close(id), 1);
    assert_eq!(send(id, b"late"), 0);
    // The reply comes at once; the close's own CLOSE_CNF may come before or after it.
    let mut got = [next(), next()];
    got.sort_by_key(|m| m.id);
    assert_eq!(
        got.iter()
            .map(|m| (m.id, m.socket_index, m.result))
            .collect::<Vec<_>>(),
        vec![
            (MSG_SOCK_SEND_CNF, id, SOCK_ERR_ENOTCONN),
            (MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK)
        ]
    );
    assert_eq!(sock_destroy(id), 1);
    assert_eq!(send(id, b"gone"), 0);
    expect(MSG_SOCK_SEND_CNF, id, SOCK_ERR_EBADID);
    quiet(100);
    server.join_detached();
}

#[test]
fn destroy_discards_pending_replies() {
    let _s = session();
    sock_set_compat(SOCK_COMPAT_FIRMWARE);
    let server = tcp_server(1, echo);
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    assert_eq!(send(id, b""), 0);
    assert_eq!(sock_destroy(id), 1);
    quiet(100);
    server.join_detached();
}

#[test]
fn replies_in_the_ring_are_bounded() {
    let _s = session();
    sock_set_compat(SOCK_COMPAT_CLOSE_CNF);
    for _ in 0..SOCK_MAX_COMPAT_REPLIES {
        assert_eq!(sock_close(77), 1);
    }
    assert_eq!(
        sock_close(77),
        0,
        "past the bound a refused close gets no reply"
    );
    let mut n = 0;
    while let Some(m) = wait(100) {
        assert_eq!((m.id, m.socket_index), (MSG_SOCK_CLOSE_CNF, 77));
        n += 1;
    }
    assert_eq!(n, SOCK_MAX_COMPAT_REPLIES);
    assert_eq!(sock_close(77), 1, "room again once they are taken");
    expect(MSG_SOCK_CLOSE_CNF, 77, SOCK_ERR_OK);
}

#[test]
fn close_ind_ends_sending_only_with_its_flag() {
    let _s = session();
    let server = tcp_server(2, drop); // each connection is closed at once (FIN)
    for flags in [0, SOCK_COMPAT_CLOSE_IND | SOCK_COMPAT_SEND_CNF] {
        sock_set_compat(flags);
        let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
        expect(MSG_SOCK_CLOSE_IND, id, SOCK_ERR_OK);
        if flags == 0 {
            assert_eq!(send(id, b"half-closed"), 1, "our direction stays open");
            assert_eq!(next().id, MSG_SOCK_SEND_CNF);
        } else {
            assert_eq!(send(id, b"after CLOSE_IND"), 0);
            assert_eq!(sock_error(id), SOCK_ERR_ECLSD);
            expect(MSG_SOCK_SEND_CNF, id, SOCK_ERR_ECLSD);
        }
        assert_eq!(sock_close(id), 1);
        expect(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
        assert_eq!(sock_destroy(id), 1);
    }
    server.join();
}
