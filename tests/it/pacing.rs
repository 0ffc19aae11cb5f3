//! Pacing from the rate-limit headers (issue 20), through the real binary against the simulator enforcing provider
//! rate limits: with `run.pace: headers` (the default) a run of a few hundred items that must wait for the limits
//! finishes near the theoretical minimum with at most a handful of 429s; with `pace: off` the same kind of limit
//! answers many 429s. Either way no attempt arrives before the `retry-after` of the 429 it answers (read from the
//! simulator's own log, whose timestamps are those of the server's clock), and the journal counts every 429.
//!
//! Timing bounds are one-sided or generous (a loaded 2-core machine only makes a run slower, never faster than the
//! simulator's buckets allow); the sharp assertions are counts.

use crate::common;
use common::*;
use serde_json::Value;
use std::collections::HashMap;

/// A 429 answered the attempt at `t`; the next attempt must not arrive before `t + retry_after`. Same clock, no
/// rounding: 1 ms covers the timer wheel (see fault_storm.rs).
const TOLERANCE_MS: f64 = 1.0;

fn dataset(n: usize) -> String {
    let words = [
        ("billing", "charged twice for order"),
        ("bug", "the app crashes on screen"),
        ("feature", "please add an export to page"),
    ];
    (0..n)
        .map(|i| {
            let (label, text) = words[i % 3];
            format!("{{\"id\": \"t{i:04}\", \"text\": \"Ticket {i}: {text}\", \"label\": \"{label}\"}}\n")
        })
        .collect()
}

fn suite(providers: &str, run: &str) -> String {
    format!(
        r#"name: pacing
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature]
prompt:
  system: "Classify into billing, bug or feature."
  user: "{{{{ text }}}}"
providers:
{providers}
gate: {{bootstrap_iters: 200, min_items: 10}}
run: {run}
"#
    )
}

/// One simulator log line.
struct Arrival {
    t_ms: f64,
    outcome: String,
    retry_after_s: Option<f64>,
}

/// The simulator's log, per model, per (item, attempt).
fn sim_log(dir: &std::path::Path) -> HashMap<String, HashMap<(String, u64), Arrival>> {
    let log = std::fs::read_to_string(dir.join("sim.jsonl")).unwrap();
    let mut out: HashMap<String, HashMap<(String, u64), Arrival>> = HashMap::new();
    for line in log.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let key = (
            v["item"].as_str().unwrap().to_string(),
            v["attempt"].as_str().unwrap().parse().unwrap(),
        );
        let a = Arrival {
            t_ms: v["t_ms"].as_f64().unwrap(),
            outcome: v["outcome"].as_str().unwrap().to_string(),
            retry_after_s: v["retry_after_s"].as_f64(),
        };
        let model = v["model"].as_str().unwrap().to_string();
        let prev = out.entry(model).or_default().insert(key, a);
        assert!(prev.is_none(), "an attempt was sent twice: {line}");
    }
    out
}

/// Every 429 of the limiter is followed by the item's next attempt no earlier than its retry-after; returns how many
/// 429s there were.
fn retry_after_honoured(arrivals: &HashMap<(String, u64), Arrival>) -> usize {
    let mut n = 0;
    for ((item, attempt), a) in arrivals {
        if a.outcome != "rate_limited" {
            continue;
        }
        n += 1;
        let wait_ms = a.retry_after_s.expect("a 429 logs its retry-after") * 1000.0;
        assert!(wait_ms >= 1000.0, "retry-after is whole seconds: {wait_ms}");
        if let Some(next) = arrivals.get(&(item.clone(), attempt + 1)) {
            let gap = next.t_ms - a.t_ms;
            assert!(
                gap >= wait_ms - TOLERANCE_MS,
                "{item}: attempt {} sent {gap:.1} ms after a 429 with retry-after {wait_ms} ms",
                attempt + 1
            );
        }
    }
    n
}

