//! Streaming the files: open (gzip sniffed from the magic bytes), cut into batches of whole lines (or CSV records),
//! and hand the batches to worker threads that extract, type and consume the rows.
//!
//! Memory stays constant whatever the file size: at most a few batches of about 1 MiB are in flight, a line longer
//! than [`MAX_LINE_BYTES`] is skipped (and counted) without being held, and every consumer ([`Sink`]) keeps bounded
//! state. A JSON array document (LiteLLM's `/spend/logs` answer) is read as if each element were a line.

use super::extract::Plan;
use super::fields::Syntax;
use super::record::{build, Record};
use crate::error::{Error, InputError, Result};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Longest line read (64 MiB); a longer one is skipped and counted as malformed.
pub const MAX_LINE_BYTES: usize = 64 << 20;
/// Bytes of whole lines per batch.
const BATCH_BYTES: usize = 1 << 20;
/// CSV records per batch.
const CSV_BATCH_ROWS: usize = 2048;
/// Malformed rows named in the report (the first ones, by file and line); the rest are counted.
pub const MALFORMED_EXAMPLES: usize = 10;

/// Where a row is: the input's position on the command line and its 1-based line (the record's first line in CSV,
/// the element number in a JSON array).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    /// Index of the input file.
    pub file: u32,
    /// 1-based line.
    pub line: u64,
}

/// A consumer of rows. Each worker thread owns one; they are merged at the end.
pub trait Sink: Send + Sized {
    /// One well-formed row; `raw` is the line's bytes (a CSV record's cells, concatenated).
    fn row(&mut self, rec: Record, at: Loc, raw: &[u8]);
    /// Fold another worker's state into this one.
    fn merge(&mut self, other: Self);
}

/// What was read from one input file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FileReport {
    /// As given.
    pub path: PathBuf,
    /// Line syntax used.
    pub syntax: Syntax,
    /// Gzip-compressed.
    pub gzip: bool,
    /// A JSON array document read element by element (line numbers are element numbers).
    pub json_array: bool,
    /// Size on disk.
    pub bytes: u64,
    /// Non-blank lines (CSV: records, header excluded).
    pub lines: u64,
    /// Well-formed rows.
    pub rows: u64,
    /// Rows skipped as malformed.
    pub malformed: u64,
    /// Set when the file could not be read to its end (a truncated gzip stream, a read error): the rows before
    /// it are counted.
    pub stopped_early: Option<String>,
}

/// The result of reading all inputs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScanReport {
    /// Per file, in command-line order.
    pub files: Vec<FileReport>,
    /// Rows read, all files.
    pub rows: u64,
    /// Malformed rows, all files.
    pub malformed: u64,
    /// The first malformed rows: `path:line: reason`.
    pub malformed_examples: Vec<String>,
}

/// One input: a path and, optionally, a syntax that overrides the file name.
#[derive(Debug, Clone)]
pub struct Input {
    /// The file.
    pub path: PathBuf,
    /// Forced syntax.
    pub syntax: Option<Syntax>,
}

enum Chunk {
    Lines {
        first_line: u64,
        buf: Vec<u8>,
    },
    Csv {
        cols: Arc<Vec<(usize, usize)>>,
        width: usize,
        rows: Vec<(u64, csv::ByteRecord)>,
    },
    TooLong {
        line: u64,
    },
}

struct Batch {
    file: u32,
    chunk: Chunk,
}

/// A file opened for reading: decompressed stream, syntax and the on-disk bytes consumed so far.
pub(crate) struct Opened {
    pub reader: Box<dyn BufRead + Send>,
    pub syntax: Syntax,
    pub gzip: bool,
    pub json_array: bool,
    pub bytes: u64,
}

/// Counts bytes read from the file on disk (for the progress bar).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn open_error(path: &Path, e: &std::io::Error) -> Error {
    InputError::new(path, format!("cannot read the log: {e}"))
        .hint(match e.kind() {
            std::io::ErrorKind::NotFound => {
                "check the path (relative paths start at the current directory)"
            }
            _ => "check the file's permissions",
        })
        .into()
}

