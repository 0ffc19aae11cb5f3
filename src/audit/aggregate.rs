//! The per-worker tallies of an audit: requests, tokens and token histograms per feature and bucket, token sums per
//! model (cost is linear in tokens, so it is priced once per model at the end), the time span. Bounded: at most
//! [`MAX_FEATURES`] features and [`MAX_MODELS`] models per group are told apart; the rest are pooled and counted.

use super::buckets::Buckets;
use super::hist::Hist;
use crate::logs::{Loc, Record, Sink};
use std::collections::HashMap;
use std::sync::Arc;

/// Distinct features told apart; later ones are pooled under [`OTHER_FEATURES`].
pub const MAX_FEATURES: usize = 10_000;
/// Distinct models per group told apart; later ones are pooled under [`OTHER_MODELS`] (unpriced).
pub const MAX_MODELS: usize = 1_000;
/// The pooled feature name.
pub const OTHER_FEATURES: &str = "(other features)";
/// The pooled model name.
pub const OTHER_MODELS: &str = "(other models)";
/// Rows with no feature.
pub const NO_FEATURE: &str = "(no feature)";
/// Rows with no model.
pub const NO_MODEL: &str = "(no model)";

/// Token sums of one model in one group.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct ModelTotals {
    /// Requests.
    pub requests: u64,
    /// Input tokens (cached included).
    pub input: u64,
    /// Cached input tokens.
    pub cached: u64,
    /// Output tokens.
    pub output: u64,
}

impl ModelTotals {
    fn add(&mut self, o: &ModelTotals) {
        self.requests += o.requests;
        self.input += o.input;
        self.cached += o.cached;
        self.output += o.output;
    }
}

/// One feature × bucket.
#[derive(Debug, Clone, Default)]
pub(super) struct Group {
    /// Requests.
    pub requests: u64,
    /// Requests whose status says they failed.
    pub errors: u64,
    /// Sum of the log's own cost column in units of 10⁻⁹ USD: an integer sum does not depend on the order in
    /// which the worker threads happened to read the rows, so the same logs always give the same total.
    pub logged_nano_usd: i128,
    /// Rows with a logged cost.
    pub logged_cost_rows: u64,
    /// Token sums per model as logged.
    pub models: HashMap<String, ModelTotals>,
    /// Input + output tokens per request.
    pub total_hist: Hist,
    /// Input tokens per request.
    pub input_hist: Hist,
    /// Output tokens per request.
    pub output_hist: Hist,
}

impl Group {
    fn merge(&mut self, o: Group) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.logged_nano_usd += o.logged_nano_usd;
        self.logged_cost_rows += o.logged_cost_rows;
        for (m, t) in o.models {
            let slot = if self.models.len() >= MAX_MODELS && !self.models.contains_key(&m) {
                OTHER_MODELS.to_string()
            } else {
                m
            };
            self.models.entry(slot).or_default().add(&t);
        }
        self.total_hist.merge(&o.total_hist);
        self.input_hist.merge(&o.input_hist);
        self.output_hist.merge(&o.output_hist);
    }
}

/// A worker's audit state.
#[derive(Debug, Clone)]
pub(super) struct Tally {
    buckets: Arc<Buckets>,
    model_bucket: HashMap<String, Option<u8>>,
    /// Groups per feature: index 0 unmapped, 1..=3 the buckets.
    pub groups: HashMap<String, [Option<Box<Group>>; 4]>,
    /// Earliest and latest timestamp (Unix ms).
    pub span: Option<(i64, i64)>,
    /// Rows without a timestamp.
    pub no_timestamp: u64,
}

impl Tally {
    /// An empty tally.
    pub(super) fn new(buckets: Arc<Buckets>) -> Tally {
        Tally {
            buckets,
            model_bucket: HashMap::new(),
            groups: HashMap::new(),
            span: None,
            no_timestamp: 0,
        }
    }

    fn group(&mut self, feature: Option<String>, bucket: Option<u8>) -> &mut Group {
        let mut f = feature.unwrap_or_else(|| NO_FEATURE.to_string());
        if self.groups.len() >= MAX_FEATURES && !self.groups.contains_key(&f) {
            f = OTHER_FEATURES.to_string();
        }
        let slots = self.groups.entry(f).or_default();
        slots[bucket.map_or(0, usize::from)].get_or_insert_with(Default::default)
    }
}

impl Sink for Tally {
    fn row(&mut self, mut r: Record, _: Loc, _: &[u8]) {
        match r.timestamp_ms {
            Some(t) => {
                self.span = Some(match self.span {
                    None => (t, t),
                    Some((a, b)) => (a.min(t), b.max(t)),
                })
            }
            None => self.no_timestamp += 1,
        }
        let model = r.model.take().unwrap_or_else(|| NO_MODEL.to_string());
        let mb = match self.model_bucket.get(&model) {
            Some(b) => *b,
            None => {
                let b = self.buckets.of_model(&model);
                if self.model_bucket.len() < MAX_MODELS * 4 {
                    self.model_bucket.insert(model.clone(), b);
                }
                b
            }
        };
        let bucket = self.buckets.of(&r, mb);
        let (input, output, cached) = (r.input_tokens, r.output_tokens, r.cached_tokens);
        let g = self.group(r.feature.take(), bucket);
        g.requests += 1;
        if !r.ok {
            g.errors += 1;
        }
        if let Some(c) = r.logged_cost {
            g.logged_nano_usd += (c * 1e9).round() as i128;
            g.logged_cost_rows += 1;
        }
        g.total_hist.add(input + output);
        g.input_hist.add(input);
        g.output_hist.add(output);
        let slot = if g.models.len() >= MAX_MODELS && !g.models.contains_key(&model) {
            OTHER_MODELS.to_string()
        } else {
            model
        };
        let t = g.models.entry(slot).or_default();
        t.requests += 1;
        t.input += input;
        t.cached += cached;
        t.output += output;
    }

    fn merge(&mut self, o: Tally) {
        self.span = match (self.span, o.span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, None) => x,
            (None, y) => y,
        };
        self.no_timestamp += o.no_timestamp;
        for (f, slots) in o.groups {
            for (i, g) in slots.into_iter().enumerate() {
                if let Some(g) = g {
                    let bucket = (i > 0).then_some(i as u8);
                    self.group(Some(f.clone()), bucket).merge(*g);
                }
            }
        }
    }
}
