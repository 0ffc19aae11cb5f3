//! Pacing from the provider's rate-limit headers: send just under the request and token limits the provider
//! announces, instead of discovering them through 429s.
//!
//! Why this module exists: against a real account a run's wall time is set by its rate limits. A harness that sends
//! faster than the limit is answered with 429s, waits out their Retry-After and sends in bursts again; one that keeps
//! a fixed margin wastes the limit. Providers say on every response what the limit is and how much of it is left
//! (parsed by the clients into [`RateLimitInfo`]), so the runner keeps a model of each provider's buckets and
//! schedules every attempt for the moment the model says it fits.
//!
//! The model, per limit (requests, tokens): a bucket of `limit` that refills continuously at `limit` per minute, as
//! OpenAI's and Anthropic's limits do. Each attempt *reserves* its cost up front (one request; its prompt's local
//! token estimate, scaled by what the provider has been reporting, plus its `max_tokens`) and is told how long to
//! wait until the bucket covers it, so attempts queue in order instead of polling. A response re-anchors the model:
//! the provider's `remaining` right after that attempt, plus the refill since it was sent, minus everything reserved
//! after it (the provider has counted or will count those). Only an answer about a later attempt than the last one
//! used can re-anchor, so late answers of old attempts never roll the model back. A small headroom (1% of the
//! limit) absorbs the jitter between when an attempt is scheduled and when the provider counts it.
//!
//! Until a response carries the headers the pacer admits everything at once, so a provider that sends none is run
//! exactly as before. Times are seconds since the pacer was made, passed in explicitly, so tests need no clock.

use crate::provider::{LimitWindow, RateLimitInfo};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Share of a limit kept free for scheduling jitter.
const HEADROOM: f64 = 0.01;

/// The model of one provider bucket.
#[derive(Debug, Clone, PartialEq)]
struct Bucket {
    limit: f64,
    /// Refill per second.
    rate: f64,
    /// Available now, net of every reservation (negative while reservations wait).
    level: f64,
    /// When `level` was computed (seconds since the pacer's origin).
    at: f64,
}

impl Bucket {
    /// The bucket a response announced, for an attempt sent at `sent` and read at `now`, with `after` reserved since.
    fn anchored(w: &LimitWindow, sent: f64, now: f64, after: f64) -> Self {
        let limit = w.limit as f64;
        let rate = refill_rate(w);
        let level = (w.remaining as f64 + rate * (now - sent).max(0.0)).min(limit) - after;
        Bucket {
            limit,
            rate,
            level,
            at: now,
        }
    }

    fn refill(&mut self, now: f64) {
        if now > self.at {
            self.level = (self.level + self.rate * (now - self.at)).min(self.limit);
            self.at = now;
        }
    }

    /// Seconds from now until `cost` fits above the headroom.
    fn wait_for(&self, cost: f64) -> f64 {
        let need = cost + self.limit * HEADROOM - self.level;
        if need > 0.0 {
            need / self.rate
        } else {
            0.0
        }
    }
}

/// Refill per second of an announced window: its limit per minute, unless the reset says the window is much longer
/// (a per-day limit refills far slower). Resets are rounded (Anthropic's to whole seconds), so only a long reset of
/// a well-used window is trusted, and only to slow down.
fn refill_rate(w: &LimitWindow) -> f64 {
    let per_minute = w.limit as f64 / 60.0;
    let used = w.limit.saturating_sub(w.remaining) as f64;
    match w.reset {
        Some(r) if r.as_secs_f64() >= 10.0 && used >= 1.0 => {
            let implied = used / r.as_secs_f64();
            if implied < 0.5 * per_minute {
                implied
            } else {
                per_minute
            }
        }
        _ => per_minute,
    }
}

/// One attempt's reservation: what was reserved up to and including it, and when it is to be sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Ticket {
    seq: u64,
    requests_through: f64,
    tokens_through: f64,
    /// Seconds since the origin at which the attempt may be sent.
    send_at: f64,
    /// How long to wait before sending.
    pub(super) wait: Duration,
}

/// The pacer's state (pure: every method takes the time).
#[derive(Debug, Clone, Default, PartialEq)]
struct PaceState {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    /// Requests and tokens reserved so far.
    requests_taken: f64,
    tokens_taken: f64,
    seq: u64,
    /// The latest attempt whose answer anchored the model.
    anchored_seq: u64,
    /// Provider-reported prompt tokens per locally estimated one (1 until usage is reported).
    input_ratio: Option<f64>,
}

