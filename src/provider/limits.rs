//! The rate limits a provider announces on its responses, read into one typed [`RateLimitInfo`].
//!
//! Why this module exists: providers tell the client on every response how much of its request and token limits is
//! left and when they refill — OpenAI and Azure as `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` with
//! Go-style durations, Anthropic as `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,
//! remaining,reset}` with RFC 3339 times. The runner paces its sending from these numbers; reading the dialects here,
//! with the other HTTP parsing, keeps the scheduler free of header names. Placeholder values (Azure has sent `-1` and
//! `0`) and half-present sets yield no window rather than a wrong one.

use reqwest::header::HeaderMap;
use std::time::Duration;

/// One limit as a response announced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitWindow {
    /// The limit (per minute for the providers that send these headers).
    pub limit: u64,
    /// What was left when the provider answered (at most `limit`).
    pub remaining: u64,
    /// How long until the limit is fully replenished, when the provider said (relative to when it was read).
    pub reset: Option<Duration>,
}

/// The request and token limits of one response; either may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimitInfo {
    /// Requests.
    pub requests: Option<LimitWindow>,
    /// Tokens (Anthropic: the `tokens` set, else the tighter of `input-tokens` and `output-tokens`).
    pub tokens: Option<LimitWindow>,
}

const OPENAI_REQUESTS: [&str; 3] = [
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
];
const OPENAI_TOKENS: [&str; 3] = [
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
];
const ANTHROPIC_REQUESTS: [&str; 3] = [
    "anthropic-ratelimit-requests-limit",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-requests-reset",
];
const ANTHROPIC_TOKENS: [&str; 3] = [
    "anthropic-ratelimit-tokens-limit",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-tokens-reset",
];
const ANTHROPIC_INPUT: [&str; 3] = [
    "anthropic-ratelimit-input-tokens-limit",
    "anthropic-ratelimit-input-tokens-remaining",
    "anthropic-ratelimit-input-tokens-reset",
];
const ANTHROPIC_OUTPUT: [&str; 3] = [
    "anthropic-ratelimit-output-tokens-limit",
    "anthropic-ratelimit-output-tokens-remaining",
    "anthropic-ratelimit-output-tokens-reset",
];

/// The rate-limit headers of a response, or `None` when it carries no usable set.
pub fn rate_limit_info(headers: &HeaderMap) -> Option<RateLimitInfo> {
    // (limit, remaining, reset) header names spelled out: nothing is built per response.
    let h = |name: &str| super::http::header_str(headers, name);
    let set = |[limit, remaining, reset]: [&str; 3], parse_reset: fn(&str) -> Option<Duration>| {
        window(h(limit), h(remaining), h(reset).and_then(parse_reset))
    };
    let openai = |names| set(names, super::http::parse_go_duration);
    let anthropic = |names| set(names, until);
    let tighter = |a: Option<LimitWindow>, b: Option<LimitWindow>| match (a, b) {
        (Some(x), Some(y)) => Some(if y.limit < x.limit { y } else { x }),
        (x, y) => x.or(y),
    };
    let info = RateLimitInfo {
        requests: openai(OPENAI_REQUESTS).or_else(|| anthropic(ANTHROPIC_REQUESTS)),
        tokens: openai(OPENAI_TOKENS)
            .or_else(|| anthropic(ANTHROPIC_TOKENS))
            .or_else(|| tighter(anthropic(ANTHROPIC_INPUT), anthropic(ANTHROPIC_OUTPUT))),
    };
    (info.requests.is_some() || info.tokens.is_some()).then_some(info)
}

/// A window from its header values: a positive integer limit and a non-negative integer remaining are required.
fn window(
    limit: Option<&str>,
    remaining: Option<&str>,
    reset: Option<Duration>,
) -> Option<LimitWindow> {
    let limit: u64 = limit?.parse().ok().filter(|n| *n > 0)?;
    let remaining: u64 = remaining?.parse().ok()?;
    Some(LimitWindow {
        limit,
        remaining: remaining.min(limit),
        reset,
    })
}

