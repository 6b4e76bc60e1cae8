//! UDP and RAW sockets: one datagram per send, per RECV_IND and per sock_recv.

mod common;
use common::*;
use socketcore::*;
use std::net::UdpSocket;
use std::time::Duration;

#[test]
fn udp_echo_one_datagram_per_message() {
    let _s = session();
    let (port, server) = udp_echo(20);
    let id = connected(SOCK_TYPE_UDP, port, "127.0.0.1");
    for i in 0..20usize {
        let d = pattern(1 + i * 37, i as u32);
        assert_eq!(send(id, &d), 1);
        let m = expect(MSG_SOCK_SEND_CNF, id, 0);
        assert_eq!(m.send_len as usize, d.len());
        let m = expect(MSG_SOCK_RECV_IND, id, 0);
        assert_eq!(m.recv_len as usize, d.len());
        assert_eq!(recv(id, 65536), d);
    }
    server.join().unwrap();
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
}

#[test]
fn udp_short_buffer_gets_the_head_and_full_queue_drops_are_counted() {
    let _s = session();
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = peer.local_addr().unwrap().port();
    let id = conn_opts(SOCK_TYPE_UDP, port, "127.0.0.1", |o| o.rcv_buf_size = 4096);
    expect(MSG_SOCK_CONN_CNF, id, 0);
    // Learn our address from a first datagram.
    assert_eq!(send(id, b"hello"), 1);
    expect(MSG_SOCK_SEND_CNF, id, 0);
    let mut buf = [0u8; 64];
    let (_, ours) = peer.recv_from(&mut buf).unwrap();
    // 10 datagrams of 1000 bytes into a 4096-byte queue: 4 fit, 6 are dropped.
    for i in 0..10u8 {
        peer.send_to(&[i; 1000], ours).unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    let mut st = sock_counters::default();
    assert_eq!(unsafe { sock_stats(id, &mut st) }, 0);
    assert_eq!(st.datagrams_dropped, 6);
    assert_eq!(st.recv_buffered, 4000);
    let m = expect(MSG_SOCK_RECV_IND, id, 0);
    assert_eq!(m.recv_len, 1000);
    let head = recv(id, 10);
    assert_eq!(head, vec![0u8; 10]);
    for i in 1..4u8 {
        let m = expect(MSG_SOCK_RECV_IND, id, 0);
        assert_eq!(m.recv_len, 1000);
        assert_eq!(recv(id, 2000), vec![i; 1000]);
    }
    quiet(50);
    assert_eq!(recv(id, 10).len(), 0);
}

#[test]
fn udp_burst_of_many_batches_arrives_whole_and_in_order() {
    // The library takes datagrams several per syscall: bursts longer than one batch, sizes
    // from 1 byte to the largest UDP payload, must all arrive intact and in order.
    let _s = session();
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = peer.local_addr().unwrap().port();
    let id = conn_opts(SOCK_TYPE_UDP, port, "127.0.0.1", |o| {
        o.rcv_buf_size = 4 << 20
    });
    expect(MSG_SOCK_CONN_CNF, id, 0);
    assert_eq!(send(id, b"hello"), 1);
    expect(MSG_SOCK_SEND_CNF, id, 0);
    let mut buf = [0u8; 64];
    let (_, ours) = peer.recv_from(&mut buf).unwrap();
    // 30 datagrams, one of them the largest: together well inside the kernel's default
    // receive buffer, so a drop here would be the library's.
    let sizes: Vec<usize> = (0..30)
        .map(|i| {
            if i == 13 {
                65507
            } else {
                [1, 700, 1472, 64][i % 4]
            }
        })
        .collect();
    let sent: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| pattern(n, i as u32))
        .collect();
    for d in &sent {
        peer.send_to(d, ours).unwrap();
    }
    for (i, d) in sent.iter().enumerate() {
        let m = expect(MSG_SOCK_RECV_IND, id, 0);
        assert_eq!(m.recv_len as usize, d.len(), "datagram {i}");
        assert!(recv(id, 65536) == *d, "datagram {i} differs");
    }
    let mut st = sock_counters::default();
    assert_eq!(unsafe { sock_stats(id, &mut st) }, 0);
    assert_eq!(st.datagrams_dropped, 0);
    quiet(50);
    assert_eq!(recv(id, 10).len(), 0);
}

