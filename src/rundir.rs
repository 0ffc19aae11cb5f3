//! Run directories: one process at a time, everything a re-score needs, and a loud stop when what a run depended on
//! has changed.
//!
//! Why this module exists: a run directory is what `--resume`, `evalh score` and `evalh report` work from, long after
//! the run started and possibly on another machine. Three things can silently corrupt its evidence, and each is
//! guarded here:
//!
//! - **Two processes on one run.** `run.lock` is locked (`flock`, released by the kernel when the process ends, even
//!   on `kill -9`) for as long as a run or resume is going; a second `evalh run --resume` on the same directory stops
//!   before sending anything and names the holder (pid and start time, written into the lock file). The lock file is
//!   never deleted: deleting a lock file while another process waits on it is how two holders happen.
//! - **A dataset that changed or went away.** `manifest.json` records the dataset's size and blake3 content hash,
//!   and a dataset of up to [`DATASET_COPY_MAX`] bytes is copied into the run directory, which then re-scores with no
//!   outside file at all. A larger one (a 100,000-item dataset can be hundreds of MB, too much to copy into every
//!   run) is read from its original path and must still hash the same; otherwise `score`, `report` and `--resume`
//!   refuse, naming the file and what changed.
//! - **An edited `suite.yaml`.** Each journal record carries the hash of the request that produced it. Before a
//!   resume, a score or a report, the hashes are recomputed from the run's `suite.yaml` and dataset: if a model,
//!   prompt, parameter, header or tool was changed, old answers would be attributed to the new settings, so evalh
//!   refuses and says which provider's records no longer match.

use crate::dataset::Item;
use crate::error::{Error, InputError, Result};
use crate::journal;
use crate::prompt::Prompter;
use crate::suite::LoadedSuite;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The resolved suite inside a run directory.
pub const RESOLVED_SUITE: &str = "suite.yaml";
/// The lock file inside a run directory.
pub const LOCK_FILE: &str = "run.lock";
/// The manifest inside a run directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Datasets up to this size (bytes) are copied into the run directory.
pub const DATASET_COPY_MAX: u64 = 32 << 20;

// ---- Analysis ---------------------------------------------------------------------------------------------------

/// Analyse a run directory: its journal streamed into the analysis with the human review decisions and the judge's
/// verdicts it holds; notes
/// about unreadable journal lines go to stderr.
pub fn analyse(
    ls: &LoadedSuite,
    items: &[Item],
    run_dir: &Path,
) -> Result<crate::summary::Analysis> {
    // What the run phase or the dataset's parsing freed goes back before the analysis's own peak.
    crate::memory::trim();
    let human = crate::review::Decisions::load(run_dir)?;
    let judge = crate::judge::load(ls, items, run_dir)?;
    // Streamed: the records go straight from the file into the analysis, never all into one list first.
    let mut reader = journal::Reader::open(run_dir)?;
    let analysis =
        crate::summary::analyse_judged(ls, items, reader.by_ref(), human.as_ref(), judge.as_ref())?;
    let skipped = reader.finish()?;
    for note in skipped.notes(&run_dir.join(journal::JOURNAL_FILE)) {
        eprintln!("{note}");
    }
    Ok(analysis)
}

// ---- Lock ---------------------------------------------------------------------------------------------------------

/// The exclusive lock on a run directory; released when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

/// Who holds a lock, as written into the lock file by the holder.
#[derive(Debug, Serialize, Deserialize)]
struct Holder {
    pid: u32,
    started: String,
}

fn open_lock_file(dir: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK_FILE))
}

/// Take the run directory's lock, or fail (exit 3, resumable later) naming the process that holds it.
pub fn lock(dir: &Path) -> Result<RunLock> {
    let path = dir.join(LOCK_FILE);
    let io = |e| Error::io(format!("locking {}", path.display()), e);
    let mut file = open_lock_file(dir).map_err(io)?;
    // Another process's `holder` probe holds a shared lock for an instant: a few quick retries outlast it.
    let mut tries = 0;
    let taken = loop {
        match fs4::FileExt::try_lock(&file) {
            Err(fs4::TryLockError::WouldBlock) if tries < 5 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other,
        }
    };
    match taken {
        Ok(()) => {}
        Err(fs4::TryLockError::WouldBlock) => {
            let who = read_holder(&mut file);
            return Err(Error::Incomplete(format!(
                "{} is in use by another evalh ({who}); nothing was sent. Wait for it to finish (or stop it: \
                 kill -TERM <pid>), then resume with: evalh run --resume {}",
                dir.display(),
                dir.display()
            )));
        }
        Err(fs4::TryLockError::Error(e)) => return Err(io(e)),
    }
    let me = Holder {
        pid: std::process::id(),
        started: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    };
    let text = serde_json::to_vec(&me).unwrap_or_default();
    file.set_len(0)
        .and_then(|_| std::io::Seek::rewind(&mut file))
        .and_then(|_| file.write_all(&text))
        .map_err(io)?;
    Ok(RunLock { _file: file })
}

