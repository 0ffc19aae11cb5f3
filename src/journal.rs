//! The run journal: an append-only JSONL record of every finished request.
//!
//! Why this module exists: it is the one seam between the paid, I/O half of evalh and the pure half. Everything after
//! it (scores, statistics, the gate, reports) is recomputed from the journal alone, offline, so a report can be
//! regenerated, a scorer fixed, or a crashed run resumed without paying again.
//!
//! Durability policy: each record is written as one line and flushed to the OS as soon as its request finishes
//! (a crash of evalh loses nothing already written); the file is fsync'ed every 256 records, every 2 seconds and at
//! the end of the run (a power loss can lose at most the last un-synced records, which resume then re-requests).
//! A torn last line (no trailing newline, or not valid JSON) is ignored on read.
//!
//! No secrets: records hold outputs, usage and error messages; never request headers or keys, and every secret the
//! suite references is scrubbed from each record before it is written (see [`crate::redact`]).

use crate::chat::{ErrorClass, ToolCall, Usage};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// File name inside a run directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// A failed request's classified error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// Failure class.
    pub class: ErrorClass,
    /// Provider message (for a transport failure, the whole cause chain: "... Connection refused (os error 111)").
    pub message: String,
    /// HTTP status if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The provider's or gateway's own error type from the body (`error.type`, Gemini's `error.status`), if any.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The provider's or gateway's error code from the body (`error.code`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl ErrorInfo {
    /// An error with no provider type or code.
    pub fn new(class: ErrorClass, message: impl Into<String>, status: Option<u16>) -> Self {
        ErrorInfo {
            class,
            message: message.into(),
            status,
            error_type: None,
            code: None,
        }
    }
}

/// The same request sent once more with the other streaming mode (a provider's `compare_stream: true`). Kept
/// inside the record it shadows so resume, cost and latency figures are unaffected by it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamCompare {
    /// Whether this second call streamed.
    pub stream: bool,
    /// Text output.
    pub output_text: String,
    /// Tool calls.
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    /// Provider finish reason.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Token usage (zeros on error).
    #[serde(default)]
    pub usage: Usage,
    /// Cost in USD of the second call (not part of the record's `cost_usd`).
    pub cost_usd: f64,
    /// Wall time of the successful (or last) attempt, ms.
    pub latency_ms: f64,
    /// Time to first token, ms (when this call streamed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    /// Attempts made.
    pub attempts: u32,
    /// Error, if the second call finally failed.
    pub error: Option<ErrorInfo>,
    /// The class of every failed attempt of the second call, in order (as [`Record::attempt_errors`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempt_errors: Vec<ErrorClass>,
}

/// One finished (item, provider, repeat) request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Dataset item id.
    pub item_id: String,
    /// Provider id.
    pub provider_id: String,
    /// Repeat index.
    pub repeat: u32,
    /// Hash of the canonical request (cache key).
    pub request_hash: String,
    /// Text output.
    pub output_text: String,
    /// Tool calls.
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    /// Provider finish reason.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Token usage (zeros on error).
    #[serde(default)]
    pub usage: Usage,
    /// Cost in USD of this record (0 when served from cache).
    pub cost_usd: f64,
    /// Wall time of the successful (or last) attempt, ms.
    pub latency_ms: f64,
    /// Time to first token (streaming), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    /// Attempts made (1 = no retry).
    pub attempts: u32,
    /// Error, if the request finally failed.
    pub error: Option<ErrorInfo>,
    /// Served from the response cache (excluded from latency statistics).
    #[serde(default)]
    pub cached: bool,
    /// Local token estimate of the prompt (for the token-count discrepancy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub est_input_tokens: Option<u64>,
    /// The other-streaming-mode call, when the provider has `compare_stream: true` (repeat 0 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_compare: Option<StreamCompare>,
    /// The class of every failed attempt, in order (the final error included), so every attempt is accounted for:
    /// `attempts == attempt_errors.len()` on failure, `+ 1` on success. Empty for a preflight skip (0 attempts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempt_errors: Vec<ErrorClass>,
    /// The provider's adaptive concurrency limit right after this request's throttled attempts, its `stream_compare`
    /// call's included (set only when one of its attempts was throttled; the run's minimum is the minimum over
    /// records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_concurrency: Option<u32>,
    /// The provider batch (its id) that answered this request: the cost is at the batch price, and the latency is
    /// not measured (a batch answers within hours; `latency_ms` is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
}

