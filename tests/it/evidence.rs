//! The evidence contract, tried as a user would (issue 12): every way a run can end without evidence — every request
//! failing, an outage mid-run, a budget stop, Ctrl-C, a truncated or missing journal — ends INCOMPLETE (exit 3, no
//! verdict in any report), never PASS.

use crate::common;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY_ENV: &str = "EVALH_EVIDENCE_TEST_KEY";

fn dataset(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"id\": \"i{i}\", \"text\": \"ticket {i}\", \"label\": \"{}\"}}\n",
                ["billing", "bug", "feature"][i % 3]
            )
        })
        .collect()
}

/// A suite whose providers are OpenAI-compatible endpoints at `urls` (the first is the baseline).
fn openai_suite(urls: &[&str], extra: &str) -> String {
    let mut providers = String::new();
    for (i, u) in urls.iter().enumerate() {
        providers.push_str(&format!(
            "  - {{id: p{i}, {}kind: openai, model: m{i}, base_url: \"{u}\", api_key_env: {KEY_ENV}, price: {{input_per_mtok: {}, output_per_mtok: 1}}}}\n",
            if i == 0 { "role: baseline, " } else { "" },
            if i == 0 { 2.5 } else { 0.1 }
        ));
    }
    format!(
        "name: ev\ntask: classification\ndataset: {{path: data.jsonl, id: id, expected: label}}\nlabels: [billing, bug, feature]\nprompt:\n  user: \"{{{{ text }}}}\"\nproviders:\n{providers}{extra}"
    )
}

fn run_evalh(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("CI", "true")
        .env(KEY_ENV, "sk-test-evidence-0000")
        .env("EVALH_CACHE_DIR", dir.join(".evalh-cache"))
        .output()
        .unwrap()
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Read one HTTP request (headers and a Content-Length body) from `s`.
fn read_request(s: &mut TcpStream) -> bool {
    let mut r = BufReader::new(s);
    let mut len = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return false;
        }
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).is_ok()
}

const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"billing"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":13}}"#;

/// Serve `status`/`body` to every request on `listener`, at most `limit` requests, then close the listener (so the
/// next connection is refused: an outage). Returns the number served so far.
fn serve(listener: TcpListener, status: u16, body: &'static str, limit: usize) -> Arc<AtomicUsize> {
    let served = Arc::new(AtomicUsize::new(0));
    let s2 = served.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { break };
            if s2.load(Ordering::SeqCst) >= limit {
                break;
            }
            // A thread per connection: the client keeps several connections alive at once.
            let s3 = s2.clone();
            std::thread::spawn(move || {
                while read_request(&mut c) {
                    let n = s3.fetch_add(1, Ordering::SeqCst);
                    if n >= limit {
                        return;
                    }
                    let reason = if status == 200 { "OK" } else { "Error" };
                    let msg = format!(
                        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if c.write_all(msg.as_bytes()).is_err() {
                        break;
                    }
                }
            });
        }
    });
    served
}

fn results(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

/// Everything a user reads says INCOMPLETE and nothing says PASS.
fn assert_incomplete_everywhere(out: &std::process::Output, d: &std::path::Path) {
    let t = text(out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("INCOMPLETE"), "{t}");
    assert!(!t.contains(" PASS"), "{t}");
    assert!(t.contains("evalh run --resume"), "{t}");
    assert!(!t.contains("inf") && !t.contains("NaN"), "{t}");
    let run = run_dir(d);
    let r = results(&run);
    assert_eq!(r["complete"], false, "{r}");
    assert_eq!(r["gate_exit_code"], 3);
    assert!(!r["unsettled_by_reason"].as_object().unwrap().is_empty());
    for p in r["providers"].as_array().unwrap() {
        if let Some(g) = p["gate"].as_object() {
            assert_eq!(g["verdict"], "INCOMPLETE", "{p}");
        }
    }
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("INCOMPLETE RUN"), "report.html has no banner");
    if d.join("j.xml").exists() {
        let j = std::fs::read_to_string(d.join("j.xml")).unwrap();
        assert!(j.contains("type=\"incomplete\""), "{j}");
    }
    if d.join("m.md").exists() {
        let m = std::fs::read_to_string(d.join("m.md")).unwrap();
        assert!(m.contains("Incomplete run: no verdicts"), "{m}");
    }
}