fn read_holder(file: &mut std::fs::File) -> String {
    let mut s = String::new();
    let _ = std::io::Seek::rewind(file).and_then(|_| file.read_to_string(&mut s));
    match serde_json::from_str::<Holder>(&s) {
        Ok(h) => format!("pid {}, started {}", h.pid, h.started),
        Err(_) => "a process that has not recorded its pid yet".to_string(),
    }
}

/// The process running in `dir` right now ("pid N, started T"), or `None` when no process holds its lock.
pub fn holder(dir: &Path) -> Option<String> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .ok()?;
    match fs4::FileExt::try_lock_shared(&file) {
        // Free: the shared lock just taken is released when `file` is dropped.
        Ok(()) => None,
        Err(fs4::TryLockError::WouldBlock) => Some(read_holder(&mut file)),
        Err(fs4::TryLockError::Error(_)) => None,
    }
}

// ---- Manifest: the dataset ----------------------------------------------------------------------------------------

/// What a run directory records about itself, beyond its `suite.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format (1).
    pub format: u32,
    /// The request-hash version the journal's `request_hash` fields were computed with.
    pub request_hash_version: u32,
    /// The dataset the run was started with.
    pub dataset: DatasetRecord,
    /// The part of the dataset this run holds (`evalh run --shard K/N`); `None`: every item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
}

/// Part `index` (1-based) of `count` parts of a sharded run (`evalh run --shard K/N`, see `crate::shard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// 1..=count.
    pub index: u32,
    /// Number of shards (>= 1).
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Parse `K/N` (1 <= K <= N); the error says what to write instead (clap prints it and exits 2).
pub fn parse_shard(s: &str) -> std::result::Result<Shard, String> {
    let bad = || format!("`{s}` is not a shard; write K/N with 1 <= K <= N, e.g. --shard 2/4");
    let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
    let index: u32 = k.trim().parse().map_err(|_| bad())?;
    let count: u32 = n.trim().parse().map_err(|_| bad())?;
    if count == 0 || index == 0 || index > count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// The dataset a run was started with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRecord {
    /// Its original path (absolute).
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// blake3 of its content.
    pub blake3: String,
    /// The copy inside the run directory (a file name), when it was small enough to copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<String>,
}

/// Hash a file (streaming), optionally copying it to `copy_to` on the way. Returns (bytes, blake3 hex).
fn hash_file(path: &Path, copy_to: Option<&Path>) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut out = copy_to.map(std::fs::File::create).transpose()?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n_total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        if let Some(o) = &mut out {
            o.write_all(&buf[..n])?;
        }
        n_total += n as u64;
    }
    if let Some(o) = &out {
        o.sync_data()?;
    }
    Ok((n_total, h.finalize().to_hex().to_string()))
}

/// Record the run's dataset in a new run directory: its hash in `manifest.json`, and a copy when it is small.
pub fn record_dataset(dir: &Path, dataset: &Path) -> Result<Manifest> {
    let abs = std::fs::canonicalize(dataset).unwrap_or_else(|_| dataset.to_path_buf());
    let size = std::fs::metadata(&abs)
        .map_err(|e| Error::io(format!("reading {}", abs.display()), e))?
        .len();
    let copy = (size <= DATASET_COPY_MAX).then(|| match abs.extension() {
        Some(ext) => format!("dataset.{}", ext.to_string_lossy()),
        None => "dataset".to_string(),
    });
    let (bytes, blake3) = hash_file(&abs, copy.as_ref().map(|c| dir.join(c)).as_deref())
        .map_err(|e| Error::io(format!("recording the dataset {}", abs.display()), e))?;
    let m = Manifest {
        format: 1,
        request_hash_version: crate::runner::REQUEST_HASH_VERSION,
        dataset: DatasetRecord {
            path: abs.to_string_lossy().into_owned(),
            bytes,
            blake3,
            copy,
        },
        shard: None,
    };
    let text = serde_json::to_vec_pretty(&m)
        .map_err(|e| Error::Internal(format!("serializing the manifest: {e}")))?;
    crate::report::write_atomic(&dir.join(MANIFEST_FILE), &text)?;
    Ok(m)
}

