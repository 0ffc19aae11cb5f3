//! `evalh review import RUN_DIR FILE...`: check exported decisions against the run's packs, un-blind them and append
//! them to `review/decisions.jsonl`.
//!
//! Why this module exists: a decisions file comes back from a reviewer's machine, so it is untrusted input. It is
//! imported only when it names a pack of this run, carries that pack's side-assignment hash, decides each item of the
//! pack at most once with a valid choice, and adds no second decision by the same reviewer on the same item. Every
//! file is checked before anything is written, so a bad file imports nothing (exit 2, file:line and the fix).

use super::choice::{BlindChoice, Choice, Side};
use super::pack::{self, PackFile, REVIEW_DIR};
use crate::error::{Error, InputError, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// The un-blinded decisions of a run, one JSON object per line.
pub const DECISIONS_FILE: &str = "decisions.jsonl";
/// `format` of an exported decisions file.
pub const EXPORT_FORMAT: &str = "evalh-review-decisions/1";
/// Longest reviewer name and note kept.
const MAX_NAME: usize = 100;
const MAX_NOTE: usize = 10_000;

/// One un-blinded decision (a line of decisions.jsonl).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The pack it was made on.
    pub pack_id: String,
    /// Candidate provider id.
    pub candidate: String,
    /// Baseline provider id.
    pub baseline: String,
    /// Who decided.
    pub reviewer: String,
    /// Dataset item id.
    pub item_id: String,
    /// What it means.
    pub choice: Choice,
    /// What the reviewer clicked.
    pub blind_choice: BlindChoice,
    /// Where the candidate's output was shown.
    pub candidate_side: Side,
    /// The reviewer's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the reviewer decided (the browser's clock).
    pub decided_at: String,
    /// When it was imported.
    pub imported_at: String,
}

impl Decision {
    fn key(&self) -> (String, String, String, String) {
        (
            self.candidate.clone(),
            self.baseline.clone(),
            self.reviewer.clone(),
            self.item_id.clone(),
        )
    }
}

/// An exported decisions file.
#[derive(Debug, Deserialize)]
struct Export {
    format: String,
    pack_id: String,
    side_assignment_hash: String,
    reviewer: String,
    #[serde(default)]
    #[allow(dead_code)]
    exported_at: Option<String>,
    decisions: Vec<ExportedDecision>,
}

#[derive(Debug, Deserialize)]
struct ExportedDecision {
    item_id: String,
    choice: String,
    decided_at: String,
    #[serde(default)]
    note: Option<String>,
}

/// Read review/decisions.jsonl (empty when there is none). A line that is not a decision is bad input.
pub fn read_decisions(run_dir: &Path) -> Result<Vec<Decision>> {
    let path = run_dir.join(REVIEW_DIR).join(DECISIONS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let d: Decision = serde_json::from_str(line).map_err(|e| {
            InputError::new(&path, format!("not a review decision: {e}"))
                .at(i + 1, e.column())
                .hint("decisions.jsonl is written by `evalh review import`; remove or repair this line (a torn last line after a crash can be deleted and its file imported again)")
        })?;
        out.push(d);
    }
    Ok(out)
}

/// 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.find(needle)
        .map(|at| text[..at].matches('\n').count() + 1)
}

fn bad(file: &Path, text: &str, needle: Option<&str>, msg: String, hint: &str) -> Error {
    let mut e = InputError::new(file, msg).hint(hint);
    if let Some(l) = needle.and_then(|n| line_of(text, n)) {
        e = e.at_line(l);
    }
    e.into()
}

fn clean_text(s: &str, max: usize) -> String {
    s.trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .take(max)
        .collect()
}