impl Record {
    /// The resume key.
    pub fn key(&self) -> (String, String, u32) {
        (self.item_id.clone(), self.provider_id.clone(), self.repeat)
    }

    /// The first number in this record that JSON cannot hold, as (field, value): NaN and the infinities serialise as
    /// `null`, and a line holding one would not read back as a record.
    pub fn non_finite(&self) -> Option<(&'static str, f64)> {
        let sc = self.stream_compare.as_ref();
        [
            ("cost_usd", Some(self.cost_usd)),
            ("latency_ms", Some(self.latency_ms)),
            ("ttft_ms", self.ttft_ms),
            ("stream_compare.cost_usd", sc.map(|c| c.cost_usd)),
            ("stream_compare.latency_ms", sc.map(|c| c.latency_ms)),
            ("stream_compare.ttft_ms", sc.and_then(|c| c.ttft_ms)),
        ]
        .into_iter()
        .find_map(|(f, v)| v.filter(|x| !x.is_finite()).map(|x| (f, x)))
    }

    /// Whether this record settles its request: a success, or a final error that is evidence about the provider
    /// answering this item or about its reliability. An error that says the provider could not be reached or used
    /// (auth, unknown model, quota, connection, exhausted rate-limit retries) does not (docs/gate.md).
    pub fn settled(&self) -> bool {
        match &self.error {
            None => true,
            Some(e) => e.class.evidence() != crate::chat::ErrorEvidence::Unreachable,
        }
    }
}

/// Records written between two fsyncs at most (see the module's durability policy).
const SYNC_EVERY: usize = 256;
/// Longest time a written record stays un-synced.
const SYNC_INTERVAL: Duration = Duration::from_secs(2);

/// Appends records durably, from many request tasks at once.
///
/// Each record is serialised by the task that finished it and written with one `write` under a short lock, so it
/// reaches the OS the moment it is known, without waking a writer thread per record (that wake-up was ~5% of a
/// zero-latency run's CPU). The slow part, `fdatasync`, runs on a background thread over a second handle of the same
/// file: a request task never waits for the disk.
pub struct Writer {
    file: std::sync::Mutex<std::fs::File>,
    /// Records written since the last sync was requested.
    unsynced: std::sync::atomic::AtomicUsize,
    syncer: std::sync::Arc<Syncer>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

/// What the sync thread waits on.
struct Syncer {
    state: std::sync::Mutex<SyncState>,
    wake: std::sync::Condvar,
}

#[derive(Default)]
struct SyncState {
    /// Something was written since the last sync.
    dirty: bool,
    /// `SYNC_EVERY` records were written: sync now.
    due: bool,
    /// The run is over: sync once more and stop.
    closing: bool,
}

impl Writer {
    /// Open (create or append) the journal of a run directory.
    pub fn open(run_dir: &Path) -> Result<Self> {
        let path = run_dir.join(JOURNAL_FILE);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        repair_tail(
            &mut file,
            &path,
            |tail| serde_json::from_slice::<Record>(tail).is_ok(),
            "its request is sent again",
        )?;
        let sync_file = file
            .try_clone()
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        let syncer = std::sync::Arc::new(Syncer {
            state: std::sync::Mutex::new(SyncState::default()),
            wake: std::sync::Condvar::new(),
        });
        let s = syncer.clone();
        let thread = std::thread::Builder::new()
            .name("journal-sync".into())
            .spawn(move || sync_loop(&s, &sync_file))
            .map_err(|e| Error::io("starting the journal sync thread", e))?;
        Ok(Writer {
            file: std::sync::Mutex::new(file),
            unsynced: std::sync::atomic::AtomicUsize::new(0),
            syncer,
            thread: Some(thread),
        })
    }

