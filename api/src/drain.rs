//! Draining a node before it stops (docs/operations.md, "Draining a node";
//! docs/decisions/0015-phone-drain-and-sockets.md). On SIGTERM the node
//! answers `/readyz` and new phone connections with 503 `node_draining`,
//! and every phone connection is told to reconnect after a delay drawn
//! uniformly from the drain window, so the phones move to other nodes in a
//! spread rather than a stampede. The node stops once its sockets are gone,
//! or when the window (plus a margin for the last phones) has passed.

use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How long after its reconnect time a phone that has not left is closed
/// (1012), and how long past the window the node waits for that.
pub const CLOSE_MARGIN: Duration = Duration::from_secs(2);
/// How long the sockets closed at the window's end have to send their close
/// frame before the node stops. A phone socket is not one of actix's
/// connections (it left the HTTP dispatcher at its handshake), so actix's
/// graceful stop does not wait for it: stopping drops its task.
pub const LAST_CLOSES: Duration = Duration::from_secs(3);

#[derive(Debug)]
pub struct Drain {
    started: CancellationToken,
    /// The node stops now: every socket closes at once.
    closing: CancellationToken,
    window: Duration,
    /// Phone sockets open on this node.
    sockets: watch::Sender<usize>,
}

impl Drain {
    pub fn new(window: Duration) -> Self {
        Self {
            started: CancellationToken::new(),
            closing: CancellationToken::new(),
            window,
            sockets: watch::Sender::new(0),
        }
    }

    /// Starts draining (idempotent).
    pub fn start(&self) {
        if !self.started.is_cancelled() {
            tracing::info!(
                window_ms = self.window.as_millis() as u64,
                phones = *self.sockets.borrow(),
                "draining: phones are told to reconnect elsewhere"
            );
        }
        self.started.cancel();
    }

    pub fn is_draining(&self) -> bool {
        self.started.is_cancelled()
    }

    /// Resolves once draining has started.
    pub async fn started(&self) {
        self.started.cancelled().await;
    }

    /// Closes every phone socket now (1012) and waits, at most
    /// [`LAST_CLOSES`], until they are gone: for a node that stops without
    /// draining (SIGINT, a second SIGTERM). Returns how many were left.
    pub async fn close_sockets(&self) -> usize {
        self.closing.cancel();
        self.sockets_gone_within(LAST_CLOSES).await
    }

    /// Waits until no phone socket is open, at most `limit`; returns how
    /// many still are.
    async fn sockets_gone_within(&self, limit: Duration) -> usize {
        let mut sockets = self.sockets.subscribe();
        let _ = tokio::time::timeout(limit, sockets.wait_for(|n| *n == 0)).await;
        *self.sockets.borrow()
    }

    /// Resolves once [`Self::close_sockets`] was called.
    pub async fn closing_sockets(&self) {
        self.closing.cancelled().await;
    }

    /// When this phone should reconnect: uniform over the window, so the
    /// node's phones arrive at the others spread out.
    pub fn reconnect_delay(&self) -> Duration {
        let window = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=window))
    }

    /// Counts a phone socket while the guard lives.
    pub fn track_socket(&self) -> SocketGuard<'_> {
        self.sockets.send_modify(|n| *n += 1);
        SocketGuard { drain: self }
    }

    /// Waits until every phone socket has closed, at most the window plus
    /// [`CLOSE_MARGIN`] plus [`LAST_CLOSES`]; returns how many were still
    /// open.
    pub async fn wait_for_sockets(&self) -> usize {
        self.sockets_gone_within(self.window + CLOSE_MARGIN + LAST_CLOSES)
            .await
    }
}

#[derive(Debug)]
pub struct SocketGuard<'a> {
    drain: &'a Drain,
}

impl Drop for SocketGuard<'_> {
    fn drop(&mut self) {
        self.drain.sockets.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_within_the_window() {
        let drain = Drain::new(Duration::from_millis(500));
        for _ in 0..1000 {
            assert!(drain.reconnect_delay() <= Duration::from_millis(500));
        }
        assert_eq!(Drain::new(Duration::ZERO).reconnect_delay(), Duration::ZERO);
    }

    #[tokio::test]
    async fn waits_for_the_last_socket() {
        let drain = Drain::new(Duration::from_secs(60));
        let guard = drain.track_socket();
        assert!(!drain.is_draining());
        drain.start();
        assert!(drain.is_draining());
        drain.started().await;
        let waiting = drain.wait_for_sockets();
        drop(guard);
        assert_eq!(waiting.await, 0);
    }
}
