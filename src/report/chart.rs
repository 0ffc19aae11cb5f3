//! PNG charts of a run: quality vs cost with the promotion region, latency CDFs, and the task's breakdowns
//! (per-class F1 and confusion matrices, score distributions, per-field and per-function accuracy).
//!
//! Why this module exists: the gate's verdict is a handful of numbers, but a reviewer deciding whether to trust it
//! wants to *see* where each candidate sits relative to the baseline and the threshold, how its latency is
//! distributed and which classes or functions it gets wrong. The charts are written next to `results.json` (so the
//! Markdown summary can link them) and inlined into `report.html`.
//!
//! Text is drawn with the DejaVu fonts embedded in the binary (the `dejavu` crate) through plotters' pure-Rust
//! `ab_glyph` rasteriser, so rendering needs no fontconfig/freetype and gives the same pixels on every machine.
//! Every chart is a pure function of the run's results: same journal, same PNG bytes.

use crate::metrics;
use crate::score::{ClassificationDetails, FunctionAccuracy};
use crate::suite::{GateSpec, ProviderRole, TaskKind};
use crate::summary::{Analysis, ProviderResult, Results};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::OnceLock;

/// Directory (inside the run directory) the PNGs are written to.
pub(super) const CHARTS_DIR: &str = "charts";

/// Default chart size in pixels.
const W: u32 = 1000;
const H: u32 = 600;
/// The font family every chart uses (registered from the embedded DejaVu Sans).
const FONT: &str = "sans-serif";
/// At most this many points are drawn per CDF line (quantiles of the full sample).
const CDF_POINTS: usize = 800;

/// Provider colours: the Okabe–Ito palette (distinguishable with the common colour-vision deficiencies).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x44, 0x44, 0x44),
    RGBColor(0xB8, 0xA9, 0x00),
];
const GRID: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
const REGION: RGBColor = RGBColor(0x2E, 0x9E, 0x4F);

/// Palette colour `i` (see [`provider_colors`]) as CSS hex — the HTML report uses the same colours.
pub fn color_hex(i: usize) -> String {
    let c = PALETTE[i % PALETTE.len()];
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The palette index of each provider (suite order), so a provider keeps its colour in every suite and run: the
/// baseline always has the first colour; a candidate has the one its id hashes to (FNV-1a) among the other seven,
/// or the next free one when an earlier candidate of the suite already holds it (with more than seven candidates,
/// colours repeat).
pub(super) fn provider_colors(providers: &[crate::summary::ProviderResult]) -> Vec<usize> {
    let mut taken = [false; PALETTE.len()];
    let mut out = Vec::with_capacity(providers.len());
    for p in providers {
        if p.role == ProviderRole::Baseline {
            taken[0] = true;
            out.push(0);
            continue;
        }
        let hash = p.id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        let others = PALETTE.len() - 1;
        let start = (hash % others as u64) as usize;
        let slot = (0..others)
            .map(|k| 1 + (start + k) % others)
            .find(|c| !taken[*c])
            .unwrap_or(1 + start);
        taken[slot] = true;
        out.push(slot);
    }
    out
}

/// One chart written to disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Path relative to the run directory, '/'-separated (e.g. `charts/latency_cdf.png`).
    pub file: String,
    /// Title (also the image's alt text).
    pub title: String,
    /// One sentence on how to read it.
    pub caption: String,
    /// Drawn narrow, to be shown two per row (the per-provider confusion matrices).
    pub half: bool,
}

/// A chart that could not be drawn (the other charts are still written).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("chart {file}: {message}")]
pub struct ChartError {
    /// The chart's file name.
    pub file: String,
    /// What went wrong.
    pub message: String,
}

/// Register the embedded DejaVu fonts with plotters once per process, for every family name a chart may ask for.
fn fonts() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            for (style, bytes) in [
                (FontStyle::Normal, dejavu::sans::regular()),
                (FontStyle::Bold, dejavu::sans::bold()),
                (FontStyle::Italic, dejavu::sans::oblique()),
                (FontStyle::Oblique, dejavu::sans::oblique()),
            ] {
                plotters::style::register_font(family, style, bytes)
                    .map_err(|_| format!("the embedded DejaVu font for {family} did not load"))?;
            }
        }
        Ok(())
    })
    .clone()
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn font(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

fn bold(size: f64) -> TextStyle<'static> {
    (FONT, size, FontStyle::Bold).into_font().color(&BLACK)
}

/// Shorten `s` to at most `max` characters, marking the cut with an ellipsis.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A point of the quality-vs-cost chart.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct QualityPoint {
    /// Provider id.
    pub id: String,
    /// Whether this is the baseline.
    pub baseline: bool,
    /// Mean cost per 1,000 items, USD.
    pub cost_per_1k: f64,
    /// The gate metric.
    pub quality: f64,
    /// Its confidence interval, when finite.
    pub interval: Option<(f64, f64)>,
    /// Palette index ([`provider_colors`]).
    pub color: usize,
}

/// A category chart's series: one provider's value per category (None = not measured).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Series {
    /// Legend label.
    pub label: String,
    /// Palette index (provider position).
    pub color: usize,
    /// One value per category.
    pub values: Vec<Option<f64>>,
}

fn new_root(path: &Path, w: u32, h: u32) -> Result<DrawingArea<BitMapBackend<'_>, Shift>, String> {
    fonts()?;
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    Ok(root)
}

