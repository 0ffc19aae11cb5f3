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
//! wait until the bucket covers it, so attempts queue in order instead of polling. A response re-anchors the model
//! within what it proves: the provider's `remaining` right after that attempt (rounded down by the provider, so up
//! to one more), plus the refill since it was sent, minus everything sent after it or not sent yet — and, as the
//! cautious end, minus the attempts that were in flight beside it too (the provider may have counted them after
//! it). The model moves only as far as it must to lie within that range; if it has to drop, every attempt already
//! scheduled is pushed back by the same amount. Only an answer about a later attempt than the last one used can
//! re-anchor, so late answers of old attempts never roll the model back. A small headroom (a quarter of a second's
//! refill, at least one) absorbs the jitter between when an attempt is scheduled and when the provider counts it:
//! being late costs nothing but time, an error in the model's anchoring up to that much costs no 429.
//!
//! Until a response carries the headers the pacer admits everything at once, so a provider that sends none is run
//! exactly as before. Times are seconds since the pacer was made, passed in explicitly, so tests need no clock.

use crate::provider::{LimitWindow, RateLimitInfo};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Seconds of refill kept free for scheduling jitter and anchoring error (at least one unit: a request, a token).
const HEADROOM_S: f64 = 0.25;

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

/// One limit (requests or tokens): the model of its bucket, once learned, and the bookkeeping every attempt
/// updates whether or not it is: sent in all, reserved but not sent, sent but not answered.
#[derive(Debug, Clone, Default, PartialEq)]
struct Track {
    bucket: Option<Bucket>,
    sent: f64,
    queued: f64,
    outstanding: f64,
    /// Seconds by which re-anchoring has pushed back attempts already scheduled, in all.
    delay: f64,
}

/// An attempt's share of one limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Share {
    cost: f64,
    /// `Track::sent` right after this attempt was sent.
    sent_through: f64,
    /// Sent and unanswered attempts when this one was sent (the provider may count them after it).
    outstanding_before: f64,
    /// `Track::delay` this attempt's schedule already includes.
    delay_seen: f64,
}

impl Track {
    /// Reserve `cost` at `now`; the seconds until it fits above the headroom.
    fn reserve(&mut self, cost: f64, now: f64) -> (f64, Share) {
        let mut wait = 0.0;
        let cost = match &mut self.bucket {
            Some(b) => {
                if now > b.at {
                    // Attempts not yet sent still sit in the provider's bucket, which holds at most `limit`.
                    let cap = b.limit - self.queued;
                    b.level = (b.level + b.rate * (now - b.at)).min(cap.max(b.level));
                    b.at = now;
                }
                let cost = cost.min(b.limit);
                let need = cost + (b.rate * HEADROOM_S).max(1.0) - b.level;
                if need > 0.0 {
                    wait = need / b.rate;
                }
                b.level -= cost;
                cost
            }
            None => cost,
        };
        self.queued += cost;
        let share = Share {
            cost,
            sent_through: 0.0,
            outstanding_before: 0.0,
            delay_seen: self.delay,
        };
        (wait, share)
    }

    /// The attempt of `s` is sent now.
    fn send(&mut self, s: &mut Share) {
        self.sent += s.cost;
        s.sent_through = self.sent;
        s.outstanding_before = self.outstanding;
        self.outstanding += s.cost;
        self.queued = (self.queued - s.cost).max(0.0);
    }

    /// Re-anchor on what the provider said was left right after the attempt of `s`, sent at `sent` and answered at
    /// `now`: at most that (a whole number, rounded down: one more) plus the refill since, minus all sent after it
    /// and all not sent yet (an attempt scheduled earlier may go later); at least that minus the attempts that were in flight when it was sent too (the provider may have counted
    /// them after it). The model moves only as far as it must to lie within; a first model takes the cautious end.
    /// A drop pushes back what is scheduled.
    fn anchor(&mut self, w: &LimitWindow, s: &Share, sent: f64, now: f64) {
        let limit = w.limit as f64;
        let rate = refill_rate(w);
        let refill = rate * (now - sent).max(0.0);
        let after = self.sent - s.sent_through + self.queued;
        let hi = (w.remaining as f64 + 1.0 + refill).min(limit) - after;
        let lo = (w.remaining as f64 + refill).min(limit) - after - s.outstanding_before;
        let level = match &self.bucket {
            None => lo,
            Some(b) => {
                let cap = (b.limit - self.queued).max(b.level);
                let current = (b.level + b.rate * (now - b.at).max(0.0)).min(cap);
                if current > hi {
                    self.delay += (current - hi) / rate;
                }
                current.clamp(lo, hi)
            }
        };
        self.bucket = Some(Bucket {
            limit,
            rate,
            level,
            at: now,
        });
    }
}

