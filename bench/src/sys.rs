//! What the benchmark reads from /proc: the open-file limit and a
//! process's resident memory.

use anyhow::{Context as _, bail};

/// Fails unless this process may open `needed` files. Every phone holds a
/// socket in the bench and one in its node; node processes inherit the
/// limit, so one check covers both. Raise it with `ulimit -n` before running.
pub fn check_fd_limit(needed: u64) -> anyhow::Result<()> {
    let limits =
        std::fs::read_to_string("/proc/self/limits").context("cannot read /proc/self/limits")?;
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .context("no 'Max open files' line in /proc/self/limits")?;
    // "unlimited" parses as no number and is always enough.
    if let Ok(soft) = soft.parse::<u64>()
        && soft < needed
    {
        bail!(
            "the open-file limit is {soft}, but this run needs at least {needed} \
             (phones + 100); raise it first, e.g. `ulimit -n {}`",
            needed.max(20_000)
        );
    }
    Ok(())
}

/// Resident memory of a process in KiB (`VmRSS` of /proc/<pid>/status).
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no VmRSS in {path}"))
}

/// The 1-minute load average: on a small machine anything else running
/// (a build, a test suite) shows up in the latencies, so the report says so.
pub fn load_average() -> anyhow::Result<f64> {
    let raw = std::fs::read_to_string("/proc/loadavg").context("cannot read /proc/loadavg")?;
    raw.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .context("unexpected /proc/loadavg")
}