/// Syntax from the file name (`.gz` ignored): `.csv` is CSV; `.jsonl`, `.ndjson`, `.json`, `.log` are JSON lines.
fn syntax_from_name(path: &Path) -> Option<Syntax> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let ext = name.rsplit_once('.')?.1;
    match ext {
        "csv" => Some(Syntax::Csv),
        "jsonl" | "ndjson" | "json" | "log" => Some(Syntax::Jsonl),
        _ => None,
    }
}

/// Open `input`, sniffing gzip from the magic bytes and the syntax from the name (else the first byte).
pub(crate) fn open(input: &Input, count: Arc<AtomicU64>) -> Result<Opened> {
    let path = &input.path;
    if path.is_dir() {
        return Err(InputError::new(path, "the log is a directory, not a file")
            .hint("name the log files inside it (a shell glob such as logs/*.jsonl.gz works)")
            .into());
    }
    let file = std::fs::File::open(path).map_err(|e| open_error(path, &e))?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut raw = BufReader::with_capacity(256 << 10, Counting { inner: file, count });
    let head = raw.fill_buf().map_err(|e| open_error(path, &e))?;
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn BufRead + Send> = if gzip {
        Box::new(BufReader::with_capacity(
            256 << 10,
            flate2::read::MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    };
    let head = reader.fill_buf().map_err(|e| {
        Error::from(
            InputError::new(path, format!("cannot decompress the log: {e}"))
                .at_line(1)
                .hint("the file starts like gzip but is not readable as gzip; check it with `gzip -t`"),
        )
    })?;
    let first = head
        .iter()
        .copied()
        .find(|b| !(b.is_ascii_whitespace() || matches!(b, 0xEF | 0xBB | 0xBF)));
    let syntax = match input.syntax.or_else(|| syntax_from_name(path)) {
        Some(s) => s,
        None => match first {
            Some(b'{') | Some(b'[') => Syntax::Jsonl,
            Some(_) if head.contains(&b',') => Syntax::Csv,
            _ => {
                return Err(InputError::new(path, "cannot tell whether the log is JSON lines or CSV")
                    .at_line(1)
                    .hint("name the file .jsonl or .csv (optionally .gz), or set `log.syntax` in the mapping file")
                    .into())
            }
        },
    };
    let json_array = syntax == Syntax::Jsonl && first == Some(b'[');
    Ok(Opened {
        reader,
        syntax,
        gzip,
        json_array,
        bytes,
    })
}

/// Per-file counts a worker keeps.
#[derive(Debug, Clone, Default)]
struct Counts {
    lines: u64,
    rows: u64,
    malformed: u64,
}

/// What a worker accumulates besides its sink.
struct WorkerState {
    counts: Vec<Counts>,
    examples: Vec<(Loc, String)>,
}

impl WorkerState {
    fn new(files: usize) -> Self {
        WorkerState {
            counts: vec![Counts::default(); files],
            examples: Vec::new(),
        }
    }

    fn malformed(&mut self, at: Loc, why: String) {
        self.counts[at.file as usize].malformed += 1;
        if self.examples.len() < MALFORMED_EXAMPLES {
            self.examples.push((at, why));
        } else if let Some(max) = self.examples.iter().map(|e| e.0).max() {
            // Keep the first ones by position, whichever worker saw them.
            if at < max {
                if let Some(i) = self.examples.iter().position(|e| e.0 == max) {
                    self.examples[i] = (at, why);
                }
            }
        }
    }

    fn merge(&mut self, o: WorkerState) {
        for (a, b) in self.counts.iter_mut().zip(o.counts) {
            a.lines += b.lines;
            a.rows += b.rows;
            a.malformed += b.malformed;
        }
        self.examples.extend(o.examples);
        self.examples.sort_by_key(|e| e.0);
        self.examples.truncate(MALFORMED_EXAMPLES);
    }
}

/// Extract, type and hand every row of a batch to the sink.
fn process<S: Sink>(
    plan: &Plan,
    b: Batch,
    sink: &mut S,
    st: &mut WorkerState,
    slots: &mut [Option<serde_json::Value>],
) {
    let file = b.file;
    match b.chunk {
        Chunk::TooLong { line } => {
            st.counts[file as usize].lines += 1;
            st.malformed(
                Loc { file, line },
                format!("line longer than {} MiB, skipped", MAX_LINE_BYTES >> 20),
            );
        }
        Chunk::Lines { first_line, buf } => {
            let mut line = first_line;
            let mut start = 0;
            while start < buf.len() {
                let end = memchr::memchr(b'\n', &buf[start..]).map_or(buf.len(), |i| start + i);
                let mut raw = &buf[start..end];
                start = end + 1;
                let at = Loc { file, line };
                line += 1;
                if let Some(r) = raw.strip_suffix(b"\r") {
                    raw = r;
                }
                if at.line == 1 {
                    raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
                }
                if raw.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                st.counts[file as usize].lines += 1;
                let rec = plan.json_line(raw, slots).and_then(|()| build(plan, slots));
                match rec {
                    Ok(rec) => {
                        st.counts[file as usize].rows += 1;
                        sink.row(rec, at, raw);
                    }
                    Err(why) => st.malformed(at, why),
                }
            }
        }
        Chunk::Csv { cols, width, rows } => {
            for (line, rec) in rows {
                let at = Loc { file, line };
                st.counts[file as usize].lines += 1;
                if rec.len() != width {
                    st.malformed(
                        at,
                        format!("row has {} cells, the header has {width}", rec.len()),
                    );
                    continue;
                }
                plan.csv_row(&rec, &cols, slots);
                match build(plan, slots) {
                    Ok(r) => {
                        st.counts[file as usize].rows += 1;
                        sink.row(r, at, rec.as_slice());
                    }
                    Err(why) => st.malformed(at, why),
                }
            }
        }
    }
}

/// Read one opened file into batches; `emit` returns false to stop early. Returns why reading stopped early, if it
/// did (a truncated gzip stream, a read error).
fn read_file(
    file: u32,
    op: &mut Opened,
    plan: &Plan,
    path: &Path,
    emit: &mut dyn FnMut(Batch) -> bool,
) -> Result<Option<String>> {
    match op.syntax {
        Syntax::Csv => read_csv(file, op, plan, path, emit),
        Syntax::Jsonl => Ok(read_lines(file, op, emit)),
    }
}

fn read_lines(file: u32, op: &mut Opened, emit: &mut dyn FnMut(Batch) -> bool) -> Option<String> {
    let mut pending: Vec<u8> = Vec::with_capacity(BATCH_BYTES + (64 << 10));
    let mut first_line = 1u64;
    let mut skipping = false;
    let mut array = op.json_array.then(ArraySplitter::default);
    loop {
        let avail = match op.reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let at = first_line + memchr::memchr_iter(b'\n', &pending).count() as u64;
                if !pending.is_empty() && !skipping {
                    emit(Batch {
                        file,
                        chunk: Chunk::Lines {
                            first_line,
                            buf: pending,
                        },
                    });
                }
                return Some(format!(
                    "stopped at line {at}: {e}; the rows before it are counted"
                ));
            }
        };
        if avail.is_empty() {
            if !pending.is_empty() && !skipping {
                emit(Batch {
                    file,
                    chunk: Chunk::Lines {
                        first_line,
                        buf: pending,
                    },
                });
            }
            return None;
        }
        let n = avail.len();
        if skipping {
            // Inside an over-long line: drop bytes up to its end.
            match memchr::memchr(b'\n', avail) {
                Some(i) => {
                    op.reader.consume(i + 1);
                    skipping = false;
                }
                None => op.reader.consume(n),
            }
            continue;
        }
        match &mut array {
            Some(sp) => sp.feed(avail, &mut pending),
            None => pending.extend_from_slice(avail),
        }
        op.reader.consume(n);
        if pending.len() < BATCH_BYTES {
            continue;
        }
        match memchr::memrchr(b'\n', &pending) {
            Some(i) => {
                let rest = pending[i + 1..].to_vec();
                pending.truncate(i + 1);
                let lines = memchr::memchr_iter(b'\n', &pending).count() as u64;
                let buf = std::mem::replace(&mut pending, rest);
                pending.reserve(BATCH_BYTES);
                if !emit(Batch {
                    file,
                    chunk: Chunk::Lines { first_line, buf },
                }) {
                    return None;
                }
                first_line += lines;
            }
            None if pending.len() > MAX_LINE_BYTES => {
                pending.clear();
                skipping = array.is_none();
                if !emit(Batch {
                    file,
                    chunk: Chunk::TooLong { line: first_line },
                }) {
                    return None;
                }
                match &mut array {
                    // The element's end still comes as a newline (an empty line) that advances the count.
                    Some(sp) => sp.skip_element(),
                    None => first_line += 1,
                }
            }
            None => {}
        }
    }
}

