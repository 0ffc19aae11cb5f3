//! The simulator's batch API, OpenAI dialect (Azure serves the same shapes under `/openai/v1`): file upload
//! (multipart), batch creation, retrieval and listing, and download of the output and error files.
//!
//! Each line is answered exactly as the interactive endpoint would answer the same body for the same item and
//! repeat (no injected interactive faults: those belong to the interactive endpoint), so a batch run's results equal
//! an interactive run's. The item and repeat are found from the line's custom id
//! ([`crate::chat::batch_custom_id`] of a sim provider of the line's model). A batch stays `in_progress` for the
//! model's `sim.batch.completion_delay_s`; `failure_rate` of its lines come back as HTTP 500 error lines and
//! `expire_rate` of them are not run (the batch ends `expired`, those lines `batch_expired`); which ones is a pure
//! function of (seed, model, item, repeat, the input file's hash), so a resubmission draws again. Files live in a
//! temporary directory, never in memory: a million-request run uploads gigabytes.

use super::{completion_json, error_response, reply, rng_for, Call, Reply, SimState};
use crate::suite::SimSpec;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Largest upload accepted (OpenAI's batch input limit).
const MAX_FILE_BYTES: usize = 200 * 1024 * 1024;

/// Uploaded files and created batches.
#[derive(Default)]
pub(super) struct Store {
    inner: Mutex<Inner>,
    /// custom id (first 8 bytes) -> (item index, repeat), per model; built on the first batch of that model.
    index: Mutex<HashMap<String, Arc<Index>>>,
}

#[derive(Default)]
struct Inner {
    dir: Option<tempfile::TempDir>,
    files: HashMap<String, std::path::PathBuf>,
    batches: Vec<Batch>,
    next: u64,
}

struct Index {
    /// Each custom id's 64-bit key with the item's position in the run's items and the repeat, sorted by key (16
    /// bytes a request, where a hash map took ~36: 1,000,000 items is 16 MB a model).
    by_cid: Vec<(u64, u32, u32)>,
}

#[derive(Clone)]
pub(super) struct Batch {
    pub(super) id: String,
    input_file_id: String,
    endpoint: String,
    pub(super) metadata: Value,
    created: Instant,
    pub(super) created_unix: u64,
    pub(super) total: u64,
    pub(super) model: String,
    /// Whose batch API it came through.
    pub(super) kind: Kind,
    pub(super) done: Option<Done>,
}

/// The batch APIs the sim serves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    OpenAi,
    Anthropic,
    Gemini,
}

#[derive(Clone)]
pub(super) struct Done {
    status: &'static str,
    pub(super) output_file_id: String,
    error_file_id: String,
    pub(super) completed: u64,
    pub(super) failed: u64,
    pub(super) expired: u64,
}

/// Add the batch routes (OpenAI paths, and Azure's v1 paths) to the router.
pub(super) fn routes(r: axum::Router<Arc<SimState>>) -> axum::Router<Arc<SimState>> {
    let limit = axum::extract::DefaultBodyLimit::max(MAX_FILE_BYTES + 64 * 1024);
    let mut r = r;
    for prefix in ["/v1", "/openai/v1"] {
        r = r
            .route(&format!("{prefix}/files"), post(upload).layer(limit))
            .route(&format!("{prefix}/files/{{id}}/content"), get(download))
            .route(&format!("{prefix}/batches"), post(create).get(list))
            .route(&format!("{prefix}/batches/{{id}}"), get(retrieve));
    }
    r
}

