//! PostgreSQL's planner statistics brought up to date after a burst of
//! writes, instead of at autovacuum's next turn (a minute, or never where
//! it is off). A table that goes from a few rows to 100,000 in seconds (a
//! bulk call-list import, 100,000 digests due at once) otherwise keeps the
//! estimate of a few rows, and the planner reads and sorts the whole burst
//! where an index would hand out a few rows (docs/decisions/0046). SQLite
//! keeps no statistics: nothing is done there.

use crate::db::{Backend, Database, DbError, dialect};

/// ANALYZEs `table` on PostgreSQL ([`dialect::refresh_planner_stats`]:
/// it never waits for another ANALYZE or a vacuum of the table, and blocks
/// no reads or writes). A failure only costs the faster plan: it is logged.
pub async fn refresh(db: &Database, table: &'static str) {
    // No connection checkout for nothing.
    if db.backend() != Backend::Postgres {
        return;
    }
    let refreshed = db
        .run(move |conn| -> Result<(), DbError> {
            Ok(dialect::refresh_planner_stats(conn, table)?)
        })
        .await;
    match refreshed {
        Ok(()) => tracing::debug!(table, "planner statistics refreshed"),
        Err(err) => {
            tracing::warn!(error = %err, table, "could not refresh the planner's statistics");
        }
    }
}

/// When a run that keeps adding rows to one table should refresh its
/// statistics: at `first` rows added, then each time the count doubles,
/// so a run of n rows refreshes about log2(n / first) times.
#[derive(Debug, Clone, Copy)]
pub struct GrowthTrigger {
    next_at: usize,
}

impl GrowthTrigger {
    pub fn new(first: usize) -> Self {
        Self {
            next_at: first.max(1),
        }
    }

    /// Whether `added` rows in all call for a refresh now.
    pub fn due(&mut self, added: usize) -> bool {
        if added < self.next_at {
            return false;
        }
        self.next_at = added.saturating_mul(2);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::GrowthTrigger;

    #[test]
    fn a_growing_run_refreshes_at_the_first_threshold_and_then_at_each_doubling() {
        let mut trigger = GrowthTrigger::new(1_000);
        let fired: Vec<usize> = (1..=100)
            .map(|batch| batch * 200)
            .filter(|&added| trigger.due(added))
            .collect();
        assert_eq!(fired, vec![1_000, 2_000, 4_000, 8_000, 16_000]);
    }

    #[test]
    fn a_run_that_stays_small_never_refreshes() {
        let mut trigger = GrowthTrigger::new(1_000);
        assert!(!trigger.due(0));
        assert!(!trigger.due(999));
    }
}
