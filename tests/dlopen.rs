//! Loading and unloading the shared library repeatedly in one process, with and without
//! `sock_shutdown` first: no crash, no leaked threads or descriptors. Without a shutdown the
//! running instance's threads keep the library mapped (glibc does not unmap a library whose
//! threads hold thread-local state), so the next load finds the same instance; with one, the
//! library really goes.

mod common;
use common::*;
use std::ffi::{CString, c_char, c_int, c_void};
use std::time::Duration;

type Conn = unsafe extern "C" fn(c_int, c_int, *const c_char, *const c_void) -> c_int;
type Wait = unsafe extern "C" fn(*mut socketcore::sock_msg, c_int) -> c_int;
type Shutdown = unsafe extern "C" fn();

fn library_path() -> CString {
    // Integration tests live in target/<profile>/deps; the cdylib one level up.
    let exe = std::env::current_exe().unwrap();
    let lib = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("libsocketcore.so");
    assert!(
        lib.exists(),
        "{} not built: run `cargo build` first",
        lib.display()
    );
    CString::new(lib.to_str().unwrap()).unwrap()
}

unsafe fn sym<T>(handle: *mut c_void, name: &str) -> T {
    let n = CString::new(name).unwrap();
    let p = unsafe { libc::dlsym(handle, n.as_ptr()) };
    assert!(!p.is_null(), "{name} missing");
    unsafe { std::mem::transmute_copy(&p) }
}

fn mapped() -> bool {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .contains("libsocketcore.so")
}

#[test]
fn dlopen_dlclose_100_times() {
    let _s = session();
    let path = library_path();
    let server = tcp_server(usize::MAX, echo);
    let port = server.port as c_int;
    // Each cycle: this thread loads the library, a fresh thread uses it (so that its
    // thread-local state dies with it), then this thread unloads it, with or without
    // sock_shutdown first.
    let cycle = |explicit_shutdown: bool| {
        let h = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) } as usize;
        assert_ne!(h, 0, "dlopen failed");
        std::thread::spawn(move || unsafe {
            let h = h as *mut c_void;
            let conn: Conn = sym(h, "sock_conn");
            let wait: Wait = sym(h, "sock_wait_msg");
            let shutdown: Shutdown = sym(h, "sock_shutdown");
            let addr = CString::new("127.0.0.1").unwrap();
            let id = conn(
                socketcore::SOCK_TYPE_TCP,
                port,
                addr.as_ptr(),
                std::ptr::null(),
            );
            assert!(id >= 0);
            let mut m = socketcore::sock_msg::default();
            assert_eq!(wait(&mut m, 5000), 1);
            assert_eq!((m.id, m.result), (socketcore::MSG_SOCK_CONN_CNF, 0));
            if explicit_shutdown {
                shutdown();
            }
        })
        .join()
        .unwrap();
        assert_eq!(unsafe { libc::dlclose(h as *mut c_void) }, 0);
        !mapped()
    };
    cycle(true);
    std::thread::sleep(Duration::from_millis(100));
    let (threads, fds) = (thread_count(), fd_count());
    let mut unloaded = 0;
    for i in 0..100 {
        let explicit = i % 2 == 0;
        let gone = cycle(explicit);
        assert_eq!(
            gone, explicit,
            "cycle {i}: unmapped {gone} after shutdown {explicit}"
        );
        unloaded += usize::from(gone);
    }
    assert!(cycle(true));
    std::thread::sleep(Duration::from_millis(300));
    eprintln!(
        "100 load/unload cycles ({unloaded} really unmapped): threads {threads} -> {}, fds {fds} -> {}",
        thread_count(),
        fd_count()
    );
    assert!(thread_count() <= threads, "threads leaked");
    assert!(fd_count() <= fds, "descriptors leaked");
    server.join_detached();
}
