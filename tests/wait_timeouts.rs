//! `sock_wait_msg`'s timeout. A wait of a second or more polls without a timeout, with the
//! alarm (a timerfd in the epoll set) set to ring by its deadline (`poller.rs`, `LONG_WAIT`);
//! shorter waits give epoll the timeout. Either way a wait with nothing to take returns 0, never before its time, and a
//! message that comes meanwhile ends it.

mod common;
use common::*;
use socketcore::*;
use std::time::{Duration, Instant};

/// A wait long enough to be kept by the alarm.
const LONG_MS: i32 = 1100;

/// A timer far past every wait here: should a deadline be lost, the wait that lost it ends
/// with this timer's message (and fails its test) instead of hanging.
fn rescue() -> Rescue {
    assert_eq!(sock_timer_start(RESCUE, 6000), 1);
    Rescue
}

const RESCUE: i32 = 99;

/// A wait of `ms` with nothing to take returns 0, and not before its time.
fn times_out(ms: i32) {
    let t0 = Instant::now();
    assert!(
        wait(ms).is_none(),
        "a message came (the rescue timer, if a deadline was lost)"
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(ms as u64),
        "returned early"
    );
}

struct Rescue;

impl Drop for Rescue {
    fn drop(&mut self) {
        sock_timer_stop(RESCUE);
    }
}

#[test]
fn a_long_wait_with_nothing_to_take_times_out_not_before_its_time() {
    let _s = session();
    let _r = rescue();
    times_out(LONG_MS);
}

#[test]
fn long_waits_in_a_row_each_time_out() {
    // The first one's expiry mark must not end the second at once, nor be left to stop it.
    let _s = session();
    let _r = rescue();
    for _ in 0..2 {
        times_out(LONG_MS);
    }
}

#[test]
fn a_long_wait_ends_at_its_deadline_while_the_alarm_is_set_for_a_later_timer() {
    // The alarm is set for the timer, 4 s away; the wait's deadline is earlier and must
    // bring it forward. Had it not, the wait would have returned the timer instead.
    let _s = session();
    assert_eq!(sock_timer_start(5, 4000), 1);
    std::thread::sleep(Duration::from_millis(100));
    times_out(LONG_MS);
    assert_eq!(sock_timer_stop(5), 1, "the timer still runs");
}

#[test]
fn a_long_wait_goes_on_past_a_ring_that_brings_nothing() {
    // A stopped timer's deadline stays in the heap: the alarm rings for it in the middle of
    // the wait and fires nothing; the wait must keep its own deadline again (else it would
    // end with the rescue timer).
    let _s = session();
    let _r = rescue();
    assert_eq!(sock_timer_start(4, 300), 1);
    assert_eq!(sock_timer_stop(4), 1);
    times_out(LONG_MS);
}

#[test]
fn a_message_ends_a_long_wait_and_the_next_wait_times_out() {
    let _s = session();
    let _r = rescue();
    assert_eq!(sock_timer_start(3, 50), 1);
    let m = wait(5000).expect("the timer's message");
    assert_eq!((m.id, m.socket_index), (MSG_TIMER, 3));
    // The deadline the first wait handed over is not the second's.
    times_out(LONG_MS);
}

#[test]
fn a_long_wait_on_one_thread_and_a_short_one_on_another_both_time_out() {
    // One leads, the other follows (the ring's own timed wait): each keeps its own time.
    let _s = session();
    let _r = rescue();
    let short = std::thread::spawn(|| times_out(200));
    times_out(LONG_MS);
    short
        .join()
        .expect("the short wait timed out on its own time");
}
