//! The rig: three network namespaces of our own, client - router - server, joined by two veth
//! pairs, with the addresses we give them, the hosts file of the client's namespace, and the
//! kernel faults the scenarios inject on the router (nftables rules in its forward chain, tbf
//! on its interfaces, its server-side link taken down).
//!
//! Faults sit on the router, on the path, because that is where a real network loses packets:
//! a packet dropped by nftables in the sending host's own output chain is reported to its TCP
//! as a local transmit failure and resent at once, which is not loss at all.
//!
//! The outer process (root, in the host's namespace) builds the rig, runs itself again with
//! `ip netns exec` inside the client namespace (so the library's sockets and its resolver's
//! /etc/hosts are the client's), and removes the rig afterwards, also when the scenarios fail.
//! Server threads enter the server namespace with setns, which is per thread.

use std::fs::File;
use std::io::Write;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;

pub const NS_C: &str = "sc11c";
pub const NS_R: &str = "sc11r";
pub const NS_S: &str = "sc11s";
/// client sc11c0 <-> sc11r0 router sc11r1 <-> sc11s0 server
pub const DEV_C: &str = "sc11c0";
pub const DEV_RC: &str = "sc11r0";
pub const DEV_RS: &str = "sc11r1";
pub const DEV_S: &str = "sc11s0";
const CLIENT: [&str; 2] = ["10.211.1.1/24", "fd11:1::1/64"];
const ROUTER_C: [&str; 2] = ["10.211.1.254/24", "fd11:1::fe/64"];
const ROUTER_S: [&str; 2] = ["10.211.2.254/24", "fd11:2::fe/64"];
/// The server's addresses: SERVER_V4[0] is the plain server, the others exist for names with
/// several addresses.
pub const SERVER_V4: [&str; 3] = ["10.211.2.2", "10.211.2.3", "10.211.2.4"];
pub const SERVER_V6: [&str; 2] = ["fd11:2::2", "fd11:2::3"];

/// The client namespace's /etc/hosts (`ip netns exec` mounts /etc/netns/NAME/hosts over it).
const HOSTS: &str = "\
127.0.0.1 localhost
::1 localhost
10.211.2.2 server.sc11
10.211.2.3 he-v4.sc11
10.211.2.2 he-v4.sc11
fd11:2::3 he-mixed.sc11
10.211.2.2 he-mixed.sc11
10.211.2.2 he-three.sc11
10.211.2.3 he-three.sc11
10.211.2.4 he-three.sc11
";

/// The nftables table on the router; scenarios add rules to its forward chain.
const NFT_BASE: &str = "\
table inet sc11 {
    chain forward {
        type filter hook forward priority 0;
    }
}
";

pub const LOCK_FILE: &str = "/run/socketcore-netns.lock";

/// Why the rig cannot run here, if it cannot.
pub fn missing_prerequisite() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)".into());
    }
    for (tool, arg) in [
        ("ip", "-V"),
        ("nft", "--version"),
        ("tc", "-V"),
        ("ss", "-V"),
    ] {
        let ok = Command::new(tool)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Some(format!(
                "`{tool}` not found (apt-get install nftables iproute2)"
            ));
        }
    }
    None
}

