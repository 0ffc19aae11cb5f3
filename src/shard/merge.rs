//! `evalh merge`: N shard run directories -> one run directory, refusing anything that would not equal the
//! unsharded run (another suite or dataset, a shard missing or given twice, a record in the wrong shard).

use super::assign::Shard;
use crate::error::{Error, InputError, Result};
use crate::journal;
use crate::rundir::{self, Manifest};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One shard directory as given on the command line.
struct Part {
    dir: PathBuf,
    shard: Shard,
    manifest: Manifest,
    /// suite.yaml as a YAML value, for the comparison.
    suite: serde_yaml::Value,
    suite_text: String,
}

fn bad(file: &Path, msg: impl Into<String>, fix: impl Into<String>) -> Error {
    InputError::new(file, msg).hint(fix).into()
}

fn load_part(dir: &Path) -> Result<Part> {
    let suite_path = dir.join(crate::rundir::RESOLVED_SUITE);
    let suite_text = match std::fs::read_to_string(&suite_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(bad(
                dir,
                "not a run directory (no suite.yaml)",
                "pass the run directories `evalh run SUITE --shard K/N` printed",
            ))
        }
        Err(e) => return Err(Error::io(format!("reading {}", suite_path.display()), e)),
    };
    let suite: serde_yaml::Value = serde_yaml::from_str(&suite_text).map_err(|e| {
        bad(
            &suite_path,
            format!("not a valid suite: {e}"),
            "restore the run directory's suite.yaml",
        )
    })?;
    let manifest = rundir::manifest(dir)?.ok_or_else(|| {
        bad(
            dir,
            "has no manifest.json (a run made by an older evalh), so its dataset and shard cannot be checked",
            "run the shards again with this evalh: evalh run SUITE --shard K/N",
        )
    })?;
    let shard = super::of_dir(dir)?.ok_or_else(|| {
        bad(
            &dir.join(rundir::MANIFEST_FILE),
            "is not a shard (it was run without --shard), so it already holds every item",
            "merge only the directories of `evalh run SUITE --shard K/N` runs; this one needs no merge",
        )
    })?;
    Ok(Part {
        dir: dir.to_path_buf(),
        shard,
        manifest,
        suite,
        suite_text,
    })
}

/// The suite without what may differ between shards of one run: the budget (a shard's `--max-cost`) and where the
/// dataset was read from (an absolute path differs between machines; the dataset's content hash is compared apart).
fn comparable(v: &serde_yaml::Value) -> serde_yaml::Value {
    let mut v = v.clone();
    if let Some(run) = v.get_mut("run").and_then(|r| r.as_mapping_mut()) {
        run.remove("max_cost_usd");
    }
    if let Some(ds) = v.get_mut("dataset").and_then(|r| r.as_mapping_mut()) {
        ds.remove("path");
    }
    v
}

/// Check that `parts` are the N shards of one run: same suite, dataset and request-hash version, same N, each K once.
fn check(parts: &[Part]) -> Result<()> {
    let first = &parts[0];
    let n = first.shard.count;
    for p in &parts[1..] {
        if p.shard.count != n {
            return Err(bad(
                &p.dir,
                format!(
                    "is shard {} but {} is shard {}: the shards split the items differently",
                    p.shard,
                    first.dir.display(),
                    first.shard
                ),
                "merge shards of one `--shard K/N` run, all with the same N",
            ));
        }
        if p.manifest.dataset.blake3 != first.manifest.dataset.blake3 {
            return Err(bad(
                &p.dir,
                format!(
                    "ran on another dataset than {} (blake3 {} vs {}): its items are not those of the other shards",
                    first.dir.display(),
                    short(&p.manifest.dataset.blake3),
                    short(&first.manifest.dataset.blake3)
                ),
                "run every shard on the same dataset file, then merge",
            ));
        }
        if p.manifest.request_hash_version != first.manifest.request_hash_version {
            return Err(bad(
                &p.dir,
                "was run by an evalh with another request-hash version than the other shards",
                "run every shard with the same evalh version",
            ));
        }
        if comparable(&p.suite) != comparable(&first.suite) {
            return Err(bad(
                &p.dir.join(crate::rundir::RESOLVED_SUITE),
                format!(
                    "differs from {}: the shards ran different suites (providers, prompts, parameters or gate), so \
                     together they are not one run",
                    first.dir.join(crate::rundir::RESOLVED_SUITE).display()
                ),
                "run every shard from the same suite file and --providers, then merge",
            ));
        }
    }
    let mut seen: Vec<Option<&Path>> = vec![None; n as usize];
    for p in parts {
        let slot = &mut seen[(p.shard.index - 1) as usize];
        if let Some(other) = slot {
            return Err(bad(
                &p.dir,
                format!(
                    "is shard {} and so is {}: the shards overlap (their items would be counted twice)",
                    p.shard,
                    other.display()
                ),
                "give each shard K/N once (keep the one you want, e.g. the one that finished)",
            ));
        }
        *slot = Some(&p.dir);
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| seen[(*k - 1) as usize].is_none())
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(bad(
            &first.dir,
            format!(
                "shard(s) {} missing: the {} directories given do not cover every item",
                missing.join(", "),
                parts.len()
            ),
            format!(
                "run the missing shard(s) with `evalh run SUITE --shard K/{n}` and pass all {n} directories"
            ),
        ));
    }
    Ok(())
}