/// Title (bold) and subtitle at the top of the image; returns the area below them.
fn header<'a>(
    root: &DrawingArea<BitMapBackend<'a>, Shift>,
    title: &str,
    subtitle: &str,
) -> Result<DrawingArea<BitMapBackend<'a>, Shift>, String> {
    let (w, _) = root.dim_in_pixel();
    root.draw(&Text::new(
        shorten(title, 90),
        (w as i32 / 2, 14),
        bold(22.0).pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(err)?;
    if !subtitle.is_empty() {
        root.draw(&Text::new(
            shorten(subtitle, 130),
            (w as i32 / 2, 44),
            font(14.0)
                .color(&RGBColor(0x55, 0x55, 0x55))
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(err)?;
    }
    Ok(root.margin(if subtitle.is_empty() { 48 } else { 68 }, 10, 10, 24))
}

fn usd_label(x: f64) -> String {
    if !(x.is_finite() && x > 0.0) {
        "$0".into()
    } else if x >= 100.0 {
        format!("${x:.0}")
    } else if x >= 1.0 {
        format!("${x:.2}")
    } else {
        let digits = ((-x.log10()).ceil().clamp(0.0, 8.0) as usize) + 1;
        format!("${x:.digits$}")
    }
}

/// The x range of the quality chart (costs, log10 when `log`): every point, the region's cost edge, and room on the
/// right for each point's label.
fn quality_x_range(
    points: &[QualityPoint],
    base: Option<&QualityPoint>,
    gate: &GateSpec,
    log: bool,
) -> (f64, f64) {
    let tx = |c: f64| if log { c.log10() } else { c };
    let costs: Vec<f64> = points.iter().map(|p| tx(p.cost_per_1k)).collect();
    let (mut x0, mut x1) = costs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), c| {
            (a.min(*c), b.max(*c))
        });
    if let Some(b) = base {
        x0 = x0.min(tx(b.cost_per_1k * gate.max_cost_ratio));
    }
    if log {
        let pad = ((x1 - x0) * 0.12).max(0.15);
        x0 -= pad;
        x1 += pad;
    } else {
        x0 = 0.0;
        x1 = if x1 > 0.0 { x1 * 1.15 } else { 1.0 };
    }
    // Room on the right for every point's label: a label of L px at x needs x + L/plot_w × (x1 − x0) <= x1.
    let plot_w = f64::from(W) - 72.0 - 24.0 - 34.0;
    for (p, x) in points.iter().zip(&costs) {
        let label = if p.baseline {
            format!("{} (baseline)", p.id)
        } else {
            p.id.clone()
        };
        let l = f64::from(
            font(15.0)
                .font
                .box_size(&shorten(&label, 32))
                .map(|s| s.0)
                .unwrap_or(0),
        ) + 24.0;
        let f = (l / plot_w).min(0.5);
        if x.is_finite() && *x + f * (x1 - x0) > x1 {
            x1 = (*x - f * x0) / (1.0 - f);
        }
    }
    (x0, x1)
}

/// The y range of the quality chart: every quality and interval end and the region's quality threshold, padded.
fn quality_y_range(points: &[QualityPoint], threshold: Option<f64>) -> (f64, f64) {
    let mut ylo = f64::INFINITY;
    let mut yhi = f64::NEG_INFINITY;
    for p in points {
        for v in [
            Some(p.quality),
            p.interval.map(|i| i.0),
            p.interval.map(|i| i.1),
        ]
        .into_iter()
        .flatten()
        .filter(|v| v.is_finite())
        {
            ylo = ylo.min(v);
            yhi = yhi.max(v);
        }
    }
    if let Some(t) = threshold.filter(|t| t.is_finite()) {
        ylo = ylo.min(t);
    }
    if !ylo.is_finite() {
        ylo = 0.0;
        yhi = 1.0;
    }
    let span = (yhi - ylo).max(0.05);
    let y0 = (ylo - span * 0.12).max(0.0);
    let y1 = yhi + span * 0.12;
    (y0, y1)
}

/// Quality (gate metric, with its interval) against cost per 1,000 items, the promotion region shaded.
///
/// The region is where a candidate's point estimates would satisfy the quality and cost rules:
/// quality >= `min_quality_ratio` × the baseline's and cost <= `max_cost_ratio` × the baseline's. The x axis is
/// logarithmic when every cost is positive (candidates are often 10–100× cheaper), linear otherwise.
pub(super) fn quality_vs_cost(
    path: &Path,
    points: &[QualityPoint],
    metric: &str,
    gate: &GateSpec,
) -> Result<(), String> {
    if points.is_empty() {
        return Err("no providers".into());
    }
    let root = new_root(path, W, H)?;
    let area = header(
        &root,
        &format!("Quality vs cost — {metric}"),
        &format!(
            "shaded: promotion region (>= {} × baseline quality, <= {} × baseline cost); bars: {:.0}% confidence intervals",
            gate.min_quality_ratio,
            gate.max_cost_ratio,
            gate.confidence * 100.0
        ),
    )?;
    let base = points.iter().find(|p| p.baseline);
    let log = points
        .iter()
        .all(|p| p.cost_per_1k > 0.0 && p.cost_per_1k.is_finite());
    let tx = |c: f64| if log { c.log10() } else { c };
    let (x0, x1) = quality_x_range(points, base, gate, log);
    let threshold = base.map(|b| b.quality * gate.min_quality_ratio);
    let (y0, y1) = quality_y_range(points, threshold);
    let xlabel = if log {
        "cost per 1,000 items (USD, log scale)"
    } else {
        "cost per 1,000 items (USD)"
    };
    let mut chart = ChartBuilder::on(&area)
        .x_label_area_size(56)
        .y_label_area_size(72)
        .margin_right(24)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let fmt_x = move |v: &f64| {
        if log {
            usd_label(10f64.powf(*v))
        } else {
            usd_label(*v)
        }
    };
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_desc(xlabel)
        .y_desc(format!("{metric} (0–1, higher is better)"))
        .axis_desc_style(font(16.0))
        .label_style(font(14.0))
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&|v| format!("{v:.2}"))
        .draw()
        .map_err(err)?;
    if let (Some(b), Some(t)) = (base, threshold) {
        let cx = tx(b.cost_per_1k * gate.max_cost_ratio);
        if cx.is_finite() && t.is_finite() {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x0, t.max(y0)), (cx.min(x1), y1)],
                    REGION.mix(0.16).filled(),
                )))
                .map_err(err)?
                .label(format!(
                    "promotion region (quality >= {:.3}, cost <= {})",
                    t,
                    usd_label(b.cost_per_1k * gate.max_cost_ratio)
                ))
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 16, y + 6)], REGION.mix(0.35).filled())
                });
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x0, t), (cx.min(x1), t), (cx.min(x1), y1)],
                    REGION.stroke_width(2),
                )))
                .map_err(err)?;
        }
    }
    for p in points {
        let c = color(p.color);
        let x = tx(p.cost_per_1k);
        if let Some((lo, hi)) = p.interval.filter(|(a, b)| a.is_finite() && b.is_finite()) {
            let (lo, hi) = (lo.max(y0), hi.min(y1));
            let cap = (x1 - x0) * 0.008;
            chart
                .draw_series([
                    PathElement::new(vec![(x, lo), (x, hi)], c.stroke_width(2)),
                    PathElement::new(vec![(x - cap, lo), (x + cap, lo)], c.stroke_width(2)),
                    PathElement::new(vec![(x - cap, hi), (x + cap, hi)], c.stroke_width(2)),
                ])
                .map_err(err)?;
        }
        let label = if p.baseline {
            format!("{} (baseline)", p.id)
        } else {
            p.id.clone()
        };
        chart
            .draw_series(std::iter::once(Circle::new((x, p.quality), 7, c.filled())))
            .map_err(err)?
            .label(shorten(&label, 40))
            .legend(move |(x, y)| Circle::new((x + 8, y), 6, c.filled()));
        // Labels in pixels, right of the dot, so they clear the interval bar.
        // (on the left when the right would run off the plot).
        let (px, py) = chart.backend_coord(&(x, p.quality));
        let text = shorten(&label, 32);
        let tw = font(15.0)
            .font
            .box_size(&text)
            .map(|s| s.0 as i32)
            .unwrap_or(0);
        let right_edge = chart.plotting_area().get_pixel_range().0.end;
        let (tx_px, anchor) = if px + 12 + tw > right_edge {
            (px - 12, HPos::Right)
        } else {
            (px + 12, HPos::Left)
        };
        root.draw(&Text::new(
            text,
            (tx_px, py - 4),
            font(15.0).pos(Pos::new(anchor, VPos::Bottom)),
        ))
        .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(font(14.0))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(0xAA, 0xAA, 0xAA))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Evenly spaced quantiles of a sorted sample, as CDF step points (x, share <= x).
