//! Name resolution off the poll thread: a few worker threads call the system resolver
//! (getaddrinfo, which honours /etc/hosts) and start the socket's connect with the answer.
//! They also make the connects to literal addresses that `sock_conn` hands over while other
//! connects are in flight (see `api.rs`, `conn`).
//!
//! A job carries its socket, so a worker needs no socket table: only the job queue and the
//! instance's `Reactor`, which it holds weakly (the instance owns the resolver, whose workers
//! must not keep it alive).

use crate::codes::SOCK_ERR_EDNS;
use crate::reactor::Reactor;
use crate::socket::Sock;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::net::{SocketAddr, ToSocketAddrs};
use std::ops::Deref;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

/// Workers at most; a slow lookup holds one, the others keep going.
const MAX_WORKERS: usize = 4;
/// Room the job queue keeps once empty; a burst's larger queue is given back.
const SPARE_JOBS: usize = 16;
/// Addresses kept from one answer; a hostile resolver cannot make a connect try forever.
const MAX_ADDRESSES: usize = 16;

pub(crate) struct Job {
    pub sock: Arc<Sock>,
    pub target: Target,
}

/// Where a job's socket connects.
pub(crate) enum Target {
    /// A name to look up, then connect to on `port`.
    Name { host: String, port: u16 },
    /// Addresses known already (a literal): nothing to look up, only the connect to make.
    /// Made by the caller's thread, so that a worker allocates nothing for them (memory a
    /// worker allocates in a burst stays in its own malloc arena afterwards).
    Addresses(Vec<SocketAddr>),
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    idle: usize,
    stopping: bool,
}

/// What the workers share with the resolver.
#[derive(Default)]
struct Jobs {
    queue: Mutex<Queue>,
    ready: Condvar,
}

#[derive(Default)]
pub(crate) struct Resolver {
    jobs: Arc<Jobs>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Resolver {
    /// Queues `job`; the answer starts its socket's connect through `reactor` (the instance,
    /// held weakly: a worker that finds it gone ends).
    pub(crate) fn submit<R>(&self, reactor: Weak<R>, job: Job)
    where
        R: Deref<Target = Reactor> + Send + Sync + 'static,
    {
        self.offer(reactor, job, usize::MAX);
    }

    /// As `submit`, unless `backlog` jobs are waiting already: then the job is dropped and
    /// false returned, for the caller to do the work itself (a literal connect in a burst:
    /// the caller and the workers then connect side by side, and the queue stays short).
    pub(crate) fn offer<R>(&self, reactor: Weak<R>, job: Job, backlog: usize) -> bool
    where
        R: Deref<Target = Reactor> + Send + Sync + 'static,
    {
        let mut q = self.jobs.queue.lock();
        if q.jobs.len() >= backlog {
            return false;
        }
        q.jobs.push_back(job);
        if q.idle > 0 {
            self.jobs.ready.notify_one();
            return true;
        }
        drop(q);
        let mut workers = self.workers.lock();
        if workers.len() < MAX_WORKERS {
            let jobs = self.jobs.clone();
            let spawned = std::thread::Builder::new()
                .name("socketcore-dns".into())
                .spawn(move || worker(&reactor, &jobs));
            // If no thread can be made, a running worker takes the job when it is free.
            if let Ok(handle) = spawned {
                workers.push(handle);
            }
        }
        true
    }

    /// Stops and joins the workers; queued jobs are dropped.
    pub(crate) fn stop(&self) {
        {
            let mut q = self.jobs.queue.lock();
            q.stopping = true;
            q.jobs.clear();
        }
        self.jobs.ready.notify_all();
        for handle in self.workers.lock().drain(..) {
            let _ = handle.join();
        }
    }

    pub(crate) fn worker_count(&self) -> usize {
        self.workers.lock().len()
    }
}

fn worker<R: Deref<Target = Reactor>>(reactor: &Weak<R>, jobs: &Jobs) {
    loop {
        let job = {
            let mut q = jobs.queue.lock();
            loop {
                if q.stopping || reactor.strong_count() == 0 {
                    return;
                }
                if let Some(job) = q.jobs.pop_front() {
                    if q.jobs.is_empty() && q.jobs.capacity() > SPARE_JOBS {
                        // A burst of connects is over: its room goes back.
                        q.jobs.shrink_to(SPARE_JOBS);
                    }
                    break job;
                }
                q.idle += 1;
                jobs.ready.wait(&mut q);
                q.idle -= 1;
            }
        };
        let answer = match job.target {
            Target::Addresses(list) => Ok(list),
            Target::Name { host, port } => lookup(&host, port),
        };
        if let Some(sh) = reactor.upgrade() {
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