    /// Append one record and hand it to the OS; schedules an fsync every `SYNC_EVERY` records.
    ///
    /// A record that could not be read back is refused (nothing is written): a cost or latency that is not a finite
    /// number would be written as `null`, and that line would then be skipped on every read — its paid answer lost
    /// and paid again by every `--resume`.
    pub fn append(&self, r: &Record) -> Result<()> {
        if let Some((field, v)) = r.non_finite() {
            return Err(unwritable(r, field, v));
        }
        let mut line = serde_json::to_vec(r)
            .map_err(|e| Error::Internal(format!("serializing a record: {e}")))?;
        line.push(b'\n');
        {
            let mut f = self
                .file
                .lock()
                .map_err(|_| Error::Internal("journal lock poisoned".into()))?;
            f.write_all(&line)
                .map_err(|e| Error::io("writing the journal", e))?;
        }
        use std::sync::atomic::Ordering;
        let n = self.unsynced.fetch_add(1, Ordering::Relaxed) + 1;
        let due = n >= SYNC_EVERY;
        if due {
            self.unsynced.store(0, Ordering::Relaxed);
        }
        if let Ok(mut st) = self.syncer.state.lock() {
            let was_dirty = st.dirty;
            st.dirty = true;
            st.due |= due;
            // Wake the thread when the 2-second clock must start or a sync is due; otherwise it is already timing.
            if due || !was_dirty {
                self.syncer.wake.notify_one();
            }
        }
        Ok(())
    }

    /// Sync what was written and stop the sync thread (the end of a run). A sync error is reported here.
    pub fn finish(mut self) -> Result<()> {
        self.close()
    }

    fn close(&mut self) -> Result<()> {
        let Some(t) = self.thread.take() else {
            return Ok(());
        };
        if let Ok(mut st) = self.syncer.state.lock() {
            st.closing = true;
            self.syncer.wake.notify_one();
        }
        t.join()
            .map_err(|_| Error::Internal("journal sync thread panicked".into()))?
    }
}

/// Make the journal end at a line boundary before appending to it.
///
/// An unterminated last line is the write that was in progress when evalh died (a torn write). If it still reads as
/// a record it only lacks its newline, which is added. Otherwise it is cut off: it cannot be read, its request counts
/// as not done (so this run sends it again), and left in place it would become an unreadable line in the middle of
/// the file — which readers report as corruption, not as a torn write — once the next record follows it.
///
/// `complete` says whether an unterminated last line still reads as a whole line of the file's kind; `consequence`
/// ends the note printed when it does not (what the lost line means for the run). The batch journal
/// (`batches.jsonl`) is repaired the same way.
pub(crate) fn repair_tail(
    file: &mut std::fs::File,
    path: &Path,
    complete: impl Fn(&[u8]) -> bool,
    consequence: &str,
) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let io = |e| Error::io(format!("repairing {}", path.display()), e);
    let len = file.metadata().map_err(io)?.len();
    if len == 0 {
        return Ok(());
    }
    // The start of the last line: scan backwards block by block for the previous newline.
    let mut buf = vec![0u8; 64 * 1024];
    let mut end = len;
    let mut tail_start = 0;
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        file.read_exact(&mut buf[..n]).map_err(io)?;
        if end == len && buf[n - 1] == b'\n' {
            return Ok(());
        }
        if let Some(i) = buf[..n].iter().rposition(|&b| b == b'\n') {
            tail_start = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(tail_start)).map_err(io)?;
    file.read_to_end(&mut tail).map_err(io)?;
    if complete(&tail) {
        return file.write_all(b"\n").map_err(io);
    }
    file.set_len(tail_start).map_err(io)?;
    eprintln!(
        "note: removed the unfinished last line of {} ({} bytes, a torn write after a crash); {consequence}",
        path.display(),
        tail.len()
    );
    Ok(())
}

