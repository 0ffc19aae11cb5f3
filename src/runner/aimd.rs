//! Adaptive concurrency per provider: additive increase, multiplicative decrease (AIMD).
//!
//! Why this module exists: a provider's rate limits are not known in advance and change under load (shared org
//! quotas, other jobs, Anthropic's 529 "overloaded"). A fixed concurrency either leaves throughput unused or keeps
//! hammering a provider that is already saying "slow down", which turns into long Retry-After waits and, on some
//! providers, into longer bans. The runner therefore treats the configured concurrency as a ceiling and lets the
//! provider's answers set the actual in-flight limit: halve it on a throttle (429 rate limit, 529/503 overloaded), add
//! one back after each full window of successes (one success per slot), the way TCP congestion avoidance does.
//!
//! Only one cut is made per "generation": a throttle reported by an attempt that was sent *before* the last cut says
//! nothing new (it was part of the load that caused the cut), so it does not halve again. Without that rule a burst
//! of concurrent 429s would collapse the limit to 1 at once. Generations are counted in cuts, not seconds, so the
//! state machine ([`AimdState`]) is deterministic and unit-tested without a clock.

use std::sync::Mutex;
use tokio::sync::Notify;

/// The pure AIMD state machine (no locking, no waiting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AimdState {
    max: u32,
    limit: u32,
    inflight: u32,
    epoch: u64,
    successes: u32,
    min_seen: u32,
}

/// Which generation an attempt was sent in; handed back with its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ticket(u64);

impl AimdState {
    /// Start at the ceiling `max` (at least 1).
    pub(super) fn new(max: u32) -> Self {
        let max = max.max(1);
        AimdState {
            max,
            limit: max,
            inflight: 0,
            epoch: 0,
            successes: 0,
            min_seen: max,
        }
    }

    /// The current in-flight limit.
    #[cfg(test)]
    pub(super) fn limit(&self) -> u32 {
        self.limit
    }

    /// The configured ceiling.
    pub(super) fn max(&self) -> u32 {
        self.max
    }

    /// Attempts in flight now.
    #[cfg(test)]
    pub(super) fn inflight(&self) -> u32 {
        self.inflight
    }

    /// The lowest limit reached so far.
    #[cfg(test)]
    pub(super) fn min_seen(&self) -> u32 {
        self.min_seen
    }

    /// Take a slot if one is free under the current limit.
    pub(super) fn try_acquire(&mut self) -> Option<Ticket> {
        if self.inflight < self.limit {
            self.inflight += 1;
            Some(Ticket(self.epoch))
        } else {
            None
        }
    }

    /// Give a slot back (whatever the outcome).
    pub(super) fn release(&mut self) {
        self.inflight = self.inflight.saturating_sub(1);
    }

    /// A successful attempt: after `limit` successes since the last change, raise the limit by one (up to `max`).
    /// Returns true when the limit grew.
    pub(super) fn on_success(&mut self) -> bool {
        if self.limit >= self.max {
            return false;
        }
        self.successes += 1;
        if self.successes >= self.limit {
            self.limit += 1;
            self.successes = 0;
            return true;
        }
        false
    }

    /// A throttled attempt (429/529): halve the limit (min 1) unless a cut was already made after this attempt was
    /// sent. Returns the limit now in force.
    pub(super) fn on_throttle(&mut self, t: Ticket) -> u32 {
        if t.0 == self.epoch {
            self.limit = (self.limit / 2).max(1);
            self.epoch += 1;
            self.successes = 0;
            self.min_seen = self.min_seen.min(self.limit);
        }
        self.limit
    }
}

/// The shared, async face of [`AimdState`]: attempts wait here for a slot.
#[derive(Debug)]
pub(super) struct AdaptiveLimit {
    state: Mutex<AimdState>,
    changed: Notify,
}

/// A held slot; released on drop. Report the attempt's outcome through it.
#[derive(Debug)]
pub(super) struct Slot<'a> {
    owner: &'a AdaptiveLimit,
    ticket: Ticket,
}

impl AdaptiveLimit {
    /// A limiter with ceiling `max`.
    pub(super) fn new(max: u32) -> Self {
        AdaptiveLimit {
            state: Mutex::new(AimdState::new(max)),
            changed: Notify::new(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut AimdState) -> R) -> R {
        // A panic while holding this lock cannot leave the counters inconsistent (each update is one step), so a
        // poisoned lock is used as is.
        let mut g = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut g)
    }

    /// A copy of the current state (for reporting and tests).
    pub(super) fn snapshot(&self) -> AimdState {
        self.with(|s| s.clone())
    }

    /// Wait for a free slot under the current limit.
    pub(super) async fn acquire(&self) -> Slot<'_> {
        loop {
            // Register for wake-ups before looking, so a release between the look and the wait is not lost.
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(ticket) = self.with(AimdState::try_acquire) {
                return Slot {
                    owner: self,
                    ticket,
                };
            }
            notified.await;
        }
    }
}

