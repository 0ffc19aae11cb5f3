//! `report.html`: one self-contained page per run — verdict cards, metrics with intervals, cost and latency, the
//! charts, token-count discrepancy, errors by class, and a per-item drill-down with every provider's output side by
//! side.
//!
//! Why this module exists: the verdict is what CI acts on, but a reviewer has to be able to check it — open one file,
//! offline, read why each candidate passed or failed and look at the items where it disagrees with the baseline.
//!
//! Design rules:
//! - **One file, no external requests.** CSS and JS are inline, charts are `data:` URIs, and a Content-Security-Policy
//!   forbids loading anything else (so even a bug in escaping could not make the page fetch a URL).
//! - **Everything from a dataset or a model is untrusted.** It passes through [`escape`] before it reaches the page;
//!   the CSP allows only the page's own script (by nonce), so an injected `<script>` or `onerror=` would not run.
//! - **Readable without JavaScript, printable.** Without JS every embedded item is shown; the small script only adds
//!   filters and pagination. Print CSS hides the controls and keeps cards and items whole.
//! - **Large runs stay small.** At most [`MAX_ROWS`] items are embedded, errors and disagreements first; the page says
//!   how many there are in all, per filter.

use super::chart::{color_hex, Chart};
use super::opt;
use crate::dataset::Item;
use crate::gate::RuleStatus;
use crate::suite::{ProviderRole, Suite, TaskKind};
use crate::summary::{Analysis, ProviderResult};
use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// File name inside a run directory.
pub const REPORT_FILE: &str = "report.html";
/// Items embedded in the drill-down at most (errors first, then baseline-right/candidate-wrong, then disagreements).
pub(super) const MAX_ROWS: usize = 2000;
/// Characters of one text (input field, expected value, output) shown; the rest is counted, not embedded.
pub(super) const MAX_TEXT: usize = 1500;
/// Items per drill-down page when JavaScript runs.
const PAGE_SIZE: usize = 50;
/// Summarization has no right/wrong: a per-item score gap of this size counts as a disagreement.
const SCORE_GAP: f64 = 0.1;

/// Escape text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab/newline/CR are invalid in HTML text; show them visibly.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to [`MAX_TEXT`] characters, escaped, with a note saying how much was left out.
fn clipped(text: &str) -> String {
    let n = text.chars().count();
    if n <= MAX_TEXT {
        escape(text)
    } else {
        let head: String = text.chars().take(MAX_TEXT).collect();
        format!(
            "{}<span class=\"clip\">… {} more characters not shown ({} in all)</span>",
            escape(&head),
            n - MAX_TEXT,
            n
        )
    }
}

/// A chart and its PNG bytes, as the report embeds it.
pub struct ChartImage<'a> {
    /// The chart.
    pub chart: &'a Chart,
    /// Its PNG file's bytes.
    pub png: Vec<u8>,
}

/// How one item compares across providers (computed over every item, not only the embedded ones).
#[derive(Debug, Clone, Default, PartialEq)]
struct ItemFlags {
    /// Some provider has no successful record.
    error: bool,
    /// Providers disagree (different labels / correctness, or a score gap for summarization).
    disagree: bool,
    /// Candidates (provider positions) that are wrong where the baseline is right.
    base_right_cand_wrong: Vec<usize>,
}

/// Whether provider `p` got item `i` right; `None` when the task has no right/wrong (summarization).
fn right(an: &Analysis, task: TaskKind, p: usize, i: usize) -> Option<bool> {
    let s = &an.scores[p];
    match task {
        TaskKind::Classification | TaskKind::FunctionCalling => {
            Some(s.item_score.get(i).copied().unwrap_or(0.0) >= 1.0)
        }
        TaskKind::Extraction => Some(
            s.per_item
                .get("record_exact_match")
                .and_then(|v| v.get(i))
                .copied()
                .unwrap_or(0.0)
                >= 1.0,
        ),
        TaskKind::Summarization => None,
    }
}

fn flags(an: &Analysis, task: TaskKind, baseline: Option<usize>, i: usize) -> ItemFlags {
    let np = an.scores.len();
    let error = (0..np).any(|p| !an.scores[p].answered.get(i).copied().unwrap_or(false));
    let score = |p: usize| an.scores[p].item_score.get(i).copied().unwrap_or(0.0);
    let disagree = match task {
        TaskKind::Classification => {
            let notes: BTreeSet<&str> = (0..np)
                .map(|p| an.scores[p].notes.get(i).unwrap_or(""))
                .collect();
            notes.len() > 1
        }
        TaskKind::Summarization => {
            let (lo, hi) = (0..np)
                .map(score)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), s| {
                    (a.min(s), b.max(s))
                });
            np > 1 && hi - lo >= SCORE_GAP
        }
        _ => {
            let r: BTreeSet<bool> = (0..np).filter_map(|p| right(an, task, p, i)).collect();
            r.len() > 1
        }
    };
    let mut brcw = Vec::new();
    if let Some(b) = baseline {
        for c in (0..np).filter(|c| *c != b) {
            let hit = match (right(an, task, b, i), right(an, task, c, i)) {
                (Some(br), Some(cr)) => br && !cr,
                _ => score(b) - score(c) >= SCORE_GAP,
            };
            if hit {
                brcw.push(c);
            }
        }
    }
    ItemFlags {
        error,
        disagree,
        base_right_cand_wrong: brcw,
    }
}

/// Pick the items to embed: all of them when they fit, otherwise errors first, then baseline-right/candidate-wrong,
/// then disagreements, then the rest, each tier in dataset order, until `max`; returned in dataset order.
fn select_rows(flags: &[ItemFlags], max: usize) -> Vec<usize> {
    if flags.len() <= max {
        return (0..flags.len()).collect();
    }
    let tier = |f: &ItemFlags| {
        if f.error {
            0
        } else if !f.base_right_cand_wrong.is_empty() {
            1
        } else if f.disagree {
            2
        } else {
            3
        }
    };
    let mut chosen = Vec::with_capacity(max);
    for t in 0..4 {
        for (i, f) in flags.iter().enumerate() {
            if chosen.len() == max {
                break;
            }
            if tier(f) == t {
                chosen.push(i);
            }
        }
    }
    chosen.sort_unstable();
    chosen
}

fn role(p: &ProviderResult) -> &'static str {
    match p.role {
        ProviderRole::Baseline => "baseline",
        ProviderRole::Candidate => "candidate",
    }
}

