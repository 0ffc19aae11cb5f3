//! `results.json`: the canonical, machine-readable result of a run.
//!
//! Deterministic by construction: ordered maps, providers in suite order, no timestamps, floats printed by serde_json's
//! shortest round-trip formatter — the same journal always gives the same bytes.

use crate::error::{Error, Result};
use crate::summary::Results;
use std::path::Path;

/// File name inside a run directory.
pub const RESULTS_FILE: &str = "results.json";

/// Serialise results.
pub(super) fn to_string(r: &Results) -> Result<String> {
    let mut s = serde_json::to_string_pretty(r)
        .map_err(|e| Error::Internal(format!("serializing results: {e}")))?;
    s.push('\n');
    Ok(s)
}

/// Write `results.json` into `dir`.
pub fn write(dir: &Path, r: &Results) -> Result<()> {
    // Atomically: a reader (a CI step, a dashboard) never sees a half-written results.json.
    super::write_atomic(&dir.join(RESULTS_FILE), to_string(r)?.as_bytes())
}
