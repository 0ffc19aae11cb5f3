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

/// A batch not yet collected. Its requests stay on disk (a million-request run would hold hundreds of megabytes
/// of them while it polls): [`read_requests`] reads them back from the intent line at `offset`.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) intent: String,
    /// None: the create call's answer was never journaled (reconcile before polling).
    pub(super) batch_id: Option<String>,
    /// Where its intent line starts in the batch journal.
    pub(super) offset: u64,
}

/// The appending side, shared by every provider's batch worker.
pub(super) struct BatchLog {
    path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
}

/// An intent line, written from borrowed requests.
#[derive(Serialize)]
struct IntentLine<'a> {
    event: &'static str,
    provider: &'a str,
    intent: &'a str,
    requests: &'a [Req],
}

impl BatchLog {
    pub(super) fn new(run_dir: &Path) -> Self {
        BatchLog {
            path: run_dir.join(FILE),
            file: Mutex::new(None),
        }
    }

    /// Append one event and sync it to disk; the offset its line starts at.
    pub(super) fn append(&self, e: &Event) -> Result<u64> {
        self.write(serde_json::to_vec(e))
    }

    /// Append the intent of a batch of `requests`; the offset its line starts at.
    pub(super) fn append_intent(
        &self,
        provider: &str,
        intent: &str,
        requests: &[Req],
    ) -> Result<u64> {
        self.write(serde_json::to_vec(&IntentLine {
            event: "intent",
            provider,
            intent,
            requests,
        }))
    }

    fn write(&self, line: serde_json::Result<Vec<u8>>) -> Result<u64> {
        let io = |e| Error::io(format!("writing {}", self.path.display()), e);
        let mut line = line.map_err(|e| Error::Internal(e.to_string()))?;
        line.push(b'\n');
        let mut g = self
            .file
            .lock()
            .map_err(|_| Error::Internal("batch journal lock poisoned".into()))?;
        if g.is_none() {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .read(true)
                .open(&self.path)
                .map_err(io)?;
            // A line torn by a crash would otherwise run into the next event and both be unreadable.
            crate::journal::repair_tail(
                &mut f,
                &self.path,
                |tail| serde_json::from_slice::<serde_json::Value>(tail).is_ok(),
                "the batch it named is reconciled by the resume",
            )?;
            *g = Some(f);
        }
        let f = g
            .as_mut()
            .ok_or_else(|| Error::Internal("no batch journal".into()))?;
        let offset = f.metadata().map_err(io)?.len();
        f.write_all(&line).map_err(io)?;
        f.sync_data().map_err(io)?;
        Ok(offset)
    }
}

/// The requests of the intent line at `offset`.
pub(super) fn read_requests(run_dir: &Path, offset: u64) -> Result<Vec<Req>> {
    use std::io::Seek;
    let path = run_dir.join(FILE);
    let io = |e| Error::io(format!("reading {}", path.display()), e);
    let mut f = std::fs::File::open(&path).map_err(io)?;
    f.seek(std::io::SeekFrom::Start(offset)).map_err(io)?;
    let mut line = Vec::new();
    std::io::BufReader::new(f)
        .read_until(b'\n', &mut line)
        .map_err(io)?;
    match serde_json::from_slice::<Event>(&line) {
        Ok(Event::Intent { requests, .. }) => Ok(requests),
        _ => Err(Error::Internal(format!(
            "{}: no batch intent at byte {offset}",
            path.display()
        ))),
    }
}

/// A journal line as replayed: everything but the requests.
#[derive(Deserialize)]
struct Light {
    event: String,
    provider: String,
    intent: String,
    #[serde(default)]
    batch_id: Option<String>,
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
    let mut reader = std::io::BufReader::new(f);
    let (mut offset, mut line) = (0u64, Vec::new());
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        let at = offset;
        offset += n as u64;
        let Ok(ev) = serde_json::from_slice::<Light>(&line) else {
            continue;
        };
        let list = open.entry(ev.provider).or_default();
        match ev.event.as_str() {
            "intent" => list.push(Pending {
                intent: ev.intent,
                batch_id: None,
                offset: at,
            }),
            "submitted" => {
                if let Some(p) = list.iter_mut().find(|p| p.intent == ev.intent) {
                    p.batch_id = ev.batch_id;
                }
            }
            _ => list.retain(|p| p.intent != ev.intent),
        }
    }
    open.retain(|_, v| !v.is_empty());
    Ok(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_submitted_and_closed_batches_replay_to_what_is_pending() {
        let d = tempfile::tempdir().unwrap();
        let log = BatchLog::new(d.path());
        let reqs = |n: usize| -> Vec<Req> { (0..n).map(|i| (i, 0, 10, format!("h{i}"))).collect() };
        log.append_intent("p", "a", &reqs(1)).unwrap();
        log.append_intent("p", "b", &reqs(2)).unwrap();
        let c = log.append_intent("p", "c", &reqs(3)).unwrap();
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
        assert_eq!(v[1].offset, c);
        assert_eq!(read_requests(d.path(), c).unwrap(), reqs(3));
        assert_eq!(read_requests(d.path(), v[0].offset).unwrap(), reqs(1));
        assert!(pending(&d.path().join("none")).unwrap().is_empty());
    }

    /// A line torn by a crash is cut off when the next invocation first writes, so the events after it stay
    /// readable (appended to the fragment, the next intent would be lost and its batch paid for twice).
    #[test]
    fn a_torn_last_line_is_repaired_before_the_next_event() {
        let d = tempfile::tempdir().unwrap();
        let reqs: Vec<Req> = vec![(0, 0, 10, "h0".into())];
        BatchLog::new(d.path())
            .append_intent("p", "a", &reqs)
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(d.path().join(FILE))
            .unwrap()
            .write_all(b"{\"event\":\"submitt")
            .unwrap();
        let log = BatchLog::new(d.path());
        let b = log.append_intent("p", "b", &reqs).unwrap();
        let p = pending(d.path()).unwrap();
        let intents: Vec<&str> = p["p"].iter().map(|x| x.intent.as_str()).collect();
        assert_eq!(intents, ["a", "b"]);
        assert_eq!(read_requests(d.path(), b).unwrap(), reqs);
    }
}
