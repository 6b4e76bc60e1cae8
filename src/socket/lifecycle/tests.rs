use super::*;
use crate::codes::{SOCK_ERR_EALREADY, SOCK_ERR_EBADID, SOCK_ERR_ETIMEOUT};
use std::collections::{HashSet, VecDeque};

fn open() -> Lifecycle {
    let mut life = Lifecycle::new();
    life.start_connecting();
    assert!(life.opened());
    life
}

/// The next RECV_IND waits until the last one is both taken and answered, in either order.
#[test]
fn recv_ind_frees_only_when_taken_and_read() {
    for take_first in [true, false] {
        let mut life = open();
        assert!(life.claim_recv_ind());
        assert!(!life.claim_recv_ind(), "one outstanding at a time");
        if take_first {
            life.recv_ind_taken()
        } else {
            life.recv_called()
        }
        assert!(!life.claim_recv_ind(), "one of the two is not enough");
        if take_first {
            life.recv_called()
        } else {
            life.recv_ind_taken()
        }
        assert!(life.claim_recv_ind());
    }
    let mut life = open();
    life.recv_called(); // a sock_recv with nothing announced changes nothing
    assert!(life.claim_recv_ind());
}

#[test]
fn conn_cnf_only_while_connecting() {
    let mut life = Lifecycle::new();
    assert!(
        life.connect_failed(),
        "a failed resolution ends the connect"
    );
    assert!(!life.opened() && !life.connect_failed(), "one CONN_CNF");
    assert_eq!(life.phase(), Phase::Closed);

    let mut life = open();
    assert!(!life.opened() && !life.connect_failed(), "one CONN_CNF");
    assert_eq!(life.phase(), Phase::Open);
}

#[test]
fn a_second_close_is_ealready_and_a_destroyed_socket_ebadid() {
    let mut connecting = Lifecycle::new();
    assert_eq!(connecting.close(), Ok(CloseStep::Cancel));
    assert!(!connecting.connect_failed(), "the cancel was its CONN_CNF");
    assert_eq!(connecting.close(), Err(SOCK_ERR_EALREADY));

    let mut life = open();
    assert_eq!(life.close(), Ok(CloseStep::Flush));
    assert_eq!(life.phase(), Phase::Closing);
    assert_eq!(life.close(), Err(SOCK_ERR_EALREADY));
    assert!(life.close_flushed());
    assert!(!life.close_flushed(), "one CLOSE_CNF");
    assert_eq!(life.close(), Err(SOCK_ERR_EALREADY));

    let mut broken = open();
    assert_eq!(broken.broke(SOCK_ERR_ETIMEOUT), Broken::PeerEnded);
    assert_eq!(broken.close(), Ok(CloseStep::Confirm));
    assert_eq!(broken.close(), Err(SOCK_ERR_EALREADY));

    let mut destroyed = open();
    destroyed.destroy();
    assert!(destroyed.is_destroyed());
    assert_eq!(destroyed.close(), Err(SOCK_ERR_EBADID));
}

#[test]
fn close_ind_once_with_the_first_end_and_never_after_close() {
    let mut life = open();
    assert_eq!(life.claim_close_ind(), None, "the peer has not ended");
    life.peer_ended(SOCK_ERR_OK);
    life.peer_ended(SOCK_ERR_ETIMEOUT); // the first end counts
    assert!(life.may_send(), "an orderly end leaves our direction open");
    assert_eq!(life.broke(SOCK_ERR_ETIMEOUT), Broken::Nothing);
    assert_eq!(life.claim_close_ind(), Some(SOCK_ERR_OK));
    assert!(life.peer_end_announced());
    assert_eq!(life.claim_close_ind(), None, "one CLOSE_IND");

    let mut closed = open();
    closed.peer_ended(SOCK_ERR_ETIMEOUT);
    assert!(!closed.may_send(), "a broken connection takes no sends");
    assert_eq!(closed.close(), Ok(CloseStep::Flush));
    assert_eq!(
        closed.claim_close_ind(),
        None,
        "nothing is announced after sock_close"
    );
    assert!(!closed.claim_recv_ind());
}

/// Every step the socket can take, in any order.
#[derive(Clone, Copy, Debug)]
enum Step {
    StartConnecting,
    Opened,
    ConnectFailed,
    Close,
    CloseFlushed,
    Broke(c_int),
    PeerEnded(c_int),
    ClaimRecvInd,
    RecvIndTaken,
    RecvCalled,
    ClaimCloseInd,
    Destroy,
}

const STEPS: [Step; 14] = [
    Step::StartConnecting,
    Step::Opened,
    Step::ConnectFailed,
    Step::Close,
    Step::CloseFlushed,
    Step::Broke(SOCK_ERR_OK),
    Step::Broke(SOCK_ERR_ETIMEOUT),
    Step::PeerEnded(SOCK_ERR_OK),
    Step::PeerEnded(SOCK_ERR_ETIMEOUT),
    Step::ClaimRecvInd,
    Step::RecvIndTaken,
    Step::RecvCalled,
    Step::ClaimCloseInd,
    Step::Destroy,
];

/// What the application has seen, kept apart from `Lifecycle` to check it against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Seen {
    conn_cnf: u8,
    opened: bool,
    close_accepted: bool,
    close_cnf: u8,
    close_ind: u8,
    /// The first end of the peer the socket learnt of.
    peer_end: Option<c_int>,
    /// The last RECV_IND is in the ring / not answered by a `sock_recv` yet.
    recv_ind_in_ring: bool,
    recv_ind_unread: bool,
    destroyed: bool,
}