/// The error for a record whose `field` holds the non-finite `v`.
fn unwritable(r: &Record, field: &str, v: f64) -> Error {
    let what = format!(
        "provider `{}`, item `{}`: {field} is {v}, which a journal line cannot hold (JSON has no NaN or infinity); \
         the record was not written and the run stops",
        r.provider_id, r.item_id
    );
    if field.contains("cost") {
        crate::error::InputError::new("", what)
            .hint(
                "every price must be a finite number >= 0 (USD per million tokens) whose cost stays finite: \
                 check this provider's `price:`",
            )
            .into()
    } else {
        Error::Internal(what)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The sync thread: `fdatasync` when `SYNC_EVERY` records were written, `SYNC_INTERVAL` after the first un-synced
/// write, and at the end.
fn sync_loop(s: &Syncer, file: &std::fs::File) -> Result<()> {
    let sync = || {
        file.sync_data()
            .map_err(|e| Error::io("syncing the journal", e))
    };
    let Ok(mut st) = s.state.lock() else {
        return sync();
    };
    loop {
        if st.closing {
            drop(st);
            return sync();
        }
        if st.due {
            st.due = false;
            st.dirty = false;
            drop(st);
            sync()?;
        } else if st.dirty {
            let (guard, timeout) = s
                .wake
                .wait_timeout(st, SYNC_INTERVAL)
                .map_err(|_| Error::Internal("journal lock poisoned".into()))?;
            st = guard;
            if timeout.timed_out() && st.dirty && !st.closing {
                st.dirty = false;
                drop(st);
                sync()?;
            } else {
                continue;
            }
        } else {
            st = s
                .wake
                .wait(st)
                .map_err(|_| Error::Internal("journal lock poisoned".into()))?;
            continue;
        }
        st = s
            .state
            .lock()
            .map_err(|_| Error::Internal("journal lock poisoned".into()))?;
    }
}

/// Journal lines that did not read as records, told apart by where they are.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The last line, when it has no newline and does not parse: the write in progress when evalh died (a torn write).
    pub torn: Option<usize>,
    /// Newline-terminated lines that do not parse (1-based): not something a crash leaves behind — the file was
    /// damaged or edited. Their requests count as not done.
    pub corrupt: Vec<usize>,
}

impl Skipped {
    /// Whether every line read.
    pub fn is_empty(&self) -> bool {
        self.torn.is_none() && self.corrupt.is_empty()
    }

    /// Every skipped line number, in file order.
    pub fn lines(&self) -> Vec<usize> {
        self.corrupt.iter().copied().chain(self.torn).collect()
    }

    /// What to tell the user about them (one line each for corruption and a torn write), or `None`.
    pub fn notes(&self, journal: &Path) -> Vec<String> {
        let mut out = Vec::new();
        if !self.corrupt.is_empty() {
            const SHOWN: usize = 20;
            let mut lines: Vec<String> = self
                .corrupt
                .iter()
                .take(SHOWN)
                .map(ToString::to_string)
                .collect();
            if self.corrupt.len() > SHOWN {
                lines.push(format!("and {} more", self.corrupt.len() - SHOWN));
            }
            out.push(format!(
                "warning: {} is corrupt: {} line(s) are not valid records and were ignored (line {}); a crash never \
                 leaves such lines, so the file was damaged or edited. Their requests count as not done.",
                journal.display(),
                self.corrupt.len(),
                lines.join(", ")
            ));
        }
        if let Some(l) = self.torn {
            out.push(format!(
                "note: ignored the unfinished last line {l} of {} (a torn write after a crash); `--resume` sends its \
                 request again",
                journal.display()
            ));
        }
        out
    }
}

/// What reading a journal found.
#[derive(Debug, Default)]
pub struct ReadResult {
    /// Records in file order.
    pub records: Vec<Record>,
    /// Lines that were not valid records.
    pub skipped: Skipped,
}

/// Read a journal, ignoring torn or corrupt lines.
pub fn read(run_dir: &Path) -> Result<ReadResult> {
    let mut rd = Reader::open(run_dir)?;
    let records = rd.by_ref().collect();
    let skipped = rd.finish()?;
    Ok(ReadResult { records, skipped })
}

/// Stream a journal record by record, ignoring torn or corrupt lines; returns the lines it skipped. A missing journal
/// is an empty one.
pub fn for_each(run_dir: &Path, mut f: impl FnMut(Record)) -> Result<Skipped> {
    let mut rd = Reader::open(run_dir)?;
    for r in rd.by_ref() {
        f(r);
    }
    rd.finish()
}

/// A streaming journal reader: an iterator over its valid records that holds one line in memory at a time, so a
/// run of any size is read in bounded memory. Call [`Reader::finish`] afterwards for I/O errors and skipped lines.
pub struct Reader {
    path: std::path::PathBuf,
    rdr: Option<std::io::BufReader<std::fs::File>>,
    line: Vec<u8>,
    n: usize,
    skipped: Skipped,
    error: Option<std::io::Error>,
}

impl Reader {
    /// Open the journal of `run_dir` (a missing journal reads as empty).
    pub fn open(run_dir: &Path) -> Result<Reader> {
        let path = run_dir.join(JOURNAL_FILE);
        let rdr = match std::fs::File::open(&path) {
            Ok(f) => Some(std::io::BufReader::with_capacity(1 << 16, f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        Ok(Reader {
            path,
            rdr,
            line: Vec::new(),
            n: 0,
            skipped: Skipped::default(),
            error: None,
        })
    }

    /// The lines skipped as unreadable, or the I/O error that ended the iteration early.
    pub fn finish(self) -> Result<Skipped> {
        match self.error {
            Some(e) => Err(Error::io(format!("reading {}", self.path.display()), e)),
            None => Ok(self.skipped),
        }
    }
}

impl Iterator for Reader {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        use std::io::BufRead;
        let rdr = self.rdr.as_mut()?;
        loop {
            self.line.clear();
            match rdr.read_until(b'\n', &mut self.line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.error = Some(e);
                    self.rdr = None;
                    return None;
                }
            }
            self.n += 1;
            if self.line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Record>(&self.line) {
                Ok(r) => return Some(r),
                // Only the last line can lack its newline: that is the write a crash interrupted.
                Err(_) if self.line.last() != Some(&b'\n') => self.skipped.torn = Some(self.n),
                Err(_) => self.skipped.corrupt.push(self.n),
            }
        }
    }
}

/// Positions `0..n` sorted by the id at each, for binary search: 4 bytes a position. It holds no ids — the caller
/// says where the id of a position is — so an owner of the ids (the simulator's shared items) can keep one beside
/// them. With equal ids, any of them is found.
pub struct SortedPositions {
    order: Vec<u32>,
}

impl SortedPositions {
    /// Positions `0..n` sorted by `id(position)`.
    pub fn new<'a>(n: usize, id: impl Fn(usize) -> &'a str) -> Self {
        assert!(u32::try_from(n).is_ok(), "more than 2^32 ids");
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_unstable_by(|&a, &b| id(a as usize).cmp(id(b as usize)));
        SortedPositions { order }
    }

    /// The position whose id is `target`.
    pub fn find<'a>(&self, target: &str, id: impl Fn(usize) -> &'a str) -> Option<usize> {
        let k = self
            .order
            .binary_search_by(|&i| id(i as usize).cmp(target))
            .ok()?;
        Some(self.order[k] as usize)
    }
}