/// Turns a JSON array document into one element per line: top-level commas become newlines, the brackets and any
/// newline inside an element are dropped (JSON needs no newlines between tokens, and allows none inside strings).
#[derive(Default)]
struct ArraySplitter {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Dropping the rest of an over-long element.
    skipping: bool,
}

impl ArraySplitter {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        for &b in bytes {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                if !self.skipping {
                    out.push(if b == b'\n' { b' ' } else { b });
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'[' | b'{' => {
                    self.depth += 1;
                    if self.depth == 1 && b == b'[' {
                        continue;
                    }
                }
                b']' | b'}' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 && b == b']' {
                        continue;
                    }
                }
                b',' if self.depth == 1 => {
                    out.push(b'\n');
                    self.skipping = false;
                    continue;
                }
                b'\n' | b'\r' => continue,
                _ => {}
            }
            if !self.skipping {
                out.push(b);
            }
        }
    }

    fn skip_element(&mut self) {
        self.skipping = true;
    }
}

fn read_csv(
    file: u32,
    op: &mut Opened,
    plan: &Plan,
    path: &Path,
    emit: &mut dyn FnMut(Batch) -> bool,
) -> Result<Option<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(&mut op.reader);
    let mut header = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut header) {
        Ok(true) => {}
        Ok(false) => return Ok(None),
        Err(e) => return Ok(Some(format!("cannot read the header: {e}"))),
    }
    if let Some(first) = header.get(0) {
        let trimmed = first
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(first)
            .to_vec();
        let mut fixed = csv::ByteRecord::new();
        fixed.push_field(&trimmed);
        for f in header.iter().skip(1) {
            fixed.push_field(f);
        }
        header = fixed;
    }
    if header.len() == 1 {
        let only = String::from_utf8_lossy(&header[0]).into_owned();
        if let Some(sep) = [';', '\t', '|'].into_iter().find(|c| only.contains(*c)) {
            return Err(InputError::new(path, format!("the header is a single column `{only}`"))
                .at_line(1)
                .hint(format!("evalh reads comma-separated CSV; this file looks separated by {sep:?}: convert it to commas (or JSONL)"))
                .into());
        }
    }
    let cols = Arc::new(plan.csv_columns(&header));
    let width = header.len();
    let mut rows = Vec::with_capacity(CSV_BATCH_ROWS);
    loop {
        let mut rec = csv::ByteRecord::new();
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {
                let line = rec.position().map_or(0, |p| p.line());
                if rec.len() == 1 && rec[0].iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                rows.push((line, rec));
                if rows.len() >= CSV_BATCH_ROWS {
                    let full = std::mem::replace(&mut rows, Vec::with_capacity(CSV_BATCH_ROWS));
                    if !emit(Batch {
                        file,
                        chunk: Chunk::Csv {
                            cols: cols.clone(),
                            width,
                            rows: full,
                        },
                    }) {
                        return Ok(None);
                    }
                }
            }
            Ok(false) => break,
            Err(e) => {
                let at = e.position().map_or(0, |p| p.line());
                if !rows.is_empty() {
                    emit(Batch {
                        file,
                        chunk: Chunk::Csv { cols, width, rows },
                    });
                }
                return Ok(Some(format!(
                    "stopped at line {at}: {e}; the rows before it are counted"
                )));
            }
        }
    }
    if !rows.is_empty() {
        emit(Batch {
            file,
            chunk: Chunk::Csv { cols, width, rows },
        });
    }
    Ok(None)
}