impl Slot<'_> {
    /// The attempt succeeded.
    pub(super) fn success(&self) {
        if self.owner.with(AimdState::on_success) {
            self.owner.changed.notify_waiters();
        }
    }

    /// The provider throttled the attempt. Returns the limit now in force.
    pub(super) fn throttled(&self) -> u32 {
        let t = self.ticket;
        self.owner.with(|s| s.on_throttle(t))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.owner.with(AimdState::release);
        self.owner.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_the_ceiling_and_bounds_inflight() {
        let mut s = AimdState::new(3);
        assert_eq!(s.limit(), 3);
        let tickets: Vec<_> = (0..3).map(|_| s.try_acquire()).collect();
        assert!(tickets.iter().all(Option::is_some));
        assert_eq!(s.try_acquire(), None);
        s.release();
        assert!(s.try_acquire().is_some());
        assert_eq!(AimdState::new(0).limit(), 1, "a zero ceiling still sends");
    }

    #[test]
    fn halves_once_per_generation_and_never_below_one() {
        let mut s = AimdState::new(8);
        let old: Vec<Ticket> = (0..8).map(|_| s.try_acquire().unwrap()).collect();
        // Eight concurrent 429s from the same generation: one cut, not three.
        for t in &old {
            assert_eq!(s.on_throttle(*t), 4);
        }
        for _ in 0..8 {
            s.release();
        }
        // A throttle from an attempt sent after the cut cuts again.
        let t = s.try_acquire().unwrap();
        assert_eq!(s.on_throttle(t), 2);
        s.release();
        let t = s.try_acquire().unwrap();
        assert_eq!(s.on_throttle(t), 1);
        s.release();
        let t = s.try_acquire().unwrap();
        assert_eq!(s.on_throttle(t), 1);
        assert_eq!(s.min_seen(), 1);
    }

    #[test]
    fn a_cut_leaves_excess_inflight_to_drain() {
        let mut s = AimdState::new(4);
        let ts: Vec<Ticket> = (0..4).map(|_| s.try_acquire().unwrap()).collect();
        s.on_throttle(ts[0]);
        assert_eq!(s.limit(), 2);
        s.release(); // 3 in flight, limit 2
        assert_eq!(s.try_acquire(), None);
        s.release(); // 2 in flight
        assert_eq!(s.try_acquire(), None);
        s.release(); // 1 in flight
        assert!(s.try_acquire().is_some());
    }

    #[test]
    fn recovers_one_slot_per_window_of_successes_up_to_the_ceiling() {
        let mut s = AimdState::new(6);
        let t = s.try_acquire().unwrap();
        s.on_throttle(t); // 3
        s.release();
        let t = s.try_acquire().unwrap();
        s.on_throttle(t); // 1
        s.release();
        assert_eq!(s.limit(), 1);
        // limit 1 needs 1 success, limit 2 needs 2, ... : 1+2+3+4+5 = 15 successes to get back to 6.
        let mut grown_at = Vec::new();
        for i in 1..=30 {
            if s.on_success() {
                grown_at.push((i, s.limit()));
            }
        }
        assert_eq!(grown_at, vec![(1, 2), (3, 3), (6, 4), (10, 5), (15, 6)]);
        assert_eq!(s.limit(), 6);
        assert_eq!(s.min_seen(), 1);
    }

    #[test]
    fn successes_before_a_cut_do_not_count_after_it() {
        let mut s = AimdState::new(8);
        let t = s.try_acquire().unwrap();
        s.on_throttle(t); // 4
        s.release();
        for _ in 0..3 {
            assert!(!s.on_success());
        }
        let t = s.try_acquire().unwrap();
        s.on_throttle(t); // 2, success count reset
        s.release();
        assert!(!s.on_success());
        assert!(s.on_success());
        assert_eq!(s.limit(), 3);
    }

    #[tokio::test]
    async fn async_gate_wakes_a_waiter_when_a_slot_frees() {
        let lim = std::sync::Arc::new(AdaptiveLimit::new(1));
        let first = lim.acquire().await;
        let l2 = lim.clone();
        let waiter = tokio::spawn(async move {
            let s = l2.acquire().await;
            s.success();
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(first);
        waiter.await.unwrap();
        assert_eq!(lim.snapshot().inflight(), 0);
    }

    #[tokio::test]
    async fn slot_reports_throttle_and_release() {
        let lim = AdaptiveLimit::new(4);
        let a = lim.acquire().await;
        let b = lim.acquire().await;
        assert_eq!(a.throttled(), 2);
        assert_eq!(b.throttled(), 2, "same generation: no second cut");
        drop(a);
        drop(b);
        let s = lim.snapshot();
        assert_eq!((s.limit(), s.inflight(), s.min_seen()), (2, 0, 2));
    }
}
