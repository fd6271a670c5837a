//! Call counts for the statistics (`GET /v1/stats/calls`, the console's
//! statistics page): from the rollups wherever they can answer, so the
//! figures outlive the purge of the calls themselves (docs/retention.md
//! "Rollups"), and from the stored calls where they cannot.

use deskbind_core::domain::call_rollup::{bucket_ceil, bucket_of};
use deskbind_core::domain::call_stats::CallSample;
use deskbind_core::ids::OrgId;
use deskbind_core::repo::call_records::{CallFilter, Scope};
use deskbind_core::repo::call_rollups;
use deskbind_core::time::Micros;
use deskbind_core::usecases::call_rollups::rollup_filter;

use super::call_stats::for_each_call;
use crate::error::ApiResult;
use crate::state::AppState;

/// One user's calls at one time: a stored call, or a quarter hour's sum.
#[derive(Debug, Clone)]
pub struct CallTally {
    pub user_id: String,
    pub at: Micros,
    pub calls: u64,
    pub answered: u64,
    pub talk_secs: u64,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Hands every tally of `filter`'s window (`from..until`, both set) to
/// `each`. The whole quarter hours inside the window come from the
/// rollups when the rollup key carries every filter; the part quarter
/// hours at its edges, and filters the rollups cannot answer (number,
/// recording, duration, contact), come from the stored calls.
pub async fn for_each_tally(
    state: &AppState,
    org: OrgId,
    scope: Scope,
    filter: CallFilter,
    mut each: impl FnMut(CallTally),
) -> ApiResult<()> {
    let (from, until) = (
        filter.from.unwrap_or(Micros::MIN),
        filter.until.unwrap_or(Micros::MAX),
    );
    let (inner_from, inner_until) = (bucket_ceil(from), bucket_of(until));
    let plan = (inner_from < inner_until)
        .then(|| rollup_filter(&scope, &filter, inner_from, inner_until))
        .flatten();
    let Some(plan) = plan else {
        return for_each_stored(state, org, scope, filter, &mut each).await;
    };
    let sums = state
        .db
        .run(move |conn| call_rollups::sums(conn, org, &plan))
        .await?;
    for sum in sums {
        each(CallTally {
            user_id: sum.user_id,
            at: sum.bucket_start,
            calls: count(sum.calls),
            answered: count(sum.answered),
            talk_secs: count(sum.talk_secs),
        });
    }
    for (edge_from, edge_until) in [(from, inner_from), (inner_until, until)] {
        if edge_from < edge_until {
            let edge = CallFilter {
                from: Some(edge_from),
                until: Some(edge_until),
                ..filter.clone()
            };
            for_each_stored(state, org, scope.clone(), edge, &mut each).await?;
        }
    }
    Ok(())
}

async fn for_each_stored(
    state: &AppState,
    org: OrgId,
    scope: Scope,
    filter: CallFilter,
    each: &mut impl FnMut(CallTally),
) -> ApiResult<()> {
    for_each_call(state, org, scope, filter, |r| {
        if let Some(user) = r.user_id {
            let sample = CallSample::new(
                user,
                r.started_at,
                r.result.as_deref(),
                r.answered_at,
                r.duration_secs,
            );
            each(CallTally {
                user_id: sample.user_id,
                at: sample.started_at,
                calls: 1,
                answered: u64::from(sample.answered),
                talk_secs: count(sample.duration_secs),
            });
        }
    })
    .await
}
