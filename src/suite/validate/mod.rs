//! Cross-field checks a schema cannot express. Every problem found is reported (not just the first), each located.
//!
//! Why this module exists: a suite is checked once, completely, before anything is paid for. Besides the cross-field
//! rules (one baseline, unique ids, known metrics, prices) every number of the schema gets a finite range here (a NaN
//! budget, an infinite timeout or four billion repeats must be an error naming the line, not a panic or a hang
//! later), and the real scorer is built from the suite so that exactly the code that will score is what validates
//! the scoring settings (label regexes, extraction rules, JSON Schemas).

use super::load::{locate, LoadedSuite};
use super::model::{ProviderKind, ProviderRole, ProviderSpec, SimSpec, Suite, TaskKind};
use crate::error::{did_you_mean, InputError};
use std::collections::HashSet;

mod gate;
mod providers;
mod run;
mod task;

/// Longest suite name: it names the run directory (`<name>-<timestamp>`), and file names stop at 255 bytes.
pub(super) const MAX_NAME_CHARS: usize = 100;
/// Most in-flight requests per provider: no hosted API accepts more concurrent connections from one client, and each
/// one holds a socket and a task.
pub(super) const MAX_CONCURRENCY: usize = 10_000;
/// Most repeats of each item. Repeats measure run-to-run variation; 5-10 are typical and beyond 100 the estimate no
/// longer changes while the bill grows linearly (and every repeat is a journal slot per item and provider).
pub(super) const MAX_REPEATS: u32 = 100;
/// Most retries of one request; with backoff, more would keep a dead endpoint busy for hours.
pub(super) const MAX_RETRIES: u32 = 100;
/// Longest timeout (one day) and longest backoff wait (one hour), in seconds.
pub(super) const MAX_TIMEOUT_S: f64 = 86_400.0;
/// See [`MAX_TIMEOUT_S`].
pub(super) const MAX_BACKOFF_S: f64 = 3_600.0;
/// Longest simulated latency or delay, in ms (ten minutes).
pub(super) const MAX_SIM_MS: f64 = 600_000.0;
/// Highest price accepted, USD per million tokens (the dearest real models cost a few hundred).
pub(super) const MAX_PRICE_PER_MTOK: f64 = 100_000.0;
/// Bootstrap resamples: below 100 a 95% percentile interval rests on a handful of draws; above 100,000 the
/// resampling takes minutes and the interval no longer moves.
pub(super) const BOOTSTRAP_ITERS: std::ops::RangeInclusive<usize> = 100..=100_000;

/// All problems in a loaded suite; empty when it is valid.
pub fn validate(ls: &LoadedSuite) -> Vec<InputError> {
    validate_with(ls, None)
}

/// [`validate`] while loading: `schema_error` is why the extraction schema file could not be read (the loader reads
/// it), reported in its place among the scoring checks.
pub(super) fn validate_with(
    ls: &LoadedSuite,
    schema_error: Option<crate::error::Error>,
) -> Vec<InputError> {
    let mut c = Checks {
        ls,
        errs: Vec::new(),
        schema_error,
    };
    c.top_level();
    let labels_ok = c.task();
    c.providers();
    c.gate();
    for (path, msg, hint) in super::judge::validate_judge(ls) {
        let e = c.at(&path, msg).hint(hint);
        c.errs.push(e);
    }
    c.run();
    if labels_ok {
        c.scorer();
    }
    c.errs
}

/// The checks of one suite and the errors they found.
struct Checks<'a> {
    ls: &'a LoadedSuite,
    errs: Vec<InputError>,
    schema_error: Option<crate::error::Error>,
}

/// A number as a user would write it: `1e300`, not three hundred digits.
fn num(v: f64) -> String {
    if v.is_finite() && v != 0.0 && !(1e-4..1e15).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A number is in range: finite (never NaN or infinite) and within `lo..=hi`.
fn within(x: f64, lo: f64, hi: f64) -> bool {
    x.is_finite() && x >= lo && x <= hi
}

impl<'a> Checks<'a> {
    fn suite(&self) -> &'a Suite {
        &self.ls.suite
    }

    /// An error in the suite file, located at the nested key `path` (or its nearest enclosing key, or line 1).
    fn at(&self, path: &[&str], msg: impl Into<String>) -> InputError {
        self.ls.error_at(path, msg)
    }

    /// An error about provider `id`, located at its key `path` in the file that declares the providers.
    fn at_provider(&self, id: &str, path: &[&str], msg: impl Into<String>) -> InputError {
        let e = InputError::new(&self.ls.providers_path, msg);
        match super::load::locate_provider(&self.ls.providers_src, id, path)
            .or_else(|| locate(&self.ls.providers_src, "providers", None, 0))
        {
            Some((l, c)) => e.at(l, c),
            None => e.at_line(1),
        }
    }

    /// The old locator (first occurrence of `key: value` anywhere), for keys that are unique in a suite.
    fn suite_err(&self, key: &str, value: Option<&str>, msg: String) -> InputError {
        let e = InputError::new(&self.ls.path, msg);
        match locate(&self.ls.src, key, value, 0) {
            Some((l, c)) => e.at(l, c),
            None => e.at_line(1),
        }
    }

    fn prov_err(&self, key: &str, value: Option<&str>, nth: usize, msg: String) -> InputError {
        let e = InputError::new(&self.ls.providers_path, msg);
        match locate(&self.ls.providers_src, key, value, nth) {
            Some((l, c)) => e.at(l, c),
            None => e.at_line(1),
        }
    }

    /// Record an error unless `ok`.
    fn require(&mut self, ok: bool, e: impl FnOnce(&Self) -> InputError) {
        if !ok {
            let e = e(self);
            self.errs.push(e);
        }
    }
}
