//! HTTP plumbing shared by the clients: sending with timeouts, classifying failures, reading retry hints.
//!
//! Why this module exists: whether a failure is worth retrying, and when, is decided the same way for every provider
//! (status code, error envelope, `retry-after-ms` / `retry-after` / reset headers, Gemini's `RetryInfo`). Keeping it in
//! one place means a new client inherits the retry rules instead of re-deriving them.

use super::{ProviderError, Timeouts};

use crate::chat::ErrorClass;
use crate::suite::{expand_env, ProviderSpec};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::time::Duration;

/// Send a request and wait for the response headers within the first-byte timeout.
pub(super) async fn send(
    rb: reqwest::RequestBuilder,
    t: &Timeouts,
) -> Result<reqwest::Response, ProviderError> {
    match tokio::time::timeout(t.first_byte, rb.send()).await {
        Err(_) => Err(ProviderError::new(
            ErrorClass::Timeout,
            format!("no response within {:?}", t.first_byte),
        )),
        Ok(Err(e)) => Err(transport_error(&e)),
        Ok(Ok(r)) => Ok(r),
    }
}

/// Read a whole (non-streaming) body, bounded by the idle timeout between chunks.
pub(super) async fn read_body(
    mut resp: reqwest::Response,
    t: &Timeouts,
) -> Result<Vec<u8>, ProviderError> {
    let mut buf = Vec::with_capacity(resp.content_length().unwrap_or(1024).min(1 << 20) as usize);
    loop {
        match tokio::time::timeout(t.idle, resp.chunk()).await {
            Err(_) => {
                return Err(ProviderError::new(
                    ErrorClass::Timeout,
                    format!("body stalled for {:?}", t.idle),
                ))
            }
            Ok(Err(e)) => {
                let mut pe = transport_error(&e);
                if pe.class == ErrorClass::Connection || pe.class == ErrorClass::Other {
                    pe.class = ErrorClass::TruncatedStream;
                }
                return Err(pe);
            }
            Ok(Ok(None)) => return Ok(buf),
            Ok(Ok(Some(c))) => buf.extend_from_slice(&c),
        }
    }
}

/// Classify a reqwest transport error. The message is the whole cause chain — reqwest's own text says only "error
/// sending request" or "error decoding response body"; what actually happened ("Connection refused", "connection
/// closed before message completed", "unexpected EOF") is in its sources.
pub fn transport_error(e: &reqwest::Error) -> ProviderError {
    let class = if e.is_timeout() {
        ErrorClass::Timeout
    } else if e.is_connect() || e.is_request() {
        ErrorClass::Connection
    } else if e.is_body() || e.is_decode() {
        ErrorClass::TruncatedStream
    } else {
        ErrorClass::Other
    };
    // reqwest errors name the URL but never headers, so no credential can leak through them;
    // the query string is dropped anyway in case a key was passed as ?key=.
    let msg = strip_query(&cause_chain(e));
    ProviderError::new(class, msg)
}

/// An error and its sources as one line, `outer: inner: innermost`, leaving out a source whose text the previous
/// level already contains (hyper and std often repeat their inner error in their own message).
pub(super) fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !t.is_empty() && !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out
}

fn strip_query(s: &str) -> String {
    // "error sending request for url (http://h/p?key=...)" -> drop everything between '?' and ')'
    let mut out = String::with_capacity(s.len());
    let mut skipping = false;
    for ch in s.chars() {
        if ch == '?' && !skipping {
            skipping = true;
            continue;
        }
        if skipping && (ch == ')' || ch == ' ') {
            skipping = false;
        }
        if !skipping {
            out.push(ch);
        }
    }
    out
}

/// A header pair as the clients keep it (values holding credentials are marked sensitive, so reqwest never prints
/// them in debug output).
pub(super) type Header = (HeaderName, HeaderValue);

fn bad_header(spec: &ProviderSpec, what: &str) -> crate::error::Error {
    crate::error::Error::Input(crate::error::InputError::new(
        "",
        format!(
            "provider `{}`: {what} is not a valid HTTP header value",
            spec.id
        ),
    ))
}