/// One attempt's reservation: its share of each limit, and when it is to be sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Ticket {
    seq: u64,
    shares: [Share; 2],
    /// Seconds since the origin at which the attempt is (to be) sent.
    send_at: f64,
    sent: bool,
    /// How long to wait before sending.
    pub(super) wait: Duration,
}

/// The pacer's state (pure: every method takes the time).
#[derive(Debug, Clone, Default, PartialEq)]
struct PaceState {
    /// Requests, tokens.
    tracks: [Track; 2],
    seq: u64,
    /// The latest attempt whose answer anchored the model.
    anchored_seq: u64,
    /// Provider-reported prompt tokens per locally estimated one (1 until usage is reported).
    input_ratio: Option<f64>,
}

impl PaceState {
    fn reserve(&mut self, tokens: f64, now: f64) -> Ticket {
        let (wr, r) = self.tracks[0].reserve(1.0, now);
        let (wt, t) = self.tracks[1].reserve(tokens, now);
        let wait = wr.max(wt);
        self.seq += 1;
        Ticket {
            seq: self.seq,
            shares: [r, t],
            send_at: now + wait,
            sent: false,
            wait: Duration::from_secs_f64(wait),
        }
    }

    /// The attempt of `t` is due at `now`: sent (None), or pushed back by this many more seconds because re-anchoring
    /// lowered the model since it was scheduled.
    fn sending(&mut self, t: &mut Ticket, now: f64) -> Option<f64> {
        let extra = self
            .tracks
            .iter()
            .zip(&t.shares)
            .map(|(tr, s)| tr.delay - s.delay_seen)
            .fold(0.0, f64::max);
        if extra > 1e-6 {
            for (tr, s) in self.tracks.iter().zip(t.shares.iter_mut()) {
                s.delay_seen = tr.delay;
            }
            t.send_at = now + extra;
            return Some(extra);
        }
        for (tr, s) in self.tracks.iter_mut().zip(t.shares.iter_mut()) {
            tr.send(s);
        }
        t.send_at = now;
        t.sent = true;
        None
    }

    fn answered(&mut self, t: &Ticket) {
        if t.sent {
            for (tr, s) in self.tracks.iter_mut().zip(&t.shares) {
                tr.outstanding = (tr.outstanding - s.cost).max(0.0);
            }
        }
    }