/// USD with enough digits that small per-item costs do not print as zero (also used by the audit page).
pub(crate) fn money(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x == 0.0 {
        return "$0".into();
    }
    if x.abs() >= 0.01 {
        return format!("${x:.2}");
    }
    let digits = ((-x.abs().log10()).ceil() as usize + 2).min(10);
    format!("${x:.digits$}")
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn num(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else if x.is_nan() {
        "-".into()
    } else if x > 0.0 {
        "∞".into()
    } else {
        "-∞".into()
    }
}

fn interval(lo: f64, hi: f64, digits: usize) -> String {
    if lo.is_finite() && hi.is_finite() {
        format!("[{lo:.digits$}, {hi:.digits$}]")
    } else {
        String::new()
    }
}

/// The colour square of provider `i`: the same colour as in the charts (see `chart::provider_colors`).
fn swatch(r: &crate::summary::Results, i: usize) -> String {
    let c = super::chart::provider_colors(&r.providers)
        .get(i)
        .copied()
        .unwrap_or(i);
    format!(
        "<span class=\"sw\" style=\"background:{}\"></span>",
        color_hex(c)
    )
}

/// The report's style sheet (also used by the audit page, so both read alike).
pub(crate) const CSS: &str = r#"
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#dadce0;--bg:#fff;--soft:#f6f7f9;--pass:#137333;--passbg:#e6f4ea;--fail:#b3261e;--failbg:#fce8e6;--inc:#8a5a00;--incbg:#fef7e0}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1240px;margin:0 auto;padding:24px 28px 64px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:16px;margin:0}
.meta{color:var(--muted);margin:0 0 4px}
nav.toc{margin:12px 0 0;font-size:14px}nav.toc a{margin-right:14px;color:#1a5fb4}
table{border-collapse:collapse;width:100%;font-size:14px;margin:6px 0}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.tw{overflow-x:auto;max-width:100%}td:first-child{white-space:nowrap}
.half{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:0 18px}
.ci{color:var(--muted);font-size:12px;white-space:nowrap}
.gm{background:#eef3fd}
.sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:baseline}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:14px}
.card{border:1px solid var(--line);border-left:6px solid var(--muted);border-radius:8px;padding:12px 14px;break-inside:avoid}
.card.pass{border-left-color:var(--pass)}.card.fail{border-left-color:var(--fail)}.card.inconclusive,.card.incomplete{border-left-color:var(--inc)}
.banner.agreement{border:2px solid var(--inc);background:var(--incbg);padding:6px 14px;border-radius:6px;margin:8px 0}
.headline{font-size:18px;font-weight:600;margin:10px 0 6px;padding:10px 14px;border-radius:6px;border-left:6px solid var(--line);background:var(--soft)}
.headline.replace{border-left-color:var(--pass);background:var(--passbg)}.headline.none_yet,.headline.incomplete{border-left-color:var(--inc);background:var(--incbg)}
.banner.incomplete{border:2px solid var(--fail);background:var(--failbg);padding:10px 14px;border-radius:6px;margin:8px 0}
.card header{display:flex;justify-content:space-between;align-items:baseline;gap:8px;flex-wrap:wrap}
.badge{font-weight:700;font-size:13px;padding:2px 9px;border-radius:12px;letter-spacing:.03em;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.badge.pass{color:var(--pass);background:var(--passbg)}.badge.fail{color:var(--fail);background:var(--failbg)}.badge.inconclusive,.badge.incomplete{color:var(--inc);background:var(--incbg)}
.kv{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;font-size:14px;margin:8px 0}
.kv dt{color:var(--muted)}.kv dd{margin:0;font-variant-numeric:tabular-nums}
.reasons{margin:6px 0 0;padding-left:18px;font-size:13.5px}.reasons li{margin:3px 0}
.rule{font-size:12px;font-weight:700;margin-right:6px}.rule.pass{color:var(--pass)}.rule.fail{color:var(--fail)}.rule.inconclusive,.rule.not-measured{color:var(--inc)}
.tag{font-size:12px;color:var(--muted);border:1px solid var(--line);border-radius:10px;padding:0 7px}
figure{margin:14px 0 22px;break-inside:avoid}figure img{max-width:100%;height:auto;border:1px solid var(--line);border-radius:6px}
figcaption{color:var(--muted);font-size:13.5px;margin-top:4px}
.note{color:var(--muted);font-size:13.5px}
#controls{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0 12px;padding:8px 10px;background:var(--soft);border-radius:8px}
#controls button{font:inherit;font-size:14px;padding:4px 10px;border:1px solid var(--line);background:#fff;border-radius:14px;cursor:pointer}
#controls button[aria-pressed=true]{background:#1a5fb4;border-color:#1a5fb4;color:#fff}
#controls input,#controls select{font:inherit;font-size:14px;padding:3px 6px}
.pager{display:flex;gap:10px;align-items:center;margin:10px 0}.pager button{font:inherit;padding:3px 10px}
.item{border:1px solid var(--line);border-radius:8px;margin:0 0 12px;break-inside:avoid}
.item>header{display:flex;gap:8px;align-items:center;flex-wrap:wrap;padding:6px 10px;background:var(--soft);border-bottom:1px solid var(--line);border-radius:8px 8px 0 0}
.item .id{font-weight:700;font-family:ui-monospace,"DejaVu Sans Mono",monospace}
.flag{font-size:12px;padding:0 7px;border-radius:10px;background:#e8eaed}.flag.err{background:var(--failbg);color:var(--fail)}.flag.brcw{background:var(--incbg);color:var(--inc)}
.io{display:grid;grid-template-columns:2fr 1fr;gap:0;border-bottom:1px solid var(--line)}
.outs{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr))}
.cell{padding:8px 10px;min-width:0;border-right:1px solid var(--line)}.cell:last-child{border-right:0}
.cell h4{margin:0 0 4px;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.txt{white-space:pre-wrap;overflow-wrap:anywhere;font-size:13.5px;margin:0}
.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px}
.out.right{background:#f3faf5}.out.wrong{background:#fdf3f2}.out.err{background:#fff8e6}
.score{font-size:12.5px;margin-top:6px;color:var(--muted)}.score b{color:var(--fg)}
.clip{color:var(--muted);font-style:italic}
.k{color:var(--muted)}
@media (max-width:760px){.io{grid-template-columns:1fr}}
@media print{
 body{font-size:11.5px}main{max-width:none;padding:0}
 #controls,.pager button,nav.toc,noscript{display:none!important}
 h2{break-after:avoid}.item,.card,figure,table{break-inside:avoid}
 .item[hidden]{display:none}
 figure img{max-width:90%}
}
"#;

const JS: &str = r#"
(function(){
  var list=document.getElementById('items'); if(!list) return;
  var rows=Array.prototype.slice.call(list.querySelectorAll('.item'));
  var controls=document.getElementById('controls'); controls.hidden=false;
  var pager=document.querySelectorAll('.pager');
  var state={filter:'all',cand:'',q:'',page:0};
  var size=PAGE_SIZE;
  var text=[];
  function has(r,name){return r.hasAttribute(name);}
  function match(r,i){
    if(state.filter==='err'&&!has(r,'data-err')) return false;
    if(state.filter==='dis'&&!has(r,'data-dis')) return false;
    if(state.filter==='brcw'){
      var b=(r.getAttribute('data-brcw')||'').split(' ').filter(Boolean);
      if(state.cand?b.indexOf(state.cand)<0:b.length===0) return false;
    }
    if(state.q){ if(text[i]===undefined) text[i]=r.textContent.toLowerCase(); if(text[i].indexOf(state.q)<0) return false; }
    return true;
  }
  function update(){
    var m=[]; rows.forEach(function(r,i){ if(match(r,i)) m.push(r); r.hidden=true; });
    var pages=Math.max(1,Math.ceil(m.length/size)); if(state.page>=pages) state.page=pages-1; if(state.page<0) state.page=0;
    m.slice(state.page*size,(state.page+1)*size).forEach(function(r){ r.hidden=false; });
    var from=m.length?state.page*size+1:0, to=Math.min(m.length,(state.page+1)*size);
    Array.prototype.forEach.call(pager,function(p){
      p.hidden=false;
      p.querySelector('.pos').textContent='Items '+from+'–'+to+' of '+m.length+' matching (page '+(state.page+1)+' of '+pages+')';
      p.querySelector('.prev').disabled=state.page===0; p.querySelector('.next').disabled=state.page>=pages-1;
    });
  }
  Array.prototype.forEach.call(controls.querySelectorAll('button[data-filter]'),function(b){
    b.addEventListener('click',function(){
      state.filter=b.getAttribute('data-filter'); state.page=0;
      Array.prototype.forEach.call(controls.querySelectorAll('button[data-filter]'),function(o){o.setAttribute('aria-pressed',o===b?'true':'false');});
      update();
    });
  });
  var sel=document.getElementById('cand'); if(sel) sel.addEventListener('change',function(){state.cand=sel.value; state.page=0; update();});
  var q=document.getElementById('q'); q.addEventListener('input',function(){state.q=q.value.trim().toLowerCase(); state.page=0; update();});
  Array.prototype.forEach.call(pager,function(p){
    p.querySelector('.prev').addEventListener('click',function(){state.page--; update(); list.scrollIntoView();});
    p.querySelector('.next').addEventListener('click',function(){state.page++; update(); list.scrollIntoView();});
  });
  document.documentElement.setAttribute('data-js','ready');
  update();
})();
"#;

/// Everything the page is made from.
pub struct Page<'a> {
    /// The run's analysis.
    pub analysis: &'a Analysis,
    /// The suite as run (dataset field names, description).
    pub suite: &'a Suite,
    /// The dataset's items, aligned with the analysis.
    pub items: &'a [Item],
    /// Charts with their PNG bytes, in display order.
    pub charts: Vec<ChartImage<'a>>,
    /// Charts that could not be drawn, as messages.
    pub chart_errors: Vec<String>,
}

/// Render the whole page.
pub(super) fn render(page: &Page<'_>) -> String {
    let an = page.analysis;
    let r = &an.results;
    let task = page.suite.task;
    let baseline = r
        .providers
        .iter()
        .position(|p| p.role == ProviderRole::Baseline);
    let mut body = String::with_capacity(256 * 1024);
    let title = format!("evalh report — {}", r.suite);

    // Header.
    let _ = writeln!(body, "<header><h1>{}</h1>", escape(&title));
    if let Some(d) = &page.suite.description {
        let _ = writeln!(body, "<p class=\"meta\">{}</p>", escape(d));
    }
    let _ = writeln!(
        body,
        "<p class=\"meta\">{} task · {} items · {} repeat(s) · seed {} · evalh {} · gate metric <b>{}</b>: promote at ≥ {} × baseline quality for ≤ {} × its cost ({}% confidence, decision {}).</p>",
        escape(r.task.as_str()),
        r.n_items,
        r.repeats,
        r.seed,
        escape(&r.evalh_version),
        escape(&r.gate_metric),
        r.gate_config.min_quality_ratio,
        r.gate_config.max_cost_ratio,
        num(r.gate_config.confidence * 100.0, 0),
        escape(&format!("{:?}", r.gate_config.decision).to_lowercase()),
    );
    // The answer first: which candidate can replace the baseline, or why none can yet.
    let rec = &r.recommendation;
    let kind = serde_json::to_value(rec.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = writeln!(
        body,
        "<p class=\"headline {kind}\" id=\"recommendation\">{}</p>",
        escape(&rec.text)
    );
    let _ = writeln!(body, "<nav class=\"toc\"><a href=\"#verdicts\">Verdicts</a><a href=\"#metrics\">Metrics</a><a href=\"#cost\">Cost &amp; latency</a><a href=\"#charts\">Charts</a><a href=\"#tokens\">Token counts</a><a href=\"#errors\">Errors</a><a href=\"#drill\">Items</a></nav></header>");

    verdicts(&mut body, r);
    body.push_str(&super::review::html_section(r));
    body.push_str(&super::judge::html_section(r));
    metrics(&mut body, r);
    cost_latency(&mut body, r);
    charts(&mut body, page);
    tokens(&mut body, r);
    errors(&mut body, r);
    drill_down(&mut body, page, task, baseline);

    // The nonce depends on the whole body, model outputs included, so no dataset or output can predict it.
    let nonce = blake3::hash(body.as_bytes()).to_hex()[..32].to_string();
    let mut html = String::with_capacity(body.len() + CSS.len() + JS.len() + 1024);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"evalh {}\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}</main>\n<script nonce=\"{nonce}\">{}</script>\n</body>\n</html>\n",
        escape(&r.evalh_version),
        escape(&title),
        JS.replace("PAGE_SIZE", &PAGE_SIZE.to_string()),
    );
    html
}

fn verdicts(out: &mut String, r: &crate::summary::Results) {
    let _ = writeln!(out, "<section id=\"verdicts\"><h2>Verdicts</h2>");
    let agreement = crate::summary::agreement_lines(r);
    if !agreement.is_empty() {
        let _ = writeln!(
            out,
            "<div class=\"banner agreement\" role=\"note\">{}</div>",
            agreement
                .iter()
                .map(|l| format!("<p>{}</p>", escape(l)))
                .collect::<String>()
        );
    }
    if !r.complete {
        let reasons: Vec<String> = r
            .unsettled_by_reason
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(
            out,
            "<div class=\"banner incomplete\" role=\"alert\"><b>INCOMPLETE RUN — no verdicts.</b> {} request(s) are unsettled ({}). The figures below are partial. Resume with <code>evalh run --resume RUN_DIR</code> once the cause is fixed.</div>",
            r.unsettled_by_reason.values().sum::<usize>(),
            escape(&reasons.join(", "))
        );
    }
    for p in &r.providers {
        if let Some(f) = &p.failure_summary {
            let _ = writeln!(
                out,
                "<p class=\"note\"><b>{}</b>: {}</p>",
                escape(&p.id),
                escape(f)
            );
        }
    }
    if let Some(b) = r
        .providers
        .iter()
        .find(|p| p.role == ProviderRole::Baseline)
    {
        let _ = writeln!(
            out,
            "<p class=\"note\">Baseline: <b>{}</b> (<code>{}</code>) — {} {}, {} per 1,000 items.</p>",
            escape(&b.id),
            escape(&b.model),
            escape(&r.gate_metric),
            opt(b.metrics.get(&r.gate_metric).copied(), 3),
            money(b.cost_usd_per_1k_items)
        );
    }
    let _ = writeln!(out, "<div class=\"cards\">");
    let mut any = false;
    for (i, p) in r.providers.iter().enumerate() {
        let Some(g) = &p.gate else { continue };
        any = true;
        let v = g.verdict.as_str();
        let cls = v.to_ascii_lowercase();
        let _ = writeln!(
            out,
            "<article class=\"card verdict {cls}\" data-provider=\"{}\" data-verdict=\"{v}\"><header><h3>{}{}</h3><span class=\"badge {cls}\">{v}</span></header>",
            escape(&p.id),
            swatch(r, i),
            escape(&p.id),
        );
        let _ = writeln!(
            out,
            "<div class=\"meta\"><code>{}</code> · {}{}</div>",
            escape(&p.model),
            escape(&p.kind),
            if g.gated {
                String::new()
            } else {
                " · <span class=\"tag\">not gated (does not affect the exit code)</span>".into()
            }
        );
        let q_iv = match (g.quality_ratio_lower, g.quality_ratio_upper) {
            (Some(l), Some(u)) => format!(" <span class=\"ci\">{}</span>", interval(l, u, 3)),
            _ => String::new(),
        };
        let c_iv = match (g.evidence.cost.lower, g.evidence.cost.upper) {
            (Some(l), Some(u)) => format!(" <span class=\"ci\">{}</span>", interval(l, u, 3)),
            _ => String::new(),
        };
        let e = &g.evidence.errors;
        let rate = |k: u64, n: u64| {
            if n == 0 {
                "not measured".to_string()
            } else {
                format!("{} ({k}/{n})", pct(k as f64 / n as f64))
            }
        };
        let na =
            |v: Option<f64>, d: usize| v.map(|x| num(x, d)).unwrap_or_else(|| "undefined".into());
        let _ = writeln!(
            out,
            "<dl class=\"kv\"><dt>quality ratio</dt><dd>{}{q_iv} <span class=\"ci\">need ≥ {}</span></dd>\
             <dt>cost ratio</dt><dd>{}{c_iv} <span class=\"ci\">need ≤ {}</span></dd>\
             <dt>error rate</dt><dd>{} vs {} (baseline)</dd>\
             <dt>p99 latency Δ</dt><dd>{} ms</dd>{}</dl>",
            na(g.quality_ratio, 3),
            r.gate_config.min_quality_ratio,
            na(g.cost_ratio, 3),
            r.gate_config.max_cost_ratio,
            rate(e.cand_errors, e.cand_n),
            rate(e.base_errors, e.base_n),
            na(g.p99_latency_increase_ms, 0),
            g.items_needed
                .map(|n| format!("<dt>items to settle</dt><dd>about {n} (80% power)</dd>"))
                .unwrap_or_default(),
        );
        let _ = writeln!(out, "<ul class=\"reasons\">");
        for rule in &g.rules {
            let st = match rule.status {
                RuleStatus::Pass => "pass",
                RuleStatus::Fail => "fail",
                RuleStatus::Inconclusive => "inconclusive",
                RuleStatus::NotMeasured => "not-measured",
            };
            let _ = writeln!(
                out,
                "<li><span class=\"rule {st}\">{}</span>{}: {}</li>",
                st.to_ascii_uppercase(),
                escape(&rule.name),
                escape(&rule.detail)
            );
        }
        let _ = writeln!(out, "</ul></article>");
    }
    if !any {
        let _ = writeln!(
            out,
            "<p class=\"note\">No candidate was gated (the suite has no baseline or no candidates).</p>"
        );
    }
    let overall = overall_gate(r);
    let _ = writeln!(
        out,
        "</div><p class=\"note\">Gate: {overall}.</p></section>"
    );
}

/// What the exit code says of the gated candidates, in words (an INCONCLUSIVE one let through by
/// `on_inconclusive` is never called a pass).
fn overall_gate(r: &crate::summary::Results) -> &'static str {
    let any_pass = r
        .providers
        .iter()
        .filter_map(|p| p.gate.as_ref())
        .any(|g| g.gated && g.verdict == crate::gate::Verdict::Pass);
    let any_waived = r
        .providers
        .iter()
        .filter_map(|p| p.gate.as_ref())
        .any(|g| g.gated && g.verdict == crate::gate::Verdict::Inconclusive);
    match (r.gate_config.require, r.gate_exit_code) {
        (_, 3) => "the run is incomplete (exit code 3)",
        (crate::suite::Require::All, 0) if any_waived => {
            "no gated candidate failed; the INCONCLUSIVE ones are let through by gate.on_inconclusive (require: all; exit code 0)"
        }
        (crate::suite::Require::Any, 0) if !any_pass => {
            "no gated candidate passed; INCONCLUSIVE ones are let through by gate.on_inconclusive (require: any; exit code 0)"
        }
        (crate::suite::Require::All, 0) => {
            "every gated candidate passed (require: all; exit code 0)"
        }
        (crate::suite::Require::All, _) => {
            "a gated candidate did not pass (require: all; exit code 1)"
        }
        (crate::suite::Require::Any, 0) => {
            "at least one gated candidate passed (require: any; exit code 0)"
        }
        (crate::suite::Require::Any, _) => "no gated candidate passed (require: any; exit code 1)",
    }
}