/// The journal's records of `provider`, checked: every item answered, and its attempts and 429s agree with what the
/// simulator saw.
fn journal_agrees(
    dir: &std::path::Path,
    provider: &str,
    n: usize,
    arrivals: &HashMap<(String, u64), Arrival>,
) -> Vec<Value> {
    let journal = std::fs::read_to_string(run_dir(dir).join("journal.jsonl")).unwrap();
    let records: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["provider_id"] == provider)
        .collect();
    assert_eq!(records.len(), n, "{provider}");
    let mut attempts = 0;
    let mut throttled = 0;
    for r in &records {
        assert!(r["error"].is_null(), "{r}");
        attempts += r["attempts"].as_u64().unwrap() as usize;
        throttled += r["attempt_errors"]
            .as_array()
            .map_or(0, |a| a.iter().filter(|c| *c == "rate_limit").count());
    }
    assert_eq!(
        attempts,
        arrivals.len(),
        "{provider}: every attempt reached the sim"
    );
    let refused = arrivals
        .values()
        .filter(|a| a.outcome == "rate_limited")
        .count();
    assert_eq!(
        throttled, refused,
        "{provider}: the journal counts every 429"
    );
    records
}

fn last_arrival_s(arrivals: &HashMap<(String, u64), Arrival>) -> f64 {
    arrivals.values().map(|a| a.t_ms).fold(0.0, f64::max) / 1000.0
}

#[test]
fn paced_from_the_headers_a_run_stays_under_both_limits_with_a_handful_of_429s() {
    const N: usize = 350;
    // `base` is bound by requests (300/min: 300 at once, then 5/s: 10 s for the last 50), with OpenAI's headers;
    // `cand` by tokens (21,000/min, each request its prompt + 40), with Anthropic's.
    let providers = r#"  - id: base
    role: baseline
    kind: sim
    model: m-req
    price: {input_per_mtok: 2.5, output_per_mtok: 10}
    params: {max_tokens: 40}
    sim: {quality: 0.9, latency_ms: {p50: 5, p99: 20}, rate_limit: {rpm: 300, tpm: 1000000}}
  - id: cand
    kind: sim
    model: m-tok
    price: {input_per_mtok: 0.1, output_per_mtok: 0.4}
    params: {max_tokens: 40}
    sim: {quality: 0.9, latency_ms: {p50: 5, p99: 20}, rate_limit: {tpm: 21000, headers: anthropic}}"#;
    let d = fixture(&[
        (
            "s.yaml",
            &suite(providers, "{concurrency: 8, max_retries: 10}"),
        ),
        ("data.jsonl", &dataset(N)),
    ]);
    let out = evalh(
        d.path(),
        &["run", "s.yaml", "--no-cache", "--sim-log", "sim.jsonl"],
    );
    let t = text(&out);
    assert!(!t.contains("panicked"), "{t}");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{t}");
    let log = sim_log(d.path());

    let req = &log["m-req"];
    journal_agrees(d.path(), "base", N, req);
    let refused = retry_after_honoured(req);
    assert!(refused <= 3, "{refused} requests answered 429 (requests)");
    let min_s = (N as f64 - 300.0) / 5.0;
    let took = last_arrival_s(req);
    eprintln!(
        "requests: {refused} 429s, last sent at {took:.2} s, theoretical minimum {min_s:.2} s"
    );
    assert!(
        took >= min_s * 0.98 && took <= min_s * 2.5 + 5.0,
        "requests: last sent at {took:.2} s; theoretical minimum {min_s:.2} s"
    );

    let tok = &log["m-tok"];
    let records = journal_agrees(d.path(), "cand", N, tok);
    let refused = retry_after_honoured(tok);
    assert!(refused <= 3, "{refused} requests answered 429 (tokens)");
    // What the simulator charged: reported prompt tokens + max_tokens per admitted request.
    let charged: f64 = records
        .iter()
        .map(|r| r["usage"]["input_tokens"].as_f64().unwrap() + 40.0)
        .sum();
    let min_s = (charged - 21_000.0) / 350.0;
    assert!(min_s > 3.0, "the token limit must bind: {charged} tokens");
    let took = last_arrival_s(tok);
    eprintln!("tokens: {refused} 429s, last sent at {took:.2} s, theoretical minimum {min_s:.2} s");
    assert!(
        took >= min_s * 0.98 && took <= min_s * 2.5 + 5.0,
        "tokens: last sent at {took:.2} s; theoretical minimum {min_s:.2} s ({charged} tokens)"
    );
}

