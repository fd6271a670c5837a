//! The password pool: a few dedicated threads (two per core) that each own
//! one argon2 [`Hasher`] and its ~19 MiB working memory, fed by a bounded
//! queue. argon2id costs that memory and tens of ms of CPU per call; running
//! it on tokio's blocking pool (up to 512 threads) let a burst of failed
//! logins leave each thread's malloc arena holding its own blocks, 600-700
//! MB that never came back. Here the argon2 memory is at most
//! `threads x 19 MiB` for the life of the process, and waiting callers are
//! futures in the queue, not threads.

use std::sync::{Arc, Mutex};

use deskbind_core::auth::passwords::Hasher;
use tokio::sync::{mpsc, oneshot};

use crate::error::{ApiError, ApiResult};

type Job = Box<dyn FnOnce(&mut Hasher) + Send>;

/// Each thread keeps ~19 MiB for the life of the process; on a many-core
/// host two per core would keep gigabytes for what is a rare burst.
const MAX_THREADS: usize = 8;

/// Jobs waiting per thread before callers wait to enqueue.
const QUEUE_PER_THREAD: usize = 8;

#[derive(Debug)]
pub struct PasswordWork {
    queue: mpsc::Sender<Job>,
    threads: usize,
}

impl Default for PasswordWork {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Self::with_threads((cores * 2).min(MAX_THREADS))
    }
}

impl PasswordWork {
    /// Starts `threads` password threads. They end when this is dropped.
    pub fn with_threads(threads: usize) -> Self {
        let threads = threads.max(1);
        let (queue, jobs) = mpsc::channel::<Job>(threads * QUEUE_PER_THREAD);
        let jobs = Arc::new(Mutex::new(jobs));
        let mut started = 0;
        for n in 0..threads {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("deskbind-password-{n}"))
                .spawn(move || serve(&jobs));
            match spawned {
                Ok(_) => started += 1,
                Err(e) => tracing::error!(error = %e, "could not start a password thread"),
            }
        }
        Self {
            queue,
            threads: started,
        }
    }

    /// How many password threads serve the queue.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `work` on a password thread with that thread's hasher; waits
    /// (asynchronously) for room in the queue and for the answer.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Hasher) -> T + Send + 'static,
    ) -> ApiResult<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |hasher| {
            // A caller that has gone (client disconnected, request timed
            // out) needs no answer: skip the argon2 work.
            if reply.is_closed() {
                return;
            }
            let _ = reply.send(work(hasher));
        });
        self.queue
            .send(job)
            .await
            .map_err(|_| ApiError::internal(anyhow::anyhow!("password threads are gone")))?;
        answer
            .await
            .map_err(|_| ApiError::internal(anyhow::anyhow!("a password job was dropped")))
    }
}

/// One password thread: takes jobs until the queue closes.
fn serve(jobs: &Mutex<mpsc::Receiver<Job>>) {
    let mut hasher = Hasher::new();
    loop {
        // One thread at a time waits on the queue; the lock is released
        // before the job runs.
        let job = match jobs.lock() {
            Ok(mut queue) => queue.blocking_recv(),
            Err(_) => return,
        };
        let Some(job) = job else { return };
        // A panicking job must not take the thread (and its memory) down.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut hasher)));
        if outcome.is_err() {
            tracing::error!("a password job panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[tokio::test]
    async fn pool_hashes_and_verifies_like_argon2() {
        let pool = PasswordWork::with_threads(2);
        let stored = pool
            .run(|h| h.hash("correct horse"))
            .await
            .unwrap()
            .unwrap();
        // A hasher of its own (not the pool's) accepts the pool's hash.
        assert!(deskbind_core::auth::passwords::verify(
            "correct horse",
            &stored
        ));
        for (password, expected) in [("correct horse", true), ("wrong horse", false)] {
            let s = stored.clone();
            let got = pool.run(move |h| h.verify(password, &s)).await.unwrap();
            assert_eq!(got, expected, "{password}");
        }
    }

    #[tokio::test]
    async fn many_concurrent_jobs_run_on_the_fixed_threads_only() {
        let pool = PasswordWork::with_threads(2);
        let names = futures_util::future::join_all(
            (0..40).map(|_| pool.run(|_| std::thread::current().name().unwrap_or("").to_owned())),
        )
        .await;
        let mut distinct: Vec<String> = names.into_iter().map(Result::unwrap).collect();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() <= 2, "{distinct:?}");
        assert!(
            distinct.iter().all(|n| n.starts_with("deskbind-password-")),
            "{distinct:?}"
        );
    }
}