/// The position of each id of a list, found by binary search over the ids' sorted order: 20 bytes an id, where a
/// hash map of them took ~50 (at 1,000,000 items, 20 MB instead of ~50 MB). With equal ids, any of them is found.
pub struct IdIndex<'a> {
    ids: Vec<&'a str>,
    order: SortedPositions,
}

impl<'a> IdIndex<'a> {
    /// The index of these ids (position = order of the iterator).
    pub fn new(ids: impl IntoIterator<Item = &'a str>) -> Self {
        let ids: Vec<&str> = ids.into_iter().collect();
        let order = SortedPositions::new(ids.len(), |i| ids[i]);
        IdIndex { ids, order }
    }

    /// The position of `id`.
    pub fn get(&self, id: &str) -> Option<usize> {
        self.order.find(id, |i| self.ids[i])
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A dense numbering of a run's (provider, repeat, item) slots, so bookkeeping over a journal of any size (what is
/// done, what is missing) takes one bit-sized flag per request instead of a set of string keys.
pub struct Slots<'a> {
    items: IdIndex<'a>,
    providers: Vec<&'a str>,
    repeats: usize,
}

impl<'a> Slots<'a> {
    /// Slots for these item ids (in dataset order), provider ids and repeat count.
    pub fn new(
        item_ids: impl IntoIterator<Item = &'a str>,
        provider_ids: impl IntoIterator<Item = &'a str>,
        repeats: u32,
    ) -> Self {
        Slots {
            items: IdIndex::new(item_ids),
            providers: provider_ids.into_iter().collect(),
            repeats: repeats.max(1) as usize,
        }
    }

    /// Number of slots (requests in the run).
    pub fn len(&self) -> usize {
        self.items.len() * self.providers.len() * self.repeats
    }

    /// Whether the run has no requests.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot of provider number `provider`, repeat `repeat`, item number `item`.
    pub fn at(&self, provider: usize, repeat: u32, item: usize) -> usize {
        (provider * self.repeats + repeat as usize) * self.items.len() + item
    }

