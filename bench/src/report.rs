//! The figures of a run: printed for people, then as one JSON line for
//! the docs.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::sys::ProcessMemory;

/// Issue 18: memory per idle phone connection, judged on the private
/// (anonymous) memory one more connection adds to a node that already
/// holds phones (docs/decisions/0044-connection-memory-measure.md).
pub const MEMORY_TARGET_KIB: f64 = 6.0;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub phones: usize,
    pub nodes: usize,
    pub database: String,
    pub db_pool_size: u32,
    pub dialing_phones: usize,
    pub dialers: usize,
    pub connect_secs: f64,
    pub connect_failures: usize,
    /// Phone connections that ended during the run.
    pub disconnects: usize,
    /// `error` frames the phones received.
    pub refusals: usize,
    pub rate_per_sec: u32,
    pub duration_secs: u64,
    pub dials_sent: u64,
    pub dials_accepted: usize,
    pub dials_received: usize,
    pub dials_lost: usize,
    pub duplicate_frames: u64,
    pub errors: BTreeMap<String, u64>,
    /// Stored → received by the phone.
    pub latency_ms: Quantiles,
    /// `POST /v1/dials` round trip as the dialer saw it.
    pub post_latency_ms: Quantiles,
    pub memory: Vec<NodeMemory>,
    pub bench_rss_kib: u64,
    pub cpu: CpuUse,
}