/// Worker threads to use: the machine's cores, at most 8.
pub fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

fn progress_bar(label: &str, inputs: &[Input], show: bool) -> Option<indicatif::ProgressBar> {
    if !show || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let total: u64 = inputs
        .iter()
        .filter_map(|i| std::fs::metadata(&i.path).ok())
        .map(|m| m.len())
        .sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    Some(bar)
}

/// Read every input with `workers` threads, each feeding its own sink; returns the merged sink and what was read.
pub fn scan<S: Sink>(
    inputs: &[Input],
    plan: &Plan,
    progress: Option<&str>,
    new_sink: impl Fn() -> S + Sync,
) -> Result<(S, ScanReport)> {
    let bar = progress.and_then(|label| progress_bar(label, inputs, true));
    let count = Arc::new(AtomicU64::new(0));
    let n_workers = workers();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(n_workers * 2);
    let rx = Arc::new(Mutex::new(rx));
    let files = inputs.len();
    let mut reports = Vec::with_capacity(files);
    let (sink, state) = std::thread::scope(|s| -> Result<(S, WorkerState)> {
        let handles: Vec<_> = (0..n_workers)
            .map(|_| {
                let rx = rx.clone();
                let new_sink = &new_sink;
                s.spawn(move || {
                    let mut sink = new_sink();
                    let mut st = WorkerState::new(files);
                    let mut slots = plan.slots();
                    loop {
                        let next = rx.lock().map(|r| r.recv());
                        match next {
                            Ok(Ok(b)) => process(plan, b, &mut sink, &mut st, &mut slots),
                            _ => break,
                        }
                    }
                    (sink, st)
                })
            })
            .collect();
        // Only the workers hold the receiver: if they all stopped, sending fails instead of blocking.
        drop(rx);
        let mut failed = None;
        for (i, input) in inputs.iter().enumerate() {
            let mut op = match open(input, count.clone()) {
                Ok(op) => op,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            };
            let mut emit = |b: Batch| {
                if let Some(bar) = &bar {
                    bar.set_position(count.load(Ordering::Relaxed));
                }
                tx.send(b).is_ok()
            };
            match read_file(i as u32, &mut op, plan, &input.path, &mut emit) {
                Ok(stopped) => reports.push(FileReport {
                    path: input.path.clone(),
                    syntax: op.syntax,
                    gzip: op.gzip,
                    json_array: op.json_array,
                    bytes: op.bytes,
                    lines: 0,
                    rows: 0,
                    malformed: 0,
                    stopped_early: stopped,
                }),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        drop(tx);
        let mut merged: Option<(S, WorkerState)> = None;
        for h in handles {
            let (sk, st) = h
                .join()
                .map_err(|_| Error::Internal("a log reader thread panicked".into()))?;
            merged = Some(match merged {
                None => (sk, st),
                Some((mut a, mut ast)) => {
                    a.merge(sk);
                    ast.merge(st);
                    (a, ast)
                }
            });
        }
        if let Some(e) = failed {
            return Err(e);
        }
        merged.ok_or_else(|| Error::Internal("no log reader thread".into()))
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut state = state;
    state.examples.sort_by_key(|e| e.0);
    for (r, c) in reports.iter_mut().zip(&state.counts) {
        r.lines = c.lines;
        r.rows = c.rows;
        r.malformed = c.malformed;
    }
    let malformed_examples = state
        .examples
        .iter()
        .map(|(at, why)| {
            let r = &reports[at.file as usize];
            let unit = if r.json_array { "element " } else { "" };
            format!("{}:{unit}{}: {why}", r.path.display(), at.line)
        })
        .collect();
    Ok((
        sink,
        ScanReport {
            rows: reports.iter().map(|r| r.rows).sum(),
            malformed: reports.iter().map(|r| r.malformed).sum(),
            files: reports,
            malformed_examples,
        },
    ))
}

/// What `probe` read: the rows with their lines, the malformed ones' reasons, the file's syntax.
pub type Probe = (Vec<(Loc, Record)>, Vec<(Loc, String)>, Syntax);

/// Read at most `limit` rows of one input on this thread (for checks before the real pass).
pub(super) fn probe(input: &Input, plan: &Plan, limit: usize) -> Result<Probe> {
    struct Keep(Vec<(Loc, Record)>);
    impl Sink for Keep {
        fn row(&mut self, rec: Record, at: Loc, _: &[u8]) {
            self.0.push((at, rec));
        }
        fn merge(&mut self, o: Self) {
            self.0.extend(o.0);
        }
    }
    let mut op = open(input, Arc::new(AtomicU64::new(0)))?;
    let mut sink = Keep(Vec::new());
    let mut st = WorkerState::new(1);
    let mut slots = plan.slots();
    let mut seen = 0usize;
    let mut emit = |b: Batch| {
        process(plan, b, &mut sink, &mut st, &mut slots);
        seen = st.counts[0].lines as usize;
        seen < limit
    };
    read_file(0, &mut op, plan, &input.path, &mut emit)?;
    let mut rows = sink.0;
    rows.truncate(limit);
    Ok((rows, st.examples, op.syntax))
}

/// The first non-blank line of a JSON-lines input (or the header of a CSV one) as its top-level keys, with the
/// line number, for preset detection and "the row has no such field" hints. `None` for an empty file.
pub(super) fn first_keys(input: &Input) -> Result<Option<(u64, Vec<String>)>> {
    let mut op = open(input, Arc::new(AtomicU64::new(0)))?;
    if op.syntax == Syntax::Csv {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&mut op.reader);
        let mut rec = csv::ByteRecord::new();
        return Ok(match rdr.read_byte_record(&mut rec) {
            Ok(true) => Some((
                1,
                rec.iter()
                    .map(|c| {
                        String::from_utf8_lossy(c)
                            .trim()
                            .trim_start_matches('\u{feff}')
                            .to_string()
                    })
                    .collect(),
            )),
            _ => None,
        });
    }
    let mut found = None;
    let mut n = 0u64;
    let mut emit = |b: Batch| {
        if let Chunk::Lines { first_line, buf } = b.chunk {
            for (i, raw) in buf.split(|c| *c == b'\n').enumerate() {
                let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
                if raw.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                n += 1;
                if let Ok(serde_json::Value::Object(m)) = serde_json::from_slice(raw) {
                    found = Some((first_line + i as u64, m.keys().cloned().collect()));
                    return false;
                }
                if n >= 100 {
                    return false;
                }
            }
        }
        true
    };
    let _ = read_lines(0, &mut op, &mut emit);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_documents_become_one_element_per_line() {
        let mut sp = ArraySplitter::default();
        let mut out = Vec::new();
        let doc = b"[\n  {\"a\": \"x,]\\\"\", \"b\": [1, 2]},\n  {\"a\": \"y\"}\n]\n";
        // Fed in odd pieces: state carries across buffers.
        for piece in doc.chunks(3) {
            sp.feed(piece, &mut out);
        }
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(
            lines,
            ["{\"a\": \"x,]\\\"\", \"b\": [1, 2]}", "{\"a\": \"y\"}"]
        );
    }

    #[test]
    fn syntax_follows_the_name_under_gz() {
        assert_eq!(
            syntax_from_name(Path::new("a/spend.csv.gz")),
            Some(Syntax::Csv)
        );
        assert_eq!(syntax_from_name(Path::new("x.JSONL")), Some(Syntax::Jsonl));
        assert_eq!(
            syntax_from_name(Path::new("x.ndjson.gz")),
            Some(Syntax::Jsonl)
        );
        assert_eq!(syntax_from_name(Path::new("x.gz")), None);
        assert_eq!(syntax_from_name(Path::new("x")), None);
    }
}