/// A Unix time as RFC 3339 in UTC, whole seconds (the batch objects' timestamps).
pub(super) fn rfc3339(unix: u64) -> String {
    chrono::DateTime::from_timestamp(unix as i64, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

pub(super) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn bad(status: u16, msg: &str) -> Response {
    error_response(status, "invalid_request_error", msg, None)
}

/// The boundary of a multipart/form-data body.
fn boundary(headers: &HeaderMap) -> Result<String, String> {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    ct.split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_string())
        .ok_or_else(|| "expected multipart/form-data with a boundary".to_string())
}

/// The byte offsets of every `delim` in the file at `path`, read 1 MiB at a time.
fn delimiters(path: &std::path::Path, delim: &[u8]) -> std::io::Result<Vec<u64>> {
    use std::io::Read;
    let finder = memchr::memmem::Finder::new(delim);
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    // `keep` bytes of the previous read stay in front, so a delimiter across two reads is found once.
    let (mut at, mut keep, mut found) = (0u64, 0usize, Vec::new());
    loop {
        let n = f.read(&mut buf[keep..])?;
        if n == 0 {
            break;
        }
        let wlen = keep + n;
        for i in finder.find_iter(&buf[..wlen]) {
            let abs = at + i as u64;
            if found.last() != Some(&abs) {
                found.push(abs);
            }
        }
        let tail = (delim.len() - 1).min(wlen);
        at += (wlen - tail) as u64;
        buf.copy_within(wlen - tail..wlen, 0);
        keep = tail;
    }
    Ok(found)
}

/// The `file` part of the multipart body saved at `raw`, copied to `out`, and the `purpose` part: parsed from the
/// file, so an upload of any size is never held in memory. Returns the file's length and the purpose.
fn extract_parts(
    raw: &std::path::Path,
    out: &std::path::Path,
    boundary: &str,
) -> Result<(u64, String), String> {
    use std::io::{Read, Seek, SeekFrom};
    let io = |e: std::io::Error| format!("reading the upload: {e}");
    let delim = format!("--{boundary}");
    let starts = delimiters(raw, delim.as_bytes()).map_err(io)?;
    let mut f = std::fs::File::open(raw).map_err(io)?;
    let (mut file_len, mut purpose) = (None, String::new());
    for w in starts.windows(2) {
        let (mut start, mut end) = (w[0] + delim.len() as u64, w[1]);
        // A part is `\r\n` headers `\r\n\r\n` content `\r\n` before the next delimiter.
        let mut head = vec![0u8; (end - start).min(8192) as usize];
        f.seek(SeekFrom::Start(start)).map_err(io)?;
        f.read_exact(&mut head).map_err(io)?;
        if head.starts_with(b"\r\n") {
            start += 2;
            head.drain(..2);
        }
        let Some(split) = memchr::memmem::find(&head, b"\r\n\r\n") else {
            continue;
        };
        let names = String::from_utf8_lossy(&head[..split]).to_ascii_lowercase();
        start += split as u64 + 4;
        if end >= start + 2 {
            let mut crlf = [0u8; 2];
            f.seek(SeekFrom::Start(end - 2)).map_err(io)?;
            f.read_exact(&mut crlf).map_err(io)?;
            if &crlf == b"\r\n" {
                end -= 2;
            }
        }
        let len = end.saturating_sub(start);
        f.seek(SeekFrom::Start(start)).map_err(io)?;
        if names.contains("name=\"file\"") {
            let mut dst =
                std::fs::File::create(out).map_err(|e| format!("writing the file: {e}"))?;
            std::io::copy(&mut (&mut f).take(len), &mut dst).map_err(io)?;
            file_len = Some(len);
        } else if names.contains("name=\"purpose\"") {
            let mut p = String::new();
            (&mut f)
                .take(len.min(1024))
                .read_to_string(&mut p)
                .map_err(io)?;
            purpose = p.trim().to_string();
        }
    }
    Ok((file_len.ok_or("no `file` part")?, purpose))
}

/// `POST /files`: the body is written to disk as it arrives and its parts are read from there (a batch file can be
/// 200 MB; holding each upload whole was the largest part of a 1,000,000-item run's memory while it submitted).
async fn upload(
    State(st): State<Arc<SimState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let boundary = match boundary(&headers) {
        Ok(b) => b,
        Err(e) => return bad(400, &e),
    };
    let (id, path) = match st.batches.reserve() {
        Ok(x) => x,
        Err(e) => return bad(500, &e),
    };
    let raw = path.with_extension("multipart");
    let written = async {
        let mut f = tokio::fs::File::create(&raw)
            .await
            .map_err(|e| e.to_string())?;
        let mut chunks = body.into_data_stream();
        while let Some(chunk) = chunks.next().await {
            f.write_all(&chunk.map_err(|e| e.to_string())?)
                .await
                .map_err(|e| e.to_string())?;
        }
        f.flush().await.map_err(|e| e.to_string())
    }
    .await;
    if let Err(e) = written {
        let _ = std::fs::remove_file(&raw);
        return bad(400, &format!("reading the upload: {e}"));
    }
    let (raw2, path2) = (raw.clone(), path.clone());
    let parts = tokio::task::spawn_blocking(move || extract_parts(&raw2, &path2, &boundary))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    let _ = std::fs::remove_file(&raw);
    let (len, purpose) = match parts {
        Ok(x) => x,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return bad(400, &e);
        }
    };
    if purpose != "batch" {
        let _ = std::fs::remove_file(&path);
        return bad(400, &format!("purpose must be `batch`, not `{purpose}`"));
    }
    match st.batches.register(&id, path) {
        Ok(()) => axum::Json(json!({
            "id": id, "object": "file", "bytes": len, "created_at": now_unix(),
            "filename": "batch.jsonl", "purpose": "batch"
        }))
        .into_response(),
        Err(e) => bad(500, &e),
    }
}