/// The run directory's manifest, or `None` for a run made before manifests existed.
pub fn manifest(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST_FILE);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    serde_json::from_slice(&text).map(Some).map_err(|e| {
        InputError::new(&path, format!("not a valid run manifest: {e}"))
            .hint("restore the file from a backup of the run directory, or start a new run")
            .into()
    })
}

/// The dataset file a run directory re-scores from, checked against what the run recorded: its copy, or the
/// original path when the dataset was too large to copy. A dataset that is gone or whose content changed is an
/// input error naming the file, its recorded hash and the fix. `None` for a run made before manifests existed: it
/// uses the path in its `suite.yaml`, unchecked (a note says so).
pub fn dataset_for(dir: &Path) -> Result<Option<PathBuf>> {
    let Some(m) = manifest(dir)? else {
        eprintln!(
            "note: {} has no {MANIFEST_FILE} (a run made by an older evalh): its dataset is used as it is now, \
             unchecked",
            dir.display()
        );
        return Ok(None);
    };
    let d = &m.dataset;
    let (path, what) = match &d.copy {
        Some(c) => (dir.join(c), "the run's copy of its dataset"),
        None => (PathBuf::from(&d.path), "the run's dataset"),
    };
    let fix = format!(
        "restore the dataset the run used ({} bytes, blake3 {}) at {}, or start a new run with `evalh run SUITE`",
        d.bytes,
        &d.blake3[..d.blake3.len().min(16)],
        path.display()
    );
    let (bytes, blake3) = match hash_file(&path, None) {
        Ok(x) => x,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(InputError::new(
                &path,
                format!("{what} is gone; the run cannot be re-scored or resumed without the items it was asked"),
            )
            .hint(fix)
            .into())
        }
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    if blake3 != d.blake3 {
        return Err(InputError::new(
            &path,
            format!(
                "{what} changed since the run started ({bytes} bytes now, {} then; content hash differs): scores \
                 would mix answers to the old items with the new expected values",
                d.bytes
            ),
        )
        .hint(fix)
        .into());
    }
    Ok(Some(path))
}

/// Where a run directory's `suite.yaml` says its dataset is: the copy (a path relative to the run directory, so the
/// directory can be moved) or the original's absolute path. `None` when the directory has no manifest.
pub fn resolved_dataset_path(dir: &Path) -> Option<String> {
    let m = manifest(dir).ok()??;
    Some(m.dataset.copy.unwrap_or(m.dataset.path))
}

// ---- The journal against the suite --------------------------------------------------------------------------------

