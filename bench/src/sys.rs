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

/// /proc/<pid>/status as read once; `pid` may be `self`.
struct ProcStatus {
    path: String,
    text: String,
}

impl ProcStatus {
    fn read(pid: impl std::fmt::Display) -> anyhow::Result<Self> {
        let path = format!("/proc/{pid}/status");
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        Ok(Self { path, text })
    }

    /// The number after `name:` (KiB for the memory fields).
    fn field(&self, name: &str) -> anyhow::Result<u64> {
        self.text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no {name} in {}", self.path))
    }
}

/// Resident memory of a process in KiB (`VmRSS` of /proc/<pid>/status).
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    ProcStatus::read(pid)?.field("VmRSS")
}

/// What a process holds in memory, from /proc/<pid>/status, in KiB.
/// Anonymous pages are the process's own (heap, stacks); file-backed ones
/// are mapped files, such as the binary and SQLite's memory-mapped
/// database, which the kernel can drop and read again.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ProcessMemory {
    pub rss_kib: u64,
    pub anon_kib: u64,
    pub file_kib: u64,
    pub threads: u64,
}

pub fn process_memory(pid: u32) -> anyhow::Result<ProcessMemory> {
    let status = ProcStatus::read(pid)?;
    Ok(ProcessMemory {
        rss_kib: status.field("VmRSS")?,
        anon_kib: status.field("RssAnon")?,
        file_kib: status.field("RssFile")?,
        threads: status.field("Threads")?,
    })
}

/// CPU time in clock ticks: the whole machine's (all CPUs, busy and idle)
/// and that of some processes, read together so their ratio means something.
#[derive(Debug, Clone)]
pub struct CpuSample {
    total: u64,
    idle: u64,
    processes: Vec<u64>,
}

impl CpuSample {
    pub fn take(pids: &[u32]) -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
        let ticks: Vec<u64> = stat
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("cpu "))
            .context("no cpu line in /proc/stat")?
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
        let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
        let processes = pids
            .iter()
            .map(|&pid| process_ticks(pid))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            total: ticks.iter().sum(),
            idle,
            processes,
        })
    }

    /// Since `earlier`: how busy the machine was (0–100 %), and each process's
    /// share in % of one CPU (100 % = one core flat out).
    pub fn since(&self, earlier: &Self, cpus: usize) -> (f64, Vec<f64>) {
        let total = self.total.saturating_sub(earlier.total).max(1) as f64;
        let idle = self.idle.saturating_sub(earlier.idle) as f64;
        let busy = (total - idle) / total * 100.0;
        let per_process = self
            .processes
            .iter()
            .zip(&earlier.processes)
            .map(|(now, then)| now.saturating_sub(*then) as f64 / total * cpus as f64 * 100.0)
            .collect();
        (busy, per_process)
    }
}

/// utime + stime of a process (fields 14 and 15 of /proc/<pid>/stat).
fn process_ticks(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // The command name may hold spaces; the fields after it do not.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |n: usize| -> anyhow::Result<u64> {
        fields
            .get(n - 3)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("field {n} missing from {path}"))
    };
    Ok(field(14)? + field(15)?)
}

/// Peak resident memory of this process (`VmHWM`), KiB.
pub fn peak_rss_kib() -> anyhow::Result<u64> {
    ProcStatus::read("self")?.field("VmHWM")
}

/// The 1, 5 and 15 minute load averages, as /proc/loadavg gives them.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_memory_in_parts() {
        // Touch 8 MiB so the anonymous part is well above zero.
        let held = std::hint::black_box(vec![1u8; 8 << 20]);
        let memory = process_memory(std::process::id()).unwrap();
        assert!(memory.anon_kib >= 8 * 1024, "{memory:?}");
        assert!(
            memory.file_kib > 0,
            "the binary itself is mapped: {memory:?}"
        );
        assert!(
            memory.rss_kib >= memory.anon_kib + memory.file_kib,
            "{memory:?}"
        );
        assert!(memory.threads >= 1, "{memory:?}");
        drop(held);
    }

    #[test]
    fn a_missing_process_is_an_error() {
        assert!(process_memory(u32::MAX).is_err());
    }
}