/// Check one exported file and un-blind it; `seen` holds the keys already decided (imported before, or earlier in
/// this import) and gets this file's keys.
fn check_file(
    run_dir: &Path,
    file: &Path,
    seen: &mut HashSet<(String, String, String, String)>,
    now: &str,
) -> Result<(PackFile, Vec<Decision>)> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        InputError::new(file, format!("cannot read the decisions file: {e}"))
            .hint("pass the decisions-<reviewer>.json file the review pack's Export button saved")
    })?;
    let ex: Export = serde_json::from_str(&text).map_err(|e| {
        InputError::new(
            file,
            format!("not a decisions file exported by an evalh review pack: {e}"),
        )
        .at(e.line(), e.column())
        .hint("export again from the pack (Export decisions) and import that file unchanged")
    })?;
    if ex.format != EXPORT_FORMAT {
        return Err(bad(
            file,
            &text,
            Some("\"format\""),
            format!("format `{}` is not `{EXPORT_FORMAT}`", ex.format),
            "export again from a pack made by this evalh",
        ));
    }
    let Some((_, pk)) = pack::load(run_dir, &ex.pack_id)? else {
        let ids = pack::pack_ids(run_dir);
        let known = if ids.is_empty() {
            "it has none".to_string()
        } else {
            format!("its packs: {}", ids.join(", "))
        };
        return Err(bad(file, &text, Some("\"pack_id\""),
            format!("pack `{}` is not a pack of run {} ({known}): these decisions were made on another run's pack", ex.pack_id, run_dir.display()),
            "import the file into the run directory whose `evalh review` made the pack the reviewer opened"));
    };
    if ex.side_assignment_hash != pk.side_assignment_hash {
        return Err(bad(file, &text, Some("\"side_assignment_hash\""),
            format!("the side-assignment hash does not match pack {}: the file was edited or comes from a different copy of the pack", pk.pack_id),
            "import the file exactly as the pack exported it; if the pack was regenerated, review the new pack"));
    }
    let reviewer = clean_text(&ex.reviewer, MAX_NAME);
    if reviewer.is_empty() {
        return Err(bad(
            file,
            &text,
            Some("\"reviewer\""),
            "the file names no reviewer".into(),
            "type the reviewer's name in the pack and export again",
        ));
    }
    if ex.decisions.is_empty() {
        return Err(bad(
            file,
            &text,
            Some("\"decisions\""),
            "the file holds no decisions: nothing to import".into(),
            "decide some items in the pack, then export",
        ));
    }
    let sides: BTreeMap<&str, Side> = pk
        .items
        .iter()
        .map(|i| (i.item_id.as_str(), i.candidate_side))
        .collect();
    let mut out = Vec::with_capacity(ex.decisions.len());
    for d in &ex.decisions {
        let needle = serde_json::to_string(&d.item_id).unwrap_or_default();
        let Some(&side) = sides.get(d.item_id.as_str()) else {
            return Err(bad(
                file,
                &text,
                Some(&needle),
                format!("item `{}` is not in pack {}", d.item_id, pk.pack_id),
                "import the file exactly as the pack exported it",
            ));
        };
        let Some(blind) = BlindChoice::parse(&d.choice) else {
            return Err(bad(file, &text, Some(&needle), format!("choice `{}` for item `{}` is not one of a_better, b_better, both_fine, both_bad", d.choice, d.item_id),
                "import the file exactly as the pack exported it"));
        };
        let dec = Decision {
            pack_id: pk.pack_id.clone(),
            candidate: pk.candidate.clone(),
            baseline: pk.baseline.clone(),
            reviewer: reviewer.clone(),
            item_id: d.item_id.clone(),
            choice: blind.unblind(side),
            blind_choice: blind,
            candidate_side: side,
            note: d
                .note
                .as_deref()
                .map(|n| clean_text(n, MAX_NOTE))
                .filter(|n| !n.is_empty()),
            decided_at: clean_text(&d.decided_at, 64),
            imported_at: now.to_string(),
        };
        if !seen.insert(dec.key()) {
            return Err(bad(file, &text, Some(&needle),
                format!("reviewer `{reviewer}` already has a decision on item `{}` ({} vs {}): a reviewer decides each item once", d.item_id, pk.candidate, pk.baseline),
                "if this is a later export of work already imported, delete that reviewer's earlier lines from review/decisions.jsonl and import the latest file; a second reviewer must use their own name"));
        }
        out.push(dec);
    }
    Ok((pk, out))
}

/// What one import added, per file.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The file.
    pub file: PathBuf,
    /// Its reviewer.
    pub reviewer: String,
    /// The pack.
    pub pack_id: String,
    /// Candidate and baseline.
    pub pair: (String, String),
    /// Decisions added.
    pub n: usize,
}

/// Check every file, then append all their decisions to review/decisions.jsonl (nothing when any file is bad).
pub fn import(run_dir: &Path, files: &[PathBuf]) -> Result<Vec<Imported>> {
    let existing = read_decisions(run_dir)?;
    let mut seen: HashSet<_> = existing.iter().map(Decision::key).collect();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut all = Vec::new();
    let mut report = Vec::new();
    for f in files {
        let (pk, ds) = check_file(run_dir, f, &mut seen, &now)?;
        report.push(Imported {
            file: f.clone(),
            reviewer: ds[0].reviewer.clone(),
            pack_id: pk.pack_id.clone(),
            pair: (pk.candidate.clone(), pk.baseline.clone()),
            n: ds.len(),
        });
        all.extend(ds);
    }
    let mut text = String::new();
    for d in &all {
        let line = serde_json::to_string(d)
            .map_err(|e| Error::Internal(format!("serializing a decision: {e}")))?;
        text.push_str(&line);
        text.push('\n');
    }
    let path = run_dir.join(REVIEW_DIR).join(DECISIONS_FILE);
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(format!("appending to {}", path.display()), e))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found_for_messages() {
        let t = "{\n\"a\": 1,\n\"decisions\": [\n{\"item_id\":\"x\"}\n]}";
        assert_eq!(line_of(t, "\"decisions\""), Some(3));
        assert_eq!(line_of(t, "\"x\""), Some(4));
        assert_eq!(line_of(t, "nope"), None);
        assert_eq!(clean_text("  al\u{7}ice \n", 100), "alice");
        assert_eq!(clean_text("abcdef", 3), "abc");
    }
}