/// The headers a provider kind sends before the suite's `headers:`: its key header (when there is a key), and
/// Anthropic's pinned `anthropic-version`. One choice for the interactive clients and the batch API.
pub(super) fn builtin_headers(
    spec: &ProviderSpec,
    key: Option<&str>,
) -> crate::error::Result<Vec<(HeaderName, HeaderValue)>> {
    use crate::suite::ProviderKind;
    let mut out = Vec::new();
    if spec.kind == ProviderKind::Anthropic {
        out.push((
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(super::anthropic::API_VERSION),
        ));
    }
    if let Some(k) = key {
        out.push(match spec.kind {
            ProviderKind::Azure => secret_header(spec, HeaderName::from_static("api-key"), k)?,
            ProviderKind::Anthropic => {
                secret_header(spec, HeaderName::from_static("x-api-key"), k)?
            }
            ProviderKind::Gemini => {
                secret_header(spec, HeaderName::from_static("x-goog-api-key"), k)?
            }
            _ => secret_header(spec, reqwest::header::AUTHORIZATION, &format!("Bearer {k}"))?,
        });
    }
    Ok(out)
}

/// A credential header (`Authorization`, `api-key`, `x-api-key`, `x-goog-api-key`), marked sensitive.
pub(super) fn secret_header(
    spec: &ProviderSpec,
    name: HeaderName,
    value: &str,
) -> crate::error::Result<Header> {
    let mut v = HeaderValue::from_str(value).map_err(|_| bad_header(spec, "the API key"))?;
    v.set_sensitive(true);
    Ok((name, v))
}

/// The request headers of a provider entry: the client's built-in ones (auth, version), then the suite's
/// `headers:` with `${VAR}` expanded. A suite header with the same name replaces the built-in one (so
/// `anthropic-version` or `api-key` can be overridden) instead of being sent twice.
pub(super) fn request_headers(
    spec: &ProviderSpec,
    builtin: Vec<Header>,
) -> crate::error::Result<Vec<Header>> {
    let mut extra = Vec::new();
    for (k, v) in &spec.headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| bad_header(spec, &format!("header name `{k}`")))?;
        let mut value = HeaderValue::from_str(&expand_env(v))
            .map_err(|_| bad_header(spec, &format!("header `{k}`")))?;
        value.set_sensitive(true);
        extra.push((name, value));
    }
    let mut out: Vec<Header> = builtin
        .into_iter()
        .filter(|(n, _)| !extra.iter().any(|(e, _)| e == n))
        .collect();
    out.extend(extra);
    Ok(out)
}

/// Where and how a client sends: the HTTP client, the parsed endpoint URL (parsed once: per request it was
/// measurable at zero latency), the request headers, streaming or not, and the timeouts. Every client holds one and
/// makes each attempt through [`Endpoint::exchange`], so sending, timeouts and response handling are the same for all.
pub(super) struct Endpoint {
    http: reqwest::Client,
    url: reqwest::Url,
    headers: Vec<Header>,
    /// Ask for a streamed answer (and read one when the server sends it).
    pub stream: bool,
    timeouts: Timeouts,
}

impl Endpoint {
    /// The endpoint of a provider entry: `url` must be absolute (validation already checked `base_url`).
    pub(super) fn new(
        spec: &ProviderSpec,
        http: reqwest::Client,
        url: &str,
        headers: Vec<Header>,
        timeouts: Timeouts,
    ) -> crate::error::Result<Self> {
        Ok(Endpoint {
            http,
            url: parse_url(spec, url)?,
            headers,
            stream: spec.stream,
            timeouts,
        })
    }

