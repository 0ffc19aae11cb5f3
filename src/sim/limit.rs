//! The simulator's rate limits: per simulated model, a bucket of requests and a bucket of tokens per minute, enforced
//! the way a provider enforces them.
//!
//! Why this module exists: a run against a real provider is bounded by the account's rate limits, and how close a
//! harness gets to them (without a storm of 429s) can only be measured against a server that limits like one. Each
//! bucket holds one minute's worth and refills continuously; a request costs one request and its prompt tokens plus
//! its `max_tokens` (what a provider reserves at admission). Every response of a limited model carries the limit
//! headers of the provider kind it imitates (OpenAI/Azure durations or Anthropic RFC 3339 times), and a request the
//! buckets cannot cover is refused with 429, the provider's error body and a `retry-after` in whole seconds.

use crate::suite::{RateLimitHeaders, SimRateLimit};
use axum::http::{HeaderName, HeaderValue};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// One continuously refilling bucket: `limit` per minute, holding at most `limit`.
#[derive(Debug, Clone)]
struct Bucket {
    limit: f64,
    level: f64,
    at: Instant,
}

impl Bucket {
    fn new(limit: u32, now: Instant) -> Self {
        Bucket {
            limit: f64::from(limit),
            level: f64::from(limit),
            at: now,
        }
    }

    fn rate(&self) -> f64 {
        self.limit / 60.0
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level + dt * self.rate()).min(self.limit);
        self.at = self.at.max(now);
    }

    /// How long until `cost` is available (zero when it is now).
    fn wait_for(&self, cost: f64) -> Duration {
        let short = cost.min(self.limit) - self.level;
        if short <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(short / self.rate())
        }
    }

    /// Until the bucket is full again.
    fn reset(&self) -> Duration {
        Duration::from_secs_f64(((self.limit - self.level) / self.rate()).max(0.0))
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Exceeded {
    /// Requests per minute.
    Requests,
    /// Tokens per minute.
    Tokens,
}

/// What the limiter decided for one request: the headers to send, and whether it was refused.
#[derive(Debug, Clone)]
pub(super) struct Verdict {
    /// The limit headers (for every response of the model).
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    /// Refused: which limit, and the whole seconds announced in `retry-after`.
    pub(super) refused: Option<(Exceeded, u64)>,
    /// Used and requested of the refusing bucket, for the error message.
    detail: (u64, u64, u64),
    style: RateLimitHeaders,
}

/// The buckets of one simulated model.
#[derive(Debug)]
pub(super) struct Limiter {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    style: RateLimitHeaders,
}

impl Limiter {
    /// Full buckets at `now`.
    pub(super) fn new(spec: &SimRateLimit, now: Instant) -> Self {
        Limiter {
            requests: spec.rpm.map(|n| Bucket::new(n, now)),
            tokens: spec.tpm.map(|n| Bucket::new(n, now)),
            style: spec.headers,
        }
    }

    /// Admit (and charge) a request costing `tokens` at `now`, or refuse it without charging anything. A cost above
    /// the whole token limit is charged as the whole limit (it could never pass otherwise).
    pub(super) fn admit(&mut self, tokens: u64, now: Instant) -> Verdict {
        for b in self.requests.iter_mut().chain(self.tokens.iter_mut()) {
            b.refill(now);
        }
        let cost = tokens as f64;
        let wait_req = self
            .requests
            .as_ref()
            .map_or(Duration::ZERO, |b| b.wait_for(1.0));
        let wait_tok = self
            .tokens
            .as_ref()
            .map_or(Duration::ZERO, |b| b.wait_for(cost));
        let refused = if wait_req > Duration::ZERO || wait_tok > Duration::ZERO {
            let which = if wait_req >= wait_tok {
                Exceeded::Requests
            } else {
                Exceeded::Tokens
            };
            let wait = wait_req.max(wait_tok).as_secs_f64();
            Some((which, (wait.ceil() as u64).max(1)))
        } else {
            if let Some(b) = &mut self.requests {
                b.level -= 1.0;
            }
            if let Some(b) = &mut self.tokens {
                b.level -= cost.min(b.limit);
            }
            None
        };
        let detail = match (refused, &self.requests, &self.tokens) {
            (Some((Exceeded::Requests, _)), Some(b), _) => {
                (b.limit as u64, (b.limit - b.level).round() as u64, 1)
            }
            (Some((Exceeded::Tokens, _)), _, Some(b)) => {
                (b.limit as u64, (b.limit - b.level).round() as u64, tokens)
            }
            _ => (0, 0, 0),
        };
        Verdict {
            headers: self.headers(),
            refused,
            detail,
            style: self.style,
        }
    }

    fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut out = Vec::new();
        for (kind, b) in [("requests", &self.requests), ("tokens", &self.tokens)] {
            let Some(b) = b else { continue };
            let limit = format!("{}", b.limit as u64);
            let remaining = format!("{}", b.level.max(0.0).floor() as u64);
            let (names, reset) = match self.style {
                RateLimitHeaders::Openai => (
                    [
                        format!("x-ratelimit-limit-{kind}"),
                        format!("x-ratelimit-remaining-{kind}"),
                        format!("x-ratelimit-reset-{kind}"),
                    ],
                    go_duration(b.reset()),
                ),
                RateLimitHeaders::Anthropic => (
                    [
                        format!("anthropic-ratelimit-{kind}-limit"),
                        format!("anthropic-ratelimit-{kind}-remaining"),
                        format!("anthropic-ratelimit-{kind}-reset"),
                    ],
                    rfc3339_after(b.reset()),
                ),
            };
            for (n, v) in names.into_iter().zip([limit, remaining, reset]) {
                if let (Ok(n), Ok(v)) = (HeaderName::try_from(n), HeaderValue::try_from(v)) {
                    out.push((n, v));
                }
            }
        }
        out
    }
}

