//! The run directory's batch journal (`batches.jsonl`): what was submitted to a provider's batch API, so a killed
//! process loses nothing and `evalh run --resume` (from any machine holding the run directory) collects it.
//!
//! Batch creation has no idempotency key, so each batch is journaled twice around its creation: an `intent` (its
//! requests, before anything is uploaded) and, right after the create call answers, `submitted` with the batch id.
//! A crash between the two leaves an intent without an id: the resume looks for a batch whose metadata names the
//! intent (OpenAI's list endpoint) and otherwise submits the requests again, saying so. `collected` closes a batch
//! once its results are in the journal; `abandoned` closes an intent whose batch was never created. Each line is
//! flushed to disk before the call it announces.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file name in the run directory.
pub(super) const FILE: &str = "batches.jsonl";

/// One request of a batch: (item index, repeat, local token estimate of the prompt, request hash).
pub(super) type Req = (usize, u32, u64, String);

/// One line of the batch journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(super) enum Event {
    /// About to upload and create a batch of these requests.
    Intent {
        provider: String,
        intent: String,
        requests: Vec<Req>,
    },
    /// The provider created the batch.
    Submitted {
        provider: String,
        intent: String,
        batch_id: String,
    },
    /// Every result of the batch is journaled (requests it did not settle stay missing).
    Collected { provider: String, intent: String },
    /// The batch of the intent was never created; its requests are sent again.
    Abandoned {
        provider: String,
        intent: String,
        reason: String,
    },
}

/// A batch not yet collected.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) intent: String,
    /// None: the create call's answer was never journaled (reconcile before polling).
    pub(super) batch_id: Option<String>,
    pub(super) requests: Vec<Req>,
}

/// The appending side, shared by every provider's batch worker.
pub(super) struct BatchLog {
    path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
}

impl BatchLog {
    pub(super) fn new(run_dir: &Path) -> Self {
        BatchLog {
            path: run_dir.join(FILE),
            file: Mutex::new(None),
        }
    }

    /// Append one event and sync it to disk.
    pub(super) fn append(&self, e: &Event) -> Result<()> {
        let io = |e| Error::io(format!("writing {}", self.path.display()), e);
        let mut g = self
            .file
            .lock()
            .map_err(|_| Error::Internal("batch journal lock poisoned".into()))?;
        if g.is_none() {
            *g = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)
                    .map_err(io)?,
            );
        }
        let f = g
            .as_mut()
            .ok_or_else(|| Error::Internal("no batch journal".into()))?;
        let mut line = serde_json::to_vec(e).map_err(|e| Error::Internal(e.to_string()))?;
        line.push(b'\n');
        f.write_all(&line).map_err(io)?;
        f.sync_data().map_err(io)
    }
}

/// The batches of each provider that are not collected yet, in submission order. A torn last line (a crash while
/// writing it) is ignored: the event it announced did not happen yet.
pub(super) fn pending(run_dir: &Path) -> Result<HashMap<String, Vec<Pending>>> {
    let path = run_dir.join(FILE);
    let f = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let mut open: HashMap<String, Vec<Pending>> = HashMap::new();
    for line in std::io::BufReader::new(f).lines() {
        let line = line.map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let Ok(ev) = serde_json::from_str::<Event>(&line) else {
            continue;
        };
        match ev {
            Event::Intent {
                provider,
                intent,
                requests,
            } => open.entry(provider).or_default().push(Pending {
                intent,
                batch_id: None,
                requests,
            }),
            Event::Submitted {
                provider,
                intent,
                batch_id,
            } => {
                if let Some(p) = open
                    .get_mut(&provider)
                    .and_then(|v| v.iter_mut().find(|p| p.intent == intent))
                {
                    p.batch_id = Some(batch_id);
                }
            }
            Event::Collected { provider, intent }
            | Event::Abandoned {
                provider, intent, ..
            } => {
                if let Some(v) = open.get_mut(&provider) {
                    v.retain(|p| p.intent != intent);
                }
            }
        }
    }
    Ok(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_submitted_and_closed_batches_replay_to_what_is_pending() {
        let d = tempfile::tempdir().unwrap();
        let log = BatchLog::new(d.path());
        let intent = |i: &str| Event::Intent {
            provider: "p".into(),
            intent: i.into(),
            requests: vec![(0, 0, 10, "h".into())],
        };
        log.append(&intent("a")).unwrap();
        log.append(&intent("b")).unwrap();
        log.append(&intent("c")).unwrap();
        log.append(&Event::Submitted {
            provider: "p".into(),
            intent: "a".into(),
            batch_id: "batch_1".into(),
        })
        .unwrap();
        log.append(&Event::Submitted {
            provider: "p".into(),
            intent: "b".into(),
            batch_id: "batch_2".into(),
        })
        .unwrap();
        log.append(&Event::Collected {
            provider: "p".into(),
            intent: "b".into(),
        })
        .unwrap();
        // A torn line at the end is ignored.
        std::fs::OpenOptions::new()
            .append(true)
            .open(d.path().join(FILE))
            .unwrap()
            .write_all(b"{\"event\":\"collec")
            .unwrap();
        let p = pending(d.path()).unwrap();
        let v = &p["p"];
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].intent.as_str(), v[0].batch_id.as_deref()),
            ("a", Some("batch_1"))
        );
        assert_eq!(
            (v[1].intent.as_str(), v[1].batch_id.as_deref()),
            ("c", None)
        );
        assert!(pending(&d.path().join("none")).unwrap().is_empty());
    }
}
