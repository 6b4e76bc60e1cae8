//! Name resolution off the poll thread: a few worker threads call the system resolver
//! (getaddrinfo, which honours /etc/hosts) and hand the answer to the poll thread.

use crate::codes::SOCK_ERR_EDNS;
use crate::runtime::Shared;
use crate::socket::Sock;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

/// Workers at most; a slow lookup holds one, the others keep going.
const MAX_WORKERS: usize = 4;
/// Addresses kept from one answer; a hostile resolver cannot make a connect try forever.
const MAX_ADDRESSES: usize = 16;

pub(crate) struct Job {
    pub sock: Arc<Sock>,
    pub host: String,
    pub port: u16,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    idle: usize,
    stopping: bool,
}

#[derive(Default)]
pub(crate) struct Resolver {
    queue: Mutex<Queue>,
    ready: Condvar,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Resolver {
    pub(crate) fn submit(&self, shared: Weak<Shared>, job: Job) {
        let mut q = self.queue.lock();
        q.jobs.push_back(job);
        if q.idle > 0 {
            self.ready.notify_one();
            return;
        }
        drop(q);
        let mut workers = self.workers.lock();
        if workers.len() < MAX_WORKERS {
            let spawned = std::thread::Builder::new()
                .name("socketcore-dns".into())
                .spawn(move || worker(shared));
            // If no thread can be made, a running worker takes the job when it is free.
            if let Ok(handle) = spawned {
                workers.push(handle);
            }
        }
    }

    /// Stops and joins the workers; queued jobs are dropped.
    pub(crate) fn stop(&self) {
        {
            let mut q = self.queue.lock();
            q.stopping = true;
            q.jobs.clear();
        }
        self.ready.notify_all();
        for handle in self.workers.lock().drain(..) {
            let _ = handle.join();
        }
    }

    pub(crate) fn worker_count(&self) -> usize {
        self.workers.lock().len()
    }
}

fn worker(shared: Weak<Shared>) {
    loop {
        let job = {
            let Some(sh) = shared.upgrade() else { return };
            let resolver = &sh.resolver;
            let mut q = resolver.queue.lock();
            loop {
                if q.stopping {
                    return;
                }
                if let Some(job) = q.jobs.pop_front() {
                    break job;
                }
                q.idle += 1;
                resolver.ready.wait(&mut q);
                q.idle -= 1;
            }
        };
        let answer = lookup(&job.host, job.port);
        if let Some(sh) = shared.upgrade() {
            crate::poll_loop::guarded(&sh, &job.sock, || job.sock.start(&sh, answer));
        }
    }
}

pub(crate) fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, i32> {
    match (host, port).to_socket_addrs() {
        Ok(addrs) => {
            let list: Vec<SocketAddr> = addrs.take(MAX_ADDRESSES).collect();
            if list.is_empty() {
                Err(SOCK_ERR_EDNS)
            } else {
                Ok(list)
            }
        }
        Err(_) => Err(SOCK_ERR_EDNS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_names_resolve_and_invalid_does_not() {
        let addrs = lookup("localhost", 80).unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
        assert_eq!(lookup("no-such-host.invalid", 80), Err(SOCK_ERR_EDNS));
    }
}