fn metrics(out: &mut String, r: &crate::summary::Results) {
    let names: Vec<&String> = r
        .providers
        .iter()
        .flat_map(|p| p.metrics.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let conf = num(r.gate_config.confidence * 100.0, 0);
    let _ = writeln!(out, "<section id=\"metrics\"><h2>Metrics</h2><p class=\"note\">Point estimate and {conf}% confidence interval (t interval for per-item means, percentile bootstrap for corpus metrics). The gate metric is highlighted.</p><div class=\"tw\"><table><thead><tr><th>provider</th><th>role</th>");
    for m in &names {
        let cls = if **m == r.gate_metric { " gm" } else { "" };
        let _ = write!(out, "<th class=\"n{cls}\">{}</th>", escape(m));
    }
    let _ = writeln!(
        out,
        "<th class=\"n\">format validity</th></tr></thead><tbody>"
    );
    for (i, p) in r.providers.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td>{}{}</td><td>{}</td>",
            swatch(r, i),
            escape(&p.id),
            role(p)
        );
        for m in &names {
            let cls = if **m == r.gate_metric { " gm" } else { "" };
            let v = p.metrics.get(*m).copied();
            let iv = p
                .metric_intervals
                .get(*m)
                .map(|i| interval(i.lower, i.upper, 3))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<td class=\"n{cls}\">{}<br><span class=\"ci\">{}</span></td>",
                v.map(|v| num(v, 3)).unwrap_or_else(|| "-".into()),
                iv
            );
        }
        let _ = writeln!(out, "<td class=\"n\">{}</td></tr>", pct(p.format_validity));
    }
    let _ = writeln!(out, "</tbody></table></div>");
    if r.providers.iter().any(|p| p.consistency.is_some()) {
        let _ = writeln!(out, "<div class=\"tw\"><table><thead><tr><th>provider</th><th class=\"n\">repeats</th><th class=\"n\">items whose repeats agree</th><th class=\"n\">pass^k</th></tr></thead><tbody>");
        for p in &r.providers {
            if let Some(c) = &p.consistency {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    escape(&p.id),
                    c["repeats"].as_u64().unwrap_or(0),
                    c["consistent_items"].as_f64().map(pct).unwrap_or_default(),
                    c["pass_hat_k"].as_f64().map(pct).unwrap_or_default(),
                );
            }
        }
        let _ = writeln!(out, "</tbody></table></div>");
    }
    let _ = writeln!(out, "</section>");
}

