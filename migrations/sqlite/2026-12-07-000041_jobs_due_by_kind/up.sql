-- Each kind of job has its own worker, and each worker claims with
-- `kind = ? AND run_at <= ? ORDER BY run_at LIMIT n` (docs/decisions/
-- 0046-job-claim-by-kind.md). With the kind first, the index hands the
-- claim its oldest due jobs of that kind in order, whatever the planner's
-- statistics say: on (run_at) alone PostgreSQL, with statistics taken
-- before a burst of 100,000 digests was queued, read and sorted every due
-- job on each claim (57 ms a claim, 1,000 pushes/s), and one kind's
-- backlog slowed every other kind's claim.
DROP INDEX jobs_due_idx;
CREATE INDEX jobs_kind_due_idx ON jobs (kind, run_at) WHERE outcome IS NULL;
