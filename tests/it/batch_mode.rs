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
        .expect("client")
        .expect("openai dialect");
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
        assert_eq!(listed[0]["metadata"]["evalh_intent"], "intent-1");
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
