//! report.html and the PNG charts, end to end: the real binary on sim suites, the files it writes, hostile strings in
//! datasets and outputs, the drill-down cap, and — when Chromium is installed — a real browser opening the page.

use crate::common;
use common::*;
use std::path::{Path, PathBuf};

/// Decode a PNG: (width, height, number of distinct pixel values, capped at 64).
fn decode_png(path: &Path) -> (u32, u32, usize) {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = png::Decoder::new(f).read_info().expect("a PNG header");
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).expect("PNG pixels");
    let mut seen = std::collections::HashSet::new();
    for px in buf[..info.buffer_size()].chunks(info.color_type.samples()) {
        seen.insert(px.to_vec());
        if seen.len() >= 64 {
            break;
        }
    }
    (info.width, info.height, seen.len())
}

fn pngs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("charts"))
        .expect("charts dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    v.sort();
    v
}

fn check_pngs(dir: &Path, expected: &[&str]) {
    let files = pngs(dir);
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for e in expected {
        assert!(names.iter().any(|n| n == e), "{e} missing from {names:?}");
    }
    for f in &files {
        let (w, h, colours) = decode_png(f);
        assert!((500..=1200).contains(&w), "{}: width {w}", f.display());
        assert!((300..=3000).contains(&h), "{}: height {h}", f.display());
        assert!(
            colours >= 16,
            "{} looks blank ({colours} colours)",
            f.display()
        );
    }
}

/// The page's text with every `<script nonce=…>…</script>` (ours) removed.
fn without_own_script(html: &str) -> String {
    let start = html.find("<script nonce=").expect("the page's script");
    let end = html[start..].find("</script>").expect("script end") + start + "</script>".len();
    format!("{}{}", &html[..start], &html[end..])
}

fn assert_self_contained(html: &str) {
    assert!(!html.contains("http://"), "page references http://");
    assert!(!html.contains("https://"), "page references https://");
    assert!(!html.contains("<link"), "page links an external resource");
    for (i, _) in html.match_indices(" src=\"") {
        assert!(
            html[i..].starts_with(" src=\"data:image/png;base64,"),
            "non-data src at {i}: {}",
            &html[i..(i + 60).min(html.len())]
        );
    }
    assert!(html.contains("Content-Security-Policy"));
}

#[test]
fn run_writes_report_and_charts_and_markdown_names_them_without_images() {
    let d = fixture(&[("s.yaml", &sim_suite("")), ("data.jsonl", TICKETS)]);
    std::fs::create_dir_all(d.path().join("out")).unwrap();
    let out = evalh(
        d.path(),
        &[
            "run",
            "s.yaml",
            "--markdown",
            "out/summary.md",
            "--no-progress",
        ],
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let dir = run_dir(d.path());
    assert!(text(&out).contains("report.html"), "{}", text(&out));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_self_contained(&html);
    // The recommendation heads the page: 6 items cannot settle a verdict, so none can replace the baseline yet.
    let head = html
        .find("<p class=\"headline none_yet\" id=\"recommendation\">no candidate can replace base yet; nearest: cand")
        .expect("headline");
    assert!(head < html.find("<section id=\"verdicts\">").unwrap());
    // One verdict card for the one candidate, with its reasons.
    assert_eq!(html.matches("class=\"card verdict").count(), 1);
    assert!(html.contains("data-provider=\"cand\""));
    assert!(html.contains("quality ratio"));
    for section in [
        "verdicts", "metrics", "cost", "charts", "tokens", "errors", "drill",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{section}\">")),
            "{section}"
        );
    }
    // Every item is in the drill-down with both providers' outputs.
    assert_eq!(html.matches("<article class=\"item\"").count(), 6);
    assert_eq!(html.matches("data-p=\"1\"").count(), 6);
    assert!(html.contains("I was charged twice this month"));
    // Charts: files on disk, inlined in the page, linked from the Markdown relative to its own directory.
    check_pngs(
        &dir,
        &[
            "quality_vs_cost.png",
            "latency_cdf.png",
            "per_class_f1.png",
            "confusion_0_base.png",
            "confusion_1_cand.png",
        ],
    );
    assert_eq!(
        html.matches("src=\"data:image/png;base64,").count(),
        pngs(&dir).len()
    );
    // The Markdown (a GitHub job summary) names the charts by their place in the run directory and embeds none:
    // GitHub cannot show an image from the runner's disk.
    let md = std::fs::read_to_string(d.path().join("out/summary.md")).unwrap();
    let run_name = dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(md.contains(&run_name), "{md}");
    assert!(md.contains("`charts/quality_vs_cost.png`"), "{md}");
    assert!(md.contains("`report.html`"), "{md}");
    let images = evalh::report::local_images(&md);
    assert!(
        images.is_empty(),
        "image references that are not URLs: {images:?}\n{md}"
    );
}