/// Runs a command, failing the test with its output if it fails.
pub fn run(cmd: &[&str]) {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a command whose failure does not matter (cleaning up what may not exist).
pub fn run_quietly(cmd: &[&str]) {
    let _ = Command::new(cmd[0])
        .args(&cmd[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Removes the rig, or what a killed run left of it.
pub fn remove_rig() {
    for ns in [NS_C, NS_R, NS_S] {
        run_quietly(&["ip", "netns", "del", ns]);
    }
    let _ = std::fs::remove_dir_all(format!("/etc/netns/{NS_C}"));
}

/// The namespaces exist while this lives; dropping it removes them (also while unwinding).
pub struct Rig;

impl Drop for Rig {
    fn drop(&mut self) {
        remove_rig();
    }
}

impl Rig {
    pub fn create() -> Rig {
        remove_rig(); // a killed run's leftovers
        let rig = Rig;
        for ns in [NS_C, NS_R, NS_S] {
            run(&["ip", "netns", "add", ns]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            // Static IPv6 addresses would be flushed when a scenario takes a link down, and
            // the link-local ones would stay tentative (duplicate detection) for a second or
            // two after the link comes up, holding up the first IPv6 packets.
            for conf in ["all", "default"] {
                sysctl(ns, &format!("net/ipv6/conf/{conf}/keep_addr_on_down"), "1");
                sysctl(ns, &format!("net/ipv6/conf/{conf}/accept_dad"), "0");
            }
        }
        for (a, ns_a, b, ns_b) in [(DEV_C, NS_C, DEV_RC, NS_R), (DEV_RS, NS_R, DEV_S, NS_S)] {
            run(&[
                "ip", "link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b, "netns",
                ns_b,
            ]);
        }
        let add = |ns: &str, dev: &str, addr: &str| {
            let mut cmd = vec!["ip", "-n", ns, "addr", "add", addr, "dev", dev];
            if addr.contains(':') {
                cmd.push("nodad"); // usable at once, no duplicate detection wait
            }
            run(&cmd);
        };
        for a in CLIENT {
            add(NS_C, DEV_C, a);
        }
        for a in ROUTER_C {
            add(NS_R, DEV_RC, a);
        }
        for a in ROUTER_S {
            add(NS_R, DEV_RS, a);
        }
        for a in SERVER_V4 {
            add(NS_S, DEV_S, &format!("{a}/24"));
        }
        for a in SERVER_V6 {
            add(NS_S, DEV_S, &format!("{a}/64"));
        }
        for (ns, dev) in [(NS_C, DEV_C), (NS_R, DEV_RC), (NS_R, DEV_RS), (NS_S, DEV_S)] {
            run(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        // TCP backs its retransmissions off up to 120 s; through 20 % loss each way a run of
        // lost retransmissions then leaves the connection silent for minutes (seen here: a
        // 42 s timer with no data waiting anywhere). Capping the backoff at 1 s in the end
        // hosts keeps the scenarios bounded; the library takes no part in retransmission.
        // (Kernels before 6.15 lack the knob, and the lossy transfers may take longer.)
        // The kernel turns tcp_retries2 into a time with the same cap: 15 retries become
        // about 15 s of retransmission without a cumulative ACK, and through 20 % loss each
        // way a connection can stay in loss recovery that long and die with ETIMEDOUT
        // (measured: a blackholed peer times out after 14.8 s with the cap, 40.4 s with 40
        // retries). 150 retries allow about 150 s, longer than any lossy transfer here takes.
        for ns in [NS_C, NS_S] {
            if Path::new("/proc/sys/net/ipv4/tcp_rto_max_ms").exists() {
                sysctl(ns, "net/ipv4/tcp_rto_max_ms", "1000");
                sysctl(ns, "net/ipv4/tcp_retries2", "150");
            }
        }
        sysctl(NS_R, "net/ipv4/ip_forward", "1");
        sysctl(NS_R, "net/ipv6/conf/all/forwarding", "1");
        for (ns, [v4, v6]) in [(NS_C, ROUTER_C), (NS_S, ROUTER_S)] {
            let gw = |a: &'static str| a.split('/').next().unwrap_or(a);
            run(&["ip", "-n", ns, "route", "add", "default", "via", gw(v4)]);
            run(&[
                "ip",
                "-n",
                ns,
                "-6",
                "route",
                "add",
                "default",
                "via",
                gw(v6),
            ]);
        }
        nft_script(NFT_BASE);
        let dir = format!("/etc/netns/{NS_C}");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/hosts"), HOSTS).unwrap();
        rig
    }
}

/// Writes a sysctl inside a namespace (/proc/sys/net shows the namespace of the process).
fn sysctl(ns: &str, key: &str, value: &str) {
    run(&[
        "ip",
        "netns",
        "exec",
        ns,
        "sh",
        "-c",
        &format!("echo {value} > /proc/sys/{key}"),
    ]);
}

/// Serialises runs of the rig on this machine (its names are fixed); held until exit.
pub fn lock_rig() -> File {
    let f = File::create(LOCK_FILE).unwrap();
    // SAFETY: flock on a descriptor we own.
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
    f
}

/// Feeds an nft script to the router's nftables.
pub fn nft_script(script: &str) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", NS_R, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "nft failed on:\n{script}");
}

/// Adds one rule to the router's forward chain (every packet between client and server).
pub fn nft_rule(rule: &str) {
    nft_script(&format!("add rule inet sc11 forward {rule}\n"));
}

/// Packets counted by the rule carrying `comment "NAME"` (the rule needs `counter`).
pub fn nft_packets(name: &str) -> u64 {
    let out = Command::new("ip")
        .args([
            "netns", "exec", NS_R, "nft", "list", "chain", "inet", "sc11", "forward",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains(&format!("comment \"{name}\"")))
        .unwrap_or_else(|| panic!("no rule {name} in:\n{text}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "packets").unwrap();
    words[at + 1].parse().unwrap()
}

/// Undoes every fault: rules, rate limits, links.
pub fn clear_faults() {
    nft_script("flush chain inet sc11 forward\n");
    for dev in [DEV_RC, DEV_RS] {
        run_quietly(&[
            "ip", "netns", "exec", NS_R, "tc", "qdisc", "del", "dev", dev, "root",
        ]);
    }
    server_link(true);
}

/// Random loss of `percent` % of the packets of TCP port `port`, each direction.
pub fn loss(port: u16, percent: u32) {
    nft_rule(&format!(
        "tcp dport {port} numgen random mod 100 < {percent} drop"
    ));
    nft_rule(&format!(
        "tcp sport {port} numgen random mod 100 < {percent} drop"
    ));
}

/// The path to the server's port `port` goes silent: nothing passes, no RST, no ICMP.
pub fn blackhole(port: u16) {
    nft_rule(&format!("tcp dport {port} drop"));
    nft_rule(&format!("tcp sport {port} drop"));
}

/// The router forwards at most `rate` (tc syntax, e.g. "1mbit") each way.
pub fn rate_limit(rate: &str, burst: &str) {
    for dev in [DEV_RC, DEV_RS] {
        run(&[
            "ip", "netns", "exec", NS_R, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate",
            rate, "burst", burst, "latency", "400ms",
        ]);
    }
}

/// Takes the router's link to the server down or up (the client's own link stays up, as when
/// a cellular network loses its backhaul).
pub fn server_link(up: bool) {
    run(&[
        "ip",
        "-n",
        NS_R,
        "link",
        "set",
        DEV_RS,
        if up { "up" } else { "down" },
    ]);
}

/// Enters the server namespace (this thread only: setns of a network namespace is per thread).
fn enter_server_ns() {
    let f = File::open(format!("/run/netns/{NS_S}")).unwrap();
    // SAFETY: setns with a namespace descriptor we own; affects only the calling thread.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

/// Listens on `addr` inside the server namespace and runs `serve` there on its own thread
/// (threads it spawns stay in that namespace). Returns once the listener is bound.
pub fn serve<R: Send + 'static>(
    addr: &str,
    serve: impl FnOnce(TcpListener) -> R + Send + 'static,
) -> JoinHandle<R> {
    let addr = addr.to_string();
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        enter_server_ns();
        let l = TcpListener::bind(&addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        tx.send(()).unwrap();
        serve(l)
    });
    rx.recv().expect("server thread failed before listening");
    handle
}

/// Sockets of this (client) namespace in SYN-SENT towards `port`, as `ss` lists them.
pub fn syn_sent_to(port: u16) -> usize {
    let out = Command::new("ss")
        .args(["-Htn", "state", "syn-sent", "dport", &format!("= :{port}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// What the client namespace's kernel says about the TCP connections to `port` (queues,
/// retransmission state), for failure messages.
pub fn tcp_info(port: u16) -> String {
    let out = Command::new("ss")
        .args(["-tnio", "dport", &format!("= :{port}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until every server address answers a TCP connect from here (the client namespace).
/// In a fresh rig the client's first IPv6 neighbour solicitation for the router went
/// unanswered for over 300 ms (seen with `ip -6 neigh`: INCOMPLETE), which held the first SYN;
/// scenarios that time their first SYN must not pay for the rig's warm-up.
pub fn wait_until_reachable() {
    let port = 7000;
    let _server = serve(&format!("[::]:{port}"), |l: TcpListener| {
        for s in l.incoming() {
            drop(s);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let addrs = SERVER_V4.iter().chain(SERVER_V6.iter());
    for ip in addrs {
        let addr = std::net::SocketAddr::new(ip.parse().unwrap(), port);
        while std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(300))
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{addr} unreachable after 10 s"
            );
        }
    }
}
