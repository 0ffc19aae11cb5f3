//! `evalh compare RUN_A RUN_B`: what changed between two runs of the same suite, per provider, with a paired test on
//! the items both runs share.
//!
//! Why this module exists: providers change the model behind a name, and a prompt edit can help one provider and hurt
//! another; "the candidate got worse since last week's run" needs evidence, not two numbers side by side. Each
//! provider's per-item scores in the two runs are paired by item id: mean metrics get a paired t-test on the per-item
//! differences (`stats::paired_t_test`), corpus metrics (macro F1, ...) a paired percentile bootstrap of the difference
//! on the same resampled items. A change is flagged worse (or better) only when its two-sided interval at the suite's
//! confidence excludes 0. Cost, latency, error rate and verdicts are set side by side, and the items whose correctness
//! flipped are listed. Everything comes from the two run directories (`suite.yaml`, the dataset it names, the
//! journal), offline; an incomplete run is compared on what it has, and says so.

use crate::chat::ErrorEvidence;
use crate::cli::CompareArgs;
use crate::dataset::{self, Item};
use crate::error::{InputError, Result};
use crate::metrics::{self, MetricKind};
use crate::outcome::Outcome;
use crate::rundir::RESOLVED_SUITE;
use crate::score::{ProviderScores, Scorer};
use crate::stats::{self, Interval};
use crate::suite::{self, LoadedSuite, TaskKind};
use crate::summary::{Analysis, ProviderResult};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Summarization has no right or wrong: an item "flips" when its score moves by at least this much.
const SCORE_GAP: f64 = 0.1;

/// One run directory, loaded and analysed.
struct Run {
    dir: PathBuf,
    ls: LoadedSuite,
    items: Vec<Item>,
    an: Analysis,
    scorer: Scorer,
}

fn load_run(dir: &Path) -> Result<Run> {
    let p = dir.join(RESOLVED_SUITE);
    if !p.is_file() {
        return Err(InputError::new(dir, "not a run directory (no suite.yaml)")
            .hint("pass two directories evalh run created, e.g. reports/<suite>-<timestamp> (evalh runs list shows them)")
            .into());
    }
    let ls = suite::load_suite(&p, None)?;
    let items = dataset::load(&ls.dataset_path, &ls.suite.dataset)?;
    let an = crate::rundir::analyse(&ls, &items, dir)?;
    let scorer = Scorer::new(&ls)?;
    Ok(Run {
        dir: dir.to_path_buf(),
        ls,
        items,
        an,
        scorer,
    })
}

/// The change of one metric for one provider.
#[derive(Debug, Clone, Serialize)]
pub struct MetricChange {
    /// Metric name.
    pub name: String,
    /// `mean` or `corpus`.
    pub kind: &'static str,
    /// Whether it is the suite's gate metric.
    pub gate: bool,
    /// Value in run A on the paired items.
    pub a: f64,
    /// Value in run B on the paired items.
    pub b: f64,
    /// `b − a`.
    pub change: f64,
    /// Two-sided interval of the change at the suite's confidence.
    pub interval: Interval,
    /// Two-sided p-value (paired t-test; none for the bootstrap).
    pub p_value: Option<f64>,
    /// `paired t` or `paired bootstrap`.
    pub test: &'static str,
    /// `worse`, `better` or `unchanged` (no significant change).
    pub direction: &'static str,
}

/// Items whose correctness changed between the runs.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Flips {
    /// What counts as a flip.
    pub rule: String,
    /// Whether the task's item scores are graded (summarization): then a flip is a move of the score by the gap.
    pub graded: bool,
    /// Right in A, wrong in B (or score fell by the gap).
    pub worse: usize,
    /// Wrong in A, right in B.
    pub better: usize,
    /// The first ids of `worse` (run B's dataset order).
    pub worse_ids: Vec<String>,
    /// The first ids of `better`.
    pub better_ids: Vec<String>,
}

/// A number in run A and run B.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Pair {
    /// Run A.
    pub a: Option<f64>,
    /// Run B.
    pub b: Option<f64>,
}

