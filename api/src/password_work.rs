//! Bounded password hashing. argon2id costs ~19 MiB and tens of ms of CPU per
//! call; without a bound, a burst of logins could queue hundreds of them on
//! the blocking pool and exhaust memory. At most two per core run at once.

use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

#[derive(Debug)]
pub struct PasswordWork {
    permits: Semaphore,
}

impl Default for PasswordWork {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Self {
            permits: Semaphore::new(cores * 2),
        }
    }
}

impl PasswordWork {
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(ApiError::internal)
    }
}