/// Check that every journal record of a current (provider, item, repeat) was produced by the request the run's
/// `suite.yaml` and dataset describe now (its `request_hash`), so no answer is attributed to settings that did not
/// produce it. Runs whose journal hashes use another version (made by an older evalh) are not checked (a note says
/// so).
///
/// Every record is checked — an edit to one branch of a template changes only some requests — in chunks of lines
/// (bounded memory for a journal of any size), each chunk rendered and hashed in parallel. Unreadable lines are
/// skipped here; the analysis reports them.
pub fn check_journal(
    ls: &LoadedSuite,
    items: &[Item],
    prompter: &Prompter,
    dir: &Path,
) -> Result<()> {
    use rayon::prelude::*;
    use std::io::BufRead;
    let version = manifest(dir)?.map(|m| m.request_hash_version);
    let path = dir.join(journal::JOURNAL_FILE);
    if version != Some(crate::runner::REQUEST_HASH_VERSION) {
        if path.exists() {
            eprintln!(
                "note: {}'s journal was written by an older evalh: its answers cannot be checked against the run's \
                 suite.yaml",
                dir.display()
            );
        }
        return Ok(());
    }
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let suite = &ls.suite;
    let by_id: std::collections::HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.id.as_str(), i))
        .collect();
    let endpoints: Vec<String> = suite
        .providers
        .iter()
        .map(|p| crate::runner::hash_endpoint(p, suite.run.seed))
        .collect();
    let tools = std::sync::Arc::new(ls.tools.clone());
    let repeats = suite.run.repeats.max(1);
    /// The part of a record this check reads (the rest of the line is skipped unallocated).
    #[derive(Deserialize)]
    struct Key {
        item_id: String,
        provider_id: String,
        repeat: u32,
        request_hash: String,
    }
    // Whether the record (provider index, item index, repeat, hash) matches; Err when a prompt cannot render.
    let matches = |(pi, ii, repeat, hash): &(usize, usize, u32, String)| -> Result<bool> {
        let spec = &suite.providers[*pi];
        let req = crate::provider::ChatRequest {
            messages: prompter.messages(&items[*ii], &spec.id)?,
            tools: tools.clone(),
            meta: Default::default(),
        };
        Ok(crate::runner::request_hash(spec, &endpoints[*pi], &req, *repeat) == *hash)
    };
    // Per provider: records checked, records that do not match, and the first that does not.
    let mut tally: Vec<(u64, u64, Option<String>)> = vec![(0, 0, None); suite.providers.len()];
    let mut rdr = std::io::BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    let mut chunk: Vec<(usize, usize, u32, String)> = Vec::with_capacity(CHECK_CHUNK);
    loop {
        line.clear();
        let n = rdr
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n > 0 {
            if let Ok(k) = serde_json::from_slice::<Key>(&line) {
                let pi = suite.providers.iter().position(|p| p.id == k.provider_id);
                if let (Some(pi), Some(&ii)) = (pi, by_id.get(k.item_id.as_str())) {
                    if k.repeat < repeats {
                        chunk.push((pi, ii, k.repeat, k.request_hash));
                    }
                }
            }
        }
        if chunk.len() == CHECK_CHUNK || (n == 0 && !chunk.is_empty()) {
            let verdicts: Vec<bool> = chunk.par_iter().map(matches).collect::<Result<_>>()?;
            for (rec, ok) in chunk.drain(..).zip(verdicts) {
                let t = &mut tally[rec.0];
                t.0 += 1;
                if !ok {
                    t.1 += 1;
                    t.2.get_or_insert_with(|| {
                        format!("item `{}`, repeat {}", items[rec.1].id, rec.2)
                    });
                }
            }
        }
        if n == 0 {
            break;
        }
    }
    let changed: Vec<String> = suite
        .providers
        .iter()
        .zip(&tally)
        .filter(|(_, t)| t.1 > 0)
        .map(|(p, (n, bad, first))| {
            format!(
                "`{}` ({bad} of {n}, first: {})",
                p.id,
                first.as_deref().unwrap_or("?")
            )
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    Err(InputError::new(
        dir.join(RESOLVED_SUITE),
        format!(
            "the run's journal holds answers to other requests than this suite.yaml now describes, for provider(s) {}: \
             its model, prompt, parameters, headers, tools or sim settings were changed after those answers were \
             recorded, and they would be attributed to the new settings",
            changed.join(", ")
        ),
    )
    .hint(
        "undo the edit to the run's suite.yaml (its scoring and gate sections may be edited freely), or run the \
         edited suite as a new run: evalh run SUITE",
    )
    .into())
}

/// Journal records checked per parallel batch.
const CHECK_CHUNK: usize = 8192;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_directory_names_its_holder_and_frees_on_drop() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(holder(d.path()), None);
        let l = lock(d.path()).unwrap();
        let who = holder(d.path()).unwrap();
        assert!(
            who.contains(&format!("pid {}", std::process::id())),
            "{who}"
        );
        let e = lock(d.path()).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains(&who), "{e}");
        drop(l);
        assert_eq!(holder(d.path()), None);
        let _again = lock(d.path()).unwrap();
    }

    #[test]
    fn small_datasets_are_copied_and_changes_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let run = d.path().join("run");
        std::fs::create_dir(&run).unwrap();
        let data = d.path().join("data.jsonl");
        std::fs::write(&data, "{\"id\": 1}\n").unwrap();
        let m = record_dataset(&run, &data).unwrap();
        assert_eq!(m.dataset.copy.as_deref(), Some("dataset.jsonl"));
        assert_eq!(m.dataset.bytes, 10);
        assert_eq!(manifest(&run).unwrap(), Some(m.clone()));
        assert_eq!(
            std::fs::read(run.join("dataset.jsonl")).unwrap(),
            std::fs::read(&data).unwrap()
        );
        assert_eq!(
            m.dataset.blake3,
            blake3::hash(b"{\"id\": 1}\n").to_hex().to_string()
        );
    }
}