#[test]
fn udp_to_a_closed_port_keeps_the_socket_usable() {
    let _s = session();
    let port = {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let id = connected(SOCK_TYPE_UDP, port, "localhost");
    for _ in 0..3 {
        assert_eq!(send(id, b"anyone?"), 1);
        let m = next();
        assert_eq!((m.id, m.socket_index), (MSG_SOCK_SEND_CNF, id));
        assert!(m.result == 0 || m.result == SOCK_ERR_ECONNREFUSED);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(sock_close(id), 1);
    expect(MSG_SOCK_CLOSE_CNF, id, 0);
}

#[test]
fn oversized_datagrams_are_refused_at_once() {
    // The largest datagram each socket can carry is accepted and arrives; one byte more is
    // refused by sock_send with EARG and no SEND_CNF (the kernel would only say EMSGSIZE later).
    let _s = session();
    for (host, max) in [
        ("127.0.0.1", SOCK_MAX_UDP_PAYLOAD_V4),
        ("::1", SOCK_MAX_UDP_PAYLOAD_V6),
    ] {
        let peer = UdpSocket::bind((host, 0)).unwrap();
        peer.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let port = peer.local_addr().unwrap().port();
        let id = conn(SOCK_TYPE_UDP, port, host);
        expect(MSG_SOCK_CONN_CNF, id, 0);
        let max = max as usize;
        assert_eq!(send(id, &vec![7; max + 1]), 0, "{host}");
        assert_eq!(sock_error(id), SOCK_ERR_EARG);
        assert_eq!(send(id, &vec![7; 200_000]), 0, "{host}");
        assert_eq!(sock_error(id), SOCK_ERR_EARG);
        assert_eq!(send(id, &vec![7; max]), 1, "{host}");
        let m = expect(MSG_SOCK_SEND_CNF, id, 0);
        assert_eq!(m.send_len as usize, max);
        let mut buf = vec![0; 70_000];
        assert_eq!(peer.recv(&mut buf).unwrap(), max, "{host}");
        assert_eq!(sock_destroy(id), 1);
    }
    quiet(20);
    if !is_root() {
        return; // RAW needs CAP_NET_RAW
    }
    // Protocol 253 (reserved for experiments): nothing answers, nothing is disturbed.
    for (host, max) in [
        ("127.0.0.1", SOCK_MAX_RAW_PAYLOAD_V4),
        ("::1", SOCK_MAX_RAW_PAYLOAD_V6),
    ] {
        let id = conn(SOCK_TYPE_RAW, 253, host);
        expect(MSG_SOCK_CONN_CNF, id, 0);
        let max = max as usize;
        assert_eq!(send(id, &vec![7; max + 1]), 0, "{host}");
        assert_eq!(sock_error(id), SOCK_ERR_EARG);
        assert_eq!(send(id, &vec![7; max]), 1, "{host}");
        expect(MSG_SOCK_SEND_CNF, id, 0);
        assert_eq!(sock_destroy(id), 1);
    }
    quiet(20);
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// An ICMP echo request with a valid checksum.
fn icmp_echo(ident: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![8, 0, 0, 0];
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(b"socketcore ping");
    if p.len() % 2 == 1 {
        p.push(0);
    }
    let mut sum: u32 = p
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]) as u32)
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let ck = !(sum as u16);
    p[2..4].copy_from_slice(&ck.to_be_bytes());
    p
}

#[test]
fn raw_icmp_ping_or_eperm_without_privilege() {
    let _s = session();
    let id = conn(SOCK_TYPE_RAW, 1, "127.0.0.1");
    assert!(id >= 0);
    if !is_root() {
        expect(MSG_SOCK_CONN_CNF, id, SOCK_ERR_EPERM);
        return;
    }
    expect(MSG_SOCK_CONN_CNF, id, 0);
    let ident = std::process::id() as u16;
    assert_eq!(send(id, &icmp_echo(ident, 1)), 1);
    expect(MSG_SOCK_SEND_CNF, id, 0);
    // The raw socket sees our request and the kernel's reply, each as one datagram with its
    // IPv4 header; look for the reply (type 0) with our identifier.
    let mut got_reply = false;
    for _ in 0..4 {
        let Some(m) = wait(2000) else { break };
        assert_eq!((m.id, m.socket_index), (MSG_SOCK_RECV_IND, id));
        let d = recv(id, 65536);
        assert_eq!(d.len(), m.recv_len as usize);
        let ihl = ((d[0] & 0x0f) as usize) * 4;
        assert_eq!(d[9], 1, "IP protocol is ICMP");
        if d[ihl] == 0 && u16::from_be_bytes([d[ihl + 4], d[ihl + 5]]) == ident {
            got_reply = true;
            break;
        }
    }
    assert!(got_reply, "no ICMP echo reply");
}

#[test]
fn raw_without_privilege_is_eperm() {
    if !is_root() {
        return; // covered by the test above
    }
    // Drop CAP_NET_RAW in a child process and check the refusal there.
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(exe)
        .args([
            "--exact",
            "raw_icmp_ping_or_eperm_without_privilege",
            "--test-threads=1",
        ])
        .output();
    match out {
        Ok(out) => assert!(
            out.status.success(),
            "unprivileged run failed: {}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(e) => panic!("setpriv (util-linux) is needed for this test: {e}"),
    }
}