/// What changed for one provider.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderChange {
    /// Provider id.
    pub id: String,
    /// `baseline` or `candidate` (in run B).
    pub role: String,
    /// Model in A and B.
    pub model: (String, String),
    /// Shared items both runs scored for this provider.
    pub n_paired: usize,
    /// The gate metric's direction: `worse`, `better` or `unchanged`.
    pub status: &'static str,
    /// Every metric of the task.
    pub metrics: Vec<MetricChange>,
    /// Cost per 1,000 items, USD.
    pub cost_per_1k_items: Pair,
    /// Median latency, ms.
    pub latency_p50_ms: Pair,
    /// p99 latency, ms.
    pub latency_p99_ms: Pair,
    /// Error rate.
    pub error_rate: Pair,
    /// Verdicts (candidates).
    pub verdict: (Option<String>, Option<String>),
    /// Items that flipped.
    pub flips: Flips,
}

/// The whole comparison (`--json` prints it).
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Suite name.
    pub suite: String,
    /// Task.
    pub task: String,
    /// Run directories.
    pub run_a: String,
    /// Run B.
    pub run_b: String,
    /// Whether each run is complete.
    pub complete: (bool, bool),
    /// Items in each run.
    pub items: (usize, usize),
    /// Item ids in both runs.
    pub shared_items: usize,
    /// Confidence of the intervals (run B's gate.confidence).
    pub confidence: f64,
    /// Run B's gate metric.
    pub gate_metric: String,
    /// Providers in both runs (run B's order).
    pub providers: Vec<ProviderChange>,
    /// Provider ids in only one run.
    pub only_in_a: Vec<String>,
    /// Provider ids only in run B.
    pub only_in_b: Vec<String>,
    /// What the reader must know (incomplete runs, changed settings).
    pub notes: Vec<String>,
}

/// `evalh compare`.
pub fn command(a: &CompareArgs) -> Result<i32> {
    let ra = load_run(&a.run_a)?;
    let rb = load_run(&a.run_b)?;
    let c = compare(&ra, &rb, a.flips)?;
    if a.json {
        let text = serde_json::to_string_pretty(&c).map_err(|e| {
            crate::error::Error::Internal(format!("serializing the comparison: {e}"))
        })?;
        println!("{text}");
    } else {
        print!("{}", render(&c));
    }
    Ok(0)
}

/// A record that was scored: an answer, or a refusal about the item (scored 0). Reliability failures and unsettled
/// requests are left out of the comparison, as the gate leaves them out of its quality comparison.
fn scored(r: Option<&Outcome>) -> bool {
    match r {
        None => false,
        Some(o) => match o.error() {
            None => true,
            Some(e) => e.class.evidence() == ErrorEvidence::ItemAnswer,
        },
    }
}

fn compare(ra: &Run, rb: &Run, n_flips: usize) -> Result<Comparison> {
    let (sa, sb) = (&ra.ls.suite, &rb.ls.suite);
    if sa.name != sb.name || sa.task != sb.task {
        return Err(InputError::new(
            &rb.dir,
            format!(
                "not runs of the same suite: {} is `{}` ({}), {} is `{}` ({})",
                ra.dir.display(),
                sa.name,
                sa.task.as_str(),
                rb.dir.display(),
                sb.name,
                sb.task.as_str()
            ),
        )
        .hint("compare two runs of one suite; evalh runs list groups the run directories by suite")
        .into());
    }
    let mut notes = Vec::new();
    for (r, which) in [(ra, "A"), (rb, "B")] {
        let res = &r.an.results;
        if !res.complete {
            let n: usize = res.unsettled_by_reason.values().sum();
            notes.push(format!(
                "run {which} is INCOMPLETE ({n} request(s) unsettled): compared on the items it has"
            ));
        }
    }
    let metric = sb.gate_metric();
    if sa.gate_metric() != metric {
        notes.push(format!(
            "the gate metric changed ({} in A, {metric} in B); the status follows B's",
            sa.gate_metric()
        ));
    }
    let conf = sb.gate.confidence;
    let b_pos: HashMap<&str, usize> = rb
        .items
        .iter()
        .map(|it| (it.id.as_str(), it.index))
        .collect();
    let mut shared: Vec<(usize, usize)> = ra
        .items
        .iter()
        .filter_map(|it| b_pos.get(it.id.as_str()).map(|&ib| (it.index, ib)))
        .collect();
    shared.sort_by_key(|&(_, ib)| ib);
    if shared.len() < ra.items.len().max(rb.items.len()) {
        notes.push(format!(
            "the runs share {} of their items ({} in A, {} in B): only those are compared",
            shared.len(),
            ra.items.len(),
            rb.items.len()
        ));
    }
    let mut providers = Vec::new();
    for (pb, spec) in sb.providers.iter().enumerate() {
        let Some(pa) = sa.providers.iter().position(|p| p.id == spec.id) else {
            continue;
        };
        providers.push(provider_change(
            ra,
            rb,
            (pa, pb),
            &shared,
            &metric,
            conf,
            n_flips,
        ));
    }
    let ids =
        |s: &crate::suite::Suite| s.providers.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
    let (ia, ib) = (ids(sa), ids(sb));
    Ok(Comparison {
        suite: sb.name.clone(),
        task: sb.task.as_str().into(),
        run_a: ra.dir.display().to_string(),
        run_b: rb.dir.display().to_string(),
        complete: (ra.an.results.complete, rb.an.results.complete),
        items: (ra.items.len(), rb.items.len()),
        shared_items: shared.len(),
        confidence: conf,
        gate_metric: metric,
        providers,
        only_in_a: ia.iter().filter(|i| !ib.contains(i)).cloned().collect(),
        only_in_b: ib.iter().filter(|i| !ia.contains(i)).cloned().collect(),
        notes,
    })
}

