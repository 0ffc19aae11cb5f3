//! The HTTP side of the batch APIs evalh drives: OpenAI's (OpenAI, Azure's v1 surface, the simulator: upload a JSONL
//! file, create a batch of it) and Anthropic's Message Batches (one JSON body of requests); then retrieve and list
//! batches and read result files line by line. Failures are classified like the interactive client's
//! ([`crate::provider::http_error`], [`crate::provider::transport_error`]).

use super::Dialect;
use crate::provider::{batch_headers, http_error, transport_error, ProviderError};
use crate::suite::{ProviderKind, ProviderSpec};
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{json, Value};
use std::time::Duration;

/// A provider's batch endpoints.
pub struct BatchClient {
    http: reqwest::Client,
    base: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    timeout: Duration,
    /// The model (Gemini names it in the create path).
    model: String,
    /// The dialect of its request lines and results.
    pub dialect: Dialect,
}

/// The batch dialect of a provider kind (`kind: sim` speaks OpenAI's).
pub fn dialect_of(kind: ProviderKind) -> Dialect {
    match kind {
        ProviderKind::Openai | ProviderKind::Sim => Dialect::OpenAi,
        ProviderKind::Azure => Dialect::Azure,
        ProviderKind::Anthropic => Dialect::Anthropic,
        ProviderKind::Gemini => Dialect::Gemini,
    }
}

