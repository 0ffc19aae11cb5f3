//! The run directories under an output folder: `evalh runs list`, `evalh runs prune --keep N`, and the
//! `index.html` that links every run's report.
//!
//! Why this module exists: every `evalh run` leaves a directory under `reports/`, and after a week of iterating
//! there are dozens. A user needs to see them per suite (when, complete or not, which verdicts, quality and cost),
//! open any report, and delete old ones without ever deleting a run that is still going. Everything here reads only
//! what a run wrote (`suite.yaml`, `results.json`, `run.lock`); nothing is recomputed.

mod index;

use crate::cli::RunsCommand;
use crate::error::{Error, InputError, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The lock file a run or resume holds while it works (see `docs/runs.md`).
pub const LOCK_FILE: &str = "run.lock";
/// The index page written into the output folder.
pub const INDEX_FILE: &str = "index.html";

/// What `results.json` says about one provider (the fields the list and the index show).
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderSummary {
    /// Provider id.
    pub id: String,
    /// `baseline` or `candidate`.
    pub role: String,
    /// Model.
    #[serde(default)]
    pub model: String,
    /// Every metric (null when undefined).
    #[serde(default)]
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Cost per 1,000 items, USD.
    #[serde(default)]
    pub cost_usd_per_1k_items: Option<f64>,
    /// The gate's verdict (candidates).
    #[serde(default)]
    pub gate: Option<GateSummary>,
}

/// A candidate's verdict.
#[derive(Debug, Clone, Deserialize)]
pub struct GateSummary {
    /// PASS, FAIL, INCONCLUSIVE or INCOMPLETE.
    pub verdict: String,
    /// Whether it counts for the exit code.
    #[serde(default)]
    pub gated: bool,
}

/// The part of `results.json` the list and the index show.
#[derive(Debug, Clone, Deserialize)]
pub struct ResultsSummary {
    /// Suite name.
    pub suite: String,
    /// Task type.
    #[serde(default)]
    pub task: String,
    /// Items.
    #[serde(default)]
    pub n_items: usize,
    /// The gate metric.
    #[serde(default)]
    pub gate_metric: String,
    /// Whether every request is settled.
    #[serde(default)]
    pub complete: bool,
    /// Providers in suite order.
    #[serde(default)]
    pub providers: Vec<ProviderSummary>,
}

impl ResultsSummary {
    /// The gate metric of provider `id`, when the run has it.
    pub fn quality(&self, id: &str) -> Option<f64> {
        self.providers
            .iter()
            .find(|p| p.id == id)
            .and_then(|p| p.metrics.get(&self.gate_metric).copied().flatten())
    }
}

/// One run directory.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The directory.
    pub dir: PathBuf,
    /// Its name (`<suite>-<stamp>[-n]`).
    pub name: String,
    /// The suite's name (from `results.json`, else `suite.yaml`, else the directory name).
    pub suite: String,
    /// UTC start time from the directory name, `YYYY-MM-DD HH:MM:SS`.
    pub started: String,
    /// Sort key: (stamp, n).
    key: (String, u32),
    /// `results.json`, when written and readable.
    pub results: Option<ResultsSummary>,
    /// Whether `report.html` exists.
    pub has_report: bool,
    /// Whether a process holds the run's lock right now.
    pub running: bool,
}

impl RunInfo {
    /// `running`, `complete`, `INCOMPLETE` or `no results`.
    pub fn status(&self) -> &'static str {
        match (&self.results, self.running) {
            (_, true) => "running",
            (Some(r), _) if r.complete => "complete",
            (Some(_), _) => "INCOMPLETE",
            (None, _) => "no results",
        }
    }
}

/// Split `<suite>-<YYYYMMDDTHHMMSSZ>[-n]` into (suite part, stamp, n).
fn parse_name(name: &str) -> Option<(&str, &str, u32)> {
    let (head, n) = match name.rsplit_once('-') {
        Some((h, tail))
            if !tail.is_empty() && tail.len() < 6 && tail.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (h, tail.parse().ok()?)
        }
        _ => (name, 1),
    };
    let (suite, stamp) = head.rsplit_once('-')?;
    let b = stamp.as_bytes();
    let ok = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    (ok && !suite.is_empty()).then_some((suite, stamp, n))
}