fn cdf_points(sorted: &[f64]) -> Vec<(f64, f64)> {
    let n = sorted.len();
    if n == 0 {
        return Vec::new();
    }
    let k = n.min(CDF_POINTS);
    let mut pts = Vec::with_capacity(2 * k + 1);
    pts.push((sorted[0], 0.0));
    let mut prev_share = 0.0;
    for j in 1..=k {
        // The j-th of k evenly spaced ranks (1-based), the last one being n.
        let rank = (j * n).div_ceil(k);
        let x = sorted[rank - 1];
        let share = rank as f64 / n as f64;
        pts.push((x, prev_share));
        pts.push((x, share));
        prev_share = share;
    }
    pts
}

/// Empirical CDF of request latency per provider. `series` holds each provider's latencies (any order).
/// The x axis ends at 1.25 × the highest p99 so one extreme outlier cannot flatten every curve.
pub(super) fn latency_cdf(path: &Path, series: &[(String, usize, Vec<f64>)]) -> Result<(), String> {
    let root = new_root(path, W, H)?;
    let area = header(
        &root,
        "Latency distribution (CDF)",
        "share of successful, non-cached requests answered within x ms; axis ends at 1.25 × the highest p99",
    )?;
    let mut sorted: Vec<(String, usize, Vec<f64>)> = series
        .iter()
        .map(|(l, c, v)| {
            let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
            v.sort_by(f64::total_cmp);
            (l.clone(), *c, v)
        })
        .collect();
    sorted.retain(|s| !s.2.is_empty());
    if sorted.is_empty() {
        let (w, h) = area.dim_in_pixel();
        area.draw(&Text::new(
            "no latency data: no request succeeded without the response cache",
            (w as i32 / 2, h as i32 / 2),
            font(20.0)
                .color(&RGBColor(0x55, 0x55, 0x55))
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(err)?;
        return root.present().map_err(err);
    }
    let p99 = sorted
        .iter()
        .filter_map(|(_, _, v)| crate::stats::percentile_nearest_rank(v, 99.0))
        .fold(0.0f64, f64::max);
    let x1 = if p99 > 0.0 { p99 * 1.25 } else { 1.0 };
    let mut chart = ChartBuilder::on(&area)
        .x_label_area_size(56)
        .y_label_area_size(72)
        .margin_right(24)
        .build_cartesian_2d(0f64..x1, 0f64..1.0)
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_desc("latency (ms)")
        .y_desc("requests answered within x (%)")
        .axis_desc_style(font(16.0))
        .label_style(font(14.0))
        .x_labels(10)
        .y_labels(11)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{:.0}", v * 100.0))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.99), (x1, 0.99)],
            RGBColor(0x99, 0x99, 0x99).stroke_width(1),
        )))
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(Text::new(
            "99%",
            (x1 * 0.005, 0.985),
            font(12.0)
                .color(&RGBColor(0x77, 0x77, 0x77))
                .pos(Pos::new(HPos::Left, VPos::Top)),
        )))
        .map_err(err)?;
    for (label, ci, v) in &sorted {
        let c = color(*ci);
        let pts: Vec<(f64, f64)> = cdf_points(v)
            .into_iter()
            .map(|(x, y)| (x.min(x1), y))
            .collect();
        let p50 = crate::stats::percentile_nearest_rank(v, 50.0).unwrap_or(0.0);
        let p99 = crate::stats::percentile_nearest_rank(v, 99.0).unwrap_or(0.0);
        chart
            .draw_series(LineSeries::new(pts, c.stroke_width(3)))
            .map_err(err)?
            .label(format!(
                "{} (n={}, p50 {p50:.0} ms, p99 {p99:.0} ms)",
                shorten(label, 28),
                v.len()
            ))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(font(14.0))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(0xAA, 0xAA, 0xAA))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Horizontal grouped bars: one group per category (label on the left), one bar per series, value at the bar's end.
