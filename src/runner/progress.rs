//! Progress for logs: when stderr is not a terminal (a CI job, output redirected to a file) or `CI` is set, one
//! plain line at most every ~10 s — done/total per provider, errors, spend, elapsed time and ETA.
//!
//! Why this module exists: the progress bars draw nothing off a terminal, so a long real run printed nothing until it
//! ended, and some CI systems kill a job that has been silent for 10 minutes. A line every 10 s keeps the log alive
//! and says how far the run is, without flooding it. `EVALH_PROGRESS_INTERVAL_MS` changes the interval (tests).

use super::ProviderRun;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Time between two lines unless `EVALH_PROGRESS_INTERVAL_MS` says otherwise.
pub(super) const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// Environment variable overriding [`DEFAULT_INTERVAL`], in milliseconds (at least 10).
pub(super) const INTERVAL_ENV: &str = "EVALH_PROGRESS_INTERVAL_MS";

/// One provider's counters at one moment.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Snapshot {
    /// Provider id.
    pub id: String,
    /// Requests done (resumed ones included).
    pub done: u64,
    /// Requests of the run.
    pub total: u64,
    /// Requests that ended in an error in this invocation.
    pub errors: u64,
    /// USD spent in this invocation.
    pub spent_usd: f64,
}

/// The interval in force.
pub(super) fn interval() -> Duration {
    std::env::var(INTERVAL_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|ms| Duration::from_millis(ms.max(10)))
        .unwrap_or(DEFAULT_INTERVAL)
}

/// The background task printing progress lines; stop it (or drop it) before the providers' clients are dropped.
pub(super) struct Reporter {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Reporter {
    /// Start printing a line every [`interval`] for `runs`, each of `total` requests.
    pub(super) fn start(runs: &[Arc<ProviderRun>], total: u64) -> Reporter {
        let runs: Vec<Arc<ProviderRun>> = runs.to_vec();
        let every = interval();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let at_start: Vec<u64> = snapshot(&runs, total).iter().map(|s| s.done).collect();
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let snaps = snapshot(&runs, total);
                eprintln!("{}", line(&snaps, started.elapsed(), &at_start));
            }
        });
        Reporter { task: Some(task) }
    }

    /// Stop printing and wait until the task has let go of the providers.
    pub(super) async fn stop(mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

fn snapshot(runs: &[Arc<ProviderRun>], total: u64) -> Vec<Snapshot> {
    runs.iter()
        .map(|pr| Snapshot {
            id: pr.spec.id.clone(),
            done: pr.bar.position(),
            total,
            errors: pr.errors.load(Ordering::Relaxed),
            spent_usd: pr.spent_micros.load(Ordering::Relaxed) as f64 / 1e6,
        })
        .collect()
}

/// "progress 1:10 | premium 80/110, 0 errors, $0.0201 | flash 110/110, 1 error, $0.0011 | 190/220 done, $0.0212
/// spent, ETA 0:12" — `done_at_start` (per provider) is what the journal already held, so a resumed run's rates
/// count only this invocation's requests. The ETA is the slowest provider's: its requests left at its own rate.
pub(super) fn line(snaps: &[Snapshot], elapsed: Duration, done_at_start: &[u64]) -> String {
    let mut parts = vec![format!("progress {}", clock(elapsed))];
    for s in snaps {
        parts.push(format!(
            "{} {}/{}, {} error{}, ${:.4}",
            s.id,
            s.done,
            s.total,
            s.errors,
            if s.errors == 1 { "" } else { "s" },
            s.spent_usd
        ));
    }
    let done: u64 = snaps.iter().map(|s| s.done).sum();
    let total: u64 = snaps.iter().map(|s| s.total).sum();
    let spent: f64 = snaps.iter().map(|s| s.spent_usd).sum();
    let secs = elapsed.as_secs_f64();
    // Seconds each unfinished provider needs at its rate so far; None when one has not moved yet.
    let left: Option<Vec<f64>> = snaps
        .iter()
        .zip(done_at_start.iter().copied().chain(std::iter::repeat(0)))
        .filter(|(s, _)| s.done < s.total)
        .map(|(s, start)| {
            let new = s.done.saturating_sub(start);
            (new > 0 && secs > 0.0).then(|| (s.total - s.done) as f64 * secs / new as f64)
        })
        .collect();
    let eta = match left {
        _ if done >= total => "finishing".to_string(),
        Some(v) if !v.is_empty() => {
            let worst = v.into_iter().fold(0.0f64, f64::max).min(1e9);
            format!("ETA {}", clock(Duration::from_secs_f64(worst.round())))
        }
        _ => "ETA unknown".to_string(),
    };
    parts.push(format!("{done}/{total} done, ${spent:.4} spent, {eta}"));
    parts.join(" | ")
}

/// `m:ss`, or `h:mm:ss` from an hour on.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(id: &str, done: u64, errors: u64, usd: f64) -> Snapshot {
        Snapshot {
            id: id.into(),
            done,
            total: 110,
            errors,
            spent_usd: usd,
        }
    }

    #[test]
    fn a_line_has_every_provider_the_spend_and_an_eta_from_this_invocations_rate() {
        let l = line(
            &[
                snap("premium", 80, 0, 0.0201),
                snap("flash", 100, 1, 0.0011),
            ],
            Duration::from_secs(70),
            &[10, 30],
        );
        // premium: 70 requests in 70 s, 30 left: 30 s; flash: 70 in 70 s, 10 left: 10 s. The slower one decides.
        assert_eq!(
            l,
            "progress 1:10 | premium 80/110, 0 errors, $0.0201 | flash 100/110, 1 error, $0.0011 | \
             180/220 done, $0.0212 spent, ETA 0:30"
        );
        let l = line(&[snap("a", 5, 0, 0.0)], Duration::from_secs(10), &[5]);
        assert!(l.ends_with("ETA unknown"), "{l}");
        // A provider that is done does not hold the ETA back.
        let l = line(
            &[snap("a", 110, 0, 0.0), snap("b", 55, 0, 0.0)],
            Duration::from_secs(55),
            &[110, 0],
        );
        assert!(l.ends_with("ETA 0:55"), "{l}");
        let l = line(&[snap("a", 110, 0, 0.0)], Duration::from_secs(4000), &[0]);
        assert!(
            l.starts_with("progress 1:06:40 |") && l.ends_with("finishing"),
            "{l}"
        );
    }
}