fn cost_latency(out: &mut String, r: &crate::summary::Results) {
    let ttft = r.providers.iter().any(|p| p.ttft_ms.p50.is_some());
    let _ = write!(out, "<section id=\"cost\"><h2>Cost and latency</h2><div class=\"tw\"><table><thead><tr><th>provider</th><th class=\"n\">ok / failed / missing</th><th class=\"n\">cached</th><th class=\"n\">cost total</th><th class=\"n\">per item</th><th class=\"n\">per 1,000 items</th><th class=\"n\">tokens in / out</th><th class=\"n\">p50 ms</th><th class=\"n\">p95 ms</th><th class=\"n\">p99 ms</th>");
    if ttft {
        let _ = write!(out, "<th class=\"n\">TTFT p50 / p99 ms</th>");
    }
    let _ = writeln!(out, "<th class=\"n\">retries</th></tr></thead><tbody>");
    for (i, p) in r.providers.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td>{}{}</td><td class=\"n\">{} / {} / {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} / {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            swatch(r, i),
            escape(&p.id),
            p.n_ok,
            p.n_errors,
            p.n_missing,
            p.n_cached,
            money(p.cost_usd_total),
            money(p.cost_usd_per_item),
            money(p.cost_usd_per_1k_items),
            p.tokens.input,
            p.tokens.output,
            opt(p.latency_ms.p50, 0),
            opt(p.latency_ms.p95, 0),
            opt(p.latency_ms.p99, 0),
        );
        if ttft {
            let _ = write!(
                out,
                "<td class=\"n\">{} / {}</td>",
                opt(p.ttft_ms.p50, 0),
                opt(p.ttft_ms.p99, 0)
            );
        }
        let _ = writeln!(out, "<td class=\"n\">{}</td></tr>", p.retries);
    }
    let _ = writeln!(
        out,
        "</tbody></table></div><p class=\"note\">Latency: {}. Prices: {}.</p></section>",
        escape(&r.latency_method),
        escape(&r.price_table)
    );
}

