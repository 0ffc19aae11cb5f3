//! Optional per-provider request and token rate limits (`rpm`, `tpm`), enforced on the client side.
//!
//! Why this module exists: providers publish their limits per minute (requests and tokens) and answer with 429 once
//! they are crossed. Staying under a known limit is cheaper than discovering it through 429s and Retry-After waits,
//! and it keeps a long evaluation from eating the quota a production service shares. Both limits are GCRA buckets
//! (the `governor` crate) that refill continuously and allow up to one minute's worth in a burst. Every attempt —
//! retries included, since the provider counts those too — takes one request and its token cost: the local input
//! estimate plus the request's `max_tokens` (the provider reserves that much output against the limit as well).
//!
//! The buckets are generic over governor's clock so the tests drive them with a fake clock instead of sleeping.

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::Duration;

type Bucket<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Request-per-minute and token-per-minute buckets for one provider.
pub(super) struct RateGate<C: Clock = DefaultClock> {
    rpm: Option<Bucket<C>>,
    tpm: Option<(Bucket<C>, NonZeroU32)>,
}

impl<C: Clock> std::fmt::Debug for RateGate<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateGate")
            .field("rpm", &self.rpm.is_some())
            .field("tpm", &self.tpm.as_ref().map(|(_, b)| b.get()))
            .finish()
    }
}

/// Where an admission stands: the request bucket is passed before the token bucket, so a wait on tokens never
/// takes a second request cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Stage {
    /// Waiting for a request cell.
    #[default]
    Requests,
    /// Request taken; waiting for token cells.
    Tokens,
    /// Admitted.
    Done,
}

impl RateGate<DefaultClock> {
    /// Buckets on the real clock; `None` or 0 means no limit.
    pub(super) fn new(rpm: Option<u32>, tpm: Option<u32>) -> Self {
        Self::with_clock(rpm, tpm, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateGate<C> {
    /// Buckets on a given clock (tests use governor's fake clock).
    pub(super) fn with_clock(rpm: Option<u32>, tpm: Option<u32>, clock: C) -> Self {
        let bucket = |n: u32| {
            NonZeroU32::new(n).map(|n| {
                (
                    RateLimiter::direct_with_clock(Quota::per_minute(n), clock.clone()),
                    n,
                )
            })
        };
        RateGate {
            rpm: rpm.and_then(bucket).map(|(b, _)| b),
            tpm: tpm.and_then(bucket),
        }
    }
}

impl<C: Clock> RateGate<C> {
    /// True when neither limit is set.
    #[cfg(test)]
    pub(super) fn is_unlimited(&self) -> bool {
        self.rpm.is_none() && self.tpm.is_none()
    }

    /// Advance `stage` as far as the buckets allow now. Returns how long to wait before calling again, or `None`
    /// once admitted. A cost above the token limit is clamped to the whole limit (it could never pass otherwise).
    pub(super) fn step(&self, stage: &mut Stage, tokens: u64) -> Option<Duration> {
        if *stage == Stage::Requests {
            if let Some(b) = &self.rpm {
                if let Err(not_until) = b.check() {
                    return Some(not_until.wait_time_from(b.clock().now()));
                }
            }
            *stage = Stage::Tokens;
        }
        if *stage == Stage::Tokens {
            if let Some((b, burst)) = &self.tpm {
                let n = u32::try_from(tokens)
                    .ok()
                    .and_then(NonZeroU32::new)
                    .unwrap_or(NonZeroU32::MIN)
                    .min(*burst);
                // `n` never exceeds the burst, so capacity is always sufficient.
                if let Ok(Err(not_until)) = b.check_n(n) {
                    return Some(not_until.wait_time_from(b.clock().now()));
                }
            }
            *stage = Stage::Done;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn admit_now(g: &RateGate<FakeRelativeClock>, tokens: u64) -> Result<(), Duration> {
        let mut st = Stage::Requests;
        match g.step(&mut st, tokens) {
            None => Ok(()),
            Some(w) => Err(w),
        }
    }

    #[test]
    fn unlimited_admits_everything() {
        let g = RateGate::with_clock(None, Some(0), FakeRelativeClock::default());
        assert!(g.is_unlimited());
        for _ in 0..10_000 {
            assert!(admit_now(&g, 1_000_000).is_ok());
        }
    }

    #[test]
    fn rpm_allows_a_minute_of_burst_then_one_per_interval() {
        let clock = FakeRelativeClock::default();
        let g = RateGate::with_clock(Some(60), None, clock.clone());
        for i in 0..60 {
            assert!(admit_now(&g, 1).is_ok(), "request {i}");
        }
        let w = admit_now(&g, 1).unwrap_err();
        assert_eq!(w, Duration::from_secs(1));
        clock.advance(Duration::from_millis(999));
        assert!(admit_now(&g, 1).is_err());
        clock.advance(Duration::from_millis(1));
        assert!(admit_now(&g, 1).is_ok());
        assert!(admit_now(&g, 1).is_err());
    }

    #[test]
    fn tpm_counts_tokens_and_clamps_oversized_requests() {
        let clock = FakeRelativeClock::default();
        let g = RateGate::with_clock(None, Some(6_000), clock.clone());
        assert!(admit_now(&g, 4_000).is_ok());
        // 2,000 left; 3,000 more must wait for 1,000 tokens = 10 s at 100 tokens/s.
        let w = admit_now(&g, 3_000).unwrap_err();
        assert_eq!(w, Duration::from_secs(10));
        clock.advance(Duration::from_secs(10));
        assert!(admit_now(&g, 3_000).is_ok());
        // A request larger than the whole minute's budget waits for a full bucket, then passes.
        clock.advance(Duration::from_secs(60));
        assert!(admit_now(&g, 50_000).is_ok());
        assert!(admit_now(&g, 1).is_err());
    }

    #[test]
    fn waiting_on_tokens_does_not_take_a_second_request_cell() {
        let clock = FakeRelativeClock::default();
        // 2 requests and 1,000 tokens per minute: one request cell per 30 s, 1,000/60 tokens per second.
        let g = RateGate::with_clock(Some(2), Some(1_000), clock.clone());
        assert!(admit_now(&g, 600).is_ok());
        let mut st = Stage::Requests;
        let w = g.step(&mut st, 600).expect("tokens exhausted");
        assert_eq!(st, Stage::Tokens, "the request cell is taken");
        assert_eq!(w, Duration::from_secs(12), "200 tokens short");
        clock.advance(w);
        // Had the retry taken another request cell it would be refused now (both are used until t = 30 s).
        assert_eq!(g.step(&mut st, 600), None);
        assert_eq!(st, Stage::Done);
        let mut st = Stage::Requests;
        assert_eq!(g.step(&mut st, 1), Some(Duration::from_secs(18)));
        assert_eq!(st, Stage::Requests);
    }
}