#[test]
fn every_request_failing_is_incomplete_within_seconds_not_a_pass() {
    let url = format!("http://127.0.0.1:{}/v1", closed_port());
    for urls in [vec![url.as_str(), url.as_str()], vec![url.as_str()]] {
        let d = fixture(&[
            ("s.yaml", &openai_suite(&urls, "run: {max_retries: 0}\n")),
            ("data.jsonl", &dataset(40)),
        ]);
        let t0 = Instant::now();
        let out = run_evalh(
            d.path(),
            &[
                "run",
                "s.yaml",
                "--out",
                "reports",
                "--junit",
                "j.xml",
                "--markdown",
                "m.md",
            ],
        );
        assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
        assert_incomplete_everywhere(&out, d.path());
        let t = text(&out);
        assert!(t.contains("requests failed: connection"), "{t}");
        let r = results(&run_dir(d.path()));
        let p0 = &r["providers"][0];
        assert_eq!(p0["n_unsettled"], 40, "{p0}");
        assert!(p0["gate"].is_null());
    }
}

#[test]
fn a_dead_endpoint_with_retries_is_stopped_by_the_circuit_breaker() {
    // Five providers at a closed port with the default retries: the breaker ends the run in seconds, not minutes.
    let url = format!("http://127.0.0.1:{}/v1", closed_port());
    let urls = vec![url.as_str(); 5];
    let d = fixture(&[
        ("s.yaml", &openai_suite(&urls, "")),
        ("data.jsonl", &dataset(40)),
    ]);
    let t0 = Instant::now();
    let out = run_evalh(d.path(), &["run", "s.yaml", "--out", "reports"]);
    let t = text(&out);
    assert!(
        t0.elapsed() < Duration::from_secs(40),
        "{:?}: {t}",
        t0.elapsed()
    );
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("stopped sending"), "{t}");
    assert!(t.contains("consecutive connection failures"), "{t}");
}

#[test]
fn auth_and_not_found_answers_are_incomplete() {
    for (status, body, reason, code) in [
        (
            401,
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#,
            "auth",
            "code invalid_api_key",
        ),
        (
            404,
            r#"{"error":{"message":"The model does not exist","type":"invalid_request_error","code":"model_not_found"}}"#,
            "not_found",
            "code model_not_found",
        ),
    ] {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", l.local_addr().unwrap());
        serve(l, status, body, usize::MAX);
        let d = fixture(&[
            (
                "s.yaml",
                &openai_suite(&[&url, &url], "run: {max_retries: 0}\n"),
            ),
            ("data.jsonl", &dataset(40)),
        ]);
        let out = run_evalh(d.path(), &["run", "s.yaml", "--out", "reports"]);
        assert_incomplete_everywhere(&out, d.path());
        // The terminal names the dominant failure with its cause: the HTTP status and the provider's error code.
        let t = text(&out);
        assert!(
            t.contains(&format!("HTTP {status}")) && t.contains(code),
            "{t}"
        );
        let r = results(&run_dir(d.path()));
        assert!(
            r["unsettled_by_reason"][reason].as_u64().unwrap_or(0) > 0,
            "{status}: {}",
            r["unsettled_by_reason"]
        );
    }
}

