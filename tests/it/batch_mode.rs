//! Batch mode end to end against the simulator over loopback: the sim's batch endpoints answer each line as its
//! interactive endpoint would; a batch run killed with SIGKILL while polling and resumed from a copy of its run
//! directory gives the interactive run's results at the batch price; partial failures and expiry leave requests
//! missing (INCOMPLETE, resumable); `--detach` returns after submitting and `--resume` collects.

use crate::common::*;
use evalh::batch::{custom_id, BatchClient};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `n` tickets, labels cycling.
fn tickets(n: usize) -> String {
    let labels = ["billing", "bug", "feature"];
    (0..n)
        .map(|i| {
            format!(
                "{{\"id\": \"t{i}\", \"text\": \"ticket number {i} about {}\", \"label\": \"{}\"}}\n",
                labels[i % 3],
                labels[i % 3]
            )
        })
        .collect()
}

/// A two-provider sim suite whose sims answer batches per `batch` (a `sim.batch` mapping) at `url` (empty: the
/// in-process sim).
fn suite(url: &str, batch: &str, extra: &str) -> String {
    let base_url = if url.is_empty() {
        String::new()
    } else {
        format!("\n    base_url: {url}")
    };
    format!(
        r#"name: t
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature]
prompt:
  system: "Classify into {{{{ labels | join(', ') }}}}."
  user: "{{{{ text }}}}"
providers:
  - id: base
    role: baseline
    kind: sim
    model: m-base{base_url}
    price: {{input_per_mtok: 2.5, output_per_mtok: 10}}
    sim: {{quality: 0.9, latency_ms: {{p50: 1, p99: 2}}, batch: {batch}}}
  - id: cand
    kind: sim
    model: m-cand{base_url}
    price: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}
    sim: {{quality: 0.8, latency_ms: {{p50: 1, p99: 2}}, batch: {batch}}}
run: {{seed: 7, repeats: 2}}
gate: {{min_items: 5}}
{extra}"#
    )
}

