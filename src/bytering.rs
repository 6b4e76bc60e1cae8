//! A byte ring for a stream socket's receive buffer. It reads straight from the socket into its
//! free space (no bounce copy), starts empty, grows by doubling up to its bound, and keeps its
//! memory while data flows; the socket gives it back (`release_if_empty`) once a read finds
//! nothing more, so an idle connection holds no buffer.
//!
//! A block given back goes to its thread's one-block cache (`SPARE`, at most `SPARE_MAX`
//! bytes per thread) and the next ring of that thread to need a block takes it: request and
//! response traffic gives its block back after every message and needs one for the next, and
//! the cache saves the allocation, its zero-fill and its free each time.

use std::cell::Cell;

/// What `spare` allocates when the ring has nothing (TLS reads plaintext straight into it).
const FIRST_ALLOCATION: usize = 16 * 1024;
/// The smallest allocation `push_slice` makes: a short message costs a small block, not
/// `FIRST_ALLOCATION` bytes zeroed and freed again (ping-pong traffic does this per message).
const SMALLEST_ALLOCATION: usize = 256;
/// The largest block a thread keeps for reuse: the first allocation of a direct read.
const SPARE_MAX: usize = FIRST_ALLOCATION;

thread_local! {
    /// The block this thread gave back last, ready for the next ring that needs one.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

pub(crate) struct ByteRing {
    buf: Vec<u8>,
    head: usize,
    len: usize,
    bound: usize,
}

impl ByteRing {
    pub(crate) fn new(bound: usize) -> Self {
        ByteRing {
            buf: Vec::new(),
            head: 0,
            len: 0,
            bound,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn allocated(&self) -> usize {
        self.buf.len()
    }

    /// The largest contiguous free region, growing the allocation if it is full. Empty only
    /// when the bound is reached.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        if self.len == self.buf.len() && self.buf.len() < self.bound {
            self.grow(FIRST_ALLOCATION);
        }
        let cap = self.buf.len();
        let tail = (self.head + self.len) % cap.max(1);
        let end = if tail >= self.head && self.len < cap {
            cap
        } else {
            self.head
        };
        let end = end.min(tail + (self.bound - self.len));
        &mut self.buf[tail..end]
    }

    /// Marks `n` bytes of the region returned by `spare` as filled.
    pub(crate) fn commit(&mut self, n: usize) {
        debug_assert!(self.len + n <= self.buf.len());
        self.len += n;
    }

    /// Copies up to `out.len()` bytes from the front into `out`; returns how many.
    pub(crate) fn take(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len);
        let cap = self.buf.len();
        let first = n.min(cap - self.head);
        out[..first].copy_from_slice(&self.buf[self.head..self.head + first]);
        out[first..n].copy_from_slice(&self.buf[..n - first]);
        self.head = (self.head + n) % cap.max(1);
        self.len -= n;
        if self.len == 0 {
            self.head = 0; // the next read gets the whole buffer in one piece
        }
        n
    }

    /// Appends `data` (which must fit the bound), allocating as needed.
    pub(crate) fn push_slice(&mut self, mut data: &[u8]) {
        let need = self.len + data.len();
        if need > self.buf.len() && self.buf.len() < self.bound {
            self.grow(need.next_power_of_two().max(SMALLEST_ALLOCATION));
        }
        while !data.is_empty() {
            let spare = self.spare();
            let n = spare.len().min(data.len());
            debug_assert!(n > 0, "push_slice beyond the bound");
            if n == 0 {
                return;
            }
            spare[..n].copy_from_slice(&data[..n]);
            self.commit(n);
            data = &data[n..];
        }
    }

    /// Gives the allocation back if nothing is buffered.
    pub(crate) fn release_if_empty(&mut self) {
        if self.len == 0 {
            self.release();
        }
    }

    /// Drops all content and gives the allocation back (to the thread's cache if it is small).
    pub(crate) fn release(&mut self) {
        let block = std::mem::take(&mut self.buf);
        if (1..=SPARE_MAX).contains(&block.len()) {
            // The block it replaces, if any, is freed.
            let _ = SPARE.try_with(|spare| spare.replace(block));
        }
        self.head = 0;
        self.len = 0;
    }

    /// Reallocates to at least twice the size (at least `min_cap`), within the bound.
    fn grow(&mut self, min_cap: usize) {
        let new_cap = (self.buf.len() * 2).max(min_cap).min(self.bound.max(1));
        if self.buf.is_empty() {
            let cached = SPARE.try_with(Cell::take).unwrap_or_default();
            if (new_cap..=self.bound.max(new_cap)).contains(&cached.len()) {
                self.buf = cached; // nothing to carry over: the ring was empty
                self.head = 0;
                return;
            }
            let _ = SPARE.try_with(|spare| spare.set(cached)); // does not fit this ring
        }
        let mut next = Vec::with_capacity(new_cap);
        let cap = self.buf.len();
        let first = self.len.min(cap - self.head.min(cap));
        next.extend_from_slice(&self.buf[self.head..self.head + first]);
        next.extend_from_slice(&self.buf[..self.len - first]);
        next.resize(new_cap, 0);
        self.buf = next;
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(r: &mut ByteRing, data: &[u8]) -> usize {
        let mut done = 0;
        while done < data.len() {
            let spare = r.spare();
            if spare.is_empty() {
                break;
            }
            let n = spare.len().min(data.len() - done);
            spare[..n].copy_from_slice(&data[done..done + n]);
            r.commit(n);
            done += n;
        }
        done
    }

    #[test]
    fn starts_unallocated_keeps_memory_while_used_and_releases_on_request() {
        let mut r = ByteRing::new(100_000);
        assert_eq!(r.allocated(), 0);
        r.push_slice(&[7; 10]);
        assert_eq!(
            r.allocated(),
            SMALLEST_ALLOCATION,
            "a short message takes a small block"
        );
        let mut out = [0; 10];
        assert_eq!(r.take(&mut out), 10);
        assert_eq!(r.allocated(), SMALLEST_ALLOCATION);
        r.push_slice(&[8; 3]);
        r.release_if_empty();
        assert_eq!(r.allocated(), SMALLEST_ALLOCATION, "not empty: kept");
        assert_eq!(r.take(&mut out), 3);
        r.release_if_empty();
        assert_eq!(r.allocated(), 0);
        assert_eq!(
            r.spare().len(),
            FIRST_ALLOCATION,
            "direct reads get a full first block"
        );
        r.push_slice(&[9; 20_000]);
        assert_eq!(r.allocated(), 32 * 1024, "grown to fit, by powers of two");
        assert_eq!(r.len(), 20_000);
    }

    /// A block given back is the next one a ring of the same thread gets, if it fits.
    #[test]
    fn a_released_block_is_reused_by_the_next_ring() {
        let mut a = ByteRing::new(100_000);
        a.push_slice(&[1; 100]);
        let block = a.buf.as_ptr();
        let mut out = [0; 100];
        a.take(&mut out);
        a.release_if_empty();
        assert_eq!(a.allocated(), 0);
        let mut b = ByteRing::new(100_000);
        b.push_slice(&[2; 10]);
        assert_eq!(b.buf.as_ptr(), block, "the cached block was taken");
        assert_eq!(b.take(&mut out[..10]), 10);
        assert_eq!(out[..10], [2; 10], "only what was pushed is read");
        b.release();
        // Too small for a direct read's first block: a new one is allocated, the cached one
        // stays for a smaller need.
        let mut c = ByteRing::new(100_000);
        assert_eq!(c.spare().len(), FIRST_ALLOCATION);
        assert_ne!(c.buf.as_ptr(), block);
        let mut d = ByteRing::new(100_000);
        d.push_slice(&[3; 5]);
        assert_eq!(d.buf.as_ptr(), block);
        // A bound smaller than the cached block: not used.
        d.release();
        let mut e = ByteRing::new(100);
        e.push_slice(&[4; 5]);
        assert_eq!(e.allocated(), 100);
    }

    #[test]
    fn push_slice_grows_to_fit_within_the_bound() {
        let mut r = ByteRing::new(1000);
        r.push_slice(&[1; 600]);
        assert_eq!(r.allocated(), 1000, "capped at the bound");
        r.push_slice(&[2; 400]);
        assert_eq!(r.len(), 1000);
        let mut out = vec![0; 1000];
        assert_eq!(r.take(&mut out), 1000);
        assert!(out[..600].iter().all(|&b| b == 1) && out[600..].iter().all(|&b| b == 2));
    }

    #[test]
    fn respects_bound_and_keeps_order_across_wraps_and_growth() {
        let bound = 40_000;
        let mut r = ByteRing::new(bound);
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (mut written, mut read) = (0, Vec::new());
        let mut step = 1usize;
        while read.len() < data.len() {
            written += fill(
                &mut r,
                &data[written..(written + step * 997).min(data.len())],
            );
            assert!(r.len() <= bound);
            let mut out = vec![0; step * 613];
            let n = r.take(&mut out);
            read.extend_from_slice(&out[..n]);
            step = step % 13 + 1;
        }
        assert_eq!(read, data);
    }

    #[test]
    fn full_ring_has_no_spare() {
        let mut r = ByteRing::new(1000);
        assert_eq!(fill(&mut r, &[1; 5000]), 1000);
        assert_eq!(r.len(), 1000);
        assert!(r.spare().is_empty());
    }
}