    /// One attempt under the total timeout: POST `body` (with `extra` headers after the endpoint's own), then read
    /// the answer — an event stream through `asm` when streaming and the server sent one, else the whole body
    /// through `parse`; a non-2xx status becomes a classified error.
    pub(super) async fn exchange<A: super::stream::Assemble>(
        &self,
        extra: &[Header],
        body: &impl serde::Serialize,
        asm: A,
        parse: fn(&[u8]) -> Result<super::Completion, ProviderError>,
    ) -> Result<super::Completion, ProviderError> {
        let attempt = async {
            let started = std::time::Instant::now();
            let bytes = serde_json::to_vec(body)
                .map_err(|e| ProviderError::new(ErrorClass::Other, e.to_string()))?;
            let mut rb = self
                .http
                .post(self.url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes);
            for (n, v) in self.headers.iter().chain(extra) {
                rb = rb.header(n.clone(), v.clone());
            }
            let resp = send(rb, &self.timeouts).await?;
            super::stream::respond(resp, self.stream, &self.timeouts, started, asm, parse).await
        };
        match tokio::time::timeout(self.timeouts.total, attempt).await {
            Ok(r) => r,
            Err(_) => Err(ProviderError::new(
                ErrorClass::Timeout,
                format!("attempt exceeded {:?}", self.timeouts.total),
            )),
        }
    }
}

/// A client's endpoint URL, parsed.
fn parse_url(spec: &ProviderSpec, url: &str) -> crate::error::Result<reqwest::Url> {
    reqwest::Url::parse(url).map_err(|e| {
        crate::error::Error::Input(
            crate::error::InputError::new(
                "",
                format!("provider `{}`: endpoint `{url}` is not a valid URL: {e}", spec.id),
            )
            .hint("base_url must be an absolute http:// or https:// URL, e.g. https://api.openai.com/v1"),
        )
    })
}

/// Turn a non-2xx response into a classified error (status, envelope, retry hints).
pub fn http_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ProviderError {
    let text = String::from_utf8_lossy(body);
    let json: Option<Value> = serde_json::from_str(text.trim()).ok();
    let (etype, code, message) = envelope(json.as_ref());
    let lower = format!("{} {} {}", etype, code, message).to_ascii_lowercase();
    let class = match status {
        401 | 403 => ErrorClass::Auth,
        402 => ErrorClass::Quota,
        404 => ErrorClass::NotFound,
        408 => ErrorClass::Timeout,
        413 => ErrorClass::ContextLength,
        429 if lower.contains("insufficient_quota")
            || lower.contains("credit_balance")
            || lower.contains("quota exceeded for") && lower.contains("billing") =>
        {
            ErrorClass::Quota
        }
        429 => ErrorClass::RateLimit,
        529 => ErrorClass::Overloaded,
        503 if lower.contains("overload") || lower.contains("unavailable") => {
            ErrorClass::Overloaded
        }
        400 if is_context_length(&lower) => ErrorClass::ContextLength,
        // Gemini rejects a bad key with 400 INVALID_ARGUMENT ("API key not valid", reason API_KEY_INVALID).
        400 if lower.contains("api key not valid") || text.contains("API_KEY_INVALID") => {
            ErrorClass::Auth
        }
        409 => ErrorClass::ServerError,
        s if s >= 500 => ErrorClass::ServerError,
        400..=499 => ErrorClass::BadRequest,
        _ => ErrorClass::Other,
    };
    let mut class = class;
    // x-should-retry overrides the status-based decision (Anthropic/OpenAI SDK semantics).
    match headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
        Some("false") if class.retryable() => class = ErrorClass::Other,
        Some("true") if !class.retryable() && class != ErrorClass::Quota => {
            class = ErrorClass::ServerError
        }
        _ => {}
    }
    let message = if message.is_empty() {
        let t = text.trim();
        if t.is_empty() {
            format!("HTTP {status}")
        } else {
            t.chars().take(300).collect()
        }
    } else {
        message
    };
    let nonempty = |s: String| (!s.is_empty()).then_some(s);
    ProviderError {
        class,
        message,
        status: Some(status),
        error_type: nonempty(etype),
        code: nonempty(code),
        // Reset headers say when a quota refills; they ride on every response, so they are a wait hint only for a
        // rate limit. Other failures use only an explicit Retry-After / RetryInfo.
        retry_after: if class == ErrorClass::RateLimit {
            retry_after(headers, json.as_ref())
        } else {
            explicit_retry_after(headers, json.as_ref())
        },
        rate_limit: super::limits::rate_limit_info(headers).map(Box::new),
    }
}

