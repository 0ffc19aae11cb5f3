//! The run settings: concurrency, repeats, retries, timeouts, backoff, seed and budget in range.

use super::*;

impl Checks<'_> {
    pub(super) fn run(&mut self) {
        let r = &self.suite().run;
        let n = r.concurrency;
        self.require((1..=MAX_CONCURRENCY).contains(&n), |c| {
            c.at(
                &["run", "concurrency"],
                format!("run.concurrency must be between 1 and {MAX_CONCURRENCY}, not {n}"),
            )
            .hint("the most requests in flight per provider, e.g. 8")
        });
        let k = r.repeats;
        self.require((1..=MAX_REPEATS).contains(&k), |c| {
            c.at(
                &["run", "repeats"],
                format!("run.repeats must be between 1 and {MAX_REPEATS}, not {k}"),
            )
            .hint("repeats measure run-to-run variation; 5-10 are typical, and beyond 100 the estimate no longer changes while the cost grows")
        });
        let timeouts = [
            ("timeout_s", Some(r.timeout_s)),
            ("connect_timeout_s", Some(r.connect_timeout_s)),
            ("idle_timeout_s", Some(r.idle_timeout_s)),
            ("first_byte_timeout_s", r.first_byte_timeout_s),
        ];
        for (key, v) in timeouts {
            let Some(v) = v else { continue };
            self.require(v > 0.0 && within(v, 0.0, MAX_TIMEOUT_S), |c| {
                c.at(
                    &["run", key],
                    format!("run.{key} is {}; a timeout must be a finite number of seconds > 0 and at most {MAX_TIMEOUT_S} (one day)", num(v)),
                )
                .hint(format!("e.g. {key}: 60"))
            });
        }
        let retries = r.max_retries;
        self.require(retries <= MAX_RETRIES, |c| {
            c.at(
                &["run", "max_retries"],
                format!("run.max_retries is {retries}; at most {MAX_RETRIES} are allowed"),
            )
            .hint("retries of one request after its first attempt, e.g. 4")
        });
        let b = r.max_backoff_s;
        self.require(within(b, 0.0, MAX_BACKOFF_S), |c| {
            c.at(
                &["run", "max_backoff_s"],
                format!("run.max_backoff_s is {}; it must be a finite number of seconds within [0, {MAX_BACKOFF_S}]", num(b)),
            )
            .hint("the longest single wait between retries, e.g. 60")
        });
        if let Some(m) = r.max_cost_usd {
            self.require(m > 0.0 && m.is_finite(), |c| {
                c.at(
                    &["run", "max_cost_usd"],
                    format!(
                        "run.max_cost_usd is {}; a budget must be a finite number of USD > 0",
                        num(m)
                    ),
                )
                .hint("e.g. max_cost_usd: 5, or remove it for no budget")
            });
        }
    }
}
