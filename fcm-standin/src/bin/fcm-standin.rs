//! `fcm-standin DIR`: the stand-in as a process, for tests that run the
//! real binaries (scripts/topology-test). Writes the service-account file
//! to `DIR/fcm-service-account.json` (its `token_uri` points here), prints
//! `endpoint http://127.0.0.1:PORT` as its first line, then one line per
//! send request, `attempt STATUS TOKEN`, and one per accepted send,
//! `delivery {json}` with the device token and the message. Runs until
//! killed.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use deskbind_fcm_standin::FcmStandIn;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fcm-standin DIR (where the service-account file is written)");
        std::process::exit(2);
    };
    let standin = FcmStandIn::start().await;
    standin.write_service_account(&dir);
    let mut out = std::io::stdout().lock();
    writeln!(out, "endpoint {}", standin.endpoint())?;
    out.flush()?;
    let (mut attempts, mut deliveries) = (0, 0);
    loop {
        // Err is only the timeout: then wait again.
        let _ = standin
            .wait_for_attempts(attempts + 1, Duration::from_secs(3600))
            .await;
        for attempt in standin.attempts().iter().skip(attempts) {
            let token = attempt.device_token.as_deref().unwrap_or("-");
            writeln!(out, "attempt {} {token}", attempt.status)?;
            attempts += 1;
        }
        for delivery in standin.deliveries().iter().skip(deliveries) {
            let line = serde_json::json!({
                "device_token": delivery.device_token,
                "message": delivery.message,
            });
            writeln!(out, "delivery {line}")?;
            deliveries += 1;
        }
        out.flush()?;
    }
}
