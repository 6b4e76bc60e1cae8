//! Keeps the shared library loaded while an instance runs. Without it, a `dlclose` right after
//! a call could unmap the code a just-started poll thread is about to run; with it, the
//! library stays until `sock_shutdown` has joined every thread.

use std::ffi::c_void;

pub(crate) struct LibraryPin(*mut c_void);

// SAFETY: the handle is only passed to dlclose, which may be called from any thread.
unsafe impl Send for LibraryPin {}
unsafe impl Sync for LibraryPin {}

impl LibraryPin {
    /// Takes one more reference on the object that holds this code (the shared library, or
    /// the executable when linked statically, where it changes nothing).
    pub(crate) fn take() -> Option<LibraryPin> {
        // SAFETY: dladdr fills `info` for an address inside a loaded object; `dli_fname` then
        // points at that object's path, which dlopen reads. RTLD_NOLOAD only adds a reference.
        unsafe {
            let mut info: libc::Dl_info = std::mem::zeroed();
            let here = LibraryPin::take as *const c_void;
            if libc::dladdr(here, &mut info) == 0 || info.dli_fname.is_null() {
                return None;
            }
            let handle = libc::dlopen(info.dli_fname, libc::RTLD_NOW | libc::RTLD_NOLOAD);
            (!handle.is_null()).then(|| LibraryPin(handle))
        }
    }
}

impl Drop for LibraryPin {
    fn drop(&mut self) {
        // SAFETY: the handle came from a successful dlopen and is closed once.
        unsafe {
            libc::dlclose(self.0);
        }
    }
}