fn provider_change(
    ra: &Run,
    rb: &Run,
    (pa, pb): (usize, usize),
    shared: &[(usize, usize)],
    gate_metric: &str,
    conf: f64,
    n_flips: usize,
) -> ProviderChange {
    let (recs_a, recs_b) = (&ra.an.records[pa], &rb.an.records[pb]);
    let paired: Vec<(usize, usize)> = shared
        .iter()
        .copied()
        .filter(|&(ia, ib)| scored(recs_a[ia].as_ref()) && scored(recs_b[ib].as_ref()))
        .collect();
    let (sa, sb) = (&ra.an.scores[pa], &rb.an.scores[pb]);
    let sb_suite = &rb.ls.suite;
    let metrics: Vec<MetricChange> = metrics::metrics(sb_suite.task)
        .iter()
        .map(|def| {
            metric_change(
                (ra, sa),
                (rb, sb),
                def.name,
                def.kind,
                &paired,
                conf,
                (sb_suite.gate.bootstrap_iters, sb_suite.run.seed),
            )
            .with_gate(def.name == gate_metric)
        })
        .collect();
    let status = metrics
        .iter()
        .find(|m| m.gate)
        .map_or("unchanged", |m| m.direction);
    let (xa, xb) = (&ra.an.results.providers[pa], &rb.an.results.providers[pb]);
    let pair = |f: &dyn Fn(&ProviderResult) -> Option<f64>| Pair { a: f(xa), b: f(xb) };
    let verdict = |x: &ProviderResult| x.gate.as_ref().map(|g| g.verdict.as_str().to_string());
    ProviderChange {
        id: xb.id.clone(),
        role: if xb.role == crate::suite::ProviderRole::Baseline {
            "baseline"
        } else {
            "candidate"
        }
        .into(),
        model: (xa.model.clone(), xb.model.clone()),
        n_paired: paired.len(),
        status,
        metrics,
        cost_per_1k_items: pair(&|x| Some(x.cost_usd_per_1k_items)),
        latency_p50_ms: pair(&|x| x.latency_ms.p50),
        latency_p99_ms: pair(&|x| x.latency_ms.p99),
        error_rate: pair(&|x| Some(x.error_rate)),
        verdict: (verdict(xa), verdict(xb)),
        flips: flips(rb, (sa, sb), &paired, sb_suite.task, n_flips),
    }
}

impl MetricChange {
    fn with_gate(mut self, gate: bool) -> Self {
        self.gate = gate;
        self
    }
}

