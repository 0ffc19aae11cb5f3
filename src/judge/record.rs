//! The judge's journal, `judge.jsonl` in the run directory: one record per judge call, appended as it ends.
//!
//! Why this module exists: judge calls are paid requests like the providers', so they are journaled the moment they
//! end (a resume never pays twice) — but in their own file, so the providers' journal, its checks and every tool
//! that reads it stay unchanged. Only the judge's text is stored, never a parsed verdict: `evalh score` re-reads the
//! verdicts from it offline.

use crate::chat::Usage;
use crate::error::{Error, Result};
use crate::journal::ErrorInfo;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// The judge journal's file name in a run directory.
pub const JUDGE_FILE: &str = "judge.jsonl";

/// Which comparison a judge call made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Pairwise, the baseline's answer shown as A and the candidate's as B.
    BaselineFirst,
    /// Pairwise, the candidate's answer shown as A and the baseline's as B.
    CandidateFirst,
    /// Rubric: one answer scored alone.
    Single,
}

/// One judge call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeRecord {
    /// Dataset item id.
    pub item_id: String,
    /// The provider whose answer was judged (pairwise: the candidate).
    pub provider_id: String,
    /// The comparison.
    pub order: Order,
    /// The judge's id.
    pub judge_id: String,
    /// Canonical request hash (it covers the judged answers, which are in the prompt).
    pub request_hash: String,
    /// The judge's answer.
    pub output_text: String,
    /// Token usage.
    pub usage: Usage,
    /// Evaluation cost, USD (0 for a cached answer).
    pub cost_usd: f64,
    /// Wall time, ms.
    pub latency_ms: f64,
    /// Attempts made.
    pub attempts: u32,
    /// The final error, when the judge could not answer (the comparison stays unsettled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// Served from the response cache.
    #[serde(default)]
    pub cached: bool,
}

/// A judge call's identity: item, judged provider, order.
pub type Key = (String, String, Order);

impl JudgeRecord {
    /// The call's identity.
    pub fn key(&self) -> Key {
        (self.item_id.clone(), self.provider_id.clone(), self.order)
    }
}

/// The latest record of every judge call in `run_dir` (none when the file does not exist), and how many lines could
/// not be read (a torn last line after a crash; reported by the caller).
pub fn read(run_dir: &Path) -> Result<(HashMap<Key, JudgeRecord>, usize)> {
    let path = run_dir.join(JUDGE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((HashMap::new(), 0)),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let mut out = HashMap::new();
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<JudgeRecord>(line) {
            Ok(r) => {
                out.insert(r.key(), r);
            }
            Err(_) => bad += 1,
        }
    }
    Ok((out, bad))
}

/// Appends judge records, one whole line per write, flushed to the OS at once and synced when finished.
pub struct Writer {
    file: std::sync::Mutex<std::fs::File>,
}

impl Writer {
    /// Open (create) the judge journal of `run_dir`; a torn last line is completed so the next record starts whole.
    pub fn open(run_dir: &Path) -> Result<Writer> {
        let path = run_dir.join(JUDGE_FILE);
        let io = |e| Error::io(format!("opening {}", path.display()), e);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len > 0 {
            use std::io::{Read, Seek, SeekFrom};
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1)).map_err(io)?;
            file.read_exact(&mut last).map_err(io)?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(io)?;
            }
        }
        Ok(Writer {
            file: std::sync::Mutex::new(file),
        })
    }

    /// Append one record.
    pub fn append(&self, r: &JudgeRecord) -> Result<()> {
        let mut line = serde_json::to_vec(r)
            .map_err(|e| Error::Internal(format!("serialising a judge record: {e}")))?;
        line.push(b'\n');
        let mut f = self
            .file
            .lock()
            .map_err(|_| Error::Internal("judge journal lock poisoned".into()))?;
        f.write_all(&line)
            .map_err(|e| Error::io(format!("writing {JUDGE_FILE}"), e))
    }

    /// Sync to disk.
    pub fn finish(self) -> Result<()> {
        let f = self
            .file
            .into_inner()
            .map_err(|_| Error::Internal("judge journal lock poisoned".into()))?;
        f.sync_data()
            .map_err(|e| Error::io(format!("syncing {JUDGE_FILE}"), e))
    }
}
