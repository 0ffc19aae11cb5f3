//! The response cache across runs, end to end: a second run of an unchanged suite sends nothing and reports the same
//! results; `--no-cache` bypasses it; expired entries are misses; `evalh plan` counts the hits beforehand; a change to
//! the request (prompt, params, repeat) misses.

use crate::common;
use crate::durability_util;
use common::*;
use durability_util::*;
use serde_json::Value;
use std::path::Path;

fn s() -> String {
    suite(
        ", latency_ms: {p50: 2, p99: 6}, faults: {rate_limit: 0.05, retry_after_s: 0.01}",
        "concurrency: 8, seed: 9, max_backoff_s: 0.05",
        "",
    )
}

fn run(
    dir: &Path,
    suite_file: &str,
    out: &str,
    extra: &[&str],
) -> (std::process::Output, std::path::PathBuf) {
    let mut args = vec![
        "run",
        suite_file,
        "--out",
        out,
        "--cache-dir",
        "cache",
        "--no-progress",
        "--sim-log",
    ];
    let log = format!("{out}.log");
    args.push(&log);
    args.extend_from_slice(extra);
    let o = evalh(dir, &args);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    (o, only_subdir(&dir.join(out)))
}

fn results(run: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap()
}

/// results.json minus what legitimately differs between a paid and a cached run.
fn comparable(run: &Path) -> String {
    let mut v = results(run);
    for p in v["providers"].as_array_mut().unwrap() {
        let o = p.as_object_mut().unwrap();
        o.remove("n_cached");
        o.remove("cost_usd_paid");
        o.remove("latency_from_cache");
        o.remove("retries");
        // Throttling happened on the paid run only; a cached run is never throttled.
        o.remove("throttle");
    }
    without_wallclock(serde_json::to_string(&v).unwrap().as_bytes())
}