fn metric_change(
    (ra, sa): (&Run, &ProviderScores),
    (rb, sb): (&Run, &ProviderScores),
    name: &str,
    kind: MetricKind,
    paired: &[(usize, usize)],
    conf: f64,
    (iters, seed): (usize, u64),
) -> MetricChange {
    let ia: Vec<usize> = paired.iter().map(|p| p.0).collect();
    let ib: Vec<usize> = paired.iter().map(|p| p.1).collect();
    let a = if ia.is_empty() {
        f64::NAN
    } else {
        ra.scorer.metric_on(sa, name, &ia)
    };
    let b = if ib.is_empty() {
        f64::NAN
    } else {
        rb.scorer.metric_on(sb, name, &ib)
    };
    let (interval, p_value, test) = match (kind, sa.per_item.get(name), sb.per_item.get(name)) {
        (MetricKind::Mean, Some(va), Some(vb)) => {
            let xa: Vec<f64> = ia.iter().map(|&i| va[i]).collect();
            let xb: Vec<f64> = ib.iter().map(|&i| vb[i]).collect();
            match stats::paired_t_test(&xb, &xa, conf) {
                Ok(t) => (
                    t.interval,
                    Some(t.p_value).filter(|p| p.is_finite()),
                    "paired t",
                ),
                Err(_) => (Interval::UNDEFINED, None, "paired t"),
            }
        }
        _ => {
            let iv = stats::bootstrap_interval(
                paired.len(),
                |idx| {
                    let ra_idx: Vec<usize> = idx.iter().map(|&k| ia[k]).collect();
                    let rb_idx: Vec<usize> = idx.iter().map(|&k| ib[k]).collect();
                    rb.scorer.metric_on(sb, name, &rb_idx) - ra.scorer.metric_on(sa, name, &ra_idx)
                },
                conf,
                iters,
                seed,
            );
            (iv, None, "paired bootstrap")
        }
    };
    let direction = if interval.upper < 0.0 {
        "worse"
    } else if interval.lower > 0.0 {
        "better"
    } else {
        "unchanged"
    };
    MetricChange {
        name: name.to_string(),
        kind: kind.as_str(),
        gate: false,
        a,
        b,
        change: b - a,
        interval,
        p_value,
        test,
        direction,
    }
}

fn flips(
    rb: &Run,
    (sa, sb): (&ProviderScores, &ProviderScores),
    paired: &[(usize, usize)],
    task: TaskKind,
    n: usize,
) -> Flips {
    let mut f = Flips::default();
    let graded = task == TaskKind::Summarization;
    f.graded = graded;
    f.rule = if graded {
        format!(
            "the item's {} moved by at least {SCORE_GAP}",
            metrics::default_metric(task)
        )
    } else {
        "right (item score 1) in one run, not in the other".into()
    };
    let right = |x: f64| x >= 1.0 - 1e-9;
    for &(ia, ib) in paired {
        let (x, y) = (sa.item_score[ia], sb.item_score[ib]);
        let (worse, better) = if graded {
            (y <= x - SCORE_GAP, y >= x + SCORE_GAP)
        } else {
            (right(x) && !right(y), !right(x) && right(y))
        };
        let id = &rb.items[ib].id;
        if worse {
            f.worse += 1;
            if f.worse_ids.len() < n {
                f.worse_ids.push(id.clone());
            }
        }
        if better {
            f.better += 1;
            if f.better_ids.len() < n {
                f.better_ids.push(id.clone());
            }
        }
    }
    f
}

fn num(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "-".into()
    }
}

fn signed(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:+.digits$}")
    } else {
        "-".into()
    }
}

fn p_text(p: Option<f64>) -> String {
    match p {
        None => "-".into(),
        Some(p) if p < 1e-4 => "<0.0001".into(),
        Some(p) => format!("{p:.4}"),
    }
}

fn opt_pair(p: Pair, f: impl Fn(f64) -> String) -> String {
    let s = |v: Option<f64>| v.filter(|v| v.is_finite()).map_or("-".to_string(), &f);
    format!("{} -> {}", s(p.a), s(p.b))
}

fn money(x: f64) -> String {
    if x == 0.0 || x.abs() >= 0.01 {
        format!("${x:.2}")
    } else {
        format!("${x:.4}")
    }
}