fn short(h: &str) -> &str {
    &h[..h.len().min(16)]
}

/// Merge shard run directories into `out` (which must not exist yet, or be empty). Only checks and copies: the
/// caller re-scores `out` like `evalh report` (which also re-checks every record's request hash against the suite).
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<()> {
    if dirs.is_empty() {
        return Err(bad(
            Path::new(""),
            "no shard directories given",
            "evalh merge DIR... --out RUN_DIR",
        ));
    }
    let parts = dirs
        .iter()
        .map(|d| load_part(d))
        .collect::<Result<Vec<_>>>()?;
    check(&parts)?;
    // Each shard must be left alone while it is read (a resume still running would add records after the copy).
    let _locks = parts
        .iter()
        .map(|p| rundir::lock(&p.dir))
        .collect::<Result<Vec<_>>>()?;
    create_out(out)?;
    let res = write_out(&parts, out);
    if res.is_err() {
        // Nothing half-merged is left behind to be mistaken for a run.
        let _ = std::fs::remove_dir_all(out);
    }
    res
}

fn create_out(out: &Path) -> Result<()> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    }
    match std::fs::create_dir(out) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let empty = std::fs::read_dir(out)
                .map(|mut r| r.next().is_none())
                .unwrap_or(false);
            if empty {
                Ok(())
            } else {
                Err(bad(
                    out,
                    "already exists and is not empty",
                    "name a new directory with --out (a merge never writes into an existing run)",
                ))
            }
        }
        Err(e) => Err(Error::io(format!("creating {}", out.display()), e)),
    }
}

fn write_out(parts: &[Part], out: &Path) -> Result<()> {
    let _lock = rundir::lock(out)?;
    let first = &parts[0];
    // The dataset: the shard's copy (all shards hold the same bytes, checked above) or the original's path.
    if let Some(c) = &first.manifest.dataset.copy {
        let (from, to) = (first.dir.join(c), out.join(c));
        std::fs::copy(&from, &to)
            .map_err(|e| Error::io(format!("copying {} to {}", from.display(), to.display()), e))?;
    }
    let mut m = first.manifest.clone();
    m.shard = None;
    let text = serde_json::to_vec_pretty(&m)
        .map_err(|e| Error::Internal(format!("serializing the manifest: {e}")))?;
    crate::report::write_atomic(&out.join(rundir::MANIFEST_FILE), &text)?;
    let jpath = out.join(journal::JOURNAL_FILE);
    let io = |e| Error::io(format!("writing {}", jpath.display()), e);
    let mut w = std::io::BufWriter::new(std::fs::File::create(&jpath).map_err(io)?);
    for p in parts {
        copy_journal(p, &mut w)?;
    }
    let f = w.into_inner().map_err(|e| io(e.into_error()))?;
    f.sync_all().map_err(io)?;
    // suite.yaml last: a directory is taken for a run once it has one.
    crate::report::write_atomic(
        &out.join(crate::rundir::RESOLVED_SUITE),
        first.suite_text.as_bytes(),
    )
}

/// Append a shard's valid records to the merged journal, refusing a record of an item outside the shard.
fn copy_journal(p: &Part, w: &mut impl Write) -> Result<()> {
    let jpath = p.dir.join(journal::JOURNAL_FILE);
    let mut reader = journal::Reader::open(&p.dir)?;
    for r in reader.by_ref() {
        if !p.shard.holds(&r.item_id) {
            return Err(bad(
                &jpath,
                format!(
                    "holds a record of item `{}` (provider {}), which belongs to shard {}/{}, not {}: the shards \
                     overlap",
                    r.item_id,
                    r.provider_id,
                    super::bucket(&r.item_id, p.shard.count),
                    p.shard.count,
                    p.shard
                ),
                "use the shard directories exactly as `evalh run --shard` wrote them",
            ));
        }
        let line = serde_json::to_string(&r)
            .map_err(|e| Error::Internal(format!("serializing a journal record: {e}")))?;
        writeln!(w, "{line}")
            .map_err(|e| Error::io("writing the merged journal".to_string(), e))?;
    }
    for note in reader.finish()?.notes(&jpath) {
        eprintln!("{note}");
    }
    Ok(())
}
