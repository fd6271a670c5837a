//! The id of the HTTP request being served (the `request_id` of its
//! tracing span, also its `x-request-id` header), readable where a request
//! writes rows that outlive it: a push job keeps it, so the worker's send
//! span logs the same id. The API sets it around each request ([`scope`]);
//! `Database::run` hands it to the blocking thread its closure runs on
//! ([`within`]); [`current`] reads it on either side. Outside a request
//! (worker loops, a phone's WebSocket frames) there is none.

use std::cell::RefCell;
use std::future::Future;

tokio::task_local! {
    static TASK: String;
}

thread_local! {
    static BLOCKING: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `work` as the request `id`.
pub async fn scope<F: Future>(id: String, work: F) -> F::Output {
    TASK.scope(id, work).await
}

/// The request being served here, if any.
pub fn current() -> Option<String> {
    BLOCKING
        .with_borrow(Clone::clone)
        .or_else(|| TASK.try_with(Clone::clone).ok())
}

/// Runs `work` on this (blocking-pool) thread as the request `id`, and
/// restores what was there before, even when `work` panics.
pub fn within<T>(id: Option<String>, work: impl FnOnce() -> T) -> T {
    struct Restore(Option<String>);
    impl Drop for Restore {
        fn drop(&mut self) {
            BLOCKING.set(self.0.take());
        }
    }
    let _restore = Restore(BLOCKING.replace(id));
    work()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn follows_a_request_onto_the_blocking_pool_and_nowhere_else() {
        assert_eq!(current(), None);
        let seen = scope("req-1".into(), async {
            let here = current();
            let id = current();
            let there = tokio::task::spawn_blocking(move || within(id, current))
                .await
                .unwrap_or_default();
            (here, there)
        })
        .await;
        assert_eq!(seen, (Some("req-1".into()), Some("req-1".into())));
        assert_eq!(current(), None, "cleared after the request");
        assert_eq!(within(None, current), None);
    }
}