impl Store {
    /// Create an Anthropic or Gemini batch of these JSONL request lines (`{custom_id, params}`, `{key, request}`).
    pub(super) fn create_other(
        &self,
        kind: Kind,
        jsonl: &[u8],
        model: String,
        total: u64,
        metadata: Value,
    ) -> Result<Batch, String> {
        let file = self.save(jsonl)?;
        let mut g = self.inner.lock().map_err(|_| "poisoned")?;
        g.next += 1;
        let prefix = if kind == Kind::Gemini {
            "gemsim"
        } else {
            "msgbatch_sim"
        };
        let b = Batch {
            id: format!("{prefix}{:06}", g.next),
            input_file_id: file,
            endpoint: String::new(),
            metadata,
            created: Instant::now(),
            created_unix: now_unix(),
            total,
            model,
            kind,
            done: None,
        };
        g.batches.push(b.clone());
        Ok(b)
    }

    /// The ids of the batches of one dialect, newest first.
    pub(super) fn ids(&self, kind: Kind) -> Vec<String> {
        self.inner.lock().map_or(Vec::new(), |g| {
            g.batches
                .iter()
                .rev()
                .filter(|b| b.kind == kind)
                .map(|b| b.id.clone())
                .collect()
        })
    }

    /// A new file id and where its content goes (served once [`Store::register`]ed).
    fn reserve(&self) -> Result<(String, std::path::PathBuf), String> {
        let mut g = self.inner.lock().map_err(|_| "poisoned")?;
        if g.dir.is_none() {
            g.dir = Some(tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?);
        }
        g.next += 1;
        let id = format!("file-sim{:06}", g.next);
        let path = g
            .dir
            .as_ref()
            .map(|d| d.path().join(&id))
            .ok_or("no directory")?;
        Ok((id, path))
    }

    fn register(&self, id: &str, path: std::path::PathBuf) -> Result<(), String> {
        let mut g = self.inner.lock().map_err(|_| "poisoned")?;
        g.files.insert(id.to_string(), path);
        Ok(())
    }

    fn save(&self, bytes: &[u8]) -> Result<String, String> {
        let (id, path) = self.reserve()?;
        std::fs::write(&path, bytes).map_err(|e| format!("writing {id}: {e}"))?;
        self.register(&id, path)?;
        Ok(id)
    }

    pub(super) fn path(&self, id: &str) -> Option<std::path::PathBuf> {
        self.inner.lock().ok()?.files.get(id).cloned()
    }
}

async fn create(State(st): State<Arc<SimState>>, body: axum::body::Bytes) -> Response {
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad(400, &format!("body is not JSON: {e}")),
    };
    let s = |k: &str| req.get(k).and_then(Value::as_str).unwrap_or_default();
    let (file_id, endpoint) = (s("input_file_id").to_string(), s("endpoint").to_string());
    if s("completion_window") != "24h" {
        return bad(
            400,
            &format!(
                "Invalid value: '{}'. Supported values are: '24h'.",
                s("completion_window")
            ),
        );
    }
    let Some(path) = st.batches.path(&file_id) else {
        return bad(
            400,
            &format!("Cannot find file {file_id}, or it is not accessible."),
        );
    };
    // The model of the batch (each input file targets one model) and its size.
    let (mut model, mut total) = (String::new(), 0u64);
    if let Ok(f) = std::fs::File::open(&path) {
        for line in std::io::BufReader::new(f).lines().map_while(|l| l.ok()) {
            if line.trim().is_empty() {
                continue;
            }
            total += 1;
            if model.is_empty() {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    model = v
                        .pointer("/body/model")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                }
            }
        }
    }
    let Ok(mut g) = st.batches.inner.lock() else {
        return bad(500, "poisoned");
    };
    g.next += 1;
    let b = Batch {
        id: format!("batch_sim{:06}", g.next),
        input_file_id: file_id,
        endpoint,
        metadata: req.get("metadata").cloned().unwrap_or(Value::Null),
        created: Instant::now(),
        created_unix: now_unix(),
        total,
        model,
        kind: Kind::OpenAi,
        done: None,
    };
    let v = object(&b, "validating");
    g.batches.push(b);
    axum::Json(v).into_response()
}