fn is_context_length(lower: &str) -> bool {
    lower.contains("context_length_exceeded")
        || lower.contains("context length")
        || lower.contains("context window")
        || lower.contains("prompt is too long")
        || lower.contains("exceeds the maximum number of tokens")
        || lower.contains("maximum context length")
}

/// (type, code, message) from the common error envelopes: OpenAI `{"error":{"message","type","code"}}`,
/// Anthropic `{"type":"error","error":{"type","message"}}`, Gemini `{"error":{"code","message","status"}}`,
/// Ollama `{"error":"..."}`.
pub(super) fn envelope(v: Option<&Value>) -> (String, String, String) {
    let Some(v) = v else {
        return (String::new(), String::new(), String::new());
    };
    let s = |x: Option<&Value>| match x {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    match v.get("error") {
        Some(Value::String(m)) => (String::new(), String::new(), m.clone()),
        Some(e @ Value::Object(_)) => {
            let t = s(e.get("type"));
            let t = if t.is_empty() { s(e.get("status")) } else { t };
            (t, s(e.get("code")), s(e.get("message")))
        }
        _ => (String::new(), String::new(), s(v.get("message"))),
    }
}

/// The wait a provider asked for: `retry-after-ms`, `retry-after` (seconds or HTTP date), Gemini
/// `RetryInfo.retryDelay`, then OpenAI `x-ratelimit-reset-*` durations and Anthropic `anthropic-ratelimit-*-reset`
/// timestamps. None when there is no usable hint.
pub(super) fn retry_after(headers: &HeaderMap, body: Option<&Value>) -> Option<Duration> {
    explicit_retry_after(headers, body).or_else(|| reset_wait(headers))
}

/// The wait a provider asked for explicitly: `retry-after-ms`, `retry-after` (seconds or HTTP date), Gemini
/// `RetryInfo.retryDelay`.
pub(super) fn explicit_retry_after(headers: &HeaderMap, body: Option<&Value>) -> Option<Duration> {
    let h = |name: &str| header_str(headers, name);
    if let Some(ms) = h("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms > 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    if let Some(v) = h("retry-after") {
        if let Ok(secs) = v.parse::<f64>() {
            if secs.is_finite() && secs > 0.0 {
                return Some(Duration::from_secs_f64(secs));
            }
        } else if let Ok(t) = chrono::DateTime::parse_from_rfc2822(v) {
            let d = t.with_timezone(&chrono::Utc) - chrono::Utc::now();
            if let Ok(d) = d.to_std() {
                return Some(d);
            }
        }
    }
    if let Some(details) = body
        .and_then(|b| b.get("error"))
        .and_then(|e| e.get("details"))
        .and_then(Value::as_array)
    {
        for d in details {
            if d.get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("RetryInfo"))
            {
                if let Some(dur) = d
                    .get("retryDelay")
                    .and_then(Value::as_str)
                    .and_then(parse_go_duration)
                {
                    return Some(dur);
                }
            }
        }
    }
    None
}

/// When the exhausted rate-limit window refills: OpenAI `x-ratelimit-reset-*` durations, Anthropic
/// `anthropic-ratelimit-*-reset` timestamps (the latest of them).
fn reset_wait(headers: &HeaderMap) -> Option<Duration> {
    let h = |name: &str| header_str(headers, name);
    let reset = ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
        .iter()
        .filter_map(|n| h(n).and_then(parse_go_duration))
        .max();
    if reset.is_some() {
        return reset;
    }
    [
        "anthropic-ratelimit-requests-reset",
        "anthropic-ratelimit-tokens-reset",
        "anthropic-ratelimit-input-tokens-reset",
        "anthropic-ratelimit-output-tokens-reset",
    ]
    .iter()
    .filter_map(|n| h(n).and_then(super::limits::until))
    .filter(|d| !d.is_zero())
    .max()
}

