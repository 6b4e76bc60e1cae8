//! Limits, timeouts, shutdown and restart, the message descriptor, and several waiters.

mod common;
use common::*;
use socketcore::*;
use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[test]
fn socket_limit_gives_enobufs_and_frees_on_destroy() {
    let _s = session();
    assert_eq!(sock_set_max_sockets(2), 0);
    let port = closed_port();
    let a = conn(SOCK_TYPE_TCP, port, "127.0.0.1");
    let b = conn(SOCK_TYPE_TCP, port, "127.0.0.1");
    assert_eq!((a, b), (0, 1));
    assert_eq!(conn(SOCK_TYPE_TCP, port, "127.0.0.1"), -SOCK_ERR_ENOBUFS);
    let c = CStringArg::new("127.0.0.1");
    assert_eq!(
        unsafe { sock_conn(SOCK_TYPE_TCP, port as i32, c.ptr(), std::ptr::null()) },
        -1
    );
    assert_eq!(sock_destroy(a), 1);
    assert_eq!(conn(SOCK_TYPE_TCP, port, "127.0.0.1"), 0);
}

struct CStringArg(std::ffi::CString);
impl CStringArg {
    fn new(s: &str) -> Self {
        CStringArg(std::ffi::CString::new(s).unwrap())
    }
    fn ptr(&self) -> *const std::ffi::c_char {
        self.0.as_ptr()
    }
}

#[test]
fn connect_to_a_full_backlog_times_out() {
    let _s = session();
    // A listener with a backlog of 0 that never accepts: one connection fills its queue and
    // the kernel drops the next SYNs, so that connect hangs.
    let listener =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    listener
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = vec![];
    for _ in 0..4 {
        if let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            fillers.push(s);
        }
    }
    let started = Instant::now();
    let id = conn_opts(SOCK_TYPE_TCP, addr.port(), "127.0.0.1", |o| {
        o.connect_timeout_ms = 300
    });
    assert_eq!(send(id, b"early"), 0, "a send while connecting is refused");
    assert_eq!(sock_error(id), SOCK_ERR_ENOTCONN);
    expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_ETIMEOUT);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(sock_error(id), SOCK_ERR_ETIMEOUT);
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    drop(listener);
}

#[test]
fn shutdown_and_restart_leaks_no_threads_or_descriptors() {
    let _s = session();
    let server = tcp_server(usize::MAX, echo);
    // Warm up once so that lazily made process-wide things exist before the baseline.
    let id = connected(SOCK_TYPE_TCP, server.port, "localhost");
    sock_destroy(id);
    sock_shutdown();
    std::thread::sleep(Duration::from_millis(100));
    let (threads, fds) = (thread_count(), fd_count());
    let cycles = 1000;
    for i in 0..cycles {
        let a = conn(SOCK_TYPE_TCP, server.port, "127.0.0.1");
        let b = conn(SOCK_TYPE_UDP, server.port, "localhost");
        assert!(a >= 0 && b >= 0);
        if i % 2 == 0 {
            // Both CONN_CNFs come, in either order.
            let mut seen = [next(), next()];
            seen.sort_by_key(|m| m.socket_index);
            assert_eq!(
                (seen[0].id, seen[0].socket_index, seen[0].result),
                (MSG_SOCK_CONN_CNF, a, 0)
            );
            assert_eq!((seen[1].id, seen[1].socket_index), (MSG_SOCK_CONN_CNF, b));
            assert_eq!(send(a, b"bye"), 1);
        }
        assert!(sock_msg_fd() >= 0);
        sock_shutdown();
    }
    std::thread::sleep(Duration::from_millis(300)); // echo threads see their peers close
    assert_eq!(fd_count(), fds, "descriptors leaked over {cycles} cycles");
    assert!(
        thread_count() <= threads + 1,
        "threads leaked: {} > {threads}",
        thread_count()
    );
    server.join_detached();
}