/// The text form: at most ~100 columns a line (ids of flipped items wrap).
pub fn render(c: &Comparison) -> String {
    let mut s = String::new();
    let state = |complete: bool| if complete { "complete" } else { "INCOMPLETE" };
    let _ = writeln!(s, "compare {} ({} task)", c.suite, c.task);
    let _ = writeln!(
        s,
        "  A: {}  ({}, {} items)",
        c.run_a,
        state(c.complete.0),
        c.items.0
    );
    let _ = writeln!(
        s,
        "  B: {}  ({}, {} items)",
        c.run_b,
        state(c.complete.1),
        c.items.1
    );
    let _ = writeln!(
        s,
        "changes are B - A on the items both runs scored; flagged when the two-sided {}% interval excludes 0",
        num(c.confidence * 100.0, 0)
    );
    for n in &c.notes {
        let _ = writeln!(s, "note: {n}");
    }
    for p in &c.providers {
        let _ = writeln!(s);
        let g = p.metrics.iter().find(|m| m.gate);
        let head = match g {
            Some(m) => format!(
                "{} {} -> {} ({})",
                m.name,
                num(m.a, 3),
                num(m.b, 3),
                signed(m.change, 3)
            ),
            None => String::new(),
        };
        let flag = match p.status {
            "worse" => "WORSE",
            "better" => "better",
            _ => "no significant change",
        };
        let _ = writeln!(
            s,
            "{} ({}): {flag} - {head}, {} paired items",
            p.id, p.role, p.n_paired
        );
        if p.model.0 != p.model.1 {
            let _ = writeln!(s, "  model {} -> {}", p.model.0, p.model.1);
        }
        let _ = writeln!(
            s,
            "  {:<20} {:>7} {:>7} {:>8}  {:<19} {:>8}  test",
            "metric", "A", "B", "change", "interval", "p"
        );
        for m in &p.metrics {
            let mark = match m.direction {
                "worse" => " worse",
                "better" => " better",
                _ => "",
            };
            let name = if m.gate {
                format!("{} (gate)", m.name)
            } else {
                m.name.clone()
            };
            let _ = writeln!(
                s,
                "  {:<20} {:>7} {:>7} {:>8}  {:<19} {:>8}  {}{mark}",
                name,
                num(m.a, 3),
                num(m.b, 3),
                signed(m.change, 3),
                format!(
                    "[{}, {}]",
                    signed(m.interval.lower, 3),
                    signed(m.interval.upper, 3)
                ),
                p_text(m.p_value),
                if m.test == "paired t" {
                    "t"
                } else {
                    "bootstrap"
                },
            );
        }
        let _ = writeln!(
            s,
            "  cost/1k items {} · latency p50 {} ms, p99 {} ms",
            opt_pair(p.cost_per_1k_items, money),
            opt_pair(p.latency_p50_ms, |v| num(v, 0)),
            opt_pair(p.latency_p99_ms, |v| num(v, 0)),
        );
        let mut line = format!(
            "  error rate {}",
            opt_pair(p.error_rate, |v| format!("{}%", num(v * 100.0, 1)))
        );
        if let (Some(a), Some(b)) = (&p.verdict.0, &p.verdict.1) {
            let _ = write!(line, " · verdict {a} -> {b}");
        }
        let _ = writeln!(s, "{line}");
        let f = &p.flips;
        let (down, up) = if f.graded {
            let _ = writeln!(
                s,
                "  items whose score moved by >= {SCORE_GAP}: {} down, {} up",
                f.worse, f.better
            );
            ("down", "up")
        } else {
            let _ = writeln!(
                s,
                "  items flipped: {} right -> wrong, {} wrong -> right",
                f.worse, f.better
            );
            ("right -> wrong", "wrong -> right")
        };
        for (what, ids, total) in [(down, &f.worse_ids, f.worse), (up, &f.better_ids, f.better)] {
            if !ids.is_empty() {
                let more = if total > ids.len() {
                    format!(" (+{} more)", total - ids.len())
                } else {
                    String::new()
                };
                let _ = writeln!(s, "    {what}: {}{more}", ids.join(", "));
            }
        }
    }
    if !c.only_in_a.is_empty() || !c.only_in_b.is_empty() {
        let _ = writeln!(
            s,
            "\nnot compared: only in A: {}; only in B: {}",
            if c.only_in_a.is_empty() {
                "-".into()
            } else {
                c.only_in_a.join(", ")
            },
            if c.only_in_b.is_empty() {
                "-".into()
            } else {
                c.only_in_b.join(", ")
            }
        );
    }
    s
}