impl PaceState {
    fn reserve(&mut self, tokens: f64, now: f64) -> Ticket {
        let mut wait = 0.0f64;
        for (b, cost) in [(&mut self.requests, 1.0), (&mut self.tokens, tokens)] {
            if let Some(b) = b {
                b.refill(now);
                wait = wait.max(b.wait_for(cost.min(b.limit)));
            }
        }
        for (b, cost) in [(&mut self.requests, 1.0), (&mut self.tokens, tokens)] {
            if let Some(b) = b {
                b.level -= cost.min(b.limit);
            }
        }
        self.requests_taken += 1.0;
        self.tokens_taken += tokens;
        self.seq += 1;
        Ticket {
            seq: self.seq,
            requests_through: self.requests_taken,
            tokens_through: self.tokens_taken,
            send_at: now + wait,
            wait: Duration::from_secs_f64(wait),
        }
    }

    fn observe(&mut self, t: &Ticket, info: &RateLimitInfo, now: f64) {
        if t.seq <= self.anchored_seq {
            return;
        }
        self.anchored_seq = t.seq;
        if let Some(w) = &info.requests {
            let after = self.requests_taken - t.requests_through;
            self.requests = Some(Bucket::anchored(w, t.send_at, now, after));
        }
        if let Some(w) = &info.tokens {
            let after = self.tokens_taken - t.tokens_through;
            self.tokens = Some(Bucket::anchored(w, t.send_at, now, after));
        }
    }

    fn usage(&mut self, estimated: u64, reported: u64) {
        if estimated == 0 || reported == 0 {
            return;
        }
        let r = reported as f64 / estimated as f64;
        self.input_ratio = Some(match self.input_ratio {
            None => r,
            Some(old) => 0.9 * old + 0.1 * r,
        });
    }
}

/// One provider's pacer, shared by all its requests.
#[derive(Debug)]
pub(super) struct Pacer {
    state: Mutex<PaceState>,
    origin: Instant,
    /// `run.pace: off`: never learns, so never waits.
    on: bool,
}

impl Pacer {
    /// A pacer that learns from the headers (`on`), or one that ignores them.
    pub(super) fn new(on: bool) -> Self {
        Pacer {
            state: Mutex::new(PaceState::default()),
            origin: Instant::now(),
            on,
        }
    }

    fn now(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    fn with<R>(&self, f: impl FnOnce(&mut PaceState) -> R) -> R {
        // Every update is one step, so a poisoned lock still holds a consistent state.
        let mut g = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut g)
    }

    /// The token cost of an attempt as the provider will count it: the prompt's local estimate scaled by the
    /// reported/estimated ratio seen so far, plus the output tokens it reserves.
    pub(super) fn token_cost(&self, est_input: u64, max_tokens: u64) -> u64 {
        let ratio = self.with(|s| s.input_ratio).unwrap_or(1.0);
        ((est_input as f64 * ratio).round() as u64).saturating_add(max_tokens)
    }

    /// Reserve one attempt costing `tokens`; wait `ticket.wait` before sending it.
    pub(super) fn reserve(&self, tokens: u64) -> Ticket {
        let now = self.now();
        self.with(|s| s.reserve(tokens as f64, now))
    }

