//! The vendor-relay benchmark's figures: printed for people, then as one
//! JSON line for the docs.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Issue 22: dial → the phone's HTTP request, p99, on this machine.
pub const TARGET_P99_MS: f64 = 20.0;

#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub count: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Figures {
    /// From a histogram of microseconds, in milliseconds.
    pub fn from_micros(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }

    fn line(&self) -> String {
        format!(
            "p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2} ms (n={})",
            self.p50, self.p95, self.p99, self.max, self.count
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VendorSummary {
    pub phones: usize,
    pub vendors: String,
    pub database: String,
    pub call_events: bool,
    pub setup_secs: f64,
    pub links_up_secs: f64,
    pub rate_per_sec: u32,
    pub dials_sent: usize,
    pub dials_accepted: usize,
    pub send_secs: f64,
    pub errors: BTreeMap<String, u64>,
    pub reached: usize,
    pub lost: usize,
    pub refused_by_phones: BTreeMap<String, u64>,
    /// POST sent → the vendor HTTP request at the phone: the target's figure.
    pub dial_to_phone_ms: Figures,
    pub post_ms: Figures,
    pub sent_to_stored_ms: Figures,
    pub stored_to_phone_ms: Figures,
    /// 1, 5 and 15 minute load averages: before dialing, after.
    pub loadavg_before: String,
    pub loadavg_after: String,
    pub cpus: usize,
    /// Whole machine while dialing, 0–100 %.
    pub machine_busy_pct: f64,
    /// The server process, in % of one CPU, while dialing.
    pub server_cpu_pct: f64,
    /// This process (relay, handsets, app clients), in % of one CPU.
    pub bench_cpu_pct: f64,
    pub server_rss_kib: u64,
    /// This process: the relay with its 200 links, the emulated handsets
    /// and the salespeople's sessions.
    pub bench_rss_kib: u64,
    pub relay_commands_sent: u64,
    pub relay_phones_with_errors: usize,
}

impl VendorSummary {
    pub fn print(&self) -> anyhow::Result<()> {
        println!();
        println!("== vendor-relay benchmark ==");
        println!(
            "office          {} phones ({}) on one relay; database {}; call events {}",
            self.phones,
            self.vendors,
            self.database,
            if self.call_events { "on" } else { "off" }
        );
        println!(
            "setup           {:.1} s; all relay links up {:.2} s after start",
            self.setup_secs, self.links_up_secs
        );
        println!(
            "dials           {}/s: sent {} in {:.1} s, accepted {}, reached the phone {}, lost {}",
            self.rate_per_sec,
            self.dials_sent,
            self.send_secs,
            self.dials_accepted,
            self.reached,
            self.lost
        );
        println!("errors          {}", counts(&self.errors));
        println!("phone refusals  {}", counts(&self.refused_by_phones));
        println!("dial → phone    {}", self.dial_to_phone_ms.line());
        println!("POST /v1/dials  {}", self.post_ms.line());
        println!("sent → stored   {}", self.sent_to_stored_ms.line());
        println!("stored → phone  {}", self.stored_to_phone_ms.line());
        println!(
            "target          dial → phone HTTP request p99 ≤ {TARGET_P99_MS} ms: {}",
            if self.dial_to_phone_ms.p99 <= TARGET_P99_MS && self.lost == 0 {
                "MET"
            } else {
                "MISSED"
            }
        );
        println!(
            "load average    {} before dialing, {} after",
            self.loadavg_before, self.loadavg_after
        );
        println!(
            "CPU (dialing)   {} CPUs {:.0} % busy; server {:.0} %, bench process {:.0} % of one CPU",
            self.cpus, self.machine_busy_pct, self.server_cpu_pct, self.bench_cpu_pct
        );
        println!(
            "memory          server RSS {} KiB; bench process (relay + handsets + apps) RSS {} KiB",
            self.server_rss_kib, self.bench_rss_kib
        );
        println!(
            "relay           {} commands sent; {} phones with an error",
            self.relay_commands_sent, self.relay_phones_with_errors
        );
        println!("{}", serde_json::to_string(self)?);
        Ok(())
    }
}

fn counts(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    map.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