/// `evalh sim serve SUITE` in `dir`: the child and its base URL.
fn serve(dir: &Path, suite: &str) -> (Child, String) {
    let mut child = Command::new(bin())
        .args(["sim", "serve", suite, "--port", "0"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sim serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("url line");
    (child, line.trim().to_string())
}

struct Killed(Child);

/// A directory with the two-provider sim suite (`sim.batch: batch`) and `n` tickets, and an `evalh sim serve` of it
/// that outlives the runs, as a provider does (stopped when the guard drops).
fn served(batch: &str, n: usize) -> (tempfile::TempDir, Killed, String) {
    let d = fixture(&[
        ("sim.yaml", &suite("", batch, "")),
        ("data.jsonl", &tickets(n)),
    ]);
    let (child, url) = serve(d.path(), "sim.yaml");
    (d, Killed(child), url)
}
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn provider(url: &str) -> evalh::suite::ProviderSpec {
    serde_yaml::from_str(&format!(
        "{{id: base, kind: sim, model: m-base, base_url: \"{url}\"}}"
    ))
    .expect("provider")
}

#[test]
fn sim_batch_lines_answer_like_the_interactive_endpoint() {
    let d = fixture(&[
        (
            "s.yaml",
            &suite("", "{failure_rate: 0.2, expire_rate: 0.2}", ""),
        ),
        ("data.jsonl", &tickets(30)),
    ]);
    let (child, url) = serve(d.path(), "s.yaml");
    let _guard = Killed(child);
    let http = reqwest::Client::new();
    let client = BatchClient::new(&provider(&url), http.clone(), None, Duration::from_secs(30))
        .expect("client");
    rt().block_on(async {
        // Item t{i}, repeat i % 2; bodies as evalh's client renders them.
        let body = |i: usize| {
            let label = ["billing", "bug", "feature"][i % 3];
            json!({"model": "m-base", "messages": [
                {"role": "system", "content": "Classify into billing, bug, feature."},
                {"role": "user", "content": format!("ticket number {i} about {label}")}]})
        };
        let mut jsonl = Vec::new();
        for i in 0..30 {
            let line = evalh::batch::request_line(
                evalh::batch::Dialect::OpenAi,
                &custom_id("base", &format!("t{i}"), (i % 2) as u32),
                "m-base",
                &body(i),
            );
            jsonl.extend(serde_json::to_vec(&line).unwrap());
            jsonl.push(b'\n');
        }
        let file = client.upload(jsonl).await.expect("upload");
        let created = client.create(&file, "intent-1").await.expect("create");
        assert_eq!(created["status"], "validating");
        let id = created["id"].as_str().unwrap().to_string();
        let done = client.retrieve(&id).await.expect("retrieve");
        assert_eq!(done["status"], "expired", "some lines did not run: {done}");
        let listed = client.list_recent().await.expect("list");
        assert_eq!(listed[0].1.as_deref(), Some("intent-1"));
        let (mut ok, mut failed, mut expired) = (0, 0, 0);
        for f in evalh::batch::result_files(&done) {
            let bytes = client.content(&f).await.expect("content");
            for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let v: Value = serde_json::from_slice(line).unwrap();
                let i: usize = (0..30)
                    .find(|i| v["custom_id"] == custom_id("base", &format!("t{i}"), (i % 2) as u32))
                    .expect("a custom id of the input");
                match v["response"]["status_code"].as_u64() {
                    Some(200) => {
                        ok += 1;
                        // The interactive endpoint, told the item and repeat, answers the same body.
                        let inter: Value = http
                            .post(format!("{url}/chat/completions"))
                            .header("x-evalh-item", format!("t{i}"))
                            .header("x-evalh-repeat", (i % 2).to_string())
                            .header("x-evalh-attempt", "1")
                            .json(&body(i))
                            .send()
                            .await
                            .unwrap()
                            .json()
                            .await
                            .unwrap();
                        assert_eq!(v["response"]["body"], inter, "line {i}");
                    }
                    Some(500) => failed += 1,
                    _ => {
                        assert_eq!(v["error"]["code"], "batch_expired");
                        expired += 1;
                    }
                }
            }
        }
        assert_eq!(ok + failed + expired, 30);
        assert!(
            ok > 5 && failed > 0 && expired > 0,
            "{ok} {failed} {expired}"
        );
        assert_eq!(done["request_counts"]["completed"], ok);
        assert_eq!(done["request_counts"]["failed"], failed);
    });
}

#[test]
fn sim_batch_options_out_of_range_are_refused_with_file_and_line() {
    let d = fixture(&[
        ("s.yaml", &suite("", "{completion_delay_s: -1}", "")),
        ("data.jsonl", &tickets(3)),
    ]);
    let out = evalh(d.path(), &["validate", "s.yaml"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("s.yaml:") && t.contains("sim.batch.completion_delay_s"),
        "{t}"
    );
}

/// results.json without what a batch changes by design: latency (not measured) and cost (the batch price), and the
/// gate's wording and recommendation that quote them.
fn comparable(run_dir: &Path) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, _| {
                    !(k.contains("latency")
                        || k.contains("cost")
                        || k == "n_batch"
                        || ["reasons", "rules", "recommendation"].contains(&k.as_str()))
                });
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("results.json")).expect("results.json"))
            .expect("json");
    strip(&mut v);
    v
}

fn results(run_dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(run_dir.join("results.json")).expect("results.json"))
        .expect("json")
}

/// Journal lines per (provider, item, repeat): output text and whether a batch answered it.
fn journal(run_dir: &Path) -> std::collections::BTreeMap<(String, String, u64), (String, bool)> {
    std::fs::read_to_string(run_dir.join("journal.jsonl"))
        .expect("journal")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|r| {
            (
                (
                    r["provider_id"].as_str().unwrap().to_string(),
                    r["item_id"].as_str().unwrap().to_string(),
                    r["repeat"].as_u64().unwrap(),
                ),
                (
                    r["output_text"].as_str().unwrap_or_default().to_string(),
                    r["batch"].is_string(),
                ),
            )
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn subdir(dir: &Path) -> Option<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.is_dir())
}

