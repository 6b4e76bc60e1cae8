//! Buffers for queued sends, reused. `sock_send` copies what the kernel cannot take now into a
//! buffer that is freed once written. Under sustained backpressure that was a 64 KiB malloc and
//! free per send, and glibc gave the pages back to the OS in between, so every copy faulted
//! them in again. Each thread keeps a few freed buffers to hand out again: a bound per thread,
//! not per socket, so idle connections still hold no buffer.

use std::cell::RefCell;

/// Freed buffers a thread keeps at most.
const KEEP: usize = 4;
/// Larger buffers are freed, not kept.
const LARGEST: usize = 64 * 1024;

thread_local! {
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer holding a copy of `data`, reusing a kept one that is large enough.
pub(crate) fn copy_of(data: &[u8]) -> Vec<u8> {
    let kept = SPARE
        .try_with(|spare| {
            let mut spare = spare.borrow_mut();
            let i = spare.iter().position(|b| b.capacity() >= data.len())?;
            Some(spare.swap_remove(i))
        })
        .ok()
        .flatten();
    match kept {
        Some(mut buf) => {
            buf.extend_from_slice(data);
            buf
        }
        None => data.to_vec(),
    }
}

/// Takes back a buffer whose bytes are all written.
pub(crate) fn recycle(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > LARGEST {
        return;
    }
    buf.clear();
    // During thread teardown the cache may be gone: then the buffer is simply freed.
    let _ = SPARE.try_with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < KEEP {
            spare.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_kept_buffers_within_the_bounds() {
        let first = copy_of(&[1; 1000]);
        let ptr = first.as_ptr();
        recycle(first);
        let again = copy_of(&[2; 500]);
        assert_eq!(again.as_ptr(), ptr, "the kept buffer is handed out again");
        assert_eq!(again, vec![2; 500], "holding only the new bytes");
        let big = copy_of(&vec![3; LARGEST + 1]);
        recycle(big); // too large to keep
        for _ in 0..KEEP + 2 {
            recycle(Vec::with_capacity(10));
        }
        SPARE.with_borrow(|spare| {
            assert_eq!(spare.len(), KEEP);
            assert!(
                spare
                    .iter()
                    .all(|b| b.capacity() <= LARGEST && b.is_empty())
            );
        });
    }
}