/// The batch object in OpenAI's shape.
fn object(b: &Batch, status: &str) -> Value {
    let d = b.done.as_ref();
    let end_key = match status {
        "expired" => "expired_at",
        _ => "completed_at",
    };
    let mut v = json!({
        "id": b.id, "object": "batch", "endpoint": b.endpoint, "errors": null,
        "input_file_id": b.input_file_id, "completion_window": "24h", "status": status,
        "output_file_id": d.map(|d| d.output_file_id.clone()),
        "error_file_id": d.map(|d| d.error_file_id.clone()),
        "created_at": b.created_unix, "in_progress_at": b.created_unix,
        "expires_at": b.created_unix + 86_400,
        "request_counts": {"total": b.total, "completed": d.map_or(0, |d| d.completed),
                           "failed": d.map_or(0, |d| d.failed)},
        "metadata": b.metadata,
    });
    if d.is_some() {
        v[end_key] = json!(now_unix());
    }
    v
}

async fn retrieve(State(st): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    match status_of(&st, &id).await {
        Some(v) => axum::Json(v).into_response(),
        None => error_response(
            404,
            "invalid_request_error",
            &format!("No batch found with id '{id}'."),
            None,
        ),
    }
}

/// The batch's object now: finished (results written once) when its delay has passed.
async fn status_of(st: &Arc<SimState>, id: &str) -> Option<Value> {
    let b = settle(st, id).await?;
    Some(match &b.done {
        Some(d) => object(&b, d.status),
        None => object(&b, "in_progress"),
    })
}

/// The batch `id` as it is now: its results are made (once) when its delay has passed.
pub(super) async fn settle(st: &Arc<SimState>, id: &str) -> Option<Batch> {
    let b = {
        let g = st.batches.inner.lock().ok()?;
        g.batches.iter().find(|b| b.id == id)?.clone()
    };
    if b.done.is_some() {
        return Some(b);
    }
    let delay = st
        .profiles
        .get(&b.model)
        .and_then(|p| p.batch)
        .map_or(0.0, |x| x.completion_delay_s);
    if b.created.elapsed().as_secs_f64() < delay {
        return Some(b);
    }
    let st2 = st.clone();
    let b2 = b.clone();
    let done = tokio::task::spawn_blocking(move || finish(&st2, &b2))
        .await
        .ok()?
        .ok()?;
    let mut g = st.batches.inner.lock().ok()?;
    let slot = g.batches.iter_mut().find(|x| x.id == id)?;
    slot.done.get_or_insert(done);
    Some(slot.clone())
}

