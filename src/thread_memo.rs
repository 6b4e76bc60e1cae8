//! A thread's memory of one value (the instance it found last, the socket it found last):
//! read in place while it is still valid, replaced after a miss. It is borrowed while a call
//! runs on it, so a call nested on the same thread (none is expected: calls from the log
//! callback are refused) neither reads nor replaces it and takes the slow path. During the
//! thread's exit, when thread-locals are gone, every call takes the slow path too.

use std::cell::RefCell;
use std::thread::LocalKey;

pub(crate) type Memo<T> = RefCell<Option<T>>;

/// Runs `f` (taken out of its option) on the value `memo` holds, if `valid` accepts it; on a
/// miss `f` stays where it is, for the caller's slow path.
pub(crate) fn recall<T: 'static, R, F: FnOnce(&T) -> R>(
    memo: &'static LocalKey<Memo<T>>,
    valid: impl FnOnce(&T) -> bool,
    f: &mut Option<F>,
) -> Option<R> {
    memo.try_with(|cell| {
        let held = cell.try_borrow().ok()?;
        let value = held.as_ref().filter(|v| valid(v))?;
        Some(f.take()?(value))
    })
    .ok()
    .flatten()
}

/// Replaces what `memo` holds (None: forgets it); the value it replaces is released after
/// the borrow ends.
pub(crate) fn store<T: 'static>(memo: &'static LocalKey<Memo<T>>, value: Option<T>) {
    let _old = memo.try_with(|cell| {
        cell.try_borrow_mut()
            .ok()
            .map(|mut slot| std::mem::replace(&mut *slot, value))
    });
}