/// A header's value as trimmed text (None when absent or not visible ASCII).
pub(super) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Parse Go-style durations as OpenAI and Gemini send them: `1s`, `6m0s`, `120ms`, `18.642s`, `1h2m3.5s`, `34.4s`.
pub(super) fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = 0.0f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = String::from(c);
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let v: f64 = num.parse().ok()?;
        num.clear();
        total += v * match unit.as_str() {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        any = true;
    }
    if !num.is_empty() {
        return None;
    }
    (any && total.is_finite() && total >= 0.0).then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn hm(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn suite_headers_replace_builtin_ones_and_expand_env() {
        let spec: ProviderSpec = serde_json::from_value(serde_json::json!({
            "id": "p", "kind": "anthropic", "model": "m",
            "headers": {"Anthropic-Version": "2024-01-01", "X-Org": "org-${EVALH_HTTP_TEST_UNSET_VAR}x"}
        }))
        .unwrap();
        let builtin = vec![
            (
                HeaderName::from_static("anthropic-version"),
                HeaderValue::from_static("2023-06-01"),
            ),
            secret_header(&spec, HeaderName::from_static("x-api-key"), "k1").unwrap(),
        ];
        let h = request_headers(&spec, builtin).unwrap();
        let get = |n: &str| {
            h.iter()
                .filter(|(k, _)| k == n)
                .map(|(_, v)| v.to_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(get("anthropic-version"), ["2024-01-01"]);
        assert_eq!(get("x-api-key"), ["k1"]);
        assert_eq!(get("x-org"), ["org-x"]);
        assert!(h.iter().all(|(_, v)| v.is_sensitive() || v == "2024-01-01"));
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_go_duration("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_go_duration("120ms"), Some(Duration::from_millis(120)));
        assert_eq!(
            parse_go_duration("18.642s"),
            Some(Duration::from_secs_f64(18.642))
        );
        assert_eq!(parse_go_duration("abc"), None);
        assert_eq!(parse_go_duration("12"), None);
    }

    /// One choice of key header per kind, for the clients and the batch API alike; Anthropic's version header is
    /// sent with or without a key (the batch API's copy of this choice had dropped it without one).
    #[test]
    fn builtin_headers_per_kind() {
        let names = |kind: &str, key: Option<&str>| -> Vec<String> {
            let spec: ProviderSpec =
                serde_yaml::from_str(&format!("{{id: p, kind: {kind}, model: m}}")).unwrap();
            builtin_headers(&spec, key)
                .unwrap()
                .into_iter()
                .map(|(n, _)| n.to_string())
                .collect()
        };
        assert_eq!(names("anthropic", None), ["anthropic-version"]);
        assert_eq!(
            names("anthropic", Some("k")),
            ["anthropic-version", "x-api-key"]
        );
        assert_eq!(names("azure", Some("k")), ["api-key"]);
        assert_eq!(names("gemini", Some("k")), ["x-goog-api-key"]);
        assert_eq!(names("openai", Some("k")), ["authorization"]);
        assert!(names("openai", None).is_empty());
    }

    #[test]
    fn retry_after_precedence() {
        assert_eq!(
            retry_after(
                &hm(&[("retry-after-ms", "250"), ("retry-after", "3")]),
                None
            ),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after(&hm(&[("retry-after", "3")]), None),
            Some(Duration::from_secs(3))
        );
        let body: Value = serde_json::json!({"error":{"code":429,"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"34.4s"}]}});
        assert_eq!(
            retry_after(&hm(&[]), Some(&body)),
            Some(Duration::from_secs_f64(34.4))
        );
        assert_eq!(
            retry_after(&hm(&[("x-ratelimit-reset-tokens", "18.642s")]), None),
            Some(Duration::from_secs_f64(18.642))
        );
        assert_eq!(retry_after(&hm(&[("retry-after", "-1")]), None), None);
    }

    #[test]
    fn classification_of_statuses_and_envelopes() {
        let c = |s: u16, body: &str| http_error(s, &hm(&[]), body.as_bytes()).class;
        assert_eq!(
            c(
                429,
                r#"{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}"#
            ),
            ErrorClass::RateLimit
        );
        assert_eq!(
            c(
                429,
                r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#
            ),
            ErrorClass::Quota
        );
        assert_eq!(
            c(
                400,
                r#"{"error":{"message":"too long","code":"context_length_exceeded"}}"#
            ),
            ErrorClass::ContextLength
        );
        assert_eq!(
            c(
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 203284 tokens > 200000 maximum"}}"#
            ),
            ErrorClass::ContextLength
        );
        assert_eq!(
            c(400, r#"{"error":{"message":"bad"}}"#),
            ErrorClass::BadRequest
        );
        assert_eq!(c(401, ""), ErrorClass::Auth);
        assert_eq!(
            c(
                400,
                r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}"#
            ),
            ErrorClass::Auth
        );
        assert_eq!(c(402, ""), ErrorClass::Quota);
        assert_eq!(c(500, ""), ErrorClass::ServerError);
        assert_eq!(
            c(
                529,
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            ),
            ErrorClass::Overloaded
        );
        assert_eq!(
            c(
                503,
                r#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#
            ),
            ErrorClass::Overloaded
        );
        let e = http_error(529, &hm(&[("x-should-retry", "false")]), b"");
        assert!(!e.class.retryable());
    }

    #[test]
    fn error_type_and_code_are_kept_from_every_envelope() {
        let tc = |s: u16, body: &str| {
            let e = http_error(s, &hm(&[]), body.as_bytes());
            (e.error_type, e.code)
        };
        // LiteLLM proxy: OpenAI envelope, code as a string.
        assert_eq!(
            tc(
                429,
                r#"{"error":{"message":"litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit","type":"throttling_error","param":null,"code":"429"}}"#
            ),
            (Some("throttling_error".into()), Some("429".into()))
        );
        // Gemini: status as the type, numeric code.
        assert_eq!(
            tc(
                503,
                r#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#
            ),
            (Some("UNAVAILABLE".into()), Some("503".into()))
        );
        // Anthropic: type only; a body with no envelope has neither.
        assert_eq!(
            tc(
                529,
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            ),
            (Some("overloaded_error".into()), None)
        );
        assert_eq!(tc(502, "<html>Bad gateway</html>"), (None, None));
        assert_eq!(
            tc(400, r#"{"error":{"message":"x","type":null,"code":null}}"#),
            (None, None)
        );
    }

    #[test]
    fn the_cause_chain_is_one_line_without_repeats() {
        #[derive(Debug)]
        struct E(&'static str, Option<Box<E>>);
        impl std::fmt::Display for E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for E {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        let e = E(
            "error sending request for url (http://127.0.0.1:9/v1/chat/completions)",
            Some(Box::new(E(
                "client error (Connect)",
                Some(Box::new(E(
                    "tcp connect error: Connection refused (os error 111)",
                    Some(Box::new(E("Connection refused (os error 111)", None))),
                ))),
            ))),
        );
        assert_eq!(
            cause_chain(&e),
            "error sending request for url (http://127.0.0.1:9/v1/chat/completions): client error (Connect): \
             tcp connect error: Connection refused (os error 111)"
        );
    }

    #[test]
    fn reset_headers_are_a_hint_for_rate_limits_only() {
        let h = hm(&[
            ("x-ratelimit-reset-requests", "120ms"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        assert_eq!(
            http_error(429, &h, b"").retry_after,
            Some(Duration::from_secs(360))
        );
        assert_eq!(http_error(500, &h, b"").retry_after, None);
        let h = hm(&[("retry-after", "2"), ("x-ratelimit-reset-tokens", "6m0s")]);
        assert_eq!(
            http_error(503, &h, b"").retry_after,
            Some(Duration::from_secs(2))
        );
    }
}