#[test]
fn an_outage_mid_run_is_incomplete_offline_too_and_resume_completes_it() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let url = format!("http://{addr}/v1");
    serve(l, 200, COMPLETION, 40);
    let d = fixture(&[
        (
            "s.yaml",
            &openai_suite(
                &[&url, &url],
                "gate: {decision: point}\nrun: {concurrency: 2, max_retries: 1, max_backoff_s: 0.2}\n",
            ),
        ),
        ("data.jsonl", &dataset(200)),
    ]);
    let t0 = Instant::now();
    let out = run_evalh(d.path(), &["run", "s.yaml", "--out", "reports"]);
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    assert_incomplete_everywhere(&out, d.path());
    let run = run_dir(d.path());
    // Rescored offline, with point decisions, the same journal is still no verdict.
    let out = run_evalh(d.path(), &["score", run.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(!text(&out).contains(" PASS"));
    // The endpoint is back: resume sends what is unsettled and the run completes.
    let l = TcpListener::bind(addr).unwrap();
    let served = serve(l, 200, COMPLETION, usize::MAX);
    let out = run_evalh(d.path(), &["run", "--resume", run.to_str().unwrap()]);
    let t = text(&out);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{t}");
    assert!(served.load(Ordering::SeqCst) > 0);
    let r = results(&run);
    assert_eq!(r["complete"], true, "{t}");
    assert_ne!(r["providers"][1]["gate"]["verdict"], "INCOMPLETE");
}

#[test]
fn a_budget_stop_is_incomplete_with_no_verdict_and_no_negative_ratio() {
    let d = fixture(&[
        ("s.yaml", &sim_suite("run: {concurrency: 2}\n")),
        ("data.jsonl", &dataset(60)),
    ]);
    let out = evalh(
        d.path(),
        &["run", "s.yaml", "--out", "reports", "--max-cost", "0.0005"],
    );
    let t = text(&out);
    assert_incomplete_everywhere(&out, d.path());
    assert!(t.contains("budget reached"), "{t}");
    assert!(!t.contains("cost ratio -") && !t.contains(" FAIL"), "{t}");
}

#[test]
fn a_truncated_or_missing_journal_never_passes_offline() {
    let d = fixture(&[
        (
            "s.yaml",
            &sim_suite("gate: {decision: point, min_items: 5}\n"),
        ),
        ("data.jsonl", &dataset(60)),
    ]);
    let out = evalh(d.path(), &["run", "s.yaml", "--out", "reports"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let run = run_dir(d.path());
    let journal = run.join("journal.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    std::fs::write(&journal, lines[..lines.len() * 3 / 10].join("\n") + "\n").unwrap();
    for cmd in ["score", "report"] {
        let out = evalh(d.path(), &[cmd, run.to_str().unwrap()]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(3), "{cmd}: {t}");
        assert!(!t.contains(" PASS") && t.contains("INCOMPLETE"), "{t}");
        assert_eq!(results(&run)["complete"], false);
    }
    std::fs::remove_file(&journal).unwrap();
    let out = evalh(d.path(), &["score", run.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(!text(&out).contains(" PASS"));
}

#[test]
fn ctrl_c_stops_sending_on_summarization_too() {
    let d = fixture(&[]);
    let suite = root().join("suites/summarize.yaml");
    let child = std::process::Command::new(bin())
        .args([
            "run",
            suite.to_str().unwrap(),
            "--out",
            "reports",
            "--sim-log",
            "sim.log",
            "--no-cache",
        ])
        .current_dir(d.path())
        .env("CI", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let t0 = Instant::now();
    let st = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let t = text(&out);
    // In-flight requests finish (their latency is at most a few seconds); nothing new is sent.
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    assert_eq!(out.status.code(), Some(3), "{t}");
    let sent = std::fs::read_to_string(d.path().join("sim.log"))
        .unwrap()
        .lines()
        .count();
    assert!(sent < 170, "sent {sent} of 180 after Ctrl-C");
    let r = results(&run_dir(d.path()));
    assert_eq!(r["complete"], false);
}

#[test]
fn a_cached_baseline_keeps_its_latency_so_a_faster_candidate_does_not_fail_p99() {
    let provider = |id: &str, role: &str, p50: u32, p99: u32| {
        format!(
            "  - {{id: {id}, {role}kind: sim, model: m-{id}, price: {{input_per_mtok: 1, output_per_mtok: 1}}, sim: {{quality: 1.0, latency_ms: {{p50: {p50}, p99: {p99}}}}}}}\n"
        )
    };
    let head = "name: lat\ntask: classification\ndataset: {path: data.jsonl, id: id, expected: label}\nlabels: [billing, bug, feature]\nprompt:\n  user: \"{{ text }}\"\nrun: {concurrency: 16}\ngate: {max_cost_ratio: 2.0, min_items: 5}\nproviders:\n";
    let one = format!("{head}{}", provider("base", "role: baseline, ", 300, 700));
    let two = format!("{one}{}", provider("fast", "", 20, 40));
    let d = fixture(&[
        ("one.yaml", &one),
        ("two.yaml", &two),
        ("data.jsonl", &dataset(40)),
    ]);
    let out = evalh(d.path(), &["run", "one.yaml", "--out", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The baseline now comes from the cache, the new candidate is sent.
    let out = evalh(d.path(), &["run", "two.yaml", "--out", "r2"]);
    let t = text(&out);
    assert!(t.contains("40 responses served"), "{t}");
    let run = std::fs::read_dir(d.path().join("r2"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let r = results(&run);
    let base = &r["providers"][0];
    assert_eq!(base["latency_from_cache"], 40, "{base}");
    assert!(
        base["latency_ms"]["p99"].as_f64().unwrap() > 200.0,
        "{base}"
    );
    let rule = r["providers"][1]["gate"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "p99_latency")
        .unwrap()
        .clone();
    assert_eq!(rule["status"], "pass", "{rule}");
    assert!(
        rule["detail"].as_str().unwrap().contains("from the cache"),
        "{rule}"
    );
}

#[test]
fn every_gate_metric_the_validator_accepts_gets_a_finite_interval_and_a_verdict() {
    // Issue 12 item 5: extraction gated on micro_f1 printed (NaN-NaN) and stayed INCONCLUSIVE forever.
    let src = std::fs::read_to_string(root().join("suites/extract.yaml")).unwrap();
    let abs = root().join("datasets/extract");
    let suite = src
        .replace("../datasets/extract", abs.to_str().unwrap())
        .replace("metric: field_f1", "metric: micro_f1");
    assert!(suite.contains("metric: micro_f1"), "{suite}");
    let d = fixture(&[("s.yaml", &suite)]);
    let out = evalh(
        d.path(),
        &["run", "s.yaml", "--out", "reports", "--no-cache"],
    );
    let t = text(&out);
    assert!(!t.contains("NaN"), "{t}");
    let r = results(&run_dir(d.path()));
    assert_eq!(r["gate_metric"], "micro_f1");
    for p in r["providers"].as_array().unwrap() {
        let iv = &p["metric_intervals"]["micro_f1"];
        assert!(
            iv["lower"].as_f64().is_some() && iv["upper"].as_f64().is_some(),
            "{p}"
        );
        if let Some(g) = p["gate"].as_object() {
            assert!(
                g["verdict"] == "PASS" || g["verdict"] == "FAIL",
                "{}: {}",
                p["id"],
                g["verdict"]
            );
        }
    }
}

#[test]
fn a_signal_while_scoring_still_writes_the_results() {
    // Issue 14: stopped while scoring, a run left no results.json. The first signal now lets the scoring finish.
    let data: String = (0..6000)
        .map(|i| {
            format!(
                "{{\"id\": \"i{i}\", \"text\": \"ticket {i}\", \"label\": \"{}\"}}\n",
                ["billing", "bug", "feature"][i % 3]
            )
        })
        .collect();
    let suite = sim_suite("run: {concurrency: 64}\ngate: {bootstrap_iters: 5000}\n").replace(
        "sim: {quality: 1.0}",
        "sim: {quality: 0.9, latency_ms: {p50: 0, p99: 0}}",
    );
    let d = fixture(&[("s.yaml", &suite), ("data.jsonl", &data)]);
    let mut child = std::process::Command::new(bin())
        .args(["run", "s.yaml", "--out", "reports", "--no-cache"])
        .current_dir(d.path())
        .env("CI", "true")
        .env("EVALH_TIMINGS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if line.contains("requests sent and journaled") {
            // Let the scoring-phase handler register, then stop the run while it scores.
            std::thread::sleep(Duration::from_millis(300));
            std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            break;
        }
    }
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    seen.push_str(&rest);
    let status = child.wait().unwrap();
    assert!(seen.contains("finishing the results"), "{seen}");
    assert!(matches!(status.code(), Some(0 | 1)), "{status:?}: {seen}");
    let r = results(&run_dir(d.path()));
    assert_eq!(r["complete"], true);
}