/// Run every line of a batch: write its output and error files.
fn finish(st: &SimState, b: &Batch) -> Result<Done, String> {
    let input = st.batches.path(&b.input_file_id).ok_or("input file gone")?;
    // A request's fate also depends on the file it came in: a resubmission (the lines that failed, a smaller file)
    // draws afresh, as a retry does on the interactive endpoint.
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(&input).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let attempt = h.finalize().to_hex()[..16].to_string();
    let f = std::fs::File::open(&input).map_err(|e| e.to_string())?;
    // Written straight to disk: a 50,000-line output file is tens of megabytes.
    let create = |(id, path): (String, std::path::PathBuf)| {
        std::fs::File::create(&path)
            .map(|f| (id, path, std::io::BufWriter::new(f)))
            .map_err(|e| e.to_string())
    };
    let (out_id, out_path, mut out) = create(st.batches.reserve()?)?;
    let (err_id, err_path, mut err) = create(st.batches.reserve()?)?;
    let (mut completed, mut failed, mut expired) = (0u64, 0u64, 0u64);
    for (n, line) in std::io::BufReader::new(f)
        .lines()
        .map_while(|l| l.ok())
        .enumerate()
    {
        if line.trim().is_empty() {
            continue;
        }
        let (v, fate) = match b.kind {
            Kind::Anthropic => super::anthropic::run_line(st, &line, &attempt),
            Kind::Gemini => super::gemini::run_line(st, &line, &b.model, &attempt),
            Kind::OpenAi => run_line(st, &line, n, &attempt),
        };
        // Anthropic and Gemini have one results file for every outcome (Gemini runs no expired line).
        let one = b.kind != Kind::OpenAi;
        let sink = match fate {
            Fate::Ok => {
                completed += 1;
                &mut out
            }
            Fate::Failed => {
                failed += 1;
                if one {
                    &mut out
                } else {
                    &mut err
                }
            }
            Fate::Expired => {
                expired += 1;
                if b.kind == Kind::Gemini {
                    continue;
                }
                if one {
                    &mut out
                } else {
                    &mut err
                }
            }
        };
        serde_json::to_writer(&mut *sink, &v).map_err(|e| e.to_string())?;
        sink.write_all(b"\n").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    err.flush().map_err(|e| e.to_string())?;
    st.batches.register(&out_id, out_path)?;
    st.batches.register(&err_id, err_path)?;
    let (output_file_id, error_file_id) = (out_id, err_id);
    Ok(Done {
        status: if expired > 0 { "expired" } else { "completed" },
        output_file_id,
        error_file_id,
        completed,
        failed,
        expired,
    })
}

pub(super) enum Fate {
    /// Answered.
    Ok,
    /// An HTTP error line (a partial failure).
    Failed,
    /// Not run (the batch expired first).
    Expired,
}

/// Whether the request of this line fails or expires: a pure function of (seed, model, item, repeat, file).
fn fate(
    st: &SimState,
    spec: &crate::suite::SimBatchSpec,
    model: &str,
    id: &str,
    repeat: &str,
    attempt: &str,
) -> Fate {
    let u: f64 = rng_for(st.seed, &["batch", model, id, repeat, attempt]).random();
    if u < spec.expire_rate {
        Fate::Expired
    } else if u < spec.expire_rate + spec.failure_rate {
        Fate::Failed
    } else {
        Fate::Ok
    }
}

/// One output (or error) line for one input line, answered like the interactive endpoint.
fn run_line(st: &SimState, line: &str, n: usize, attempt: &str) -> (Value, Fate) {
    let rid = format!("batch_req_sim{n:07}");
    let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
    let cid = v
        .get("custom_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let http = |status: u16, body: Value, fate: Fate| {
        (
            json!({"id": rid, "custom_id": cid, "response": {"status_code": status, "request_id": format!("req_sim{n}"), "body": body}, "error": null}),
            fate,
        )
    };
    let Some(req) = v.get("body").filter(|b| b.is_object()).cloned() else {
        let e = json!({"error": {"message": "line has no `body`", "type": "invalid_request_error", "param": null, "code": null}});
        return http(400, e, Fate::Failed);
    };
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(profile) = st.profiles.get(&model) else {
        let e = json!({"error": {"message": format!("The model `{model}` does not exist in this simulator"), "type": "invalid_request_error", "param": null, "code": "model_not_found"}});
        return http(404, e, Fate::Failed);
    };
    match answer_line(st, profile, &model, &cid, attempt, req) {
        Err(Fate::Expired) => (
            json!({"id": rid, "custom_id": cid, "response": null, "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}}),
            Fate::Expired,
        ),
        Err(_) => {
            let e = json!({"error": {"message": "The server had an error while processing your request (simulated).", "type": "server_error", "param": null, "code": null}});
            http(500, e, Fate::Failed)
        }
        Ok(r) => http(200, completion_json(&model, r), Fate::Ok),
    }
}

/// What the sim does with one batch line of every dialect, for the sim provider `profile` of `model`: the line's
/// custom id names the item and repeat; the line expires or fails per `sim.batch` (`Err`, the caller writes its
/// dialect's line), or `req` (OpenAI form) is answered like the interactive endpoint.
pub(super) fn answer_line(
    st: &SimState,
    profile: &SimSpec,
    model: &str,
    cid: &str,
    attempt: &str,
    req: Value,
) -> Result<Reply, Fate> {
    let (item_id, repeat) = match st.batches.lookup(st, model, cid) {
        Some((i, r)) => (Some(i), r.to_string()),
        None => (None, "0".to_string()),
    };
    let id = item_id.clone().unwrap_or_else(|| format!("unknown:{cid}"));
    let spec = profile.batch.unwrap_or_default();
    match fate(st, &spec, model, &id, &repeat, attempt) {
        Fate::Ok => {}
        f => return Err(f),
    }
    let call = Call {
        req,
        model: model.to_string(),
        stream: false,
        item_id,
        id,
        repeat,
        attempt: "1".into(),
    };
    Ok(reply(st, &call, profile))
}

fn cid_key(cid: &str) -> Option<u64> {
    u64::from_str_radix(cid.get(1..17)?, 16).ok()
}

impl Store {
    /// The item and repeat of a custom id of a sim provider of `model`.
    pub(super) fn lookup(&self, st: &SimState, model: &str, cid: &str) -> Option<(String, u32)> {
        let index = {
            let mut g = self.index.lock().ok()?;
            g.entry(model.to_string())
                .or_insert_with(|| Arc::new(build_index(st, model)))
                .clone()
        };
        let key = cid_key(cid)?;
        let at = index.by_cid.binary_search_by_key(&key, |e| e.0).ok()?;
        let (_, i, r) = index.by_cid[at];
        let item = st.items.get(i as usize)?.id.as_str();
        // The 64-bit key could collide: the full id must match.
        st.providers_of
            .get(model)?
            .iter()
            .any(|p| crate::chat::batch_custom_id(p, item, r) == cid)
            .then(|| (item.to_string(), r))
    }
}

fn build_index(st: &SimState, model: &str) -> Index {
    let mut by_cid = Vec::new();
    for p in st.providers_of.get(model).into_iter().flatten() {
        for (i, item) in st.items.iter().map(|it| it.id.as_str()).enumerate() {
            for r in 0..st.repeats {
                if let Some(k) = cid_key(&crate::chat::batch_custom_id(p, item, r)) {
                    by_cid.push((k, i as u32, r));
                }
            }
        }
    }
    by_cid.sort_unstable();
    by_cid.shrink_to_fit();
    Index { by_cid }
}

async fn list(State(st): State<Arc<SimState>>, uri: Uri) -> Response {
    let q = uri.query().unwrap_or_default();
    let param = |k: &str| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
            .map(str::to_string)
    };
    let limit = param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let after = param("after");
    let ids = st.batches.ids(Kind::OpenAi);
    let start = after
        .and_then(|a| ids.iter().position(|i| *i == a).map(|p| p + 1))
        .unwrap_or(0);
    let mut data = Vec::new();
    for id in ids.iter().skip(start).take(limit) {
        if let Some(v) = status_of(&st, id).await {
            data.push(v);
        }
    }
    let has_more = start + data.len() < ids.len();
    axum::Json(json!({
        "object": "list", "first_id": data.first().map(|b| b["id"].clone()),
        "last_id": data.last().map(|b| b["id"].clone()), "has_more": has_more, "data": data
    }))
    .into_response()
}

async fn download(State(st): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let Some(path) = st.batches.path(&id) else {
        return error_response(
            404,
            "invalid_request_error",
            &format!("No such File object: {id}"),
            None,
        );
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            StatusCode::OK,
            [("content-type", "application/octet-stream")],
            bytes,
        )
            .into_response(),
        Err(e) => bad(500, &format!("reading {id}: {e}")),
    }
}

#[cfg(test)]
mod upload_tests {
    use super::*;

    /// A multipart body whose file part is `content`, with the purpose part first.
    fn body(boundary: &str, content: &[u8]) -> Vec<u8> {
        let mut b = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"x.jsonl\"\r\n\r\n"
        )
        .into_bytes();
        b.extend_from_slice(content);
        b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        b
    }

    #[test]
    fn parts_are_read_from_disk_whatever_their_size_and_wherever_a_read_ends() {
        let dir = tempfile::tempdir().unwrap();
        let (raw, out) = (dir.path().join("raw"), dir.path().join("out"));
        let boundary = "evalh-0123456789abcdef";
        // Sizes that put the closing delimiter across the first 1 MiB read, and others around it.
        let prefix = body(boundary, b"").len() - format!("\r\n--{boundary}--\r\n").len();
        let across = (1usize << 20) - prefix - 2 - 5;
        for size in [0usize, 5, across, across + 1, (1 << 20) + 3, 3 << 20] {
            let content: Vec<u8> = (0..size).map(|i| b"{\"a\":1}\n"[i % 8]).collect();
            std::fs::write(&raw, body(boundary, &content)).unwrap();
            let (len, purpose) = extract_parts(&raw, &out, boundary).unwrap();
            assert_eq!(
                (len, purpose.as_str()),
                (size as u64, "batch"),
                "size {size}"
            );
            assert!(std::fs::read(&out).unwrap() == content, "size {size}");
        }
        std::fs::write(
            &raw,
            b"--x\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--x--\r\n",
        )
        .unwrap();
        assert_eq!(
            extract_parts(&raw, &out, "x").unwrap_err(),
            "no `file` part"
        );
    }
}