#[test]
fn second_run_is_served_from_the_cache_and_reports_the_same_results() {
    let d = fixture(&[("s.yaml", &s()), ("data.jsonl", &dataset(150))]);
    let dir = d.path();
    let (_, first) = run(dir, "s.yaml", "r1", &[]);
    let sent_first = sim_log(&dir.join("r1.log"));
    assert!(sent_first.len() >= 300, "{}", sent_first.len());
    assert!(
        sent_first.iter().any(|l| l.outcome == "rate_limit"),
        "the suite injects 429s"
    );
    let r1 = results(&first);
    for p in r1["providers"].as_array().unwrap() {
        assert_eq!(p["n_cached"], 0);
        assert_eq!(p["cost_usd_paid"], p["cost_usd_total"]);
    }

    // The plan sees every request in the cache.
    let o = evalh(dir, &["plan", "s.yaml", "--cache-dir", "cache"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("300 of 300 requests are cached"), "{t}");

    let (o, second) = run(dir, "s.yaml", "r2", &[]);
    assert!(
        sim_log(&dir.join("r2.log")).is_empty(),
        "a fully cached run sends nothing"
    );
    assert!(text(&o).contains("300 responses served"), "{}", text(&o));
    let r2 = results(&second);
    for (p, p1) in r2["providers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(r1["providers"].as_array().unwrap())
    {
        assert_eq!(p["n_cached"], 150);
        assert_eq!(p["cost_usd_paid"].as_f64(), Some(0.0));
        // Cached responses count with the latency stored with their cache entry: the same latency statistics as
        // the run that paid for them, so a cached re-run gives the same latency verdict.
        assert_eq!(p["latency_ms"], p1["latency_ms"], "{p}");
        assert_eq!(p["latency_from_cache"], 150);
    }
    for line in std::fs::read_to_string(second.join("journal.jsonl"))
        .unwrap()
        .lines()
    {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["cached"], true);
        assert_eq!(v["cost_usd"].as_f64(), Some(0.0));
    }
    // Same responses, so the same scores, costs (valued at list price) and verdicts.
    assert_eq!(comparable(&first), comparable(&second));
    let c1: Vec<_> = journal_content(&first)
        .into_values()
        .map(|v| v["output_text"].clone())
        .collect();
    let c2: Vec<_> = journal_content(&second)
        .into_values()
        .map(|v| v["output_text"].clone())
        .collect();
    assert_eq!(c1, c2);

    // --no-cache sends everything again.
    let (_, third) = run(dir, "s.yaml", "r3", &["--no-cache"]);
    assert_eq!(sim_log(&dir.join("r3.log")).len(), sent_first.len());
    assert_eq!(results(&third)["providers"][0]["n_cached"], 0);
}

#[test]
fn expired_entries_and_changed_requests_miss() {
    let d = fixture(&[("s.yaml", &s()), ("data.jsonl", &dataset(40))]);
    let dir = d.path();
    run(dir, "s.yaml", "r1", &[]);
    let entries: Vec<_> = files_under(&dir.join("cache"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(entries.len(), 80, "one entry per successful request");

    // Age half the entries by 40 days: the default TTL (30 days) turns them into misses.
    for p in entries.iter().step_by(2) {
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let t = v["stored_at"].as_u64().unwrap();
        v["stored_at"] = (t - 40 * 86400).into();
        std::fs::write(p, serde_json::to_string(&v).unwrap()).unwrap();
    }
    // Corrupt one fresh entry: ignored, then overwritten.
    std::fs::write(&entries[1], "{not json").unwrap();
    let (_, second) = run(dir, "s.yaml", "r2", &[]);
    let ok_sent = sim_log(&dir.join("r2.log"))
        .iter()
        .filter(|l| l.outcome == "ok")
        .count();
    assert_eq!(ok_sent, 41, "40 expired + 1 corrupt entries re-requested");
    let r = results(&second);
    let cached: u64 = r["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["n_cached"].as_u64().unwrap())
        .sum();
    assert_eq!(cached, 39);

    // A shorter TTL makes every entry stale; a longer one would keep them.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    run(dir, "s.yaml", "r3", &["--cache-ttl", "1s"]);
    let ok_sent = sim_log(&dir.join("r3.log"))
        .iter()
        .filter(|l| l.outcome == "ok")
        .count();
    assert_eq!(ok_sent, 80);

    // Another prompt, other params or another repeat index is another request.
    let changed = s().replace("user: \"{{ text }}\"", "user: \"Ticket: {{ text }}\"");
    std::fs::write(dir.join("changed.yaml"), changed).unwrap();
    run(dir, "changed.yaml", "r4", &[]);
    assert_eq!(
        sim_log(&dir.join("r4.log"))
            .iter()
            .filter(|l| l.outcome == "ok")
            .count(),
        80
    );
    let repeats = s().replace("seed: 9,", "seed: 9, repeats: 2,");
    std::fs::write(dir.join("repeats.yaml"), repeats).unwrap();
    let (_, r5) = run(dir, "repeats.yaml", "r5", &[]);
    let log = sim_log(&dir.join("r5.log"));
    assert!(
        log.iter().all(|l| l.repeat == "1"),
        "repeat 0 is cached, repeat 1 is new"
    );
    assert_eq!(log.iter().filter(|l| l.outcome == "ok").count(), 80);
    assert_eq!(results(&r5)["providers"][0]["n_cached"], 40);
}

#[test]
fn bad_cache_flags_are_input_errors() {
    let d = fixture(&[("s.yaml", &s()), ("data.jsonl", &dataset(5)), ("file", "x")]);
    let o = evalh(d.path(), &["run", "s.yaml", "--cache-ttl", "soon"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = evalh(d.path(), &["run", "s.yaml", "--cache-dir", "file"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("file"), "{}", text(&o));
}

use crate::loopback;

/// Each provider's answers in a run's journal, and how many were served from the cache.
fn answers(
    run: &Path,
) -> std::collections::BTreeMap<String, (std::collections::BTreeSet<String>, usize)> {
    let mut m: std::collections::BTreeMap<String, (std::collections::BTreeSet<String>, usize)> =
        Default::default();
    for line in std::fs::read_to_string(run.join("journal.jsonl"))
        .unwrap()
        .lines()
    {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["error"].is_null(), "{v}");
        let e = m
            .entry(v["provider_id"].as_str().unwrap().to_string())
            .or_default();
        e.0.insert(v["output_text"].as_str().unwrap().to_string());
        e.1 += usize::from(v["cached"] == true);
    }
    m
}

fn gateway_suite(url: &str, providers: &[(&str, &str)]) -> String {
    let mut s = String::from(
        r#"name: gw
task: classification
dataset: {path: data.jsonl, id: id, expected: label}
labels: [billing, bug, feature]
prompt:
  user: "{{ text }}"
gate: {decision: point}
run: {concurrency: 2, max_retries: 0}
providers:
"#,
    );
    for (i, (id, extra)) in providers.iter().enumerate() {
        let role = if i == 0 { "baseline" } else { "candidate" };
        s.push_str(&format!(
            "  - {{id: {id}, role: {role}, model: shared-model, api_key_env: EVALH_TEST_GW_KEY, \
             price: {{input_per_mtok: 1, output_per_mtok: 2}}, {extra}, base_url: '{url}'}}\n"
        ));
    }
    s
}

/// Two providers on one gateway with the same model and base URL, routed by a header (or Azure's api-version), never
/// share a cache entry: the second, fully cached run still gives each provider its own answers. A routing value read
/// from the environment keeps entries apart too, without reaching the journal or the cache's files.
#[test]
fn providers_routed_by_a_header_or_api_version_never_share_a_cache_entry() {
    let server = loopback::Server::start(|s| {
        let route = format!("{} {}", s.header("x-route"), s.query);
        loopback::chat_ok(
            if route.contains("premium") || route.contains("2024-10-21") {
                "billing"
            } else {
                "feature"
            },
        )
    });
    let gw = format!("{}/v1", server.url);
    let by_header = gateway_suite(
        &gw,
        &[
            ("premium", "kind: openai, headers: {X-Route: premium}"),
            ("cheap", "kind: openai, headers: {X-Route: cheap}"),
        ],
    );
    let by_version = gateway_suite(
        &server.url,
        &[
            ("old", "kind: azure, api_version: '2024-10-21'"),
            ("new", "kind: azure, api_version: '2025-01-01-preview'"),
        ],
    );
    let by_env = gateway_suite(
        &gw,
        &[(
            "routed",
            "kind: openai, headers: {X-Route: '${EVALH_TEST_ROUTE}'}",
        )],
    );
    let d = fixture(&[
        ("header.yaml", &by_header),
        ("version.yaml", &by_version),
        ("env.yaml", &by_env),
        ("data.jsonl", &dataset(12)),
    ]);
    let dir = d.path();
    let run = |suite: &str, out: &str, route: &str| {
        let o = loopback::evalh_env(
            dir,
            &[
                "run",
                suite,
                "--out",
                out,
                "--cache-dir",
                "cache",
                "--no-progress",
            ],
            &[
                ("EVALH_TEST_GW_KEY", "sk-gw-test-key-123456"),
                ("EVALH_TEST_ROUTE", route),
            ],
        );
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
        only_subdir(&dir.join(out))
    };
    let own = |a: &[(&str, &str)]| -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
        a.iter()
            .map(|(p, t)| (p.to_string(), [t.to_string()].into()))
            .collect()
    };
    for (suite, expected) in [
        (
            "header.yaml",
            own(&[("premium", "billing"), ("cheap", "feature")]),
        ),
        (
            "version.yaml",
            own(&[("old", "billing"), ("new", "feature")]),
        ),
    ] {
        let out = suite.trim_end_matches(".yaml");
        for (n, cached) in [(1, 0), (2, 12)] {
            let r = answers(&run(suite, &format!("{out}{n}"), ""));
            let got: std::collections::BTreeMap<_, _> =
                r.iter().map(|(p, (a, _))| (p.clone(), a.clone())).collect();
            assert_eq!(got, expected, "{suite} run {n}");
            assert!(
                r.values().all(|(_, c)| *c == cached),
                "{suite} run {n}: {r:?}"
            );
        }
    }

    // One provider whose route comes from the environment: another value is another request.
    server.clear();
    let value_a = "route-premium-81d2c7";
    let value_b = "route-cheap-81d2c7";
    let a1 = run("env.yaml", "env-a1", value_a);
    assert_eq!(server.seen().len(), 12);
    let b1 = run("env.yaml", "env-b1", value_b);
    assert_eq!(
        server.seen().len(),
        24,
        "a new route value is not served from the cache"
    );
    assert_eq!(answers(&b1)["routed"].0, ["feature".to_string()].into());
    let a2 = run("env.yaml", "env-a2", value_a);
    assert_eq!(
        server.seen().len(),
        24,
        "the first value's entries are still there"
    );
    assert_eq!(answers(&a2)["routed"], (["billing".to_string()].into(), 12));
    assert!(server
        .seen()
        .iter()
        .all(|s| s.header("x-route").starts_with("route-")));
    // The journal's request hashes do not depend on the value (it is not in them), the cache's entry keys do.
    let hashes = |run: &Path| -> std::collections::BTreeSet<String> {
        journal_content(run)
            .into_values()
            .map(|v| v["request_hash"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(hashes(&a1), hashes(&b1));
    for f in files_under(dir) {
        let s = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(
            !s.contains("81d2c7"),
            "a routing value reached {}",
            f.display()
        );
    }
}