    /// What the answer to the attempt of `t` said: its rate-limit headers, and the prompt tokens it was charged
    /// against the local estimate (`(estimated, reported)`, from reported usage).
    pub(super) fn observe(
        &self,
        t: &Ticket,
        info: Option<&RateLimitInfo>,
        usage: Option<(u64, u64)>,
    ) {
        if !self.on {
            return;
        }
        let now = self.now();
        self.with(|s| {
            if let Some(info) = info {
                s.observe(t, info, now);
            }
            if let Some((est, reported)) = usage {
                s.usage(est, reported);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(limit: u64, remaining: u64) -> LimitWindow {
        LimitWindow {
            limit,
            remaining,
            reset: None,
        }
    }

    fn info(req: Option<(u64, u64)>, tok: Option<(u64, u64)>) -> RateLimitInfo {
        RateLimitInfo {
            requests: req.map(|(l, r)| win(l, r)),
            tokens: tok.map(|(l, r)| win(l, r)),
        }
    }

    #[test]
    fn without_headers_nothing_waits() {
        let mut s = PaceState::default();
        for i in 0..10_000 {
            let t = s.reserve(1e6, 0.0);
            assert_eq!(t.wait, Duration::ZERO, "attempt {i}");
        }
        let p = Pacer::new(false);
        let t = p.reserve(100);
        p.observe(&t, Some(&info(Some((1, 0)), None)), None);
        assert_eq!(
            p.reserve(100).wait,
            Duration::ZERO,
            "pace: off never learns"
        );
    }

    #[test]
    fn after_the_first_answer_the_burst_then_the_rate() {
        // 600 requests per minute = 10 per second; headroom 6.
        let mut s = PaceState::default();
        let first = s.reserve(1.0, 0.0);
        s.observe(&first, &info(Some((600, 599)), None), 0.0);
        // 599 left, 6 kept free: 593 go at once, the next waits 0.1 s, then one per 0.1 s.
        let waits: Vec<f64> = (0..600).map(|_| s.reserve(1.0, 0.0).send_at).collect();
        assert!(waits[..593].iter().all(|w| *w == 0.0));
        for (k, w) in waits[593..].iter().enumerate() {
            let want = 0.1 * (k + 1) as f64;
            assert!((w - want).abs() < 1e-9, "{k}: {w} vs {want}");
        }
        // Reservations are in order: a later one never goes earlier.
        assert!(waits.windows(2).all(|p| p[0] <= p[1]));
    }

    #[test]
    fn an_answer_reanchors_net_of_what_was_reserved_after_it() {
        let mut s = PaceState::default();
        let a = s.reserve(1.0, 0.0);
        let _b = s.reserve(1.0, 0.0);
        let _c = s.reserve(1.0, 0.0);
        // The provider had 100 of 6,000/min left right after `a`, 1 s ago: 100 + 100 refilled - b - c = 198.
        s.observe(&a, &info(Some((6_000, 100)), None), 1.0);
        let r = s.requests.clone().unwrap();
        assert!((r.level - 198.0).abs() < 1e-9, "{}", r.level);
        assert!((r.rate - 100.0).abs() < 1e-9);
        // An older attempt's answer arriving late does not roll the model back.
        let d = s.reserve(1.0, 1.0);
        s.observe(&d, &info(Some((6_000, 50)), None), 1.0);
        let level = s.requests.clone().unwrap().level;
        assert!((level - 50.0).abs() < 1e-9, "{level}");
        s.observe(&a, &info(Some((6_000, 5_000)), None), 1.0);
        assert_eq!(s.requests.clone().unwrap().level, level);
    }

    #[test]
    fn tokens_wait_for_the_costlier_limit_and_refill_is_capped() {
        let mut s = PaceState::default();
        let a = s.reserve(500.0, 0.0);
        // 60,000 tokens/min = 1,000/s, 600 headroom; 100 requests/min.
        s.observe(&a, &info(Some((100, 99)), Some((60_000, 2_600))), 0.0);
        let t = s.reserve(1_500.0, 0.0);
        assert_eq!(t.wait, Duration::ZERO);
        // 1,100 left with 600 held back: 1,500 more must wait 1 s.
        let t = s.reserve(1_500.0, 0.0);
        assert!((t.send_at - 1.0).abs() < 1e-9, "{}", t.send_at);
        // Long after, the bucket is full again, no fuller: 60,000 - 600 passes at once, one more token does not.
        let t = s.reserve(59_400.0, 1_000.0);
        assert_eq!(t.wait, Duration::ZERO);
        assert!(s.reserve(1.0, 1_000.0).wait > Duration::ZERO);
    }

    #[test]
    fn token_cost_follows_the_reported_prompt_tokens() {
        let p = Pacer::new(true);
        assert_eq!(p.token_cost(100, 256), 356);
        let t = p.reserve(356);
        p.observe(&t, None, Some((100, 130)));
        assert_eq!(p.token_cost(100, 256), 386);
        for _ in 0..200 {
            p.observe(&t, None, Some((100, 130)));
        }
        assert_eq!(p.token_cost(1_000, 0), 1_300);
    }

    #[test]
    fn a_much_longer_window_refills_slower() {
        let day = LimitWindow {
            limit: 14_400,
            remaining: 7_200,
            reset: Some(Duration::from_secs(43_200)),
        };
        assert!((refill_rate(&day) - 7_200.0 / 43_200.0).abs() < 1e-12);
        // A per-minute window with a reset rounded to whole seconds keeps its per-minute rate.
        let minute = LimitWindow {
            limit: 50,
            remaining: 49,
            reset: Some(Duration::from_secs(1)),
        };
        assert!((refill_rate(&minute) - 50.0 / 60.0).abs() < 1e-12);
    }
}