/// Values are in 0..=`x_max`. The image grows with the number of bars so every label stays readable.
pub(super) fn grouped_bars(
    path: &Path,
    title: &str,
    subtitle: &str,
    x_desc: &str,
    categories: &[String],
    series: &[Series],
    x_max: f64,
) -> Result<(), String> {
    if categories.is_empty() || series.is_empty() {
        return Err("nothing to draw".into());
    }
    let bar_px = 18u32;
    let group_px = bar_px * series.len() as u32 + 14;
    let plot_h = group_px * categories.len() as u32;
    let legend_h = 28 * series.len().div_ceil(3) as u32;
    let h = (plot_h + 150 + legend_h).max(H);
    let root = new_root(path, W, h)?;
    let start = axis_start(series, x_max);
    let subtitle = if start > 0.0 {
        format!("{subtitle}; the axis starts at {start:.1}, not 0")
    } else {
        subtitle.to_string()
    };
    let area = header(&root, title, &subtitle)?;
    let (body, legend_area) = area.split_vertically(area.dim_in_pixel().1 - legend_h - 8);
    let labels: Vec<String> = categories.iter().map(|c| shorten(c, 34)).collect();
    let label_w = labels
        .iter()
        .map(|l| {
            root.estimate_text_size(l, &font(14.0))
                .map(|s| s.0)
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
        .clamp(40, 320);
    let n = categories.len() as f64;
    let x_min = axis_start(series, x_max);
    let mut chart = ChartBuilder::on(&body)
        .x_label_area_size(52)
        .y_label_area_size(label_w + 16)
        .margin_right(56)
        .build_cartesian_2d(x_min..x_max, 0f64..n)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_desc(x_desc)
        .axis_desc_style(font(16.0))
        .label_style(font(14.0))
        .x_labels(11)
        .y_labels(0)
        .x_label_formatter(&|v| format!("{v:.1}"))
        .draw()
        .map_err(err)?;
    let k = series.len() as f64;
    let inner = 0.8;
    for (si, s) in series.iter().enumerate() {
        let c = color(s.color);
        let bars: Vec<Rectangle<(f64, f64)>> = s
            .values
            .iter()
            .enumerate()
            .filter_map(|(ci, v)| {
                let v = (*v)?;
                // Category 0 at the top: y grows upwards in data space.
                let top = n - ci as f64 - (1.0 - inner) / 2.0 - si as f64 * inner / k;
                let bottom = top - inner / k;
                Some(Rectangle::new(
                    [(x_min, bottom + 0.01), (v.clamp(x_min, x_max), top - 0.01)],
                    c.filled(),
                ))
            })
            .collect();
        chart
            .draw_series(bars)
            .map_err(err)?
            .label(shorten(&s.label, 40))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], c.filled()));
        for (ci, v) in s.values.iter().enumerate() {
            let Some(v) = *v else { continue };
            let mid = n - ci as f64 - (1.0 - inner) / 2.0 - (si as f64 + 0.5) * inner / k;
            let (px, py) = chart.backend_coord(&(v.clamp(x_min, x_max), mid));
            root.draw(&Text::new(
                format!("{v:.2}"),
                (px + 4, py),
                font(12.0).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
        }
    }
    for (ci, l) in labels.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(x_min, n - ci as f64 - 0.5));
        root.draw(&Text::new(
            l.clone(),
            (px - 8, py),
            font(14.0).pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(err)?;
    }
    draw_legend_row(
        &legend_area,
        series.iter().map(|s| (s.label.as_str(), s.color)),
    )?;
    root.present().map_err(err)
}

/// Where a bar chart's value axis starts: at 0, unless every value is at least half the axis — then a tenth below
/// the smallest value rounded down, so differences between 0.92 and 0.97 are visible (the subtitle says so).
fn axis_start(series: &[Series], x_max: f64) -> f64 {
    let min = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    if !(min.is_finite() && min >= 0.5 * x_max) {
        return 0.0;
    }
    let step = x_max / 10.0;
    (((min - step / 2.0) / step).floor() * step).clamp(0.0, x_max - step)
}

/// A legend laid out in rows of up to three entries, centred, below a chart.
fn draw_legend_row<'a>(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    entries: impl Iterator<Item = (&'a str, usize)>,
) -> Result<(), String> {
    let entries: Vec<(&str, usize)> = entries.collect();
    let (w, _) = area.dim_in_pixel();
    let col_w = ((w as i32 - 40) / 3).min(260);
    for (i, (label, ci)) in entries.iter().enumerate() {
        let row = (i / 3) as i32;
        let col = (i % 3) as i32;
        let in_row = (entries.len() - (i / 3) * 3).min(3) as i32;
        let x = (w as i32 - in_row * col_w) / 2 + col * col_w;
        let y = row * 28 + 14;
        area.draw(&Rectangle::new(
            [(x, y - 7), (x + 18, y + 7)],
            color(*ci).filled(),
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            shorten(label, 38),
            (x + 26, y),
            font(14.0).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// Vertical grouped bars of per-item score counts in ten bins of width 0.1 (a histogram per provider, side by side).
pub(super) fn score_histogram(
    path: &Path,
    metric: &str,
    series: &[(String, usize, Vec<f64>)],
) -> Result<(), String> {
    if series.is_empty() {
        return Err("nothing to draw".into());
    }
    const BINS: usize = 10;
    let counts: Vec<Vec<u64>> = series
        .iter()
        .map(|(_, _, v)| {
            let mut c = vec![0u64; BINS];
            for x in v.iter().filter(|x| x.is_finite()) {
                let b = ((x.clamp(0.0, 1.0) * BINS as f64).floor() as usize).min(BINS - 1);
                c[b] += 1;
            }
            c
        })
        .collect();
    let ymax = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    let legend_h = 28 * series.len().div_ceil(3) as u32;
    let root = new_root(path, W, H + legend_h)?;
    let area = header(
        &root,
        &format!("Distribution of per-item {metric}"),
        "items per score bin (failed requests score 0); bins are [0.0, 0.1), …, [0.9, 1.0]",
    )?;
    let (body, legend_area) = area.split_vertically(area.dim_in_pixel().1 - legend_h - 8);
    let mut chart = ChartBuilder::on(&body)
        .x_label_area_size(56)
        .y_label_area_size(72)
        .margin_right(24)
        .build_cartesian_2d(0f64..1.0, 0f64..ymax)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_desc(format!("per-item {metric} (0–1)"))
        .y_desc("items")
        .axis_desc_style(font(16.0))
        .label_style(font(14.0))
        .x_labels(11)
        .y_labels(8)
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(err)?;
    let k = series.len() as f64;
    let width = 1.0 / BINS as f64;
    for (si, (label, ci, _)) in series.iter().enumerate() {
        let c = color(*ci);
        let bars: Vec<Rectangle<(f64, f64)>> = counts[si]
            .iter()
            .enumerate()
            .map(|(b, n)| {
                let left = b as f64 * width + width * 0.1 + si as f64 * width * 0.8 / k;
                Rectangle::new(
                    [(left, 0.0), (left + width * 0.8 / k, *n as f64)],
                    c.filled(),
                )
            })
            .collect();
        chart
            .draw_series(bars)
            .map_err(err)?
            .label(shorten(label, 40))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], c.filled()));
    }
    draw_legend_row(
        &legend_area,
        series.iter().map(|(l, c, _)| (l.as_str(), *c)),
    )?;
    root.present().map_err(err)
}

/// A confusion-matrix heatmap: rows are the true labels, columns the predicted ones; each cell shows its count and is
/// shaded by its share of the true class (so a diagonal of dark cells means high recall everywhere).
pub(super) fn confusion(
    path: &Path,
    title: &str,
    subtitle: &str,
    labels: &[String],
    matrix: &[Vec<u64>],
) -> Result<(), String> {
    let n = labels.len();
    if n == 0 || matrix.len() != n || matrix.iter().any(|r| r.len() != n) {
        return Err("confusion matrix does not match its labels".into());
    }
    let cell = (420 / n as u32).clamp(22, 64);
    let shown: Vec<String> = labels.iter().map(|l| shorten(l, 24)).collect();
    let text_w = |t: &str, size: f64| font(size).font.box_size(t).map(|s| s.0).unwrap_or(0);
    let label_w = shown
        .iter()
        .map(|l| text_w(l, 14.0))
        .max()
        .unwrap_or(0)
        .clamp(30, 240);
    let side = cell * n as u32;
    let scale_w = 24 + 18 + 8 + text_w("100% of true class", 13.0);
    let block_w = 26 + 12 + label_w + 8 + side + scale_w;
    let head_w = text_w(title, 22.0).max(text_w(subtitle, 14.0)) + 40;
    let w = (block_w + 40).max(head_w).clamp(560, W);
    let h = 68 + 24 + label_w + 16 + side + 24;
    let root = new_root(path, w, h)?;
    header(&root, title, subtitle)?;
    let x0 = ((w as i32 - block_w as i32) / 2).max(0) + 26 + 12 + label_w as i32 + 8;
    let oy = 68;
    let y0 = oy + 24 + label_w as i32 + 16;
    // Axis titles.
    root.draw(&Text::new(
        "predicted label",
        (x0 + side as i32 / 2, oy + 2),
        bold(15.0).pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(err)?;
    root.draw(&Text::new(
        "true label",
        (x0 - label_w as i32 - 28, y0 + side as i32 / 2),
        bold(15.0)
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(err)?;
    let cell_font = (f64::from(cell) * 0.32).clamp(10.0, 18.0);
    for (r, row) in matrix.iter().enumerate() {
        let total: u64 = row.iter().sum();
        for (c, count) in row.iter().enumerate() {
            let share = if total == 0 {
                0.0
            } else {
                *count as f64 / total as f64
            };
            let fill = heat(share);
            let cx = x0 + c as i32 * cell as i32;
            let cy = y0 + r as i32 * cell as i32;
            root.draw(&Rectangle::new(
                [(cx, cy), (cx + cell as i32, cy + cell as i32)],
                fill.filled(),
            ))
            .map_err(err)?;
            root.draw(&Rectangle::new(
                [(cx, cy), (cx + cell as i32, cy + cell as i32)],
                WHITE.stroke_width(1),
            ))
            .map_err(err)?;
            let text_color = if share > 0.55 { WHITE } else { BLACK };
            root.draw(&Text::new(
                count.to_string(),
                (cx + cell as i32 / 2, cy + cell as i32 / 2),
                font(cell_font)
                    .color(&text_color)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            ))
            .map_err(err)?;
        }
    }
    for (i, l) in shown.iter().enumerate() {
        root.draw(&Text::new(
            l.clone(),
            (x0 - 8, y0 + i as i32 * cell as i32 + cell as i32 / 2),
            font(14.0).pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(err)?;
        root.draw(&Text::new(
            l.clone(),
            (x0 + i as i32 * cell as i32 + cell as i32 / 2, y0 - 8),
            font(14.0)
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
    }
    // Colour scale.
    let sx = x0 + side as i32 + 24;
    let bar_h = side.min(240) as i32;
    for j in 0..bar_h {
        let share = 1.0 - j as f64 / f64::from(bar_h - 1).max(1.0);
        root.draw(&Rectangle::new(
            [(sx, y0 + j), (sx + 18, y0 + j + 1)],
            heat(share).filled(),
        ))
        .map_err(err)?;
    }
    for (share, text) in [(1.0, "100% of true class"), (0.5, "50%"), (0.0, "0%")] {
        let y = y0 + ((1.0 - share) * f64::from(bar_h - 1)) as i32;
        root.draw(&Text::new(
            text,
            (sx + 24, y),
            font(13.0).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
    }
    root.present().map_err(err)
}

/// White → dark blue.
fn heat(share: f64) -> RGBColor {
    let s = share.clamp(0.0, 1.0);
    let lerp = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * s).round() as u8;
    RGBColor(lerp(0xF7, 0x08), lerp(0xFB, 0x30), lerp(0xFF, 0x6B))
}

/// The charts of one run as they are drawn: where they go, which were written and which failed.
struct Drawn {
    dir: std::path::PathBuf,
    done: Vec<Chart>,
    failed: Vec<ChartError>,
}

impl Drawn {
    /// Draw `name` with `f`; a failure is recorded, never fatal.
    fn draw(
        &mut self,
        name: &str,
        title: String,
        caption: String,
        f: &dyn Fn(&Path) -> Result<(), String>,
    ) {
        let path = self.dir.join(name);
        match f(&path) {
            Ok(()) => self.done.push(Chart {
                file: format!("{CHARTS_DIR}/{name}"),
                half: name.starts_with("confusion_"),
                title,
                caption,
            }),
            Err(message) => self.failed.push(ChartError {
                file: format!("{CHARTS_DIR}/{name}"),
                message,
            }),
        }
    }
}

/// What every chart of a run labels its providers with.
struct Legend {
    /// Provider ids, the baseline's marked.
    labels: Vec<String>,
    /// Each provider's colour.
    colors: Vec<usize>,
}

/// Render every chart that applies to this run into `run_dir/charts/`. Returns the charts written (in the order the
/// report shows them) and the charts that failed; a failed chart never stops the others or the report.
pub fn render_all(
    an: &Analysis,
    run_dir: &Path,
) -> crate::error::Result<(Vec<Chart>, Vec<ChartError>)> {
    let dir = run_dir.join(CHARTS_DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| crate::error::Error::io(format!("creating {}", dir.display()), e))?;
    let r = &an.results;
    let mut out = Drawn {
        dir,
        done: Vec::new(),
        failed: Vec::new(),
    };
    let legend = Legend {
        labels: r
            .providers
            .iter()
            .map(|p| {
                if p.role == ProviderRole::Baseline {
                    format!("{} (baseline)", p.id)
                } else {
                    p.id.clone()
                }
            })
            .collect(),
        colors: provider_colors(&r.providers),
    };
    quality_chart(&mut out, r, &legend);
    latency_chart(&mut out, an, &legend);
    match r.task {
        TaskKind::Classification => {
            per_class_chart(&mut out, r, &legend);
            confusion_charts(&mut out, r, &legend);
        }
        TaskKind::Summarization => distribution_chart(&mut out, an, &legend),
        TaskKind::Extraction => {
            distribution_chart(&mut out, an, &legend);
            per_field_chart(&mut out, r, &legend);
        }
        TaskKind::FunctionCalling => per_function_chart(&mut out, r, &legend),
    }
    Ok((out.done, out.failed))
}

/// Quality against cost per 1,000 items, with the gate's region.
fn quality_chart(out: &mut Drawn, r: &Results, legend: &Legend) {
    let metric = r.gate_metric.as_str();
    let points: Vec<QualityPoint> = r
        .providers
        .iter()
        .zip(&legend.colors)
        .map(|(p, &color)| QualityPoint {
            color,
            id: p.id.clone(),
            baseline: p.role == ProviderRole::Baseline,
            cost_per_1k: p.cost_usd_per_1k_items,
            quality: p.metrics.get(metric).copied().unwrap_or(f64::NAN),
            interval: p
                .metric_intervals
                .get(metric)
                .map(|i| (i.lower, i.upper))
                .filter(|(a, b)| a.is_finite() && b.is_finite()),
        })
        .collect();
    out.draw(
        "quality_vs_cost.png",
        format!("Quality ({metric}) vs cost per 1,000 items"),
        "Each dot is a provider with its confidence interval; a candidate inside the shaded region meets the quality and cost rules on point estimates (the gate also needs the confidence bound, error-rate and latency rules).".into(),
        &|p| quality_vs_cost(p, &points, metric, &r.gate_config),
    );
}

/// The latency CDF of successful, non-cached requests.
fn latency_chart(out: &mut Drawn, an: &Analysis, legend: &Legend) {
    let r = &an.results;
    let lat: Vec<(String, usize, Vec<f64>)> = an
        .records
        .iter()
        .enumerate()
        .map(|(i, recs)| {
            let v = recs
                .iter()
                .flatten()
                .filter(|rec| rec.error().is_none() && !rec.cached)
                .map(|rec| rec.latency_ms)
                .collect();
            (legend.labels[i].clone(), legend.colors[i], v)
        })
        .collect();
    // Always drawn: without latencies (every request failed, or every answer came from the cache) the chart says so
    // instead of silently missing from the report.
    let rep = if r.repeats > 1 { " (repeat 0)" } else { "" };
    let caption = if lat.iter().all(|(_, _, v)| v.is_empty()) {
        "No latency data: no request of this run succeeded without the response cache.".to_string()
    } else {
        format!("Share of successful, non-cached requests{rep} answered within a given time; further left is faster.")
    };
    out.draw(
        "latency_cdf.png",
        "Latency distribution (CDF)".into(),
        caption,
        &|p| latency_cdf(p, &lat),
    );
}

/// A classification provider's details (None for another task's).
fn class_details(p: &ProviderResult) -> Option<&ClassificationDetails> {
    p.details.classification()
}

/// A value a chart can draw (a NaN is a missing bar, as in results.json, where it is `null`).
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// F1 per class, per provider.
fn per_class_chart(out: &mut Drawn, r: &Results, legend: &Legend) {
    let labels: Vec<String> = r
        .providers
        .first()
        .and_then(class_details)
        .map(|c| c.labels.clone())
        .unwrap_or_default();
    let series: Vec<Series> = r
        .providers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let per: std::collections::HashMap<&str, f64> = class_details(p)
                .map(|c| {
                    c.per_class
                        .iter()
                        .filter_map(|x| Some((x.label.as_str(), finite(x.f1)?)))
                        .collect()
                })
                .unwrap_or_default();
            Series {
                label: legend.labels[i].clone(),
                color: legend.colors[i],
                values: labels
                    .iter()
                    .map(|l| per.get(l.as_str()).copied())
                    .collect(),
            }
        })
        .collect();
    let labels = with_n(&labels, |l| class_support(&r.providers, l));
    if labels.is_empty() {
        return;
    }
    out.draw(
        "per_class_f1.png",
        "F1 per class".into(),
        "F1 of each class per provider (0 when a class is never predicted correctly).".into(),
        &|p| {
            grouped_bars(
                p,
                "F1 per class",
                "per-class F1 from the confusion matrix; zero_division = 0",
                "F1 (0–1)",
                &labels,
                &series,
                1.0,
            )
        },
    );
}

/// One confusion matrix per provider.
fn confusion_charts(out: &mut Drawn, r: &Results, legend: &Legend) {
    for (i, pr) in r.providers.iter().enumerate() {
        let Some(c) = class_details(pr).filter(|c| !c.labels.is_empty()) else {
            continue;
        };
        let missing = pr.n_errors + pr.n_missing;
        let title = format!("Confusion matrix — {}", legend.labels[i]);
        let sub = format!(
            "model {}; {} unparseable and {} failed answers are not in the matrix",
            pr.model, c.unparseable, missing
        );
        out.draw(
            &format!("confusion_{}.png", file_safe(&pr.id, i)),
            title.clone(),
            "Rows: true label; columns: predicted label; shading: share of the row.".into(),
            &|p| confusion(p, &title, &sub, &c.labels, &c.confusion),
        );
    }
}

/// The distribution of a per-item score (summarization, extraction).
fn distribution_chart(out: &mut Drawn, an: &Analysis, legend: &Legend) {
    let r = &an.results;
    let m = histogram_metric(r.task, &r.gate_metric).unwrap_or_default();
    let series: Vec<(String, usize, Vec<f64>)> = an
        .scores
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                legend.labels[i].clone(),
                legend.colors[i],
                s.per_item.get(m).map(|v| v.to_vec()).unwrap_or_default(),
            )
        })
        .collect();
    out.draw(
        "score_distribution.png",
        format!("Distribution of per-item {m}"),
        "How many items fall in each score band, per provider; mass on the right is better.".into(),
        &|p| score_histogram(p, m, &series),
    );
}

/// Bars per key of a per-provider map (field paths, function names): every key any provider has, in order, and
/// one series per provider with `value` of its entry (a gap where it has none or the value is not finite).
fn keyed_series<V>(
    r: &Results,
    legend: &Legend,
    map_of: impl Fn(&ProviderResult) -> Option<&std::collections::BTreeMap<String, V>>,
    value: impl Fn(&V) -> f64,
) -> (Vec<String>, Vec<Series>) {
    let keys: Vec<String> = r
        .providers
        .iter()
        .filter_map(&map_of)
        .flat_map(|m| m.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let series = r
        .providers
        .iter()
        .enumerate()
        .map(|(i, p)| Series {
            label: legend.labels[i].clone(),
            color: legend.colors[i],
            values: keys
                .iter()
                .map(|k| map_of(p).and_then(|m| finite(value(m.get(k)?))))
                .collect(),
        })
        .collect();
    (keys, series)
}

/// Accuracy per field path (extraction).
fn per_field_chart(out: &mut Drawn, r: &Results, legend: &Legend) {
    fn field_accuracy(p: &ProviderResult) -> Option<&std::collections::BTreeMap<String, f64>> {
        p.details.extraction().map(|c| &c.per_field_accuracy)
    }
    let (fields, series) = keyed_series(r, legend, field_accuracy, |a| *a);
    if fields.is_empty() {
        return;
    }
    out.draw(
        "per_field_accuracy.png",
        "Accuracy per field".into(),
        "Share of expected values of each field path extracted correctly (after the field's match mode).".into(),
        &|p| grouped_bars(p, "Accuracy per field", "share of expected values matched, per field path", "accuracy (0–1)", &fields, &series, 1.0),
    );
}

/// A function-calling provider's per-function accuracy (None for another task's).
fn per_function(
    p: &ProviderResult,
) -> Option<&std::collections::BTreeMap<String, FunctionAccuracy>> {
    p.details.function_calling().map(|d| &d.per_function)
}

/// Accuracy per function (function calling).
fn per_function_chart(out: &mut Drawn, r: &Results, legend: &Legend) {
    let (fns, series) = keyed_series(r, legend, per_function, |f| f.accuracy);
    let fns = with_n(&fns, |f| function_n(&r.providers, f));
    if fns.is_empty() {
        return;
    }
    out.draw(
        "per_function_accuracy.png",
        "Accuracy per function".into(),
        "Share of expected calls of each function that were made with the right name and arguments.".into(),
        &|p| grouped_bars(p, "Accuracy per function", "expected calls of each function made correctly (name and arguments)", "accuracy (0–1)", &fns, &series, 1.0),
    );
}

/// `name (n=N)` for each name that has a count.
fn with_n(names: &[String], n: impl Fn(&str) -> Option<u64>) -> Vec<String> {
    names
        .iter()
        .map(|l| match n(l) {
            Some(n) => format!("{l} (n={n})"),
            None => l.clone(),
        })
        .collect()
}

/// Items whose true label is `label` (its support), the most any provider was scored on.
fn class_support(providers: &[ProviderResult], label: &str) -> Option<u64> {
    providers
        .iter()
        .filter_map(|p| {
            class_details(p)?
                .per_class
                .iter()
                .find(|c| c.label == label)
                .map(|c| c.support)
        })
        .max()
}

/// Expected calls of function `f`, the most any provider was scored on.
fn function_n(providers: &[ProviderResult], f: &str) -> Option<u64> {
    providers
        .iter()
        .filter_map(|p| Some(per_function(p)?.get(f)?.n))
        .max()
}

/// The metric whose per-item scores the score distribution shows: the gate metric when it is a mean of per-item
/// scores, else the task's default metric (a corpus metric has no per-item score).
fn histogram_metric(task: TaskKind, gate_metric: &str) -> Option<&'static str> {
    [gate_metric, metrics::default_metric(task)]
        .into_iter()
        .filter_map(|name| metrics::metric(task, name))
        .find(|d| d.kind == metrics::MetricKind::Mean)
        .map(|d| d.name)
}

/// A file-name-safe form of a provider id (ids are free text); the position keeps two ids that sanitise alike apart.
fn file_safe(id: &str, i: usize) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    format!("{i}_{s}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decode a PNG; returns (width, height, distinct colours seen).
    fn decode(path: &Path) -> (u32, u32, usize) {
        let f = std::fs::File::open(path).unwrap();
        let mut r = png::Decoder::new(f).read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        let info = r.next_frame(&mut buf).unwrap();
        let px = info.color_type.samples();
        let mut colours = std::collections::HashSet::new();
        for c in buf[..info.buffer_size()].chunks(px) {
            colours.insert(c.to_vec());
            if colours.len() > 50 {
                break;
            }
        }
        (info.width, info.height, colours.len())
    }

    fn gate() -> GateSpec {
        serde_yaml::from_str("{}").unwrap()
    }

    #[test]
    fn quality_chart_is_deterministic_and_not_blank() {
        let d = tempfile::tempdir().unwrap();
        let pts = vec![
            QualityPoint {
                id: "base".into(),
                baseline: true,
                cost_per_1k: 2.0,
                quality: 0.9,
                interval: Some((0.85, 0.95)),
                color: 0,
            },
            QualityPoint {
                id: "cheap".into(),
                baseline: false,
                cost_per_1k: 0.05,
                quality: 0.88,
                interval: Some((0.82, 0.93)),
                color: 3,
            },
        ];
        let a = d.path().join("a.png");
        let b = d.path().join("b.png");
        quality_vs_cost(&a, &pts, "macro_f1", &gate()).unwrap();
        quality_vs_cost(&b, &pts, "macro_f1", &gate()).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        let (w, h, colours) = decode(&a);
        assert_eq!((w, h), (W, H));
        assert!(colours > 10, "only {colours} colours");
        // Linear axis when a cost is zero.
        let mut free = pts.clone();
        free[1].cost_per_1k = 0.0;
        quality_vs_cost(&a, &free, "macro_f1", &gate()).unwrap();
        assert!(decode(&a).2 > 10);
    }

    #[test]
    fn cdf_points_reach_one_and_are_monotone() {
        let v: Vec<f64> = (0..10_000).map(f64::from).collect();
        let p = cdf_points(&v);
        assert!(p.len() <= 2 * CDF_POINTS + 1);
        assert_eq!(p.last().copied(), Some((9999.0, 1.0)));
        assert!(p.windows(2).all(|w| w[1].0 >= w[0].0 && w[1].1 >= w[0].1));
        assert_eq!(cdf_points(&[5.0]), vec![(5.0, 0.0), (5.0, 0.0), (5.0, 1.0)]);
        assert!(cdf_points(&[]).is_empty());
    }

    #[test]
    fn other_charts_render() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.png");
        latency_cdf(
            &p,
            &[
                ("a".into(), 0, vec![100.0, 200.0, 300.0]),
                ("b".into(), 1, vec![50.0; 5]),
            ],
        )
        .unwrap();
        assert!(decode(&p).2 > 5);
        let cats = vec![
            "billing".to_string(),
            "a_very_long_label_name_that_goes_on_and_on".to_string(),
        ];
        let s = vec![
            Series {
                label: "base".into(),
                color: 0,
                values: vec![Some(0.9), Some(0.4)],
            },
            Series {
                label: "cand".into(),
                color: 1,
                values: vec![None, Some(1.0)],
            },
        ];
        grouped_bars(&p, "t", "s", "F1", &cats, &s, 1.0).unwrap();
        assert!(decode(&p).2 > 5);
        score_histogram(
            &p,
            "rougeLsum_f",
            &[("a".into(), 0, vec![0.0, 0.55, 1.0, 0.99])],
        )
        .unwrap();
        assert!(decode(&p).2 > 5);
        confusion(&p, "c", "s", &cats, &[vec![3, 1], vec![0, 4]]).unwrap();
        let (w, _, colours) = decode(&p);
        assert!((560..=W).contains(&w), "{w}");
        assert!(colours > 5);
        assert!(confusion(&p, "c", "s", &cats, &[vec![3, 1]]).is_err());
    }

    #[test]
    fn a_provider_keeps_its_colour_across_suites_and_the_baseline_has_the_first() {
        use crate::summary::fixture::{provider, Fares};
        let c = |ids: &[&str]| {
            let ps: Vec<_> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| provider(id, 1.0, (i > 0).then_some((Fares::Pass, 1.0))))
                .collect();
            let colors = provider_colors(&ps);
            ids.iter()
                .map(|id| id.to_string())
                .zip(colors)
                .collect::<std::collections::HashMap<String, usize>>()
        };
        let classify = c(&["premium", "flash", "haiku", "tiny"]);
        let extract = c(&["premium", "mini", "tiny"]);
        let other = c(&["gpt-4o", "tiny", "flash"]);
        assert_eq!(classify["premium"], 0);
        assert_eq!(other["gpt-4o"], 0);
        assert_eq!(classify["tiny"], extract["tiny"]);
        assert_eq!(classify["tiny"], other["tiny"]);
        assert_eq!(classify["flash"], other["flash"]);
        // Distinct within a suite while there are colours left, and never the baseline's.
        let many: Vec<String> = (0..7).map(|i| format!("cand-{i}")).collect();
        let mut ids = vec!["base"];
        ids.extend(many.iter().map(String::as_str));
        let m = c(&ids);
        let mut seen: Vec<usize> = m.values().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn latency_cdf_without_data_says_so() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.png");
        latency_cdf(&p, &[("a".into(), 0, vec![]), ("b".into(), 1, vec![])]).unwrap();
        // Title and message are drawn: more than a blank page.
        assert!(decode(&p).2 > 5);
    }

    #[test]
    fn bars_of_high_scores_start_above_0_and_categories_show_n() {
        let s = |v: &[f64]| {
            vec![Series {
                label: "a".into(),
                color: 0,
                values: v.iter().copied().map(Some).collect(),
            }]
        };
        assert!((axis_start(&s(&[0.92, 0.97, 1.0]), 1.0) - 0.8).abs() < 1e-12);
        assert!((axis_start(&s(&[0.66, 1.0]), 1.0) - 0.6).abs() < 1e-12);
        assert_eq!(axis_start(&s(&[0.4, 0.97]), 1.0), 0.0);
        assert_eq!(axis_start(&s(&[1.0]), 1.0), 0.9);
        assert_eq!(axis_start(&[], 1.0), 0.0);
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("b.png");
        grouped_bars(&p, "t", "s", "F1", &["x".into()], &s(&[0.95]), 1.0).unwrap();

        use crate::metrics::ClassReport;
        use crate::score::Details;
        use crate::summary::fixture::provider;
        let class = |label: &str, support: u64| ClassReport {
            label: label.into(),
            precision: 1.0,
            recall: 1.0,
            f1: 1.0,
            support,
            predicted: support,
        };
        let classified = |refund: u64| {
            let mut p = provider("a", 1.0, None);
            p.details = Details::Classification(ClassificationDetails {
                labels: vec!["billing".into(), "refund".into()],
                confusion: vec![vec![22, 0], vec![0, refund]],
                per_class: vec![class("billing", 22), class("refund", refund)],
                micro: Default::default(),
                macro_avg: Default::default(),
                weighted: Default::default(),
                unparseable: 0,
                zero_division: 0,
            });
            p
        };
        let ps = [classified(3), classified(4)];
        let labels = ["billing".to_string(), "refund".into(), "other".into()];
        assert_eq!(
            with_n(&labels, |l| class_support(&ps, l)),
            ["billing (n=22)", "refund (n=4)", "other"]
        );
        let mut f = provider("f", 1.0, None);
        f.details = Details::FunctionCalling(crate::score::FunctionCallDetails {
            per_function: [(
                "get_weather".to_string(),
                FunctionAccuracy {
                    n: 16,
                    correct: 15,
                    accuracy: 0.9375,
                },
            )]
            .into(),
            error_types: Default::default(),
            irrelevance: crate::score::Irrelevance { n: 0, correct: 0 },
            compat: Default::default(),
            per_category: serde_json::Value::Null,
            category_source: serde_json::Value::Null,
            bfcl_summary: serde_json::Value::Null,
        });
        let ps = [f];
        assert_eq!(function_n(&ps, "get_weather"), Some(16));
        assert_eq!(function_n(&ps, "nope"), None);
    }

    #[test]
    fn helpers() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
        assert_eq!(file_safe("a/b c", 2), "2_a_b_c");
        assert_eq!(usd_label(0.0123), "$0.012");
        assert_eq!(usd_label(2.5), "$2.50");
        assert_eq!(color_hex(0), "#0072b2");
        assert_eq!(heat(0.0), RGBColor(0xF7, 0xFB, 0xFF));
    }

    #[test]
    fn histogram_shows_the_gate_metric_when_it_has_per_item_scores() {
        assert_eq!(
            histogram_metric(TaskKind::Extraction, "parse_rate"),
            Some("parse_rate")
        );
        assert_eq!(
            histogram_metric(TaskKind::Summarization, "rouge2_f"),
            Some("rouge2_f")
        );
        // A corpus metric has no per-item score: the task's default is shown.
        assert_eq!(
            histogram_metric(TaskKind::Extraction, "micro_f1"),
            Some("field_f1")
        );
    }
}