    /// The slot a record fills, if it belongs to this run.
    pub fn of(&self, r: &Record) -> Option<usize> {
        let item = self.items.get(r.item_id.as_str())?;
        let provider = self.providers.iter().position(|p| *p == r.provider_id)?;
        ((r.repeat as usize) < self.repeats).then(|| self.at(provider, r.repeat, item))
    }
}

/// The latest record per (item, provider, repeat): later lines supersede earlier ones (a retried error).
pub fn latest(records: Vec<Record>) -> HashMap<(String, String, u32), Record> {
    let mut m = HashMap::with_capacity(records.len());
    for r in records {
        m.insert(r.key(), r);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(item: &str, err: Option<ErrorClass>) -> Record {
        Record {
            item_id: item.into(),
            provider_id: "p".into(),
            repeat: 0,
            request_hash: "h".into(),
            output_text: "x".into(),
            tool_calls: vec![],
            finish_reason: Some("stop".into()),
            usage: Usage::default(),
            cost_usd: 0.0,
            latency_ms: 1.0,
            ttft_ms: None,
            attempts: 1,
            error: err.map(|class| ErrorInfo::new(class, "m", None)),
            cached: false,
            est_input_tokens: None,
            stream_compare: None,
            attempt_errors: vec![],
            min_concurrency: None,
            batch: None,
        }
    }

    #[test]
    fn torn_last_line_is_ignored_and_repaired_on_append() {
        let d = tempfile::tempdir().unwrap();
        let w = Writer::open(d.path()).unwrap();
        w.append(&rec("a", None)).unwrap();
        drop(w);
        let path = d.path().join(JOURNAL_FILE);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"item_id\":\"b\",\"provi").unwrap();
        drop(f);
        let r = read(d.path()).unwrap();
        assert_eq!(r.records.len(), 1);
        assert_eq!(
            r.skipped,
            Skipped {
                torn: Some(2),
                corrupt: vec![]
            }
        );
        let w = Writer::open(d.path()).unwrap();
        w.append(&rec("c", None)).unwrap();
        let r = read(d.path()).unwrap();
        assert_eq!(
            r.records
                .iter()
                .map(|r| r.item_id.as_str())
                .collect::<Vec<_>>(),
            ["a", "c"]
        );
    }

    #[test]
    fn a_record_that_would_not_read_back_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let w = Writer::open(d.path()).unwrap();
        for (field, v) in [
            ("cost_usd", f64::NAN),
            ("cost_usd", f64::INFINITY),
            ("latency_ms", f64::NEG_INFINITY),
        ] {
            let mut r = rec("a", None);
            if field == "cost_usd" {
                r.cost_usd = v;
            } else {
                r.latency_ms = v;
            }
            assert_eq!(r.non_finite().map(|x| x.0), Some(field));
            let e = w.append(&r).unwrap_err();
            assert!(e.to_string().contains(field), "{e}");
            let expected = if field == "cost_usd" { 2 } else { 70 };
            assert_eq!(e.exit_code(), expected, "{e}");
        }
        let mut r = rec("b", None);
        r.stream_compare = Some(StreamCompare {
            stream: true,
            output_text: String::new(),
            tool_calls: vec![],
            finish_reason: None,
            usage: Usage::default(),
            cost_usd: f64::NAN,
            latency_ms: 1.0,
            ttft_ms: None,
            attempts: 1,
            error: None,
            attempt_errors: vec![],
        });
        assert_eq!(r.non_finite().map(|x| x.0), Some("stream_compare.cost_usd"));
        assert!(w.append(&r).is_err());
        // The largest finite numbers are fine and read back exactly.
        let mut r = rec("c", None);
        r.cost_usd = f64::MAX;
        r.latency_ms = f64::MIN_POSITIVE;
        w.append(&r).unwrap();
        drop(w);
        let back = read(d.path()).unwrap();
        assert!(back.skipped.is_empty());
        assert_eq!(
            back.records,
            vec![r],
            "nothing but the finite record was written"
        );
    }

    #[test]
    fn only_an_unterminated_last_line_is_a_torn_write() {
        let d = tempfile::tempdir().unwrap();
        let good = serde_json::to_string(&rec("a", None)).unwrap();
        let path = d.path().join(JOURNAL_FILE);
        std::fs::write(
            &path,
            format!("{good}\n{{garbage\n{good}\n{{\"item_id\":\"b\",\"pro"),
        )
        .unwrap();
        let r = read(d.path()).unwrap();
        assert_eq!(r.records.len(), 2);
        assert_eq!(
            r.skipped,
            Skipped {
                torn: Some(4),
                corrupt: vec![2]
            }
        );
        let notes = r.skipped.notes(&path).join("\n");
        assert!(
            notes.contains("corrupt") && notes.contains("line 2"),
            "{notes}"
        );
        assert!(
            notes.contains("line 4") && notes.contains("torn write"),
            "{notes}"
        );
        // A last line that is garbage but terminated is corruption, not a torn write.
        std::fs::write(&path, format!("{good}\n{{garbage\n")).unwrap();
        let r = read(d.path()).unwrap();
        assert_eq!(
            r.skipped,
            Skipped {
                torn: None,
                corrupt: vec![2]
            }
        );
    }