fn charts(out: &mut String, page: &Page<'_>) {
    let _ = writeln!(out, "<section id=\"charts\"><h2>Charts</h2>");
    if page.charts.is_empty() {
        let _ = writeln!(out, "<p class=\"note\">No charts were drawn.</p>");
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut in_half = false;
    for c in &page.charts {
        if c.chart.half != in_half {
            out.push_str(if c.chart.half {
                "<div class=\"half\">"
            } else {
                "</div>"
            });
            in_half = c.chart.half;
        }
        let _ = writeln!(
            out,
            "<figure><img src=\"data:image/png;base64,{}\" alt=\"{}\"><figcaption><b>{}</b> — {} <span class=\"ci\">({})</span></figcaption></figure>",
            b64.encode(&c.png),
            escape(&c.chart.title),
            escape(&c.chart.title),
            escape(&c.chart.caption),
            escape(&c.chart.file),
        );
    }
    if in_half {
        out.push_str("</div>");
    }
    for e in &page.chart_errors {
        let _ = writeln!(out, "<p class=\"note\">Not drawn: {}</p>", escape(e));
    }
    let _ = writeln!(out, "</section>");
}

fn tokens(out: &mut String, r: &crate::summary::Results) {
    let _ = writeln!(out, "<section id=\"tokens\"><h2>Token-count discrepancy</h2><p class=\"note\">Prompt tokens the provider reported ÷ evalh's local estimate, per request. Far from 1 means <code>evalh plan</code>'s cost estimates for this provider are off by that factor (different tokenizer, hidden system tokens).</p><div class=\"tw\"><table><thead><tr><th>provider</th><th class=\"n\">requests compared</th><th class=\"n\">mean ratio</th><th class=\"n\">sd</th><th class=\"n\">min</th><th class=\"n\">max</th><th class=\"n\">usage estimated locally</th><th class=\"n\">cached input tokens</th><th class=\"n\">reasoning tokens</th></tr></thead><tbody>");
    for (i, p) in r.providers.iter().enumerate() {
        let d = &p.token_discrepancy;
        let _ = writeln!(
            out,
            "<tr><td>{}{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            swatch(r, i),
            escape(&p.id),
            d.n,
            opt(d.ratio_mean, 3),
            opt(d.ratio_sd, 3),
            opt(d.ratio_min, 3),
            opt(d.ratio_max, 3),
            p.tokens.estimated_records,
            p.tokens.cached_input,
            p.tokens.reasoning,
        );
    }
    let _ = writeln!(out, "</tbody></table></div></section>");
}

fn errors(out: &mut String, r: &crate::summary::Results) {
    let classes: Vec<&String> = r
        .providers
        .iter()
        .flat_map(|p| p.errors_by_class.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let conf = num(r.gate_config.confidence * 100.0, 0);
    let _ = writeln!(out, "<section id=\"errors\"><h2>Errors by class</h2><p class=\"note\">Requests that finally failed, after retries (all repeats). The error rate is over items (repeat 0), with its {conf}% Wilson interval.</p><div class=\"tw\"><table><thead><tr><th>provider</th><th class=\"n\">error rate</th>");
    for c in &classes {
        let _ = write!(out, "<th class=\"n\">{}</th>", escape(c));
    }
    let _ = writeln!(out, "<th class=\"n\">total</th></tr></thead><tbody>");
    for (i, p) in r.providers.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td>{}{}</td><td class=\"n\">{} <span class=\"ci\">{}</span></td>",
            swatch(r, i),
            escape(&p.id),
            pct(p.error_rate),
            interval(
                p.error_rate_interval.lower * 100.0,
                p.error_rate_interval.upper * 100.0,
                1
            )
        );
        for c in &classes {
            let _ = write!(
                out,
                "<td class=\"n\">{}</td>",
                p.errors_by_class.get(*c).copied().unwrap_or(0)
            );
        }
        let _ = writeln!(
            out,
            "<td class=\"n\">{}</td></tr>",
            p.errors_by_class.values().sum::<usize>()
        );
    }
    let _ = writeln!(out, "</tbody></table></div>");
    if classes.is_empty() {
        let _ = writeln!(out, "<p class=\"note\">No request failed.</p>");
    }
    // Function calling: what kind of wrong the calls were.
    fn error_types(p: &ProviderResult) -> Option<&std::collections::BTreeMap<String, u64>> {
        p.details.function_calling().map(|d| &d.error_types)
    }
    let kinds: Vec<&String> = r
        .providers
        .iter()
        .filter_map(error_types)
        .flat_map(|o| o.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !kinds.is_empty() {
        let _ = writeln!(
            out,
            "<h3>Wrong calls by type</h3><div class=\"tw\"><table><thead><tr><th>provider</th>"
        );
        for k in &kinds {
            let _ = write!(out, "<th class=\"n\">{}</th>", escape(k));
        }
        let _ = writeln!(out, "</tr></thead><tbody>");
        for p in &r.providers {
            let _ = write!(out, "<tr><td>{}</td>", escape(&p.id));
            for k in &kinds {
                let _ = write!(
                    out,
                    "<td class=\"n\">{}</td>",
                    error_types(p)
                        .and_then(|t| t.get(k.as_str()))
                        .copied()
                        .unwrap_or(0)
                );
            }
            let _ = writeln!(out, "</tr>");
        }
        let _ = writeln!(out, "</tbody></table></div>");
    }
    let _ = writeln!(out, "</section>");
}

/// A dataset value as display text: strings as they are, anything else as pretty JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// Every item's drill-down flags (errors, disagreements, baseline right and candidate wrong).
fn all_flags(
    an: &Analysis,
    n_items: usize,
    task: TaskKind,
    baseline: Option<usize>,
) -> Vec<ItemFlags> {
    let n = n_items.min(
        an.scores
            .iter()
            .map(|s| s.item_score.len())
            .min()
            .unwrap_or(0),
    );
    (0..n).map(|i| flags(an, task, baseline, i)).collect()
}

/// The positions of the items whose rows the report's drill-down shows (their fields must be in memory when the page
/// is written: see `dataset::restore_fields`).
pub fn shown_items(an: &Analysis, task: TaskKind, n_items: usize) -> Vec<usize> {
    let baseline = an
        .results
        .providers
        .iter()
        .position(|p| p.role == ProviderRole::Baseline);
    select_rows(&all_flags(an, n_items, task, baseline), MAX_ROWS)
}

fn drill_down(out: &mut String, page: &Page<'_>, task: TaskKind, baseline: Option<usize>) {
    let an = page.analysis;
    let r = &an.results;
    let items = page.items;
    let np = r.providers.len().min(an.scores.len()).min(an.records.len());
    let all = all_flags(an, items.len(), task, baseline);
    let n = all.len();
    let rows = select_rows(&all, MAX_ROWS);
    let count = |f: &dyn Fn(&ItemFlags) -> bool, among: &mut dyn Iterator<Item = &ItemFlags>| {
        among.filter(|x| f(x)).count()
    };
    let is_err = |f: &ItemFlags| f.error;
    let is_dis = |f: &ItemFlags| f.disagree;
    let is_brcw = |f: &ItemFlags| !f.base_right_cand_wrong.is_empty();
    let shown_flags: Vec<&ItemFlags> = rows.iter().map(|i| &all[*i]).collect();
    let n_err = count(&is_err, &mut all.iter());
    let n_dis = count(&is_dis, &mut all.iter());
    let n_brcw = count(&is_brcw, &mut all.iter());
    let e_err = count(&is_err, &mut shown_flags.iter().copied());
    let e_dis = count(&is_dis, &mut shown_flags.iter().copied());
    let e_brcw = count(&is_brcw, &mut shown_flags.iter().copied());
    let brcw_name = if task == TaskKind::Summarization {
        format!("Baseline ≥ {SCORE_GAP} better")
    } else {
        "Baseline right, candidate wrong".to_string()
    };
    let dis_def = match task {
        TaskKind::Classification => "providers predicted different labels".to_string(),
        TaskKind::Summarization => format!("per-item scores differ by ≥ {SCORE_GAP}"),
        TaskKind::Extraction => {
            "some providers extracted the record exactly and others did not".into()
        }
        TaskKind::FunctionCalling => "some providers made the right call and others did not".into(),
    };

    let _ = writeln!(out, "<section id=\"drill\"><h2>Items</h2>");
    let _ = writeln!(
        out,
        "<p class=\"note\" id=\"drill-counts\">{n} items: <b>{n_err}</b> with a failed or missing request, <b>{n_brcw}</b> {} (per candidate below), <b>{n_dis}</b> disagreements ({}).</p>",
        escape(&brcw_name.to_lowercase()),
        escape(&dis_def)
    );
    if rows.len() < n {
        let _ = writeln!(
            out,
            "<p class=\"note\"><b>{} of {n} items are embedded</b> to keep this page fast: every item with a failed request first, then {}, then disagreements, then the rest, in dataset order (embedded: {e_err} with errors, {e_brcw} {}, {e_dis} disagreements). Every item is in <code>journal.jsonl</code>; <code>evalh score</code> recomputes from it.</p>",
            rows.len(),
            escape(&brcw_name.to_lowercase()),
            escape(&brcw_name.to_lowercase()),
        );
    }
    if let Some(b) = baseline {
        candidate_table(out, an, task, &all, b, np, n, &brcw_name);
    }
    controls_bar(
        out,
        r,
        baseline,
        np,
        rows.len(),
        (e_err, e_dis, e_brcw),
        &brcw_name,
    );
    let pager = "<div class=\"pager\" hidden><button type=\"button\" class=\"prev\">← Previous</button><span class=\"pos\"></span><button type=\"button\" class=\"next\">Next →</button></div>";
    let _ = writeln!(out, "{pager}<div id=\"items\">");
    for i in rows {
        item_article(out, page, task, baseline, i, &all[i], &brcw_name, np);
    }
    let _ = writeln!(out, "</div>{pager}</section>");
}

/// Per candidate: items where the baseline was right and the candidate wrong, and the reverse.
#[allow(clippy::too_many_arguments)]
fn candidate_table(
    out: &mut String,
    an: &Analysis,
    task: TaskKind,
    all: &[ItemFlags],
    b: usize,
    np: usize,
    n: usize,
    brcw_name: &str,
) {
    let r = &an.results;
    let _ = writeln!(out, "<div class=\"tw\"><table><thead><tr><th>candidate</th><th class=\"n\">{} (vs baseline {})</th><th class=\"n\">the reverse</th></tr></thead><tbody>", escape(&brcw_name.to_lowercase()), escape(&r.providers[b].id));
    for c in (0..np).filter(|c| *c != b) {
        let fwd = all
            .iter()
            .filter(|f| f.base_right_cand_wrong.contains(&c))
            .count();
        let rev = (0..n)
            .filter(|i| match (right(an, task, c, *i), right(an, task, b, *i)) {
                (Some(cr), Some(br)) => cr && !br,
                _ => an.scores[c].item_score[*i] - an.scores[b].item_score[*i] >= SCORE_GAP,
            })
            .count();
        let _ = writeln!(
            out,
            "<tr><td>{}{}</td><td class=\"n\">{fwd}</td><td class=\"n\">{rev}</td></tr>",
            swatch(r, c),
            escape(&r.providers[c].id)
        );
    }
    let _ = writeln!(out, "</tbody></table></div>");
}

/// The filter buttons, candidate selector and search box (hidden until the page's script shows them).
fn controls_bar(
    out: &mut String,
    r: &crate::summary::Results,
    baseline: Option<usize>,
    np: usize,
    shown: usize,
    (e_err, e_dis, e_brcw): (usize, usize, usize),
    brcw_name: &str,
) {
    // Controls: hidden until the script shows them (they do nothing without it).
    let _ = write!(
        out,
        "<div id=\"controls\" hidden><button type=\"button\" data-filter=\"all\" aria-pressed=\"true\">All ({})</button>\
         <button type=\"button\" data-filter=\"err\" aria-pressed=\"false\">Errors ({e_err})</button>\
         <button type=\"button\" data-filter=\"dis\" aria-pressed=\"false\">Disagreements ({e_dis})</button>\
         <button type=\"button\" data-filter=\"brcw\" aria-pressed=\"false\">{} ({e_brcw})</button>",
        shown,
        escape(brcw_name)
    );
    if let Some(b) = baseline {
        let _ = write!(
            out,
            "<label>candidate <select id=\"cand\"><option value=\"\">any</option>"
        );
        for c in (0..np).filter(|c| *c != b) {
            let _ = write!(
                out,
                "<option value=\"{c}\">{}</option>",
                escape(&r.providers[c].id)
            );
        }
        let _ = write!(out, "</select></label>");
    }
    let _ = writeln!(out, "<label>search <input id=\"q\" type=\"search\" placeholder=\"id or text\"></label><span class=\"note\">counts are of embedded items</span></div>");
    let _ = writeln!(out, "<noscript><p class=\"note\">JavaScript is off: all {} embedded items are listed below; the filters and pages need JavaScript.</p></noscript>", shown);
}

/// One item: its input, expected answer and every provider's output.
#[allow(clippy::too_many_arguments)]
fn item_article(
    out: &mut String,
    page: &Page<'_>,
    task: TaskKind,
    baseline: Option<usize>,
    i: usize,
    f: &ItemFlags,
    brcw_name: &str,
    np: usize,
) {
    let r = &page.analysis.results;
    let item = &page.items[i];
    let id_field = page.suite.dataset.id.as_deref();
    let expected_field = page.suite.dataset.expected.as_str();
    let _ = write!(out, "<article class=\"item\" data-idx=\"{i}\"");
    if f.error {
        let _ = write!(out, " data-err=\"\"");
    }
    if f.disagree {
        let _ = write!(out, " data-dis=\"\"");
    }
    if !f.base_right_cand_wrong.is_empty() {
        let list: Vec<String> = f
            .base_right_cand_wrong
            .iter()
            .map(usize::to_string)
            .collect();
        let _ = write!(out, " data-brcw=\"{}\"", list.join(" "));
    }
    let _ = write!(
        out,
        "><header><span class=\"id\">{}</span><span class=\"note\">#{} · line {}</span>",
        escape(&item.id),
        i + 1,
        item.line
    );
    if f.error {
        let _ = write!(out, "<span class=\"flag err\">error</span>");
    }
    if !f.base_right_cand_wrong.is_empty() {
        let names: Vec<String> = f
            .base_right_cand_wrong
            .iter()
            .map(|c| escape(&r.providers[*c].id))
            .collect();
        let _ = write!(
            out,
            "<span class=\"flag brcw\">{}: {}</span>",
            escape(&brcw_name.to_lowercase()),
            names.join(", ")
        );
    }
    if f.disagree {
        let _ = write!(out, "<span class=\"flag\">disagreement</span>");
    }
    let _ = write!(
        out,
        "</header><div class=\"io\"><div class=\"cell\"><h4>input</h4><div class=\"txt\">"
    );
    let mut first = true;
    for (k, v) in &item.fields() {
        if Some(k.as_str()) == id_field || k == expected_field {
            continue;
        }
        if !first {
            out.push('\n');
        }
        first = false;
        let _ = write!(
            out,
            "<span class=\"k\">{}:</span> {}",
            escape(k),
            clipped(&value_text(v))
        );
    }
    let _ = write!(
        out,
        "</div></div><div class=\"cell\"><h4>expected</h4><div class=\"txt{}\">{}</div></div></div><div class=\"outs\">",
        if item.expected.is_string() { "" } else { " mono" },
        clipped(&if item.expected.is_null() {
            // Agreement scoring: an unlabelled row is scored against the reference only.
            "(unlabelled: scored against the reference)".to_string()
        } else {
            value_text(&item.expected)
        })
    );
    for p in 0..np {
        provider_output(out, page.analysis, task, baseline, p, i);
    }
    let _ = writeln!(out, "</div></article>");
}

/// Provider `p`'s output for item `i`, with its score, note, latency and cost.
fn provider_output(
    out: &mut String,
    an: &Analysis,
    task: TaskKind,
    baseline: Option<usize>,
    p: usize,
    i: usize,
) {
    let r = &an.results;
    let pr = &r.providers[p];
    let s = &an.scores[p];
    let rec = an.records[p].get(i).and_then(Option::as_ref);
    let state = match (rec, right(an, task, p, i)) {
        (None, _) => "err",
        (Some(rec), _) if rec.error().is_some() => "err",
        (_, Some(true)) => "right",
        (_, Some(false)) => "wrong",
        (_, None) => "na",
    };
    let _ = write!(
        out,
        "<div class=\"cell out {state}\" data-p=\"{p}\"><h4>{}{}{}</h4>",
        swatch(r, p),
        escape(&pr.id),
        if p == baseline.unwrap_or(usize::MAX) {
            " (baseline)"
        } else {
            ""
        }
    );
    match rec {
        None => {
            let _ = write!(
                out,
                "<div class=\"txt\"><i>no record (request never finished)</i></div>"
            );
        }
        Some(rec) => {
            if let Some(e) = rec.error() {
                let _ = write!(
                    out,
                    "<div class=\"txt\"><b>error</b> {}{}: {}</div>",
                    escape(e.class.as_str()),
                    e.status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(),
                    clipped(&e.message)
                );
            } else {
                if !rec.output_text.is_empty() || rec.tool_calls().is_empty() {
                    let _ = write!(
                        out,
                        "<div class=\"txt\">{}</div>",
                        clipped(&rec.output_text)
                    );
                }
                for call in rec.tool_calls() {
                    let args = serde_json::to_string(&call.arguments).unwrap_or_default();
                    let _ = write!(
                        out,
                        "<div class=\"txt mono\">{}({})</div>",
                        escape(&call.name),
                        clipped(&args)
                    );
                }
            }
        }
    }
    let note = s.notes.get(i).unwrap_or("");
    let _ = writeln!(
        out,
        "<div class=\"score\">score <b>{}</b>{}{}</div></div>",
        num(s.item_score.get(i).copied().unwrap_or(0.0), 3),
        if note.is_empty() {
            String::new()
        } else {
            format!(" · {}", clipped(note))
        },
        rec.map(|r| format!(" · {:.0} ms · {}", r.latency_ms, money(r.cost_usd)))
            .unwrap_or_default()
    );
}

/// Render and write `report.html` into the run directory; returns its path.
pub fn write(run_dir: &Path, page: &Page<'_>) -> crate::error::Result<PathBuf> {
    let path = run_dir.join(REPORT_FILE);
    super::write_atomic(&path, render(page).as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'q'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"
        );
        assert_eq!(
            escape("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(escape("plain text, ünïcödé ✓"), "plain text, ünïcödé ✓");
        assert_eq!(escape("a\u{0}b\tc\n"), "a\\u{0}b\tc\n");
        assert_eq!(escape(""), "");
        // Escaping is not idempotent on purpose: text that looks like an entity is shown as typed.
        assert_eq!(escape("&lt;"), "&amp;lt;");
    }

    #[test]
    fn clipped_counts_what_it_leaves_out() {
        let long = "<".repeat(MAX_TEXT + 10);
        let c = clipped(&long);
        assert!(c.contains("10 more characters"));
        assert!(
            !c.contains('<')
                || c.matches('<').count()
                    == c.matches("<span").count() + c.matches("</span").count()
        );
        assert_eq!(clipped("a<b"), "a&lt;b");
    }

    #[test]
    fn selection_prioritises_errors_then_regressions_then_disagreements() {
        let mk = |error, disagree, brcw: &[usize]| ItemFlags {
            error,
            disagree,
            base_right_cand_wrong: brcw.to_vec(),
        };
        let mut f = vec![mk(false, false, &[]); 10];
        f[7] = mk(true, false, &[]);
        f[5] = mk(false, true, &[]);
        f[3] = mk(false, true, &[1]);
        f[9] = mk(false, true, &[]);
        assert_eq!(select_rows(&f, 3), vec![3, 5, 7]);
        assert_eq!(select_rows(&f, 5), vec![0, 3, 5, 7, 9]);
        assert_eq!(select_rows(&f, 100).len(), 10);
        assert!(select_rows(&f, 0).is_empty());
    }

    #[test]
    fn numbers_render_without_nan() {
        assert_eq!(num(f64::NAN, 2), "-");
        assert_eq!(num(f64::INFINITY, 2), "∞");
        assert_eq!(interval(f64::NAN, 1.0, 2), "");
        assert_eq!(interval(0.5, 1.0, 2), "[0.50, 1.00]");
        assert_eq!(money(4.83e-6), "$0.00000483");
        assert_eq!(money(0.27), "$0.27");
        assert_eq!(money(0.0), "$0");
    }
}