/// CPU use while dialing. On a small machine the nodes, the database, Redis
/// and the bench share the cores; anything else running shows up here too.
#[derive(Debug, Clone, Serialize)]
pub struct CpuUse {
    pub cpus: usize,
    /// Whole machine, 0–100 %.
    pub machine_busy_pct: f64,
    /// Each node, in % of one CPU.
    pub nodes_pct: Vec<f64>,
    pub bench_pct: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Quantiles {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub count: u64,
}

impl Quantiles {
    /// From a histogram of microseconds, in milliseconds.
    pub fn from_micros(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            p50: ms(h.value_at_quantile(0.50)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            count: h.len(),
        }
    }
}

/// What one node's memory did as its phones connected, in two waves.
#[derive(Debug, Clone, Serialize)]
pub struct NodeMemory {
    pub node: usize,
    pub phones: usize,
    /// Phones of the second wave on this node.
    pub second_wave: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    /// All of the resident memory's growth over all phones: also counts
    /// the database pages mapped while they connected, and the blocking
    /// threads and allocator caches the first handshakes brought.
    pub kib_per_connection: f64,
    /// The anonymous memory the second wave added, per phone: what one
    /// more idle connection costs a node that already holds phones. None
    /// when the second wave put no phone on this node.
    pub private_kib_per_connection: Option<f64>,
    pub before: ProcessMemory,
    pub between_waves: ProcessMemory,
    pub after: ProcessMemory,
}

impl NodeMemory {
    pub fn new(
        node: usize,
        (phones, second_wave): (usize, usize),
        before: ProcessMemory,
        between_waves: ProcessMemory,
        after: ProcessMemory,
    ) -> Self {
        let per = |from: u64, to: u64, n: usize| {
            let per = to.saturating_sub(from) as f64 / n.max(1) as f64;
            (per * 100.0).round() / 100.0
        };
        let private =
            (second_wave > 0).then(|| per(between_waves.anon_kib, after.anon_kib, second_wave));
        Self {
            node,
            phones,
            second_wave,
            rss_before_kib: before.rss_kib,
            rss_after_kib: after.rss_kib,
            kib_per_connection: per(before.rss_kib, after.rss_kib, phones),
            private_kib_per_connection: private,
            before,
            between_waves,
            after,
        }
    }
}

impl Summary {
    pub fn print(&self) -> anyhow::Result<()> {
        let q = |q: &Quantiles| {
            format!(
                "p50 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3} ms (n={})",
                q.p50, q.p99, q.p999, q.max, q.count
            )
        };
        println!();
        println!("== relay benchmark ==");
        println!(
            "phones          {} on {} node(s), database {} (pool {} per node); {} dialing phones held by {} dialers",
            self.phones,
            self.nodes,
            self.database,
            self.db_pool_size,
            self.dialing_phones,
            self.dialers
        );
        println!(
            "connect         {:.2} s for all phones; {} failed; {} disconnected later; {} error frames",
            self.connect_secs, self.connect_failures, self.disconnects, self.refusals
        );
        println!(
            "dials           {}/s for {} s: sent {}, accepted {}, received {}, lost {}, duplicates {}",
            self.rate_per_sec,
            self.duration_secs,
            self.dials_sent,
            self.dials_accepted,
            self.dials_received,
            self.dials_lost,
            self.duplicate_frames
        );
        if self.errors.is_empty() {
            println!("errors          none");
        } else {
            let list: Vec<String> = self
                .errors
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            println!("errors          {}", list.join(", "));
        }
        println!("latency         {}", q(&self.latency_ms));
        println!("POST /v1/dials  {}", q(&self.post_latency_ms));
        for m in &self.memory {
            let (b, w, a) = (m.before, m.between_waves, m.after);
            println!(
                "memory node {}   RSS {:.2} KiB per idle connection ({} phones, RSS {} → {} KiB: \
                 anonymous {} → {} → {}, file-backed {} → {} → {}, threads {} → {} → {})",
                m.node,
                m.kib_per_connection,
                m.phones,
                m.rss_before_kib,
                m.rss_after_kib,
                b.anon_kib,
                w.anon_kib,
                a.anon_kib,
                b.file_kib,
                w.file_kib,
                a.file_kib,
                b.threads,
                w.threads,
                a.threads
            );
            println!(
                "                private (anonymous) memory the second wave of {} phones added: {}",
                m.second_wave,
                m.private_kib_per_connection
                    .map_or("n/a".into(), |kib| format!("{kib:.2} KiB per connection"))
            );
            // tokio ends blocking threads after 10 s idle: if the first
            // wave's went away during the second, the figure is too low.
            if a.threads < w.threads {
                println!(
                    "                WARNING: threads fell during the second wave ({} → {}); its figure is understated",
                    w.threads, a.threads
                );
            }
        }
        // A phone that failed or dropped is counted in a wave but holds
        // nothing: the figure would be too low, so it is not judged.
        let incomplete = self.connect_failures + self.disconnects;
        for m in &self.memory {
            let verdict = match m.private_kib_per_connection {
                _ if incomplete > 0 => {
                    format!("NOT JUDGED ({incomplete} phones failed to connect or dropped)")
                }
                None => "n/a (no phones in the second wave)".into(),
                Some(kib) if kib <= MEMORY_TARGET_KIB => format!("{kib:.2} KiB -> MET"),
                Some(kib) => format!("{kib:.2} KiB -> MISSED"),
            };
            println!(
                "target          private memory per idle connection <= {MEMORY_TARGET_KIB} KiB: node {} {verdict}",
                m.node
            );
        }
        println!("bench RSS       {} KiB", self.bench_rss_kib);
        let nodes: Vec<String> = self
            .cpu
            .nodes_pct
            .iter()
            .map(|p| format!("{p:.0} %"))
            .collect();
        println!(
            "CPU (dialing)   {} CPUs {:.0} % busy; nodes {} of one CPU; bench {:.0} %",
            self.cpu.cpus,
            self.cpu.machine_busy_pct,
            nodes.join(" + "),
            self.cpu.bench_pct
        );
        println!("{}", serde_json::to_string(self)?);
        Ok(())
    }
}

/// Prints a latency benchmark's quantiles and its p99 verdict.
pub fn print_latency(label: &str, q: &Quantiles, target_p99_ms: f64) {
    println!(
        "{label:<15} p50 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3} ms (n={})",
        q.p50, q.p99, q.p999, q.max, q.count
    );
    println!(
        "target          p99 <= {target_p99_ms} ms -> {}",
        if q.p99 <= target_p99_ms {
            "MET"
        } else {
            "MISSED"
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rss_kib: u64, anon_kib: u64) -> ProcessMemory {
        ProcessMemory {
            rss_kib,
            anon_kib,
            file_kib: rss_kib - anon_kib,
            threads: 1,
        }
    }

    #[test]
    fn the_judged_figure_is_the_second_waves_anonymous_growth() {
        // 1,000 phones: the first wave also maps 100 MiB of files and
        // brings threads; the second adds 4,000 KiB of private memory.
        let memory = NodeMemory::new(
            1,
            (1_000, 500),
            at(100_000, 60_000),
            at(210_000, 70_000),
            at(214_000, 74_000),
        );
        assert_eq!(memory.private_kib_per_connection, Some(8.0));
        assert_eq!(memory.kib_per_connection, 114.0);
    }

    #[test]
    fn a_node_without_phones_in_the_second_wave_has_no_figure() {
        let memory = NodeMemory::new(2, (0, 0), at(10, 5), at(10, 5), at(12, 6));
        assert_eq!(memory.private_kib_per_connection, None);
        assert!(memory.kib_per_connection.is_finite());
    }
}