impl BatchClient {
    /// The batch client of provider `spec` (every kind has one); `base_override` is the simulator's URL for sim
    /// providers.
    pub fn new(
        spec: &ProviderSpec,
        http: reqwest::Client,
        base_override: Option<String>,
        timeout: Duration,
    ) -> crate::error::Result<Self> {
        let dialect = dialect_of(spec.kind);
        let default = match dialect {
            Dialect::Anthropic => crate::provider::ANTHROPIC_BASE_URL,
            Dialect::Gemini => crate::provider::GEMINI_BASE_URL,
            _ => crate::provider::openai_default_base_url(spec.kind),
        };
        let base = base_override
            .or_else(|| spec.base_url.clone())
            .unwrap_or_else(|| default.to_string());
        let base = base.trim_end_matches('/').to_string();
        let base = match dialect {
            Dialect::OpenAi => base,
            Dialect::Azure if base.ends_with("/openai/v1") => base,
            Dialect::Azure => format!("{base}/openai/v1"),
            Dialect::Anthropic => format!("{}/v1", base.trim_end_matches("/v1")),
            // As the interactive client: a versioned base is kept, else /v1beta.
            Dialect::Gemini
                if ["/v1", "/v1beta", "/v1alpha"]
                    .iter()
                    .any(|v| base.ends_with(v)) =>
            {
                base
            }
            Dialect::Gemini => format!("{base}/v1beta"),
        };
        Ok(BatchClient {
            http,
            base,
            headers: batch_headers(spec)?,
            timeout,
            model: spec.model.clone(),
            dialect,
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(self.timeout);
        for (n, v) in &self.headers {
            r = r.header(n, v);
        }
        r
    }

    async fn send(&self, r: reqwest::RequestBuilder) -> Result<Vec<u8>, ProviderError> {
        let resp = r.send().await.map_err(|e| transport_error(&e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| transport_error(&e))?;
        if (200..300).contains(&status) {
            Ok(body.to_vec())
        } else {
            Err(http_error(status, &headers, &body))
        }
    }

    async fn json(&self, r: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let body = self.send(r).await?;
        serde_json::from_slice(&body).map_err(|e| {
            ProviderError::new(
                crate::chat::ErrorClass::MalformedResponse,
                format!("batch API answered with a body that is not JSON: {e}"),
            )
        })
    }

    /// Upload a JSONL input file (`purpose=batch`); its file id.
    pub async fn upload(&self, jsonl: Vec<u8>) -> Result<String, ProviderError> {
        let boundary = format!("evalh-{}", &blake3::hash(&jsonl).to_hex()[..24]);
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"evalh-batch.jsonl\"\r\n\
             Content-Type: application/jsonl\r\n\r\n"
        )
        .into_bytes();
        let tail = format!("\r\n--{boundary}--\r\n").into_bytes();
        let len = head.len() + jsonl.len() + tail.len();
        // The file is sent as it is, not copied into one multipart buffer (it may be 200 MB).
        let parts: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(head), Ok(jsonl), Ok(tail)];
        let r = self
            .request(reqwest::Method::POST, "/files")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header("content-length", len)
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                parts,
            )));
        let v = self.json(r).await?;
        v.get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| malformed("a file object without `id`"))
    }

    /// Create a batch of the uploaded file, tagged with `intent` in its metadata (what a crash between this call
    /// and its answer is reconciled by); the batch object.
    pub async fn create(&self, file_id: &str, intent: &str) -> Result<Value, ProviderError> {
        let endpoint = match self.dialect {
            Dialect::Azure => "/chat/completions",
            _ => "/v1/chat/completions",
        };
        let body = json!({"input_file_id": file_id, "endpoint": endpoint, "completion_window": "24h",
                          "metadata": {"evalh_intent": intent}});
        self.json(self.request(reqwest::Method::POST, "/batches").json(&body))
            .await
    }

    /// Submit a batch of JSONL request lines ([`super::request_line`]) tagged with `intent` where the dialect keeps
    /// metadata (OpenAI, Azure: what a crash before the answer is reconciled by); the batch object. The error says
    /// whether the batch may exist all the same (no HTTP answer to the call that creates it).
    pub async fn submit(
        &self,
        jsonl: Vec<u8>,
        intent: &str,
    ) -> Result<Value, (ProviderError, bool)> {
        if self.dialect == Dialect::Anthropic {
            // One JSON body: {"requests": [line, line, ...]}.
            let mut body = Vec::with_capacity(jsonl.len() + 16);
            body.extend_from_slice(b"{\"requests\":[");
            for (i, line) in jsonl
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .enumerate()
            {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(line);
            }
            body.extend_from_slice(b"]}");
            drop(jsonl);
            let r = self
                .request(reqwest::Method::POST, "/messages/batches")
                .header("content-type", "application/json")
                .body(body);
            return self.json(r).await.map_err(|e| {
                let maybe = e.status.is_none();
                (e, maybe)
            });
        }
        if self.dialect == Dialect::Gemini {
            return self.submit_gemini(&jsonl, intent).await;
        }
        let file_id = self.upload(jsonl).await.map_err(|e| (e, false))?;
        self.create(&file_id, intent).await.map_err(|e| {
            let maybe = e.status.is_none();
            (e, maybe)
        })
    }

    /// Gemini: the requests inline (`{request, metadata: {key}}`), the intent as the display name; the
    /// operation, with its `name` also as `id`.
    async fn submit_gemini(
        &self,
        jsonl: &[u8],
        intent: &str,
    ) -> Result<Value, (ProviderError, bool)> {
        let requests: Vec<Value> = jsonl
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
            .map(|l| json!({"request": l["request"], "metadata": {"key": l["key"]}}))
            .collect();
        let body = json!({"batch": {"displayName": intent,
                                    "inputConfig": {"requests": {"requests": requests}}}});
        let model = if self.model.contains('/') {
            self.model.clone()
        } else {
            format!("models/{}", self.model)
        };
        let r = self
            .request(
                reqwest::Method::POST,
                &format!("/{model}:batchGenerateContent"),
            )
            .json(&body);
        let mut op = self.json(r).await.map_err(|e| {
            let maybe = e.status.is_none();
            (e, maybe)
        })?;
        if let Some(name) = op.get("name").cloned() {
            op["id"] = name;
        }
        Ok(op)
    }

    fn batches_path(&self) -> &'static str {
        match self.dialect {
            Dialect::Anthropic => "/messages/batches",
            _ => "/batches",
        }
    }

    /// The batch object `id`.
    pub async fn retrieve(&self, id: &str) -> Result<Value, ProviderError> {
        let path = match self.dialect {
            // The operation's name is `batches/<id>`.
            Dialect::Gemini => format!("/{id}"),
            _ => format!("{}/{id}", self.batches_path()),
        };
        self.json(self.request(reqwest::Method::GET, &path)).await
    }

    /// The most recent batches (up to 100), newest first, as (id, the evalh intent they were created with where
    /// the dialect keeps one: OpenAI's metadata, Gemini's display name; Anthropic keeps none).
    pub async fn list_recent(&self) -> Result<Vec<(String, Option<String>)>, ProviderError> {
        let (path, key) = match self.dialect {
            Dialect::Gemini => ("/batches?pageSize=100".to_string(), "operations"),
            _ => (format!("{}?limit=100", self.batches_path()), "data"),
        };
        let v = self.json(self.request(reqwest::Method::GET, &path)).await?;
        let s = |b: &Value, p: &str| b.pointer(p).and_then(Value::as_str).map(str::to_string);
        Ok(v.get(key)
            .and_then(Value::as_array)
            .map(|bs| {
                bs.iter()
                    .filter_map(|b| match self.dialect {
                        Dialect::Gemini => Some((s(b, "/name")?, s(b, "/metadata/displayName"))),
                        Dialect::Anthropic => Some((s(b, "/id")?, None)),
                        _ => Some((s(b, "/id")?, s(b, "/metadata/evalh_intent"))),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The content of a result file.
    pub async fn content(&self, file_id: &str) -> Result<Vec<u8>, ProviderError> {
        self.send(self.request(reqwest::Method::GET, &format!("/files/{file_id}/content")))
            .await
    }

    /// Each line of a result file (a file id of [`result_files`], or Anthropic's absolute `results_url`), as it
    /// arrives: a results file of 50,000 answers is never held whole.
    pub async fn content_lines(
        &self,
        source: &str,
        mut each: impl FnMut(&[u8]),
    ) -> Result<(), ProviderError> {
        use futures_util::StreamExt;
        let req = if source.starts_with("http://") || source.starts_with("https://") {
            // The key goes only to the provider's own host.
            let origin = |u: &str| u.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
            let mut r = self.http.get(source).timeout(self.timeout);
            if origin(source) == origin(&self.base) {
                for (n, v) in &self.headers {
                    r = r.header(n, v);
                }
            }
            r
        } else {
            self.request(reqwest::Method::GET, &format!("/files/{source}/content"))
        };
        let resp = req.send().await.map_err(|e| transport_error(&e))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let headers = resp.headers().clone();
            let body = resp.bytes().await.map_err(|e| transport_error(&e))?;
            return Err(http_error(status, &headers, &body));
        }
        let mut stream = resp.bytes_stream();
        let mut carry: Vec<u8> = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| transport_error(&e))?;
            carry.extend_from_slice(&chunk);
            let mut start = 0;
            while let Some(n) = memchr::memchr(b'\n', &carry[start..]) {
                each(&carry[start..start + n]);
                start += n + 1;
            }
            carry.drain(..start);
        }
        if !carry.is_empty() {
            each(&carry);
        }
        Ok(())
    }
}

fn malformed(what: &str) -> ProviderError {
    ProviderError::new(
        crate::chat::ErrorClass::MalformedResponse,
        format!("batch API: {what}"),
    )
}

/// The result files of a finished batch object: OpenAI's output and error file ids (either may be absent; Azure
/// sends `""` for none), Anthropic's `results_url`.
pub fn result_files(batch: &Value) -> Vec<String> {
    ["output_file_id", "error_file_id", "results_url"]
        .iter()
        .filter_map(|k| batch.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