    #[test]
    fn reopening_cuts_a_torn_tail_and_completes_a_whole_one() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(JOURNAL_FILE);
        let good = serde_json::to_string(&rec("a", None)).unwrap();
        // A torn tail longer than one scan block.
        let torn = format!("{{\"item_id\":\"{}", "x".repeat(100_000));
        std::fs::write(&path, format!("{good}\n{torn}")).unwrap();
        Writer::open(d.path()).unwrap().finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{good}\n"));
        // A whole record that only lacks its newline is kept.
        std::fs::write(&path, format!("{good}\n{good}")).unwrap();
        let w = Writer::open(d.path()).unwrap();
        w.append(&rec("b", None)).unwrap();
        drop(w);
        let r = read(d.path()).unwrap();
        assert!(r.skipped.is_empty());
        assert_eq!(r.records.len(), 3);
        // A journal that is one unterminated garbage line is emptied.
        std::fs::write(&path, "garbage").unwrap();
        Writer::open(d.path()).unwrap().finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }

    #[test]
    fn concurrent_appends_never_interleave_and_finish_syncs() {
        let d = tempfile::tempdir().unwrap();
        let w = std::sync::Arc::new(Writer::open(d.path()).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for i in 0..400 {
                        // Long outputs make a torn or interleaved write visible as an unparsable line.
                        let mut r = rec(&format!("t{t}-{i}"), None);
                        r.output_text = "x".repeat(64 * 1024 * (i % 2));
                        w.append(&r).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        std::sync::Arc::try_unwrap(w)
            .ok()
            .unwrap()
            .finish()
            .unwrap();
        let r = read(d.path()).unwrap();
        assert!(r.skipped.is_empty());
        assert_eq!(r.records.len(), 8 * 400);
        let ids: std::collections::HashSet<_> =
            r.records.iter().map(|r| r.item_id.clone()).collect();
        assert_eq!(ids.len(), 8 * 400);
    }

    #[test]
    fn slots_number_every_request_once() {
        let s = Slots::new(["a", "b", "c"], ["p", "q"], 2);
        assert_eq!(s.len(), 12);
        let mut seen = std::collections::HashSet::new();
        for p in 0..2 {
            for rep in 0..2 {
                for i in 0..3 {
                    assert!(seen.insert(s.at(p, rep, i)));
                }
            }
        }
        assert!(seen.iter().all(|&x| x < 12));
        let mut r = rec("b", None);
        r.provider_id = "q".into();
        r.repeat = 1;
        assert_eq!(s.of(&r), Some(s.at(1, 1, 1)));
        r.repeat = 2;
        assert_eq!(s.of(&r), None);
        r.repeat = 0;
        r.item_id = "zz".into();
        assert_eq!(s.of(&r), None);
    }

    #[test]
    fn reader_streams_and_reports_skipped_lines() {
        let d = tempfile::tempdir().unwrap();
        let w = Writer::open(d.path()).unwrap();
        for i in 0..5 {
            w.append(&rec(&format!("i{i}"), None)).unwrap();
        }
        drop(w);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(d.path().join(JOURNAL_FILE))
            .unwrap();
        f.write_all(b"\n   \n{not json}\n").unwrap();
        drop(f);
        let mut rd = Reader::open(d.path()).unwrap();
        assert_eq!(rd.by_ref().count(), 5);
        assert_eq!(rd.finish().unwrap().corrupt, vec![8]);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(Reader::open(empty.path()).unwrap().count(), 0);
    }

    #[test]
    fn settled_semantics() {
        assert!(rec("a", None).settled());
        assert!(!rec("a", Some(ErrorClass::Auth)).settled());
        assert!(!rec("a", Some(ErrorClass::Connection)).settled());
        assert!(!rec("a", Some(ErrorClass::RateLimit)).settled());
        assert!(rec("a", Some(ErrorClass::Timeout)).settled());
        assert!(rec("a", Some(ErrorClass::ServerError)).settled());
        assert!(rec("a", Some(ErrorClass::ContextLength)).settled());
    }
}