    fn observe(&mut self, t: &Ticket, info: &RateLimitInfo, now: f64) {
        if t.seq <= self.anchored_seq {
            return;
        }
        self.anchored_seq = t.seq;
        for (i, w) in [info.requests, info.tokens].iter().enumerate() {
            if let Some(w) = w {
                self.tracks[i].anchor(w, &t.shares[i], t.send_at, now);
            }
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

    /// The attempt of `t` is due: `None` once it is marked sent, or how much longer it must wait because the model
    /// was lowered after it was scheduled (call again after that wait).
    pub(super) fn sending(&self, t: &mut Ticket) -> Option<Duration> {
        let now = self.now();
        self.with(|s| s.sending(t, now))
            .map(Duration::from_secs_f64)
    }

    /// What the answer to the attempt of `t` said: its rate-limit headers, and the prompt tokens it was charged
    /// against the local estimate (`(estimated, reported)`, from reported usage).
    pub(super) fn observe(
        &self,
        t: &Ticket,
        info: Option<&RateLimitInfo>,
        usage: Option<(u64, u64)>,
    ) {
        let now = self.now();
        self.with(|s| {
            s.answered(t);
            if !self.on {
                return;
            }
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

    /// Reserve and, when it is due at `now`, send.
    fn send(s: &mut PaceState, tokens: f64, now: f64) -> Ticket {
        let mut t = s.reserve(tokens, now);
        let due = t.send_at;
        assert_eq!(s.sending(&mut t, due), None);
        t
    }

    fn level(s: &PaceState, i: usize) -> f64 {
        s.tracks[i].bucket.as_ref().unwrap().level
    }

    #[test]
    fn without_headers_nothing_waits() {
        let mut s = PaceState::default();
        for i in 0..10_000 {
            let t = send(&mut s, 1e6, 0.0);
            assert_eq!(t.wait, Duration::ZERO, "attempt {i}");
        }
        let p = Pacer::new(false);
        let mut t = p.reserve(100);
        assert_eq!(p.sending(&mut t), None);
        p.observe(&t, Some(&info(Some((1, 0)), None)), None);
        assert_eq!(
            p.reserve(100).wait,
            Duration::ZERO,
            "pace: off never learns"
        );
    }

    #[test]
    fn after_the_first_answer_the_burst_then_the_rate() {
        // 600 requests per minute = 10 per second; headroom 2.5.
        let mut s = PaceState::default();
        let first = send(&mut s, 1.0, 0.0);
        s.answered(&first);
        s.observe(&first, &info(Some((600, 599)), None), 0.0);
        // 599 left, 2.5 kept free: 596 go at once, the next waits 0.05 s, then one per 0.1 s.
        let at: Vec<f64> = (0..600).map(|_| s.reserve(1.0, 0.0).send_at).collect();
        assert!(at[..596].iter().all(|w| *w == 0.0));
        for (k, w) in at[596..].iter().enumerate() {
            let want = 0.05 + 0.1 * k as f64;
            assert!((w - want).abs() < 1e-9, "{k}: {w} vs {want}");
        }
        // Reservations are in order: a later one never goes earlier.
        assert!(at.windows(2).all(|p| p[0] <= p[1]));
    }

    #[test]
    fn an_answer_reanchors_net_of_what_was_reserved_after_it() {
        let mut s = PaceState::default();
        let a = send(&mut s, 1.0, 0.0);
        s.answered(&a);
        let b = send(&mut s, 1.0, 0.0);
        let _c = send(&mut s, 1.0, 0.0);
        // The first model: 100 of 6,000/min left right after `a`, 1 s ago: 100 + 100 refilled - b - c = 198.
        s.observe(&a, &info(Some((6_000, 100)), None), 1.0);
        assert!((level(&s, 0) - 198.0).abs() < 1e-9, "{}", level(&s, 0));
        // `b` was sent while nothing else was in flight, so its answer pins the model between 50 and 51 (remaining is
        // rounded down) + 100 refilled - c: it drops to 150.
        s.answered(&b);
        s.observe(&b, &info(Some((6_000, 50)), None), 1.0);
        assert!((level(&s, 0) - 150.0).abs() < 1e-9, "{}", level(&s, 0));
        // An older attempt's answer arriving late does not roll the model back.
        s.observe(&a, &info(Some((6_000, 5_000)), None), 1.0);
        assert!((level(&s, 0) - 150.0).abs() < 1e-9);
    }

    #[test]
    fn attempts_in_flight_together_anchor_cautiously_then_exactly() {
        // Three attempts race to the provider; it may count them in any order.
        let mut s = PaceState::default();
        let a = send(&mut s, 1.0, 0.0);
        let b = send(&mut s, 1.0, 0.0);
        let c = send(&mut s, 1.0, 0.0);
        // `c` was answered first with 97 left of 100: had the provider counted `a` and `b` after it, 95 would be
        // left; the first model takes that.
        s.answered(&c);
        s.observe(&c, &info(Some((100, 97)), None), 0.0);
        assert!((level(&s, 0) - 95.0).abs() < 1e-9);
        // An attempt sent alone is then answered exactly: the model moves up to what the provider says.
        s.answered(&a);
        s.answered(&b);
        let d = send(&mut s, 1.0, 0.0);
        s.answered(&d);
        s.observe(&d, &info(Some((100, 96)), None), 0.0);
        assert!((level(&s, 0) - 96.0).abs() < 1e-9);
    }

    #[test]
    fn a_lower_model_pushes_back_what_is_already_scheduled() {
        // 600 requests/min: 10 a second, 2.5 held back.
        let mut s = PaceState::default();
        let a = send(&mut s, 1.0, 0.0);
        s.answered(&a);
        s.observe(&a, &info(Some((600, 3)), None), 0.0);
        // The model has 3 left: the next goes at 0.05 s, the one after at 0.15 s.
        let mut b = s.reserve(1.0, 0.0);
        let mut c = s.reserve(1.0, 0.0);
        assert!((b.send_at - 0.05).abs() < 1e-9 && (c.send_at - 0.15).abs() < 1e-9);
        assert_eq!(s.sending(&mut b, 0.05), None);
        s.answered(&b);
        // Someone else used the same quota: nothing was left after `b` (less than 1, as it is rounded down), where
        // the model expected 2.5 (1.5 net of `c`): 1.5 too many, so what is scheduled waits 0.15 s longer.
        s.observe(&b, &info(Some((600, 0)), None), 0.05);
        assert!(level(&s, 0).abs() < 1e-9, "{}", level(&s, 0));
        let extra = s.sending(&mut c, 0.15).unwrap();
        assert!((extra - 0.15).abs() < 1e-9, "{extra}");
        assert_eq!(s.sending(&mut c, 0.3), None);
        // A reservation made after the drop is scheduled from the lowered model and not pushed back again.
        let mut d = s.reserve(1.0, 0.05);
        assert!((d.send_at - 0.4).abs() < 1e-9, "{}", d.send_at);
        assert_eq!(s.sending(&mut d, 0.4), None);
    }

    #[test]
    fn an_accurate_model_is_not_moved_by_rounded_down_answers() {
        let mut s = PaceState::default();
        let a = send(&mut s, 1.0, 0.0);
        s.answered(&a);
        s.observe(&a, &info(Some((600, 100)), None), 0.0);
        let mut b = s.reserve(1.0, 0.05);
        assert_eq!(s.sending(&mut b, 0.05), None);
        s.answered(&b);
        // The model holds 99.5 after `b`; the provider writes 99.
        s.observe(&b, &info(Some((600, 99)), None), 0.05);
        assert!((level(&s, 0) - 99.5).abs() < 1e-9, "{}", level(&s, 0));
        assert_eq!(s.tracks[0].delay, 0.0);
    }

    #[test]
    fn tokens_wait_for_the_costlier_limit_and_refill_is_capped() {
        let mut s = PaceState::default();
        let a = send(&mut s, 500.0, 0.0);
        s.answered(&a);
        // 60,000 tokens/min = 1,000/s, 250 headroom; 100 requests/min.
        s.observe(&a, &info(Some((100, 99)), Some((60_000, 2_600))), 0.0);
        let t = send(&mut s, 1_500.0, 0.0);
        assert_eq!(t.wait, Duration::ZERO);
        s.answered(&t);
        // 1,100 left with 250 held back: 1,500 more must wait 0.65 s.
        let t = s.reserve(1_500.0, 0.0);
        assert!((t.send_at - 0.65).abs() < 1e-9, "{}", t.send_at);
        // Long after (once it is sent), the bucket is full again, no fuller: 60,000 - 250 passes at once, one more
        // token does not.
        let mut t = t;
        assert_eq!(s.sending(&mut t, 0.65), None);
        s.answered(&t);
        let t = send(&mut s, 59_750.0, 1_000.0);
        assert_eq!(t.wait, Duration::ZERO);
        assert!(s.reserve(1.0, 1_000.0).wait > Duration::ZERO);
    }

    #[test]
    fn a_full_bucket_holds_what_is_scheduled_but_not_sent() {
        let mut s = PaceState::default();
        let a = send(&mut s, 1.0, 0.0);
        s.answered(&a);
        s.observe(&a, &info(Some((60, 0)), None), 0.0);
        // Ten scheduled a second apart (and more), none sent yet; a minute later the provider's bucket is full but
        // those ten are still to come out of it.
        let queued: Vec<Ticket> = (0..10).map(|_| s.reserve(1.0, 0.0)).collect();
        assert!((queued[9].send_at - 11.0).abs() < 1e-9);
        let t = s.reserve(1.0, 120.0);
        assert_eq!(t.wait, Duration::ZERO);
        assert!(
            (level(&s, 0) - (60.0 - 11.0)).abs() < 1e-9,
            "{}",
            level(&s, 0)
        );
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