/// The cost a results.json reports per provider.
fn costs(r: &Value) -> Vec<f64> {
    r["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["cost_usd_total"].as_f64().unwrap())
        .collect()
}

/// Interactive run of `run_yaml`, then a batch run killed (SIGKILL) once its `files` batches are submitted,
/// resumed from a copy of its run directory: the same results at half the cost, p99 latency NOT MEASURED (batch).
/// `env` is set for both runs; `requests` is the run's request count.
fn kill_while_polling_then_resume(
    d: &Path,
    run_yaml: &str,
    env: &[(&str, &str)],
    requests: usize,
    files: usize,
) {
    std::fs::write(d.join("run.yaml"), run_yaml).unwrap();
    let cmd = |args: &[&str]| {
        let mut c = Command::new(bin());
        c.args(args)
            .current_dir(d)
            .env("CI", "true")
            .env("EVALH_CACHE_DIR", d.join(".cache"))
            .env("EVALH_BATCH_MAX_REQUESTS", "25")
            .envs(env.iter().copied());
        c
    };
    let inter = cmd(&["run", "run.yaml", "--out", "inter", "--no-cache"])
        .output()
        .unwrap();
    assert!(
        matches!(inter.status.code(), Some(0 | 1)),
        "{}",
        text(&inter)
    );
    let inter_dir = subdir(&d.join("inter")).unwrap();

    let mut run = cmd(&["run", "run.yaml", "--out", "batch", "--batch", "--no-cache"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let dir = loop {
        let submitted = subdir(&d.join("batch")).and_then(|dir| {
            let log = std::fs::read_to_string(dir.join("batches.jsonl")).ok()?;
            (log.matches("\"event\":\"submitted\"").count() == files).then_some(dir)
        });
        if let Some(dir) = submitted {
            break dir;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "batches were not submitted"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    run.kill().unwrap(); // SIGKILL while it polls
    let _ = run.wait();

    let copy = d.join("elsewhere").join("run");
    copy_dir(&dir, &copy);
    let resumed = cmd(&["run", "--resume", copy.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        matches!(resumed.status.code(), Some(0 | 1)),
        "{}",
        text(&resumed)
    );
    let log = std::fs::read_to_string(copy.join("batches.jsonl")).unwrap();
    assert_eq!(
        log.matches("\"event\":\"intent\"").count(),
        files,
        "nothing resubmitted"
    );
    assert_eq!(log.matches("\"event\":\"collected\"").count(), files);

    assert_eq!(comparable(&copy), comparable(&inter_dir));
    let (ij, bj) = (journal(&inter_dir), journal(&copy));
    assert_eq!(bj.len(), requests);
    assert_eq!(
        ij.iter().map(|(k, v)| (k, &v.0)).collect::<Vec<_>>(),
        bj.iter().map(|(k, v)| (k, &v.0)).collect::<Vec<_>>()
    );
    assert!(
        bj.values().all(|v| v.1),
        "every record says a batch answered it"
    );
    for (i, b) in costs(&results(&inter_dir))
        .iter()
        .zip(costs(&results(&copy)))
    {
        assert!((b - i / 2.0).abs() < 1e-12, "batch {b} vs interactive {i}");
    }
    let r = results(&copy);
    let rule = r["providers"][1]["gate"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "p99_latency")
        .unwrap()
        .clone();
    assert_eq!(rule["status"], "not_measured", "{rule}");
    assert!(
        rule["summary"].as_str().unwrap().contains("batch"),
        "{rule}"
    );
    for f in ["journal.jsonl", "batches.jsonl", "results.json"] {
        let s = std::fs::read_to_string(copy.join(f)).unwrap();
        assert!(!s.contains("secret-key-0123"), "{f} holds the key");
    }
}

/// `suite(url, ..)` with the providers of `kind` (key from EVALH_TEST_KEY) instead of sims, one repeat (a client
/// that is not evalh's sim client names no item or repeat: the sim finds items by prompt, repeat 0).
fn hosted(kind: &str, url: &str) -> String {
    suite(url, "{}", "")
        .replace(
            "    kind: sim\n",
            &format!("    kind: {kind}\n    api_key_env: EVALH_TEST_KEY\n"),
        )
        .replace("repeats: 2", "repeats: 1")
        .lines()
        .filter(|l| !l.trim_start().starts_with("sim:"))
        .collect::<Vec<_>>()
        .join("\n")
}

const KEY: (&str, &str) = ("EVALH_TEST_KEY", "secret-key-0123456789");

#[test]
fn a_batch_run_killed_while_polling_resumes_from_a_copy_to_the_interactive_results_at_half_price() {
    let batch = "{completion_delay_s: 4}";
    // The sim outlives the killed run, as a provider does. 60 requests per provider, 25 per file: 3 files each.
    let (d, _sim, url) = served(batch, 30);
    kill_while_polling_then_resume(d.path(), &suite(&url, batch, ""), &[], 120, 6);
}

#[test]
fn anthropic_message_batches_killed_while_polling_resume_to_the_interactive_results() {
    let (d, _sim, url) = served("{completion_delay_s: 4}", 30);
    kill_while_polling_then_resume(d.path(), &hosted("anthropic", &url), &[KEY], 60, 4);
}

#[test]
fn partial_failures_and_expiry_leave_requests_missing_until_resumed() {
    let d = fixture(&[
        (
            "s.yaml",
            &suite("", "{failure_rate: 0.2, expire_rate: 0.15}", ""),
        ),
        ("data.jsonl", &tickets(30)),
    ]);
    let first = evalh(d.path(), &["run", "s.yaml", "--batch", "--no-cache"]);
    let t = text(&first);
    assert_eq!(first.status.code(), Some(3), "{t}");
    assert!(t.contains("evalh run --resume"), "{t}");
    assert!(t.contains("batches left"), "{t}");
    let dir = run_dir(d.path());
    let journaled = journal(&dir).len();
    assert!(
        (60..120).contains(&journaled),
        "{journaled} of 120 journaled"
    );
    // The in-process sim of each resume draws the resubmitted (smaller) files afresh.
    let mut last = first;
    for _ in 0..12 {
        if last.status.code() != Some(3) {
            break;
        }
        last = evalh(d.path(), &["run", "--resume", dir.to_str().unwrap()]);
    }
    assert!(matches!(last.status.code(), Some(0 | 1)), "{}", text(&last));
    assert_eq!(journal(&dir).len(), 120);
    assert_eq!(results(&dir)["complete"], true);
}

#[test]
fn detach_returns_after_submitting_and_resume_collects() {
    let batch = "{completion_delay_s: 0.3}";
    let (d, _sim, url) = served(batch, 12);
    std::fs::write(d.path().join("run.yaml"), suite(&url, batch, "")).unwrap();
    let out = evalh(d.path(), &["run", "run.yaml", "--batch", "--detach"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    let dir = run_dir(d.path());
    let name = dir.file_name().unwrap().to_str().unwrap();
    assert!(t.contains("evalh run --resume") && t.contains(name), "{t}");
    assert!(t.contains("not collected yet"), "{t}");
    assert_eq!(journal(&dir).len(), 0, "nothing collected yet");
    let back = evalh(d.path(), &["run", "--resume", dir.to_str().unwrap()]);
    assert!(matches!(back.status.code(), Some(0 | 1)), "{}", text(&back));
    assert_eq!(journal(&dir).len(), 48);
    let log = std::fs::read_to_string(dir.join("batches.jsonl")).unwrap();
    assert_eq!(log.matches("\"event\":\"intent\"").count(), 2);
}

#[test]
fn detach_without_batch_mode_is_refused() {
    let d = fixture(&[
        ("s.yaml", &suite("", "{}", "")),
        ("data.jsonl", &tickets(3)),
    ]);
    let out = evalh(d.path(), &["run", "s.yaml", "--detach"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--batch"));
}

#[test]
fn a_crash_between_intent_and_batch_id_is_reconciled_by_listing_or_resubmitted() {
    let batch = "{completion_delay_s: 0.2}";
    let (d, _sim, url) = served(batch, 12);
    std::fs::write(d.path().join("run.yaml"), suite(&url, batch, "")).unwrap();
    let out = evalh(d.path(), &["run", "run.yaml", "--batch", "--detach"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let dir = run_dir(d.path());
    // As if the process died after each create call and before journaling its answer: only the intents remain.
    // And one more intent whose create never reached the provider.
    let log = std::fs::read_to_string(dir.join("batches.jsonl")).unwrap();
    let mut kept: Vec<String> = log
        .lines()
        .filter(|l| !l.contains("\"event\":\"submitted\""))
        .map(str::to_string)
        .collect();
    let mut lost: Value = serde_json::from_str(&kept[0]).unwrap();
    lost["intent"] = json!("i-never-created");
    kept.push(lost.to_string());
    std::fs::write(dir.join("batches.jsonl"), kept.join("\n") + "\n").unwrap();
    let back = evalh(d.path(), &["run", "--resume", dir.to_str().unwrap()]);
    let t = text(&back);
    assert!(matches!(back.status.code(), Some(0 | 1)), "{t}");
    assert!(t.contains("never created"), "{t}");
    assert_eq!(journal(&dir).len(), 48);
    let log = std::fs::read_to_string(dir.join("batches.jsonl")).unwrap();
    // Both real batches found by their intent (not submitted again); the lost one abandoned.
    assert_eq!(log.matches("\"event\":\"intent\"").count(), 3, "{log}");
    assert_eq!(log.matches("\"event\":\"submitted\"").count(), 2, "{log}");
    assert_eq!(log.matches("\"event\":\"abandoned\"").count(), 1, "{log}");
    assert_eq!(log.matches("\"event\":\"collected\"").count(), 2, "{log}");
}

#[test]
fn azure_batches_killed_while_polling_resume_to_the_interactive_results() {
    let (d, _sim, url) = served("{completion_delay_s: 4}", 30);
    // Azure's v1 surface at the sim.
    let base = format!("{}/openai/v1", url.trim_end_matches("/v1"));
    kill_while_polling_then_resume(d.path(), &hosted("azure", &base), &[KEY], 60, 4);
}

#[test]
fn gemini_batches_killed_while_polling_resume_to_the_interactive_results() {
    let (d, _sim, url) = served("{completion_delay_s: 4}", 30);
    let base = format!("{}/v1beta", url.trim_end_matches("/v1"));
    kill_while_polling_then_resume(d.path(), &hosted("gemini", &base), &[KEY], 60, 4);
}

#[test]
fn one_provider_in_batch_mode_the_report_says_the_sides_used_different_modes() {
    let s = suite("", "{}", "").replace("  - id: cand\n", "  - id: cand\n    batch: true\n");
    let d = fixture(&[("s.yaml", &s), ("data.jsonl", &tickets(12))]);
    let out = evalh(d.path(), &["run", "s.yaml", "--no-cache"]);
    let t = text(&out);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{t}");
    assert!(
        t.contains("different modes (batch: cand; interactive: base)"),
        "{t}"
    );
    assert!(t.contains("cand: 24 answer(s) through a batch API"), "{t}");
    assert!(t.contains("p99 latency not measured: batch"), "{t}");
    let j = journal(&run_dir(d.path()));
    assert_eq!(
        j.values().filter(|v| v.1).count(),
        24,
        "only cand's records"
    );
}

#[test]
fn cached_answers_are_journaled_not_submitted() {
    let d = fixture(&[
        ("s.yaml", &suite("", "{}", "")),
        ("data.jsonl", &tickets(10)),
    ]);
    // An interactive run fills the response cache (the same request hashes as a batch run's).
    let first = evalh(d.path(), &["run", "s.yaml", "--out", "a"]);
    assert!(
        matches!(first.status.code(), Some(0 | 1)),
        "{}",
        text(&first)
    );
    let out = evalh(d.path(), &["run", "s.yaml", "--out", "b", "--batch"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let dir = subdir(&d.path().join("b")).unwrap();
    assert!(!dir.join("batches.jsonl").exists(), "nothing was submitted");
    let recs: Vec<Value> = std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 40);
    assert!(recs.iter().all(|r| r["cached"] == true));
}

/// A request whose earlier record is an unsettled failure (the provider unreachable) is sent again by a resume in
/// batch mode, and its paid answer is journaled: the run completes instead of paying for the answers and dropping
/// them on every resume.
#[test]
fn a_resume_in_batch_mode_journals_answers_to_requests_that_had_failed_unsettled() {
    let d = fixture(&[
        ("sim.yaml", &suite("", "{}", "")),
        ("data.jsonl", &tickets(12)),
    ]);
    // A port the sim will listen on later: nothing answers there during the first run.
    let (child, url) = serve(d.path(), "sim.yaml");
    drop(Killed(child));
    let s = suite(&url, "{}", "run: {seed: 7, repeats: 1, max_retries: 0}")
        .replace("run: {seed: 7, repeats: 2}\n", "");
    std::fs::write(d.path().join("s.yaml"), &s).unwrap();
    let out = evalh(d.path(), &["run", "s.yaml", "--no-cache", "--no-progress"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let dir = run_dir(d.path());
    let failed = journal(&dir).len();
    assert!(failed > 0, "the first run records its connection failures");

    let port = url
        .trim_end_matches("/v1")
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let mut sim = Command::new(bin())
        .args(["sim", "serve", "sim.yaml", "--port", &port])
        .current_dir(d.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sim serve");
    let mut line = String::new();
    BufReader::new(sim.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("url line");
    let _guard = Killed(sim);
    let out = evalh(
        d.path(),
        &[
            "run",
            "--resume",
            dir.to_str().unwrap(),
            "--batch",
            "--no-cache",
            "--no-progress",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "complete, with verdicts: {t}");
    assert_eq!(results(&dir)["complete"], true, "{t}");
    let answered = std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"batch\":\""))
        .count();
    assert_eq!(
        answered, 24,
        "every request answered through a batch and journaled"
    );
}

/// Requests announced in the batch journal's intents.
fn intended(run_dir: &Path) -> usize {
    std::fs::read_to_string(run_dir.join("batches.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == "intent")
        .map(|v| v["requests"].as_array().map_or(0, Vec::len))
        .sum()
}

#[test]
fn a_resume_counts_its_pending_batches_against_the_budget() {
    // One provider, every prompt the same length: every request is expected to cost the same, so once one does not
    // fit in the budget none does.
    let one = |url: &str| {
        let s = suite(url, "{completion_delay_s: 0.3}", "");
        let cut = s.find("  - id: cand").unwrap();
        let end = s.find("run: {").unwrap();
        format!("{}{}", &s[..cut], &s[end..])
    };
    let data: String = (0..40)
        .map(|i| {
            format!("{{\"id\": \"t{i:02}\", \"text\": \"the same ticket\", \"label\": \"bug\"}}\n")
        })
        .collect();
    let d = fixture(&[("sim.yaml", &one("")), ("data.jsonl", &data)]);
    let (child, url) = serve(d.path(), "sim.yaml");
    let _guard = Killed(child);
    std::fs::write(d.path().join("run.yaml"), one(&url)).unwrap();
    // A budget that covers part of the run: what fits is submitted, and the run returns without waiting.
    let budget = "0.05";
    let out = evalh(
        d.path(),
        &[
            "run",
            "run.yaml",
            "--batch",
            "--detach",
            "--max-cost",
            budget,
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let dir = run_dir(d.path());
    let first = intended(&dir);
    assert!(first > 0 && first < 80, "{first} of 80 requests submitted");
    // The resume under the same budget: the batch still pending already takes it, so nothing more is submitted
    // (without counting it, the resume submitted about as many again), and what it answers is collected.
    let back = evalh(
        d.path(),
        &[
            "run",
            "--resume",
            dir.to_str().unwrap(),
            "--max-cost",
            budget,
        ],
    );
    assert_eq!(back.status.code(), Some(3), "{}", text(&back));
    assert_eq!(intended(&dir), first, "{}", text(&back));
    assert_eq!(journal(&dir).len(), first);
}