/// The time from now until an RFC 3339 timestamp (zero when it is past).
pub(super) fn until(v: &str) -> Option<Duration> {
    let t = chrono::DateTime::parse_from_rfc3339(v).ok()?;
    Some(
        (t.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    /// The header lines of a recorded response (`/work/shared/wire`-style `.http` text).
    fn headers_of(http: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        for line in http.lines().skip(1).take_while(|l| !l.trim().is_empty()) {
            let (k, v) = line.split_once(':').unwrap();
            h.insert(
                HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
                HeaderValue::from_str(v.trim()).unwrap(),
            );
        }
        h
    }

    #[test]
    fn openai_headers_as_sent_with_a_429() {
        // The header block of a real OpenAI 429 (tokens per minute exceeded).
        let h = headers_of(
            "HTTP/1.1 429 Too Many Requests\ncontent-type: application/json; charset=utf-8\nretry-after: 19\n\
             x-ratelimit-limit-requests: 500\nx-ratelimit-limit-tokens: 30000\nx-ratelimit-remaining-requests: 499\n\
             x-ratelimit-remaining-tokens: 15433\nx-ratelimit-reset-requests: 120ms\nx-ratelimit-reset-tokens: 18.642s\n\n{}",
        );
        let info = rate_limit_info(&h).unwrap();
        assert_eq!(
            info.requests,
            Some(LimitWindow {
                limit: 500,
                remaining: 499,
                reset: Some(Duration::from_millis(120))
            })
        );
        assert_eq!(
            info.tokens,
            Some(LimitWindow {
                limit: 30_000,
                remaining: 15_433,
                reset: Some(Duration::from_secs_f64(18.642))
            })
        );
    }

    #[test]
    fn anthropic_headers_prefer_the_combined_tokens_set() {
        let reset = (chrono::Utc::now() + chrono::TimeDelta::seconds(30))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let h = headers_of(&format!(
            "HTTP/1.1 200 OK\nanthropic-ratelimit-input-tokens-limit: 30000\n\
             anthropic-ratelimit-input-tokens-remaining: 28000\nanthropic-ratelimit-input-tokens-reset: {reset}\n\
             anthropic-ratelimit-output-tokens-limit: 8000\nanthropic-ratelimit-output-tokens-remaining: 8000\n\
             anthropic-ratelimit-output-tokens-reset: {reset}\nanthropic-ratelimit-requests-limit: 50\n\
             anthropic-ratelimit-requests-remaining: 49\nanthropic-ratelimit-requests-reset: 2020-02-25T20:02:32Z\n\
             anthropic-ratelimit-tokens-limit: 38000\nanthropic-ratelimit-tokens-remaining: 36000\n\
             anthropic-ratelimit-tokens-reset: {reset}\n\n"
        ));
        let info = rate_limit_info(&h).unwrap();
        let r = info.requests.unwrap();
        assert_eq!(
            (r.limit, r.remaining, r.reset),
            (50, 49, Some(Duration::ZERO))
        );
        let t = info.tokens.unwrap();
        assert_eq!((t.limit, t.remaining), (38_000, 36_000));
        let secs = t.reset.unwrap().as_secs_f64();
        assert!((25.0..=31.0).contains(&secs), "{secs}");
        // Without the combined set, the tighter of input and output tokens.
        let mut h2 = h.clone();
        for k in ["limit", "remaining", "reset"] {
            h2.remove(format!("anthropic-ratelimit-tokens-{k}"));
        }
        let t = rate_limit_info(&h2).unwrap().tokens.unwrap();
        assert_eq!((t.limit, t.remaining), (8_000, 8_000));
    }

    #[test]
    fn placeholders_and_partial_sets_give_no_window() {
        let h = headers_of(
            "HTTP/1.1 200 OK\nx-ratelimit-limit-requests: -1\nx-ratelimit-remaining-requests: 0\n\
             x-ratelimit-limit-tokens: 0\nx-ratelimit-remaining-tokens: 0\n\n",
        );
        assert_eq!(rate_limit_info(&h), None);
        let h = headers_of("HTTP/1.1 200 OK\nx-ratelimit-limit-requests: 60\n\n");
        assert_eq!(rate_limit_info(&h), None);
        let h = headers_of(
            "HTTP/1.1 200 OK\nx-ratelimit-limit-requests: 60\nx-ratelimit-remaining-requests: 99\n\n",
        );
        let r = rate_limit_info(&h).unwrap();
        assert_eq!(r.tokens, None);
        assert_eq!(
            r.requests,
            Some(LimitWindow {
                limit: 60,
                remaining: 60,
                reset: None
            })
        );
        assert_eq!(rate_limit_info(&HeaderMap::new()), None);
    }
}