/// A thread that has made calls does not keep a stopped instance: `sock_shutdown` on another
/// thread closes every descriptor while the first thread lives on, and that thread's next
/// call finds the new instance (ids from 0 again, the old id unknown).
#[test]
fn shutdown_on_another_thread_frees_what_a_caller_thread_found() {
    let _s = session();
    let server = tcp_server(usize::MAX, echo);
    let warm = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    sock_destroy(warm);
    sock_shutdown();
    std::thread::sleep(Duration::from_millis(100));
    let fds = fd_count();
    let (to_caller, calls) = std::sync::mpsc::channel::<i32>();
    let (to_main, answers) = std::sync::mpsc::channel::<i32>();
    let port = server.port;
    let caller = std::thread::spawn(move || {
        for step in calls {
            let answer = match step {
                0 => connected(SOCK_TYPE_TCP, port, "127.0.0.1"),
                1 => send(0, b"ping"),
                2 => sock_error(0),
                _ => sock_destroy(0),
            };
            to_main.send(answer).unwrap();
        }
    });
    let ask = |step| {
        to_caller.send(step).unwrap();
        answers.recv_timeout(Duration::from_secs(10)).unwrap()
    };
    assert_eq!(ask(0), 0, "the caller's socket");
    assert_eq!(ask(1), 1);
    expect(MSG_SOCK_SEND_CNF, 0, 0);
    expect(MSG_SOCK_RECV_IND, 0, 0);
    sock_shutdown();
    // The echo server's end closes once it reads the end: give it up to 2 s.
    let settled = |want: usize| {
        for _ in 0..200 {
            if fd_count() == want {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        fd_count()
    };
    assert_eq!(settled(fds), fds, "descriptors open after shutdown");
    assert_eq!(
        ask(2),
        SOCK_ERR_EBADID,
        "the old socket is gone for the caller too"
    );
    assert_eq!(ask(0), 0, "a new instance, ids from 0");
    assert_eq!(ask(2), SOCK_ERR_OK);
    assert_eq!(ask(3), 1);
    // Both ends closed before the next test counts its own descriptors.
    assert_eq!(
        settled(fds + 4),
        fds + 4,
        "the new instance's own four stay (epoll and its duplicate, the waker, the alarm)"
    );
    drop(to_caller);
    caller.join().unwrap();
    server.join_detached();
}

/// A socket found by one thread and then destroyed by another, its id taken by a new socket:
/// the first thread's next calls on that id reach the new socket, not the one it found.
#[test]
fn an_id_reused_on_another_thread_reaches_the_new_socket() {
    let _s = session();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for round in 0..20 {
        let (id, mut old_peer, _) = connected_to(&listener);
        assert_eq!(send(id, b"old"), 1, "this thread finds the first socket");
        expect(MSG_SOCK_SEND_CNF, id, 0);
        let again = std::thread::spawn(move || {
            assert_eq!(sock_destroy(id), 1);
            conn(SOCK_TYPE_TCP, port, "127.0.0.1")
        })
        .join()
        .unwrap();
        assert_eq!(again, id, "round {round}: the id is reused");
        let (mut new_peer, _) = listener.accept().unwrap();
        expect(MSG_SOCK_CONN_CNF, id, 0);
        assert_eq!(send(id, b"new"), 1, "round {round}: the new socket is open");
        expect(MSG_SOCK_SEND_CNF, id, 0);
        let mut got = [0u8; 3];
        new_peer
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        std::io::Read::read_exact(&mut new_peer, &mut got).unwrap();
        assert_eq!(&got, b"new", "round {round}");
        let mut old = vec![];
        old_peer
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        std::io::Read::read_to_end(&mut old_peer, &mut old).unwrap();
        assert_eq!(
            old, b"old",
            "round {round}: the old connection got only its own bytes"
        );
        assert_eq!(sock_destroy(id), 1);
    }
}

#[test]
fn shutdown_wakes_waiters_with_eclsd() {
    let _s = session();
    let _ = sock_msg_fd(); // start the instance
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(|| {
                let mut m = sock_msg::default();
                unsafe { sock_wait_msg(&mut m, -1) }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    sock_shutdown();
    for w in waiters {
        assert_eq!(w.join().unwrap(), -SOCK_ERR_ECLSD);
    }
}

#[test]
fn msg_fd_is_readable_exactly_while_messages_are_pending() {
    let _s = session();
    let fd = sock_msg_fd();
    assert!(fd >= 0);
    let readable = |ms| {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        unsafe { libc::poll(&mut p, 1, ms) == 1 }
    };
    assert!(!readable(0));
    let id = conn(SOCK_TYPE_TCP, closed_port(), "127.0.0.1");
    assert!(readable(5000));
    let m = wait(0).unwrap();
    assert_eq!((m.id, m.socket_index), (MSG_SOCK_CONN_CNF, id));
    assert!(!readable(50));
    assert_eq!(sock_msg_fd(), fd);
}

#[test]
fn after_the_last_blocking_waiter_leaves_the_poll_thread_drives_the_sockets() {
    // `connected` waits in sock_wait_msg, so that thread polled epoll itself and the poll
    // thread stepped aside. From here on nobody blocks in sock_wait_msg: only the message
    // descriptor is watched, so the echo's bytes can only be read by the poll thread taking
    // over again.
    let _s = session();
    let server = tcp_server(1, echo);
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    let fd = sock_msg_fd();
    let data = pattern(3000, 7);
    assert_eq!(send(id, &data), 1);
    let mut got = Vec::new();
    let mut kinds = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < data.len() && Instant::now() < deadline {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        if unsafe { libc::poll(&mut p, 1, 100) } != 1 {
            continue;
        }
        while let Some(m) = wait(0) {
            kinds.push(m.id);
            if m.id == MSG_SOCK_RECV_IND {
                got.extend(recv(id, 65536));
            }
        }
    }
    assert_eq!(got, data, "messages seen: {kinds:?}");
    assert!(kinds.contains(&MSG_SOCK_SEND_CNF));
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    server.join();
}

/// The /proc status of the library's poll thread, if it was started.
fn poll_thread_status() -> Option<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .map(|task| std::fs::read_to_string(task.path().join("status")).unwrap_or_default())
        .find(|status| status.lines().any(|l| l == "Name:\tsocketcore-poll"))
}

/// Voluntary context switches of the library's poll thread so far (each wake-up is one); 0
/// while it is not started (it starts the first time it is wanted).
fn poll_thread_wakeups() -> u64 {
    poll_thread_status().map_or(0, |status| {
        let line = status
            .lines()
            .find(|l| l.starts_with("voluntary_ctxt_switches:"))
            .unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    })
}

#[test]
fn a_request_response_loop_runs_on_the_callers_thread_alone() {
    // Connect, send and receive, waiting with long timeouts, a timer among the messages:
    // nothing must be driven while nobody waits, so the poll thread is never started (the
    // alarm rings in the waiter's own poll). A host loop on sock_msg_fd does start it.
    let _s = session();
    let server = tcp_server(1, echo);
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    assert_eq!(sock_timer_start(3, 30), 1);
    let mut timer_seen = false;
    for round in 0..20u8 {
        assert_eq!(send(id, &[round; 16]), 1);
        let (mut confirmed, mut echoed) = (false, Vec::new());
        while !confirmed || echoed.len() < 16 {
            let m = wait(5000).expect("a message within 5 s");
            match (m.id, m.socket_index) {
                (MSG_SOCK_SEND_CNF, i) if i == id => confirmed = true,
                (MSG_SOCK_RECV_IND, i) if i == id => echoed.extend(recv(id, 64)),
                (MSG_TIMER, 3) => timer_seen = true,
                _ => panic!("unexpected {m:?}"),
            }
        }
        assert_eq!(echoed, [round; 16]);
    }
    if !timer_seen {
        expect(MSG_TIMER, 3, SOCK_ERR_OK);
    }
    assert!(
        poll_thread_status().is_none(),
        "the poll thread was started"
    );
    assert!(sock_msg_fd() >= 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while poll_thread_status().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(poll_thread_status().is_some(), "a host loop starts it");
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    server.join();
}

#[test]
fn an_idle_waiter_leaves_the_poll_thread_asleep_and_timers_still_fire() {
    // A thread blocks in sock_wait_msg with sockets open and nothing happening: it polls
    // epoll itself, so the poll thread must not wake at all (it used to every 5 ms).
    let _s = session();
    let server = tcp_server(1, echo);
    let id = connected(SOCK_TYPE_TCP, server.port, "127.0.0.1");
    let waiter = std::thread::spawn(|| wait(-1));
    std::thread::sleep(Duration::from_millis(300));
    let before = poll_thread_wakeups();
    std::thread::sleep(Duration::from_secs(1));
    let woke = poll_thread_wakeups() - before;
    assert!(
        woke <= 2,
        "the poll thread woke {woke} times in 1 s of idleness"
    );
    // Timers still fire (the alarm rings in the waiter's poll) and reach the waiter.
    assert_eq!(sock_timer_start(9, 50), 1);
    let m = waiter.join().unwrap().expect("the waiter got a message");
    assert_eq!((m.id, m.socket_index), (MSG_TIMER, 9));
    // With nobody waiting and a host loop on sock_msg_fd, the poll thread drives the sockets.
    assert_eq!(send(id, b"ping"), 1);
    let fd = sock_msg_fd();
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    assert_eq!(
        unsafe { libc::poll(&mut p, 1, 5000) },
        1,
        "no message without a waiter"
    );
    assert_eq!(sock_destroy(id), 1);
    server.join_detached();
}

#[test]
fn several_waiters_each_get_distinct_messages() {
    let _s = session();
    let (port, server) = udp_echo(200);
    let id = connected(SOCK_TYPE_UDP, port, "127.0.0.1");
    let taken = Arc::new(parking_lot::Mutex::new(HashMap::<i32, usize>::new()));
    let recv_lock = Arc::new(parking_lot::Mutex::new(()));
    let total = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let (taken, total, recv_lock) = (taken.clone(), total.clone(), recv_lock.clone());
            std::thread::spawn(move || {
                while let Some(m) = wait(1000) {
                    if m.id == MSG_SOCK_RECV_IND {
                        let _g = recv_lock.lock();
                        recv(m.socket_index, 65536);
                    }
                    *taken.lock().entry(m.id).or_default() += 1;
                    total.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for i in 0..200u32 {
        let mut sent = send(id, &i.to_be_bytes());
        let deadline = Instant::now() + Duration::from_secs(5);
        while sent == 0 {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(1));
            sent = send(id, &i.to_be_bytes());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    for w in waiters {
        w.join().unwrap();
    }
    server.join().unwrap();
    let taken = taken.lock();
    assert_eq!(taken.get(&MSG_SOCK_SEND_CNF), Some(&200));
    // Every echoed datagram was announced once (none lost on loopback at this pace).
    assert_eq!(taken.get(&MSG_SOCK_RECV_IND), Some(&200));
    assert_eq!(total.load(Ordering::SeqCst), 400);
}

#[test]
fn send_cnf_on_ack_confirms_every_send_and_close_waits_for_it() {
    let _s = session();
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = parking_lot::Mutex::new(tx);
    let server = tcp_server(1, move |mut s| {
        let mut got = vec![];
        std::io::Read::read_to_end(&mut s, &mut got).unwrap();
        tx.lock().send(got).unwrap();
    });
    let id = conn_opts(SOCK_TYPE_TCP, server.port, "127.0.0.1", |o| {
        o.send_cnf_on_ack = 1
    });
    expect(MSG_SOCK_CONN_CNF, id, 0);
    let data = pattern(500_000, 4);
    for chunk in data.chunks(50_000) {
        assert_eq!(send(id, chunk), 1);
    }
    assert_eq!(sock_close(id), 1);
    for _ in 0..10 {
        let m = expect(MSG_SOCK_SEND_CNF, id, 0);
        assert_eq!(m.send_len, 50_000);
    }
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
    assert_eq!(rx.recv().unwrap(), data);
    server.join();
}

#[test]
fn ring_stays_within_its_bound_when_nobody_takes_messages() {
    let _s = session();
    let server = tcp_server(8, |mut s| {
        let _ = std::io::Write::write_all(&mut s, &[7u8; 1 << 20]);
        std::thread::sleep(Duration::from_millis(500));
    });
    let max_sends = 16;
    let ids: Vec<i32> = (0..8)
        .map(|_| {
            conn_opts(SOCK_TYPE_TCP, server.port, "127.0.0.1", |o| {
                o.max_sends = max_sends;
                o.rcv_buf_size = 16384;
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // Keep sending without taking a single message: sends stop at max_sends per socket.
    for &id in &ids {
        let mut accepted = 0;
        while send(id, b"0123456789") == 1 {
            accepted += 1;
            assert!(accepted <= max_sends);
        }
        assert_eq!(accepted, max_sends);
        assert_eq!(sock_error(id), SOCK_ERR_ENOBUFS);
    }
    std::thread::sleep(Duration::from_millis(300));
    let (pending, high, open, ..) = socketcore::introspect::snapshot().unwrap();
    // Per socket: CONN_CNF, one RECV_IND, max_sends SEND_CNFs (no close yet).
    assert!(high <= 8 * (2 + max_sends as usize), "ring reached {high}");
    assert_eq!(pending, 8 * (2 + max_sends as usize));
    assert_eq!(open, 8);
    server.join_detached();
}

/// A close's CLOSE_CNF comes only once the descriptor is closed (so a benchmark that waits for
/// it has paid for the close; a change that moves the close elsewhere must keep this), the
/// peer then reads everything and the end, and a socket destroyed before its CLOSE_CNF is
/// taken leaves no message behind for the next socket with its id.
#[test]
fn close_cnf_comes_once_the_descriptor_is_closed_and_none_outlives_a_destroy() {
    let _s = session();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut peers = vec![];
    for round in 0..50 {
        let (id, mut peer, ours) = connected_to(&listener);
        assert_eq!(send(id, b"last words"), 1);
        expect(MSG_SOCK_SEND_CNF, id, 0);
        // The socket's own descriptor, found by its inode: a count of the process's
        // descriptors would also move with other tests' servers closing theirs.
        let inode = tcp_socket_inode(ours.port(), port).expect("the socket is in /proc/net/tcp");
        assert!(holds_socket(inode), "round {round}: open before the close");
        assert_eq!(sock_close(id), 1);
        expect(MSG_SOCK_CLOSE_CNF, id, 0);
        assert!(!holds_socket(inode), "round {round}: open at CLOSE_CNF");
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = vec![];
        std::io::Read::read_to_end(&mut peer, &mut got).unwrap();
        assert_eq!(got, b"last words");
        assert_eq!(sock_destroy(id), 1);
        peers.push(peer);
    }
    for round in 0..50 {
        let (id, peer, _) = connected_to(&listener);
        peers.push(peer);
        assert_eq!(sock_close(id), 1);
        assert_eq!(sock_destroy(id), 1); // before its CLOSE_CNF was taken, maybe posted
        let again = conn(SOCK_TYPE_TCP, port, "127.0.0.1");
        assert_eq!(again, id, "the lowest free id is reused");
        peers.push(listener.accept().unwrap().0);
        let m = next();
        assert_eq!(
            (m.id, m.socket_index, m.result),
            (MSG_SOCK_CONN_CNF, again, 0),
            "round {round}: the old socket's CLOSE_CNF reached the new one"
        );
        assert_eq!(sock_close(again), 1);
        expect(MSG_SOCK_CLOSE_CNF, again, 0);
        assert_eq!(sock_destroy(again), 1);
    }
    quiet(100);
    for mut peer in peers.drain(50..) {
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut rest = vec![];
        std::io::Read::read_to_end(&mut peer, &mut rest).unwrap(); // every one was closed
        assert!(rest.is_empty());
    }
}