impl Verdict {
    /// The 429 body of the imitated provider for a refused request (`None` when it was admitted).
    pub(super) fn error_body(&self, model: &str) -> Option<Value> {
        let (which, secs) = self.refused?;
        let (limit, used, requested) = self.detail;
        let (unit, short) = match which {
            Exceeded::Requests => ("requests", "RPM"),
            Exceeded::Tokens => ("tokens", "TPM"),
        };
        let message = format!(
            "Rate limit reached for {model} (simulated) on {unit} per min ({short}): Limit {limit}, Used {used}, \
             Requested {requested}. Please try again in {secs}s."
        );
        Some(match self.style {
            RateLimitHeaders::Openai => json!({"error": {
                "message": message, "type": unit, "param": null, "code": "rate_limit_exceeded"}}),
            RateLimitHeaders::Anthropic => json!({"type": "error", "error": {
                "type": "rate_limit_error", "message": message}}),
        })
    }
}

/// A duration as OpenAI writes its resets (Go's format): `0s`, `6ms`, `18.642s`, `1m0.5s`.
pub(super) fn go_duration(d: Duration) -> String {
    let ms = (d.as_secs_f64() * 1000.0).ceil() as u64;
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = |ms: u64| {
        let s = format!("{}.{:03}", ms / 1000, ms % 1000);
        let s = s.trim_end_matches('0').trim_end_matches('.');
        format!("{s}s")
    };
    if ms < 60_000 {
        return secs(ms);
    }
    let m = ms / 60_000;
    let rest = secs(ms % 60_000);
    if m < 60 {
        return format!("{m}m{rest}");
    }
    format!("{}h{}m{rest}", m / 60, m % 60)
}

/// Now plus `d` as Anthropic writes its resets: an RFC 3339 UTC time in whole seconds, rounded up.
fn rfc3339_after(d: Duration) -> String {
    let t = chrono::Utc::now() + chrono::TimeDelta::from_std(d).unwrap_or_default();
    let t = chrono::DateTime::<chrono::Utc>::from_timestamp(
        t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0),
        0,
    )
    .unwrap_or(t);
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(v: &'a Verdict, name: &str) -> &'a str {
        v.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} in {:?}", v.headers))
    }

    #[test]
    fn go_durations_look_like_openais() {
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_micros(5_100)), "6ms");
        assert_eq!(go_duration(Duration::from_millis(120)), "120ms");
        assert_eq!(go_duration(Duration::from_millis(1_000)), "1s");
        assert_eq!(go_duration(Duration::from_millis(18_642)), "18.642s");
        assert_eq!(go_duration(Duration::from_millis(60_500)), "1m0.5s");
        assert_eq!(go_duration(Duration::from_secs(360)), "6m0s");
        assert_eq!(go_duration(Duration::from_secs(3_723)), "1h2m3s");
    }

    #[test]
    fn a_minute_of_burst_then_the_refill_rate() {
        let t0 = Instant::now();
        let spec = SimRateLimit {
            rpm: Some(60),
            tpm: None,
            headers: RateLimitHeaders::Openai,
        };
        let mut l = Limiter::new(&spec, t0);
        for i in 0..60 {
            let v = l.admit(10, t0);
            assert!(v.refused.is_none(), "request {i}");
            assert_eq!(
                header(&v, "x-ratelimit-remaining-requests"),
                (59 - i).to_string()
            );
        }
        let v = l.admit(10, t0);
        assert_eq!(v.refused, Some((Exceeded::Requests, 1)));
        assert_eq!(header(&v, "x-ratelimit-limit-requests"), "60");
        assert_eq!(header(&v, "x-ratelimit-remaining-requests"), "0");
        assert_eq!(header(&v, "x-ratelimit-reset-requests"), "1m0s");
        let body = v.error_body("m").unwrap();
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        assert_eq!(body["error"]["type"], "requests");
        // One request per second refills; the refused request was not charged.
        let t1 = t0 + Duration::from_millis(1_000);
        assert!(l.admit(10, t1).refused.is_none());
        assert!(l.admit(10, t1).refused.is_some());
    }

    #[test]
    fn tokens_cost_prompt_plus_max_tokens_and_refusals_name_the_limit() {
        let t0 = Instant::now();
        let spec = SimRateLimit {
            rpm: Some(1_000),
            tpm: Some(6_000),
            headers: RateLimitHeaders::Anthropic,
        };
        let mut l = Limiter::new(&spec, t0);
        let v = l.admit(4_000, t0);
        assert!(v.refused.is_none());
        assert_eq!(header(&v, "anthropic-ratelimit-tokens-remaining"), "2000");
        assert_eq!(header(&v, "anthropic-ratelimit-requests-remaining"), "999");
        let reset = header(&v, "anthropic-ratelimit-tokens-reset");
        let reset = chrono::DateTime::parse_from_rfc3339(reset).unwrap();
        let secs = (reset.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
        assert!((38_000..=42_000).contains(&secs), "{secs}");
        // 3,000 more tokens: 1,000 short at 100 tokens/s = 10 s.
        let v = l.admit(3_000, t0);
        assert_eq!(v.refused, Some((Exceeded::Tokens, 10)));
        let body = v.error_body("m").unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Limit 6000, Used 4000, Requested 3000"));
        assert!(l
            .admit(3_000, t0 + Duration::from_secs(10))
            .refused
            .is_none());
        // A request above the whole limit is charged the whole limit, so it passes once the bucket is full.
        let t2 = t0 + Duration::from_secs(100);
        assert!(l.admit(50_000, t2).refused.is_none());
        assert_eq!(l.admit(1, t2).refused, Some((Exceeded::Tokens, 1)));
    }
}