impl Seen {
    /// Applies `step` to both, checking every message `life` allows against the bounds.
    fn step(&mut self, life: &mut Lifecycle, step: Step) {
        let before = *self;
        let conn_cnf = |seen: &mut Seen, ok: bool| {
            assert_eq!(seen.conn_cnf, 0, "a second CONN_CNF");
            seen.conn_cnf = 1;
            seen.opened = ok;
        };
        match step {
            Step::StartConnecting => life.start_connecting(),
            Step::Opened => {
                if life.opened() {
                    conn_cnf(self, true);
                }
            }
            Step::ConnectFailed => {
                if life.connect_failed() {
                    conn_cnf(self, false);
                }
            }
            Step::Close => match life.close() {
                Ok(step) => {
                    assert!(!self.close_accepted && !self.destroyed);
                    self.close_accepted = true;
                    if step == CloseStep::Cancel {
                        conn_cnf(self, false);
                    }
                    if step != CloseStep::Flush {
                        self.close_cnf += 1;
                    }
                }
                Err(SOCK_ERR_EBADID) => assert!(self.destroyed),
                Err(code) => {
                    assert_eq!(code, SOCK_ERR_EALREADY);
                    assert!(self.close_accepted && !self.destroyed);
                }
            },
            Step::CloseFlushed => {
                if life.close_flushed() {
                    self.close_cnf += 1;
                }
            }
            Step::Broke(code) => match life.broke(code) {
                Broken::ConfirmClose => self.close_cnf += 1,
                Broken::PeerEnded => {
                    assert!(self.opened && self.peer_end.is_none());
                    self.peer_end = Some(code);
                }
                Broken::Nothing => {}
            },
            Step::PeerEnded(code) => {
                life.peer_ended(code);
                self.peer_end.get_or_insert(code);
            }
            Step::ClaimRecvInd => {
                if life.claim_recv_ind() {
                    assert!(self.opened && !self.close_accepted && !self.destroyed);
                    assert!(
                        !self.recv_ind_in_ring && !self.recv_ind_unread,
                        "a second RECV_IND outstanding"
                    );
                    self.recv_ind_in_ring = true;
                    self.recv_ind_unread = true;
                }
            }
            Step::RecvIndTaken => {
                if self.recv_ind_in_ring {
                    life.recv_ind_taken();
                    self.recv_ind_in_ring = false;
                }
            }
            Step::RecvCalled => {
                life.recv_called();
                self.recv_ind_unread = false;
            }
            Step::ClaimCloseInd => {
                if let Some(code) = life.claim_close_ind() {
                    assert!(self.opened && !self.close_accepted && !self.destroyed);
                    assert_eq!(
                        Some(code),
                        self.peer_end,
                        "the CLOSE_IND says the first end"
                    );
                    self.close_ind += 1;
                }
            }
            Step::Destroy => {
                life.destroy();
                self.destroyed = true;
            }
        }
        assert!(self.close_cnf <= 1, "a second CLOSE_CNF");
        assert!(self.close_ind <= 1, "a second CLOSE_IND");
        assert!(
            self.close_cnf == 0 || self.close_accepted,
            "CLOSE_CNF without sock_close"
        );
        if before.destroyed {
            let mut after = *self;
            after.recv_ind_in_ring = before.recv_ind_in_ring;
            after.recv_ind_unread = before.recv_ind_unread;
            after.peer_end = before.peer_end;
            assert_eq!(after, before, "a destroyed socket posts nothing ({step:?})");
        }
        match life.phase() {
            Phase::Resolving | Phase::Connecting => assert_eq!(self.conn_cnf, 0),
            Phase::Open => assert!(self.opened && !self.close_accepted),
            Phase::Closing => assert!(self.opened && self.close_accepted && self.close_cnf == 0),
            Phase::Closed => assert!(self.conn_cnf == 1 || self.destroyed),
        }
        assert_eq!(life.is_destroyed(), self.destroyed);
        if life.may_send() {
            assert!(self.opened && !self.close_accepted && !self.destroyed);
            assert!(self.peer_end.is_none_or(|c| c == SOCK_ERR_OK));
        }
    }
}

/// Every state reachable by any sequence of steps keeps the bounds (checked in `Seen::step`).
#[test]
fn every_reachable_state_keeps_the_bounds() {
    let start = (Lifecycle::new(), Seen::default());
    let mut visited = HashSet::from([start]);
    let mut queue = VecDeque::from([start]);
    while let Some((life, seen)) = queue.pop_front() {
        for step in STEPS {
            let (mut life, mut seen) = (life, seen);
            seen.step(&mut life, step);
            if visited.insert((life, seen)) {
                queue.push_back((life, seen));
            }
        }
    }
    // Every stage, peer end and RECV_IND state is reached (a RECV_IND both taken and read is
    // free again, so `Posted` has three values, not four).
    let stages: HashSet<Stage> = visited.iter().map(|(l, _)| l.stage).collect();
    let peers: HashSet<PeerEnd> = visited.iter().map(|(l, _)| l.peer).collect();
    let recv: HashSet<RecvInd> = visited.iter().map(|(l, _)| l.recv_ind).collect();
    assert_eq!(
        (stages.len(), peers.len(), recv.len()),
        (8, 5, 4),
        "{stages:?}"
    );
}
