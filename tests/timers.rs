//! Application timers: `sock_timer_start` / `sock_timer_stop` and their `MSG_TIMER` messages,
//! which share the ring (and `sock_wait_msg`) with socket messages, as the firmware's rtos
//! timers share `rtos.receive`.

mod common;
use common::*;
use socketcore::*;
use std::time::{Duration, Instant};

/// Waits (bounded) until the ring holds `n` messages, without taking any.
fn until_pending(n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while socketcore::introspect::snapshot().map_or(0, |s| s.0) < n {
        assert!(Instant::now() < deadline, "ring never held {n} messages");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn expect_timer(id: i32) -> sock_msg {
    expect(MSG_TIMER, id, SOCK_ERR_OK)
}

#[test]
fn a_timer_fires_once_and_not_before_its_time() {
    let _s = session();
    let t0 = Instant::now();
    assert_eq!(sock_timer_start(7, 60), 1);
    let m = expect_timer(7);
    assert_eq!((m.recv_len, m.send_len), (0, 0));
    assert!(t0.elapsed() >= Duration::from_millis(60), "fired early");
    quiet(200);
    assert_eq!(
        sock_timer_stop(7),
        0,
        "an expiry that was taken ends the timer"
    );
}

#[test]
fn timers_come_in_deadline_order_among_socket_messages() {
    let _s = session();
    let server = tcp_server(1, echo);
    assert_eq!(sock_timer_start(1, 150), 1);
    assert_eq!(sock_timer_start(2, 30), 1);
    assert_eq!(sock_timer_start(3, 90), 1);
    let id = conn(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    let mut timers = vec![];
    let mut conn_cnf = 0;
    while timers.len() < 3 {
        let m = next();
        match m.id {
            MSG_TIMER => timers.push(m.socket_index),
            MSG_SOCK_CONN_CNF => {
                assert_eq!((m.socket_index, m.result), (id, SOCK_ERR_OK));
                conn_cnf += 1;
            }
            _ => panic!("unexpected {m:?}"),
        }
    }
    assert_eq!(timers, vec![2, 3, 1]);
    assert_eq!(conn_cnf, 1);
    sock_destroy(id);
    server.join_detached();
}

#[test]
fn stop_before_expiry_delivers_nothing() {
    let _s = session();
    assert_eq!(sock_timer_start(5, 40), 1);
    assert_eq!(sock_timer_stop(5), 1);
    assert_eq!(sock_timer_stop(5), 0, "nothing left to stop");
    quiet(150);
}

#[test]
fn stop_after_expiry_removes_the_message_still_in_the_ring() {
    let _s = session();
    assert_eq!(sock_timer_start(6, 0), 1);
    until_pending(1);
    assert_eq!(
        sock_timer_stop(6),
        1,
        "the pending expiry counts as a running timer"
    );
    quiet(100);
}

#[test]
fn restarting_replaces_the_running_timer_and_its_pending_expiry() {
    let _s = session();
    assert_eq!(sock_timer_start(8, 30), 1);
    let t0 = Instant::now();
    assert_eq!(sock_timer_start(8, 200), 1);
    expect_timer(8);
    assert!(
        t0.elapsed() >= Duration::from_millis(200),
        "the first arming fired"
    );
    quiet(100);

    assert_eq!(sock_timer_start(9, 0), 1);
    until_pending(1);
    let t1 = Instant::now();
    assert_eq!(sock_timer_start(9, 60), 1);
    assert_eq!(
        socketcore::introspect::snapshot().unwrap().0,
        0,
        "old expiry removed"
    );
    expect_timer(9);
    assert!(t1.elapsed() >= Duration::from_millis(60));
    quiet(100);
}

#[test]
fn bad_arguments_are_refused() {
    let _s = session();
    assert_eq!(sock_timer_start(-1, 10), -SOCK_ERR_EARG);
    assert_eq!(sock_timer_start(1, -5), -SOCK_ERR_EARG);
    assert_eq!(sock_timer_stop(-1), -SOCK_ERR_EARG);
    assert_eq!(sock_timer_stop(12345), 0);
    assert_eq!(
        sock_timer_start(i32::MAX, i32::MAX),
        1,
        "the largest id and delay"
    );
    assert_eq!(sock_timer_stop(i32::MAX), 1);
    quiet(20);
}

#[test]
fn the_number_of_timers_is_bounded() {
    let _s = session();
    for id in 0..SOCK_MAX_TIMERS {
        assert_eq!(sock_timer_start(id, 60_000), 1);
    }
    assert_eq!(sock_timer_start(SOCK_MAX_TIMERS, 10), -SOCK_ERR_ENOBUFS);
    assert_eq!(
        sock_timer_start(0, 10),
        1,
        "restarting an existing timer is allowed"
    );
    expect_timer(0);
    assert_eq!(
        sock_timer_start(SOCK_MAX_TIMERS, 10),
        1,
        "its slot is free again"
    );
    expect_timer(SOCK_MAX_TIMERS);
    for id in 1..SOCK_MAX_TIMERS {
        assert_eq!(sock_timer_stop(id), 1);
    }
    assert_eq!(socketcore::introspect::timers().unwrap().0, 0);
}

#[test]
fn start_stop_churn_keeps_the_deadline_heap_bounded() {
    let _s = session();
    for round in 0..50_000 {
        assert_eq!(sock_timer_start(1 + round % 3, 60_000), 1);
        assert_eq!(sock_timer_stop(1 + round % 3), 1);
    }
    let (armed, heap) = socketcore::introspect::timers().unwrap();
    assert_eq!(armed, 0);
    assert!(heap <= 512, "stale deadlines piled up: {heap}");
}

/// A connect that ends before its deadline takes the deadline out of the heap (in batches):
/// one connect after another leaves at most a batch of stale deadlines, not one per connect
/// until the 30 s connect timeout.
#[test]
fn connect_deadlines_leave_the_heap_once_connected() {
    const CONNECTS: usize = 1000;
    let _s = session();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = std::thread::spawn(move || listener.incoming().take(CONNECTS).for_each(drop));
    for _ in 0..CONNECTS {
        let id = connected(SOCK_TYPE_TCP, port, "127.0.0.1");
        assert_eq!(sock_destroy(id), 1);
    }
    let (_, heap) = socketcore::introspect::timers().unwrap();
    assert!(heap <= 64, "stale connect deadlines piled up: {heap}");
    acceptor.join().unwrap();
}

#[test]
fn destroying_a_socket_spares_the_timer_with_the_same_number() {
    let _s = session();
    let server = tcp_server(1, echo);
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    assert_eq!(sock_timer_start(id, 0), 1);
    until_pending(1);
    assert_eq!(sock_destroy(id), 1);
    expect_timer(id);
    server.join_detached();
}

#[test]
fn shutdown_cancels_every_timer() {
    let _s = session();
    assert_eq!(sock_timer_start(1, 50), 1);
    sock_shutdown();
    quiet(200);
    assert_eq!(sock_timer_stop(1), 0);
}

#[test]
fn many_waiters_get_each_expiry_exactly_once() {
    let _s = session();
    let count = 300;
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                let mut got = vec![];
                while let Some(m) = wait(500) {
                    assert_eq!(m.id, MSG_TIMER);
                    got.push(m.socket_index);
                }
                got
            })
        })
        .collect();
    for id in 0..count {
        assert_eq!(sock_timer_start(id, (id * 7) % 120), 1);
    }
    let mut all: Vec<i32> = waiters
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..count).collect::<Vec<_>>());
}