#[test]
fn without_pacing_the_limit_answers_429s_and_every_retry_after_is_honoured() {
    const N: usize = 75;
    // 60 requests/min: 60 at once, then one a second; 8 in flight keep knocking.
    let providers = r#"  - id: base
    role: baseline
    kind: sim
    model: m-req
    price: {input_per_mtok: 2.5, output_per_mtok: 10}
    params: {max_tokens: 40}
    sim: {quality: 0.9, rate_limit: {rpm: 60}}"#;
    let d = fixture(&[
        (
            "s.yaml",
            &suite(providers, "{concurrency: 8, max_retries: 40, pace: off}"),
        ),
        ("data.jsonl", &dataset(N)),
    ]);
    let out = evalh(
        d.path(),
        &["run", "s.yaml", "--no-cache", "--sim-log", "sim.jsonl"],
    );
    let t = text(&out);
    assert!(!t.contains("panicked"), "{t}");
    let log = sim_log(d.path());
    let req = &log["m-req"];
    journal_agrees(d.path(), "base", N, req);
    let refused = retry_after_honoured(req);
    assert!(refused >= 10, "only {refused} 429s without pacing");
    let min_s = (N as f64 - 60.0) / 1.0;
    eprintln!(
        "pace off: {refused} 429s, last sent at {:.2} s, theoretical minimum {min_s:.2} s",
        last_arrival_s(req)
    );
    assert!(last_arrival_s(req) >= min_s * 0.98);
}

/// One raw HTTP POST to the chat completions endpoint: status, lower-cased headers, JSON body.
fn post(addr: &str, body: &str) -> (u16, HashMap<String, String>, Value) {
    post_to(addr, "/v1/chat/completions", body)
}

/// One raw HTTP POST to `path`.
fn post_to(addr: &str, path: &str, body: &str) -> (u16, HashMap<String, String>, Value) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, json) = resp.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, serde_json::from_str(json).unwrap())
}

#[test]
fn sim_serve_limits_every_model_with_the_chosen_headers() {
    let d = fixture(&[("s.yaml", &sim_suite("")), ("data.jsonl", TICKETS)]);
    let mut child = std::process::Command::new(bin())
        .args(["sim", "serve", "s.yaml", "--port", "0", "--rpm", "2"])
        .args(["--tpm", "100000", "--rate-limit-headers", "anthropic"])
        .current_dir(d.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = line
        .trim()
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .to_string();
    let body = serde_json::json!({"model": "m-base", "max_tokens": 50, "messages": [
        {"role": "user", "content": "I was charged twice this month"}]})
    .to_string();
    let (s1, h1, _) = post(&addr, &body);
    let (s2, h2, _) = post(&addr, &body);
    let (s3, h3, v3) = post(&addr, &body);
    // The other model has buckets of its own.
    let (s4, h4, _) = post(&addr, &body.replace("m-base", "m-cand"));
    // Anthropic's Messages endpoint draws on the same buckets.
    let cand = body.replace("m-base", "m-cand");
    let (s5, h5, _) = post_to(&addr, "/v1/messages", &cand);
    let (s6, _, v6) = post_to(&addr, "/v1/messages", &cand);
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!((s1, s2, s3, s4, s5, s6), (200, 200, 429, 200, 200, 429));
    assert_eq!(h5["anthropic-ratelimit-requests-remaining"], "0");
    assert_eq!(v6["error"]["type"], "rate_limit_error");
    assert_eq!(h4["anthropic-ratelimit-requests-remaining"], "1");
    assert_eq!(h1["anthropic-ratelimit-requests-limit"], "2");
    assert_eq!(h1["anthropic-ratelimit-requests-remaining"], "1");
    assert_eq!(h2["anthropic-ratelimit-requests-remaining"], "0");
    assert_eq!(h1["anthropic-ratelimit-tokens-limit"], "100000");
    let used = 100_000
        - h1["anthropic-ratelimit-tokens-remaining"]
            .parse::<u64>()
            .unwrap();
    assert!(used > 50, "prompt tokens + max_tokens: {used}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&h1["anthropic-ratelimit-requests-reset"]).is_ok()
    );
    assert!(!h1.keys().any(|k| k.starts_with("x-ratelimit")), "{h1:?}");
    // 2/min: the next request fits in 30 s.
    assert_eq!(h3["retry-after"], "30", "{h3:?}");
    assert_eq!(v3["type"], "error");
    assert_eq!(v3["error"]["type"], "rate_limit_error");
}
