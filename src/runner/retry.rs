//! When to retry a failed attempt, and how long to wait first.
//!
//! Why this module exists: a retry sent too early is wasted (and, on some providers, extends the penalty), a retry of
//! a final error (bad key, prompt too long, no credit) only costs time, and synchronized retries from many workers
//! re-create the burst that caused the 429. The rules, after the OpenAI/Anthropic SDKs (see providers.md §7):
//!
//! - only [`ErrorClass::retryable`] failures are retried, at most `run.max_retries` times;
//! - when the provider says how long to wait (`retry-after-ms`, `retry-after`, Gemini `RetryInfo`, reset headers),
//!   the wait is that long plus 0–10% jitter — never shorter. A hint longer than `run.max_backoff_s` is not
//!   shortened to the cap (that would be a retry the provider said would fail): the attempt is given up instead,
//!   with the hint in the message, and a resumed run picks it up later;
//! - without a hint: 0.5 s · 2^retry, at most 8 s, with 0–25% taken off, and never more than the cap.

use crate::provider::ProviderError;
use rand::Rng;
use std::time::Duration;

/// Exponential backoff without a hint is capped at this (SDK `MAX_RETRY_DELAY`).
pub(super) const MAX_EXPONENTIAL: Duration = Duration::from_secs(8);

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Wait this long, then send the next attempt.
    Retry(Duration),
    /// Stop; the optional note says why a retryable error was not retried.
    GiveUp(Option<String>),
}

/// The wait before retry number `retry` (0-based), given the provider's hint and the cap; `u` in [0, 1) is the
/// jitter draw. `None` when the hint exceeds the cap (do not retry).
pub(super) fn backoff_with(
    retry: u32,
    hint: Option<Duration>,
    cap: Duration,
    u: f64,
) -> Option<Duration> {
    let u = if u.is_finite() {
        u.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if let Some(h) = hint {
        if h > cap {
            return None;
        }
        // Up to 10% later than asked (spreads the herd), never earlier, and within the cap when the hint allows.
        let jittered = h.mul_f64(1.0 + 0.1 * u);
        return Some(jittered.min(cap).max(h));
    }
    let base = MAX_EXPONENTIAL
        .as_secs_f64()
        .min(0.5 * 2f64.powi(retry.min(16) as i32));
    Some(Duration::from_secs_f64(base * (1.0 - 0.25 * u)).min(cap))
}

/// [`backoff_with`] with a random jitter draw.
pub fn backoff(retry: u32, hint: Option<Duration>, cap: Duration) -> Option<Duration> {
    backoff_with(retry, hint, cap, rand::rng().random::<f64>())
}

/// Decide after attempt number `attempt` (1-based) failed with `e`.
pub fn decide(e: &ProviderError, attempt: u32, max_retries: u32, cap: Duration) -> Decision {
    if !e.class.retryable() || attempt > max_retries {
        return Decision::GiveUp(None);
    }
    match backoff(attempt - 1, e.retry_after, cap) {
        Some(wait) => Decision::Retry(wait),
        None => Decision::GiveUp(Some(format!(
            "not retried: the provider asked to wait {:.1} s, more than run.max_backoff_s = {:.1} s",
            e.retry_after.unwrap_or_default().as_secs_f64(),
            cap.as_secs_f64()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ErrorClass;

    const CAP: Duration = Duration::from_secs(60);

    #[test]
    fn a_hint_is_honoured_never_shortened_and_jittered_up_to_ten_percent() {
        let h = Duration::from_secs(1);
        assert_eq!(backoff_with(0, Some(h), CAP, 0.0), Some(h));
        assert_eq!(
            backoff_with(0, Some(h), CAP, 0.999_999),
            Some(h.mul_f64(1.0 + 0.1 * 0.999_999))
        );
        for _ in 0..1000 {
            let w = backoff(3, Some(h), CAP).unwrap();
            assert!(w >= h && w <= Duration::from_millis(1100), "{w:?}");
        }
        // Near the cap the jitter stops at the cap, but never below the hint.
        assert_eq!(
            backoff_with(0, Some(Duration::from_secs(59)), CAP, 0.9),
            Some(CAP)
        );
        assert_eq!(backoff_with(0, Some(CAP), CAP, 0.9), Some(CAP));
    }

    #[test]
    fn a_hint_above_the_cap_is_not_retried() {
        assert_eq!(
            backoff_with(0, Some(Duration::from_secs(61)), CAP, 0.0),
            None
        );
        let e = ProviderError {
            retry_after: Some(Duration::from_secs(300)),
            ..ProviderError::new(ErrorClass::RateLimit, "slow down")
        };
        match decide(&e, 1, 4, CAP) {
            Decision::GiveUp(Some(note)) => {
                assert!(
                    note.contains("300.0 s") && note.contains("60.0 s"),
                    "{note}"
                )
            }
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn exponential_schedule_without_a_hint() {
        let w = |r, u| backoff_with(r, None, CAP, u).unwrap();
        assert_eq!(w(0, 0.0), Duration::from_millis(500));
        assert_eq!(w(0, 1.0), Duration::from_millis(375));
        assert_eq!(w(1, 0.0), Duration::from_secs(1));
        assert_eq!(w(2, 0.0), Duration::from_secs(2));
        assert_eq!(w(4, 0.0), Duration::from_secs(8));
        assert_eq!(w(10, 0.0), Duration::from_secs(8));
        assert_eq!(w(1000, 0.5), Duration::from_secs(7));
        assert_eq!(
            backoff_with(3, None, Duration::from_secs(2), 0.0),
            Some(Duration::from_secs(2))
        );
        for _ in 0..1000 {
            let b = backoff(0, None, CAP).unwrap();
            assert!(b >= Duration::from_millis(375) && b <= Duration::from_millis(500));
        }
    }

    #[test]
    fn only_retryable_errors_within_max_retries_are_retried() {
        let e = |c| ProviderError::new(c, "x");
        for c in [
            ErrorClass::RateLimit,
            ErrorClass::ServerError,
            ErrorClass::Overloaded,
            ErrorClass::Timeout,
            ErrorClass::Connection,
            ErrorClass::TruncatedStream,
            ErrorClass::StreamError,
            ErrorClass::MalformedResponse,
        ] {
            assert!(
                matches!(decide(&e(c), 1, 2, CAP), Decision::Retry(_)),
                "{c:?}"
            );
            assert!(
                matches!(decide(&e(c), 2, 2, CAP), Decision::Retry(_)),
                "{c:?}"
            );
            assert_eq!(decide(&e(c), 3, 2, CAP), Decision::GiveUp(None), "{c:?}");
        }
        for c in [
            ErrorClass::Auth,
            ErrorClass::BadRequest,
            ErrorClass::ContextLength,
            ErrorClass::Quota,
            ErrorClass::NotFound,
            ErrorClass::Other,
        ] {
            assert_eq!(decide(&e(c), 1, 4, CAP), Decision::GiveUp(None), "{c:?}");
        }
        assert_eq!(
            decide(&e(ErrorClass::Timeout), 1, 0, CAP),
            Decision::GiveUp(None)
        );
    }
}