fn pretty_stamp(s: &str) -> String {
    format!(
        "{}-{}-{} {}:{}:{}",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    )
}

/// Whether a process holds `dir/run.lock` right now (an exclusive `flock` taken by `evalh run`). A lock file that
/// cannot be probed counts as held, so nothing is deleted on a doubt.
pub fn lock_held(dir: &Path) -> bool {
    let path = dir.join(LOCK_FILE);
    let Ok(file) = std::fs::OpenOptions::new().read(true).open(&path) else {
        return path.exists();
    };
    match fs4::FileExt::try_lock_shared(&file) {
        Ok(()) => {
            let _ = fs4::FileExt::unlock(&file);
            false
        }
        Err(_) => true,
    }
}

fn suite_name_from_yaml(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(crate::rundir::RESOLVED_SUITE)).ok()?;
    let v: serde_yaml::Value = serde_yaml::from_str(&text).ok()?;
    v.get("name")?.as_str().map(str::to_string)
}

/// Every run directory directly under `out` (a folder named `<suite>-<stamp>[-n]` holding `suite.yaml`), grouped by
/// suite name, each group newest first. A missing `out` is no runs.
pub fn scan(out: &Path) -> Result<BTreeMap<String, Vec<RunInfo>>> {
    let mut groups: BTreeMap<String, Vec<RunInfo>> = BTreeMap::new();
    let entries = match std::fs::read_dir(out) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(groups),
        Err(e) => return Err(Error::io(format!("reading {}", out.display()), e)),
    };
    for e in entries.flatten() {
        let dir = e.path();
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some((prefix, stamp, n)) = parse_name(&name) else {
            continue;
        };
        if !dir.join(crate::rundir::RESOLVED_SUITE).is_file() {
            continue;
        }
        let results: Option<ResultsSummary> =
            std::fs::read_to_string(dir.join(crate::report::RESULTS_FILE))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
        let suite = results
            .as_ref()
            .map(|r| r.suite.clone())
            .or_else(|| suite_name_from_yaml(&dir))
            .unwrap_or_else(|| prefix.to_string());
        let info = RunInfo {
            name: name.clone(),
            suite: suite.clone(),
            started: pretty_stamp(stamp),
            key: (stamp.to_string(), n),
            has_report: dir.join(crate::report::REPORT_FILE).is_file(),
            running: lock_held(&dir),
            results,
            dir,
        };
        groups.entry(suite).or_default().push(info);
    }
    for runs in groups.values_mut() {
        runs.sort_by(|a, b| b.key.cmp(&a.key).then_with(|| b.name.cmp(&a.name)));
    }
    Ok(groups)
}

/// `evalh runs ...`.
pub fn command(c: RunsCommand) -> Result<i32> {
    match c {
        RunsCommand::List(a) => {
            print!("{}", render_list(&a.out, &scan(&a.out)?));
            Ok(0)
        }
        RunsCommand::Prune { keep, dry_run, dir } => prune(&dir.out, keep, dry_run),
        RunsCommand::Index(a) => {
            let path = write_index(&a.out)?;
            println!("{}", path.display());
            Ok(0)
        }
    }
}

/// "flash PASS · tiny FAIL" (gated candidates; "(not gated)" marks the others).
fn verdicts(r: &ResultsSummary) -> String {
    let v: Vec<String> = r
        .providers
        .iter()
        .filter_map(|p| {
            p.gate.as_ref().map(|g| {
                let ng = if g.gated { "" } else { " (not gated)" };
                format!("{} {}{ng}", p.id, g.verdict)
            })
        })
        .collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(" · ")
    }
}