#[test]
fn report_regenerates_offline_and_score_does_not_draw() {
    let d = fixture(&[("s.yaml", &sim_suite("")), ("data.jsonl", TICKETS)]);
    let out = evalh(d.path(), &["run", "s.yaml", "--no-progress"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let dir = run_dir(d.path());
    let first = std::fs::read(dir.join("report.html")).unwrap();
    let first_png = std::fs::read(dir.join("charts/quality_vs_cost.png")).unwrap();
    std::fs::remove_file(dir.join("report.html")).unwrap();
    std::fs::remove_dir_all(dir.join("charts")).unwrap();
    let dir_s = dir.to_str().unwrap();
    let out = evalh(d.path(), &["score", dir_s]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    assert!(!dir.join("report.html").exists());
    let out = evalh(d.path(), &["report", dir_s]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    // Same journal, same bytes.
    assert_eq!(std::fs::read(dir.join("report.html")).unwrap(), first);
    assert_eq!(
        std::fs::read(dir.join("charts/quality_vs_cost.png")).unwrap(),
        first_png
    );
}

const SCRIPT: &str = "<script>document.documentElement.setAttribute('data-pwned','1')</script>";
const IMG: &str =
    "\"><img src=x onerror=\"document.documentElement.setAttribute('data-pwned','2')\">";

fn hostile_fixture() -> tempfile::TempDir {
    let row = |id: &str, text: &str, label: &str| {
        serde_json::json!({"id": id, "text": text, "label": label}).to_string()
    };
    let data = [
        row("x1", SCRIPT, "billing"),
        row("x2<b>", IMG, "bug"),
        row("x3", "plain", "<script>alert(3)</script>"),
        row("x4", "plain too", "\"><img src=y onerror=alert(4)>"),
        row("x5", "see https://example.com/a?b=<c>", "billing"),
    ]
    .join("\n");
    let suite = r#"name: hostile
task: classification
dataset: {path: data.jsonl, id: id, expected: label}
labels: [billing, bug, "<script>alert(3)</script>", "\"><img src=y onerror=alert(4)>"]
prompt:
  user: "{{ text }}"
providers:
  - id: base
    role: baseline
    kind: sim
    model: m-base
    price: {input_per_mtok: 2.5, output_per_mtok: 10}
    sim: {quality: 1.0}
  - id: cand
    kind: sim
    model: "m\"><script>alert(5)</script>"
    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}
    sim: {quality: 0.0, faults: {server_error: 0.5}}
run: {max_retries: 0}
"#;
    fixture(&[("s.yaml", suite), ("data.jsonl", &data)])
}

#[test]
fn hostile_strings_in_dataset_and_outputs_stay_text() {
    let d = hostile_fixture();
    let out = evalh(d.path(), &["run", "s.yaml", "--no-progress"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let dir = run_dir(d.path());
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    // Only the page's own script element exists; every hostile string is escaped.
    assert_eq!(html.matches("<script").count(), 1, "extra <script> in page");
    let rest = without_own_script(&html);
    assert_eq!(
        rest.matches("<img").count(),
        rest.matches("<img src=\"data:image/png;base64,").count(),
        "an <img> that is not one of the charts"
    );
    assert!(!rest.contains("x2<b>"), "raw <b> from an item id");
    assert!(!rest.contains("onerror=\""), "unescaped attribute");
    assert!(html.contains("&lt;script&gt;document.documentElement"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=&quot;"));
    assert!(html.contains("&lt;script&gt;alert(3)&lt;/script&gt;"));
    assert!(html.contains("x2&lt;b&gt;"));
    assert!(html.contains("m&quot;&gt;&lt;script&gt;alert(5)"));
    // A URL inside dataset text is shown as escaped text, never as a link or a resource.
    assert!(html.contains("see https://example.com/a?b=&lt;c&gt;"));
    assert_eq!(html.matches("https://").count(), 1);
    assert!(!html.contains("href=\"http"));
    // The failing candidate's errors are in the drill-down.
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let errors = results["providers"][1]["n_errors"].as_u64().unwrap();
    assert!(errors > 0, "the fixture should inject errors");
    assert_eq!(html.matches("<b>error</b>").count() as u64, errors);
    assert!(html.contains("data-err=\"\""));

    // The Markdown summary escapes nothing, but it is not HTML either; the charts must still render.
    check_pngs(&dir, &["quality_vs_cost.png"]);

    match chromium() {
        None => eprintln!(
            "note: /usr/bin/chromium not found; skipping the browser half of the XSS test"
        ),
        Some(bin) => {
            let dom = dump_dom(&bin, &dir.join("report.html"));
            assert!(
                dom.contains("data-js=\"ready\""),
                "the page's own script did not run"
            );
            assert!(
                !dom.contains("data-pwned=\""),
                "injected script ran:\n{dom}"
            );
            assert!(!dom.contains("<img src=\"x\""), "injected element in DOM");
        }
    }
}

/// A run directory written directly (suite + dataset + journal), as `evalh run` would leave it: `n` items, the
/// baseline right on 9 in 10, the candidate on 7 in 10, and a failed candidate request every 97th item.
fn synthetic_run(n: usize) -> tempfile::TempDir {
    const LABELS: [&str; 3] = ["billing", "bug", "feature"];
    let mut data = String::new();
    let mut journal = String::new();
    for i in 0..n {
        let label = LABELS[i % 3];
        let wrong = LABELS[(i + 1) % 3];
        data.push_str(&format!(
            "{{\"id\": \"i{i:06}\", \"text\": \"ticket {i}\", \"label\": \"{label}\"}}\n"
        ));
        for (provider, right_share, cost) in [("base", 9, 2e-4), ("cand", 7, 1e-5)] {
            let error = (provider == "cand" && i % 97 == 5)
                .then(|| serde_json::json!({"class": "server_error", "message": "HTTP 500", "status": 500}));
            let out = if i % 10 < right_share { label } else { wrong };
            let rec = serde_json::json!({
                "item_id": format!("i{i:06}"), "provider_id": provider, "repeat": 0,
                "request_hash": format!("{provider}{i}"),
                "output_text": if error.is_some() { "" } else { out },
                "usage": {"input_tokens": 20, "output_tokens": 2, "cached_input_tokens": 0, "reasoning_tokens": 0},
                "cost_usd": if error.is_some() { 0.0 } else { cost },
                "latency_ms": 100.0 + (i % 50) as f64 * if provider == "base" { 9.0 } else { 4.0 },
                "attempts": 1, "error": error, "est_input_tokens": 18
            });
            journal.push_str(&rec.to_string());
            journal.push('\n');
        }
    }
    let suite = sim_suite("gate: {bootstrap_iters: 200}\n");
    fixture(&[
        ("run/suite.yaml", &suite),
        ("run/data.jsonl", &data),
        ("run/journal.jsonl", &journal),
    ])
}

#[test]
fn large_runs_embed_a_capped_prioritised_drill_down() {
    let d = synthetic_run(2300);
    let dir = d.path().join("run");
    let out = evalh(d.path(), &["report", "run"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    assert!(!text(&out).contains("unreadable"), "{}", text(&out));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(html.matches("<article class=\"item\"").count(), 2000);
    assert!(html.contains("2000 of 2300 items are embedded"), "cap note");
    // The rows' fields left memory for the analysis and were read back for every embedded item (and only those).
    assert_eq!(
        html.matches("<span class=\"k\">text:</span> ticket ")
            .count(),
        2000
    );
    // Counts are over all items: 24 failed requests, 460 baseline-right/candidate-wrong (20% of items, less the
    // errored ones already counted there), and every one of them is embedded before any agreeing item.
    let counts = html
        .split("id=\"drill-counts\">")
        .nth(1)
        .expect("counts line");
    let bold = |k: usize| -> usize {
        counts
            .split("<b>")
            .nth(k)
            .and_then(|s| s.split("</b>").next())
            .and_then(|s| s.parse().ok())
            .expect("a count")
    };
    let errors = (0..2300).filter(|i| i % 97 == 5).count();
    assert_eq!(bold(1), errors);
    let brcw = (0..2300)
        .filter(|i| (7..9).contains(&(i % 10)) || (i % 97 == 5 && i % 10 < 9))
        .count();
    assert_eq!(bold(2), brcw);
    assert_eq!(html.matches(" data-err=\"\"").count(), errors);
    assert_eq!(html.matches(" data-brcw=\"1\"").count(), brcw);
    assert_eq!(html.matches(" data-dis=\"\"").count(), bold(3));
    assert!(html.len() < 8_000_000, "page is {} bytes", html.len());
    check_pngs(&dir, &["quality_vs_cost.png", "latency_cdf.png"]);
}

#[test]
fn every_task_type_gets_its_charts() {
    let providers = r#"providers:
  - {id: big, role: baseline, kind: sim, model: big, price: {input_per_mtok: 2.5, output_per_mtok: 10}, sim: {quality: 0.95}}
  - {id: small, kind: sim, model: small, price: {input_per_mtok: 0.1, output_per_mtok: 0.4}, sim: {quality: 0.8}}
"#;
    let d = fixture(&[("p.yaml", providers)]);
    for (suite, charts) in [
        ("summarize", &["score_distribution.png"][..]),
        (
            "extract",
            &["score_distribution.png", "per_field_accuracy.png"][..],
        ),
        ("function_call", &["per_function_accuracy.png"][..]),
    ] {
        let out_dir = d.path().join(suite);
        let path = root().join(format!("suites/{suite}.yaml"));
        let out = evalh(
            d.path(),
            &[
                "run",
                path.to_str().unwrap(),
                "--providers",
                "p.yaml",
                "--out",
                out_dir.to_str().unwrap(),
                "--no-progress",
            ],
        );
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{suite}: {}",
            text(&out)
        );
        let dir = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.is_dir())
            .unwrap();
        let mut want = vec!["quality_vs_cost.png", "latency_cdf.png"];
        want.extend_from_slice(charts);
        check_pngs(&dir, &want);
        let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
        assert_self_contained(&html);
        assert_eq!(html.matches("class=\"card verdict").count(), 1, "{suite}");
    }
}

fn chromium() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/chromium");
    p.exists().then_some(p)
}

fn browser(bin: &Path, extra: &[&str], page: &Path) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.display());
    std::process::Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium")
}

fn dump_dom(bin: &Path, page: &Path) -> String {
    let out = browser(bin, &["--dump-dom", "--virtual-time-budget=3000"], page);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn chromium_opens_the_report_and_finds_cards_and_drill_down() {
    let Some(bin) = chromium() else {
        eprintln!("note: /usr/bin/chromium not found (.ci/run installs the Debian package `chromium`); skipping the browser test");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let suite = root().join("suites/classify.yaml");
    let providers = r#"providers:
  - {id: premium, role: baseline, kind: sim, model: sim-premium, price: {input_per_mtok: 2.5, output_per_mtok: 10}, sim: {quality: 0.93}}
  - {id: flash, kind: sim, model: sim-flash, price: {input_per_mtok: 0.1, output_per_mtok: 0.4}, sim: {quality: 0.94}}
  - {id: tiny, kind: sim, model: sim-tiny, price: {input_per_mtok: 0.05, output_per_mtok: 0.08}, sim: {quality: 0.7}}
"#;
    std::fs::write(d.path().join("p.yaml"), providers).unwrap();
    let out = evalh(
        d.path(),
        &[
            "run",
            suite.to_str().unwrap(),
            "--providers",
            "p.yaml",
            "--no-progress",
        ],
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let page = run_dir(d.path()).join("report.html");

    let dom = dump_dom(&bin, &page);
    assert!(
        dom.contains("data-js=\"ready\""),
        "script did not run:\n{}",
        &dom[..dom.len().min(2000)]
    );
    assert_eq!(dom.matches("class=\"card verdict").count(), 2);
    assert!(dom.contains("data-verdict=\"PASS\"") || dom.contains("data-verdict=\"FAIL\""));
    assert!(dom.contains("<section id=\"drill\">"));
    assert_eq!(dom.matches("<article class=\"item\"").count(), 110);
    // After the script ran: controls visible, first page of 50 shown, the rest hidden.
    assert!(
        dom.contains("<div id=\"controls\">"),
        "controls still hidden"
    );
    assert_eq!(
        dom.matches("<article class=\"item\" data-idx=").count(),
        110
    );
    assert_eq!(
        dom.matches("hidden=\"\"><header>").count(),
        60,
        "pagination"
    );
    assert!(dom.contains("Items 1–50 of 110 matching"));

    let shot = d.path().join("shot.png");
    let out = browser(
        &bin,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,2000",
            "--hide-scrollbars",
        ],
        &page,
    );
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (w, h, colours) = decode_png(&shot);
    assert_eq!((w, h), (1400, 2000));
    assert!(colours >= 16, "screenshot looks blank");
}

#[test]
fn a_run_served_from_the_cache_keeps_its_latency_chart_saying_there_is_no_data() {
    let d = fixture(&[("s.yaml", &sim_suite("")), ("data.jsonl", TICKETS)]);
    for out in ["first", "second"] {
        let o = evalh(d.path(), &["run", "s.yaml", "--out", out, "--no-progress"]);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    }
    let dir = std::fs::read_dir(d.path().join("second"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    check_pngs(&dir, &["latency_cdf.png"]);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("No latency data"), "no caption saying so");
}
