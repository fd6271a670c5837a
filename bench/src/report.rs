//! The figures of a run: printed for people, then as one JSON line for
//! the docs.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Issue 18: resident memory per idle phone connection.
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

#[derive(Debug, Clone, Serialize)]
pub struct NodeMemory {
    pub node: usize,
    pub phones: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub kib_per_connection: f64,
}

impl NodeMemory {
    pub fn new(node: usize, phones: usize, before: u64, after: u64) -> Self {
        let per = after.saturating_sub(before) as f64 / phones.max(1) as f64;
        Self {
            node,
            phones,
            rss_before_kib: before,
            rss_after_kib: after,
            kib_per_connection: (per * 100.0).round() / 100.0,
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
            println!(
                "memory node {}   {:.2} KiB per idle connection ({} phones, RSS {} → {} KiB)",
                m.node, m.kib_per_connection, m.phones, m.rss_before_kib, m.rss_after_kib
            );
        }
        for m in &self.memory {
            println!(
                "target          memory per idle connection <= {MEMORY_TARGET_KIB} KiB: node {} {:.2} KiB -> {}",
                m.node,
                m.kib_per_connection,
                if m.kib_per_connection <= MEMORY_TARGET_KIB {
                    "MET"
                } else {
                    "MISSED"
                }
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