fn render_list(out: &Path, groups: &BTreeMap<String, Vec<RunInfo>>) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if groups.is_empty() {
        let _ = writeln!(s, "no run directories under {}", out.display());
        return s;
    }
    for (suite, runs) in groups {
        let _ = writeln!(
            s,
            "{suite} ({} run{})",
            runs.len(),
            if runs.len() == 1 { "" } else { "s" }
        );
        for r in runs {
            let v = r
                .results
                .as_ref()
                .map(verdicts)
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(s, "  {}  {:<10}  {}", r.started, r.status(), v);
            let _ = writeln!(s, "      {}", r.dir.display());
        }
    }
    s
}

fn prune(out: &Path, keep: usize, dry_run: bool) -> Result<i32> {
    if keep == 0 {
        return Err(InputError::new("", "--keep 0 would delete every run")
            .hint("keep at least the newest run of each suite, e.g. --keep 5 (delete a folder by hand to remove it all)")
            .into());
    }
    let groups = scan(out)?;
    let (mut removed, mut kept, mut busy) = (0usize, 0usize, 0usize);
    let verb = if dry_run { "would remove" } else { "removed" };
    for runs in groups.values() {
        kept += runs.len().min(keep);
        for r in runs.iter().skip(keep) {
            // Probed again right before deleting: a resume may have started since the scan.
            if lock_held(&r.dir) {
                busy += 1;
                println!("kept {} (a process is working in it)", r.dir.display());
                continue;
            }
            if !dry_run {
                std::fs::remove_dir_all(&r.dir)
                    .map_err(|e| Error::io(format!("removing {}", r.dir.display()), e))?;
            }
            removed += 1;
            println!("{verb} {}", r.dir.display());
        }
    }
    println!(
        "{verb} {removed} run director{}; kept the newest {keep} per suite ({kept}){}",
        if removed == 1 { "y" } else { "ies" },
        if busy > 0 {
            format!(" and {busy} in use")
        } else {
            String::new()
        }
    );
    if !dry_run && removed > 0 {
        write_index(out)?;
    }
    Ok(0)
}

/// Write `out/index.html` from every run under `out` (atomically: a reader never sees half a page). Returns its path.
pub fn write_index(out: &Path) -> Result<PathBuf> {
    let groups = scan(out)?;
    let page = index::render(
        &groups,
        &chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
    );
    let path = out.join(INDEX_FILE);
    let tmp = out.join(format!(".{INDEX_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, page)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(format!("writing {}", path.display()), e)
        })?;
    Ok(path)
}

/// [`write_index`] after a run: a failure is a warning, never the run's outcome.
pub fn refresh_index(out: &Path) {
    if let Err(e) = write_index(out) {
        eprintln!("warning: index of runs not updated: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_directory_names_parse_and_others_do_not() {
        assert_eq!(
            parse_name("support-intents-20250102T030405Z"),
            Some(("support-intents", "20250102T030405Z", 1))
        );
        assert_eq!(
            parse_name("a-b-20250102T030405Z-3"),
            Some(("a-b", "20250102T030405Z", 3))
        );
        assert_eq!(parse_name("20250102T030405Z"), None);
        assert_eq!(parse_name("notes"), None);
        assert_eq!(parse_name("x-2025010T030405Z"), None);
        assert_eq!(pretty_stamp("20250102T030405Z"), "2025-01-02 03:04:05");
    }

    #[test]
    fn a_lock_held_by_another_open_file_is_seen_and_a_free_one_is_not() {
        let d = tempfile::tempdir().unwrap();
        assert!(!lock_held(d.path()), "no lock file: not held");
        let f = std::fs::File::create(d.path().join(LOCK_FILE)).unwrap();
        assert!(!lock_held(d.path()), "a lock file nobody locks");
        fs4::FileExt::try_lock(&f).unwrap();
        assert!(
            lock_held(d.path()),
            "an exclusive flock on another descriptor"
        );
        fs4::FileExt::unlock(&f).unwrap();
        assert!(!lock_held(d.path()));
    }
}
