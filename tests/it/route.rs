//! `evalh route`: from the four demo runs to a routing table, routes.yaml, a rollout checklist and a LiteLLM proxy
//! config — and the real LiteLLM proxy (installed from PyPI into a venv cached under target/) loads that config and
//! serves every route against `evalh sim serve`.

use crate::common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The LiteLLM version evalh's config is checked against (reference/litellm.md).
const LITELLM_VERSION: &str = "1.108.7";
const MASTER_KEY: &str = "sk-evalh-route-test-0123456789abcdef";

/// The four demo suites, run once per test binary (in parallel) into one reports folder.
fn demo_runs() -> &'static (tempfile::TempDir, Vec<PathBuf>) {
    static RUNS: OnceLock<(tempfile::TempDir, Vec<PathBuf>)> = OnceLock::new();
    RUNS.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let suites = ["classify", "extract", "function_call", "summarize"];
        let handles: Vec<_> = suites
            .iter()
            .map(|s| {
                let dir = d.path().to_path_buf();
                let suite = root().join(format!("suites/{s}.yaml"));
                std::thread::spawn(move || {
                    let o = evalh(
                        &dir,
                        &[
                            "run",
                            suite.to_str().unwrap(),
                            "--out",
                            "reports",
                            "--no-cache",
                            "--no-progress",
                        ],
                    );
                    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        // reports/ also holds index.html: the runs are its folders.
        let mut runs: Vec<PathBuf> = std::fs::read_dir(d.path().join("reports"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        runs.sort();
        assert_eq!(runs.len(), 4);
        (d, runs)
    })
}

fn run_of(name: &str) -> PathBuf {
    demo_runs()
        .1
        .iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(name))
        .unwrap_or_else(|| panic!("no run of {name}"))
        .clone()
}

fn args_of(runs: &[PathBuf]) -> Vec<String> {
    runs.iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

fn route(dir: &Path, args: &[String]) -> std::process::Output {
    let a: Vec<&str> = std::iter::once("route")
        .chain(args.iter().map(String::as_str))
        .collect();
    evalh(dir, &a)
}

fn yaml_file(p: &Path) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn chain(routes: &Value, feature: &str) -> Vec<String> {
    let f = routes["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["feature"] == feature)
        .unwrap_or_else(|| panic!("no feature {feature}"));
    f["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["provider"].as_str().unwrap().to_string())
        .collect()
}

/// Every (suite, provider) the LiteLLM config routes to.
fn routed(cfg: &Value) -> Vec<(String, String)> {
    cfg["model_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["model_info"]["evalh_suite"].as_str().unwrap().to_string(),
                d["model_info"]["evalh_provider"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

/// (suite, provider) pairs whose verdict in results.json is not PASS.
fn unproven(runs: &[PathBuf]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for r in runs {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(r.join("results.json")).unwrap())
                .unwrap();
        for p in v["providers"].as_array().unwrap() {
            let verdict = p["gate"]["verdict"].as_str().unwrap_or("-");
            if p["role"] == "candidate" && (verdict != "PASS" || v["complete"] != true) {
                out.push((
                    v["suite"].as_str().unwrap().into(),
                    p["id"].as_str().unwrap().into(),
                    verdict.into(),
                ));
            }
        }
    }
    out
}

#[test]
fn demo_runs_route_cheapest_pass_and_never_an_inconclusive_candidate() {
    let runs = &demo_runs().1;
    let d = tempfile::tempdir().unwrap();
    let mut a = args_of(runs);
    a.extend(["--out".into(), "out".into()]);
    let o = route(d.path(), &a);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    // The table: one row per feature, and every candidate left out with its verdict and reason.
    assert!(
        t.contains("support-intents  support-intents  flash → premium"),
        "{t}"
    );
    assert!(
        t.contains("invoice-extract  invoice-extract  mini → premium"),
        "{t}"
    );
    assert!(
        t.contains("not routed: flash INCONCLUSIVE — quality ratio"),
        "{t}"
    );
    assert!(t.contains("not routed: haiku FAIL — cost ratio"), "{t}");
    assert!(
        t.contains("no candidate passed the gate; the baseline premium keeps the traffic"),
        "{t}"
    );
    // The checklist is printed too.
    assert!(
        t.contains("# Rollout checklist") && t.contains("**Stage 5 — 100%**"),
        "{t}"
    );

    let routes = yaml_file(&d.path().join("out/routes.yaml"));
    assert_eq!(chain(&routes, "support-intents"), ["flash", "premium"]);
    assert_eq!(chain(&routes, "invoice-extract"), ["mini", "premium"]);
    assert_eq!(chain(&routes, "travel-tools"), ["premium"]);
    assert_eq!(chain(&routes, "news-digest"), ["premium"]);

    // Never an INCONCLUSIVE (or FAIL) candidate in a route: the demo has two INCONCLUSIVE flash candidates.
    let cfg = yaml_file(&d.path().join("out/litellm_config.yaml"));
    let bad = unproven(runs);
    assert!(
        bad.iter().filter(|b| b.2 == "INCONCLUSIVE").count() >= 2,
        "{bad:?}"
    );
    for (suite, provider, verdict) in &bad {
        assert!(
            !routed(&cfg).contains(&(suite.clone(), provider.clone())),
            "{suite}/{provider} ({verdict}) is routed"
        );
        let f = routes["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["suite"] == suite.as_str())
            .unwrap();
        assert!(
            f["excluded"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["provider"] == provider.as_str() && e["verdict"] == verdict.as_str()),
            "{suite}/{provider} not listed as excluded"
        );
    }
    let rollout = std::fs::read_to_string(d.path().join("out/rollout.md")).unwrap();
    assert!(
        rollout.contains("## support-intents: flash replaces premium"),
        "{rollout}"
    );
    assert!(rollout.contains("more than **200 ms**"), "{rollout}");
    assert!(
        rollout.contains("## travel-tools: stays on premium — nothing to roll out"),
        "{rollout}"
    );
}

/// A copy of the classify run with its results.json edited by `edit` (verdicts, completeness).
fn doctored_run(into: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let src = run_of("support-intents");
    let dst = into.join(src.file_name().unwrap());
    std::fs::create_dir_all(&dst).unwrap();
    for f in ["suite.yaml", "results.json"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    let p = dst.join("results.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    dst
}

fn provider_mut<'a>(v: &'a mut Value, id: &str) -> &'a mut Value {
    v["providers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["id"] == id)
        .unwrap()
}

#[test]
fn a_candidate_that_turns_inconclusive_leaves_the_route_and_latency_features_take_the_fastest_pass()
{
    let d = tempfile::tempdir().unwrap();
    // flash (cheapest) is now INCONCLUSIVE; haiku and tiny PASS (tiny is cheaper, haiku has ...).
    let run = doctored_run(d.path(), |v| {
        provider_mut(v, "flash")["gate"]["verdict"] = json!("INCONCLUSIVE");
        provider_mut(v, "haiku")["gate"]["verdict"] = json!("PASS");
        provider_mut(v, "tiny")["gate"]["verdict"] = json!("PASS");
        provider_mut(v, "haiku")["latency_ms"]["p99"] = json!(300.0);
        provider_mut(v, "tiny")["latency_ms"]["p99"] = json!(900.0);
    });
    let o = route(
        d.path(),
        &[run.to_string_lossy().into(), "--out".into(), "a".into()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let routes = yaml_file(&d.path().join("a/routes.yaml"));
    assert_eq!(
        chain(&routes, "support-intents"),
        ["tiny", "haiku", "premium"]
    );
    let cfg = yaml_file(&d.path().join("a/litellm_config.yaml"));
    assert!(!routed(&cfg).iter().any(|(_, p)| p == "flash"));
    assert_eq!(
        cfg["router_settings"]["fallbacks"],
        json!([{"support-intents": ["support-intents-fallback-1", "support-intents-fallback-2"]}])
    );
    assert!(
        text(&o).contains("not routed: flash INCONCLUSIVE"),
        "{}",
        text(&o)
    );

    // Latency-sensitive, under another feature name: the PASS with the lowest p99 leads, the rest follow by cost.
    std::fs::write(
        d.path().join("features.yaml"),
        "support-intents: {feature: ticket-triage, latency_sensitive: true, requests_per_minute: 600}\n",
    )
    .unwrap();
    let o = route(
        d.path(),
        &[
            run.to_string_lossy().into(),
            "--features".into(),
            "features.yaml".into(),
            "--out".into(),
            "b".into(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let routes = yaml_file(&d.path().join("b/routes.yaml"));
    assert_eq!(
        chain(&routes, "ticket-triage"),
        ["haiku", "tiny", "premium"]
    );
    assert_eq!(routes["features"][0]["chosen_by"], "lowest_p99_pass");
    let cfg = yaml_file(&d.path().join("b/litellm_config.yaml"));
    let first = &cfg["model_list"][0];
    assert_eq!(first["model_name"], "ticket-triage");
    assert_eq!(first["model_info"]["id"], "ticket-triage.haiku");
    // 600 requests/min: 3,000 per five minutes, 2% = 60 failures allowed before the cooldown.
    assert_eq!(
        first["model_info"]["allowed_fails_policy"]["InternalServerErrorAllowedFails"],
        60
    );
    assert_eq!(first["litellm_params"]["num_retries"], 0);
    // The last hop (the baseline) is never cooled by evalh's settings.
    let last = cfg["model_list"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["model_info"]["evalh_role"], "baseline");
    assert!(last["model_info"]["allowed_fails_policy"].is_null());
}

#[test]
fn an_incomplete_run_routes_nothing_but_the_baseline_and_says_so() {
    let d = tempfile::tempdir().unwrap();
    let run = doctored_run(d.path(), |v| {
        v["complete"] = json!(false);
        v["unsettled_by_reason"] = json!({"missing": 12});
    });
    let o = route(
        d.path(),
        &[run.to_string_lossy().into(), "--out".into(), "o".into()],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("incomplete run (12 request(s) unsettled)"),
        "{t}"
    );
    assert!(
        t.contains("nothing but the baseline premium is routed"),
        "{t}"
    );
    assert!(t.contains("not routed: flash INCOMPLETE"), "{t}");
    let routes = yaml_file(&d.path().join("o/routes.yaml"));
    assert_eq!(chain(&routes, "support-intents"), ["premium"]);
    assert_eq!(routes["features"][0]["run_complete"], false);
}

#[test]
fn every_provider_kind_maps_to_its_litellm_provider_and_no_key_value_is_written() {
    let d = tempfile::tempdir().unwrap();
    let run = doctored_run(d.path(), |v| {
        for id in ["flash", "haiku", "tiny"] {
            provider_mut(v, id)["gate"]["verdict"] = json!("PASS");
        }
    });
    // Real provider kinds in the run's resolved suite.
    let sp = run.join("suite.yaml");
    let mut suite: Value = serde_yaml::from_str(&std::fs::read_to_string(&sp).unwrap()).unwrap();
    for p in suite["providers"].as_array_mut().unwrap() {
        let o = p.as_object_mut().unwrap();
        o.remove("sim");
        let (kind, extra): (&str, Value) = match o["id"].as_str().unwrap() {
            "premium" => (
                "azure",
                json!({"base_url": "https://contoso.openai.azure.com", "api_key_env": "AZ_KEY_FOR_TEST"}),
            ),
            "flash" => ("gemini", json!({"api_key_env": "GEMINI_KEY_FOR_TEST"})),
            "haiku" => (
                "anthropic",
                json!({"api_key_env": "ANTHROPIC_KEY_FOR_TEST", "base_url": "https://gw.example/anthropic/v1"}),
            ),
            _ => (
                "openai",
                json!({"api_key_env": "OPENAI_KEY_FOR_TEST", "base_url": "https://api.groq.com/openai/v1/"}),
            ),
        };
        o.insert("kind".into(), json!(kind));
        for (k, v) in extra.as_object().unwrap() {
            o.insert(k.clone(), v.clone());
        }
    }
    std::fs::write(&sp, serde_yaml::to_string(&suite).unwrap()).unwrap();
    let secret = "sk-live-THIS-MUST-NEVER-BE-WRITTEN-42";
    let o = Command::new(bin())
        .args(["route", run.to_str().unwrap(), "--out", "o"])
        .current_dir(d.path())
        .env("AZ_KEY_FOR_TEST", secret)
        .env("GEMINI_KEY_FOR_TEST", secret)
        .env("ANTHROPIC_KEY_FOR_TEST", secret)
        .env("OPENAI_KEY_FOR_TEST", secret)
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(!t.contains(secret));
    for f in ["routes.yaml", "litellm_config.yaml", "rollout.md"] {
        assert!(
            !std::fs::read_to_string(d.path().join("o").join(f))
                .unwrap()
                .contains(secret),
            "{f}"
        );
    }
    let cfg = yaml_file(&d.path().join("o/litellm_config.yaml"));
    let by_id = |id: &str| -> Value {
        cfg["model_list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["model_info"]["id"] == id)
            .unwrap()["litellm_params"]
            .clone()
    };
    let tiny = by_id("support-intents.tiny");
    assert_eq!(tiny["model"], "openai/sim-tiny");
    assert_eq!(tiny["api_base"], "https://api.groq.com/openai/v1");
    assert_eq!(tiny["api_key"], "os.environ/OPENAI_KEY_FOR_TEST");
    let flash = by_id("support-intents.flash");
    assert_eq!(flash["model"], "gemini/sim-flash");
    assert!(
        flash["api_base"].is_null(),
        "no base_url in the suite, none in the config"
    );
    assert_eq!(flash["api_key"], "os.environ/GEMINI_KEY_FOR_TEST");
    let haiku = by_id("support-intents.haiku");
    assert_eq!(haiku["model"], "anthropic/sim-haiku");
    // LiteLLM appends /v1/messages unless the base ends with it; evalh posts to <base>/messages for a /v1 base.
    assert_eq!(
        haiku["api_base"],
        "https://gw.example/anthropic/v1/messages"
    );
    let premium = by_id("support-intents.premium");
    assert_eq!(premium["model"], "azure/sim-premium");
    assert_eq!(premium["api_base"], "https://contoso.openai.azure.com");
    assert_eq!(premium["api_key"], "os.environ/AZ_KEY_FOR_TEST");
    assert!(premium["api_version"]
        .as_str()
        .is_some_and(|v| v.len() >= 10));
}

#[test]
fn bad_input_exits_2_with_the_place_and_the_fix() {
    let d = tempfile::tempdir().unwrap();
    let run = run_of("support-intents").to_string_lossy().into_owned();
    let check = |args: &[&str], want: &[&str]| {
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let o = route(d.path(), &a);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
        for w in want {
            assert!(t.contains(w), "{args:?}: missing {w:?} in {t}");
        }
        assert!(!t.contains("panicked"), "{t}");
    };
    check(
        &["no-such-dir"],
        &["no-such-dir: not a run directory", "help:"],
    );
    std::fs::write(
        d.path().join("f.yaml"),
        "support-intents:\n  latency_sensitiv: true\n",
    )
    .unwrap();
    check(
        &[&run, "--features", "f.yaml"],
        &["f.yaml:2:", "did you mean `latency_sensitive`?"],
    );
    std::fs::write(
        d.path().join("g.yaml"),
        "support-intents: {feature: \"a b\"}\n",
    )
    .unwrap();
    check(
        &[&run, "--features", "g.yaml"],
        &["g.yaml:1:", "feature name `a b`", "help:"],
    );
    check(
        &[&run, "--sim-base-url", "localhost:8080"],
        &["not an http(s) URL", "help:"],
    );
    check(
        &[&run, "--sim-base-url", "nope=http://127.0.0.1:9/v1"],
        &["names suite `nope`"],
    );
    check(&[&run, &run], &["two routes", "help:"]);
    std::fs::write(d.path().join("file"), "x").unwrap();
    check(&[&run, "--out", "file"], &["--out names a file"]);
    let broken = doctored_run(d.path(), |_| {});
    std::fs::write(
        broken.join("results.json"),
        "{\"suite\": \"support-intents\",\n \"task\": 3}",
    )
    .unwrap();
    check(
        &[broken.to_str().unwrap()],
        &["results.json:2:", "evalh score"],
    );
    std::fs::remove_file(broken.join("results.json")).unwrap();
    check(
        &[broken.to_str().unwrap()],
        &["no results.json", "evalh score"],
    );
}

// ---------------------------------------------------------------------------------------------------------------
// The real LiteLLM proxy.

/// A child process killed (with its process group) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_group(cmd: &mut Command) -> Proc {
    use std::os::unix::process::CommandExt;
    Proc(cmd.process_group(0).spawn().expect("spawn"))
}

/// `litellm[proxy]==LITELLM_VERSION` in a venv cached under target/tmp; `None` (test skipped, reason printed) only when
/// pip cannot reach PyPI.
fn litellm_bin() -> Option<PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(install_litellm).clone()
}

fn install_litellm() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("litellm-{LITELLM_VERSION}"));
    let venv = root.join("venv");
    let bin = venv.join("bin/litellm");
    let done = root.join("installed.ok");
    if done.exists() && bin.exists() {
        return Some(bin);
    }
    std::fs::create_dir_all(&root).unwrap();
    // Another test process may be installing: wait for its lock (a directory: created atomically).
    let lock = root.join("installing.lock");
    let waited = Instant::now();
    while std::fs::create_dir(&lock).is_err() {
        // A lock left by a killed test process: older than any install takes.
        let stale = std::fs::metadata(&lock)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(900));
        if stale {
            let _ = std::fs::remove_dir(&lock);
            continue;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(1200),
            "{} held for 20 minutes",
            lock.display()
        );
        std::thread::sleep(Duration::from_secs(1));
        if done.exists() && bin.exists() {
            return Some(bin);
        }
    }
    struct Unlock(PathBuf);
    impl Drop for Unlock {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let _unlock = Unlock(lock);
    let _ = std::fs::remove_dir_all(&venv);
    let python = std::env::var("EVALH_PYTHON").unwrap_or_else(|_| "python3".into());
    let started = Instant::now();
    let o = Command::new(&python).args(["-m", "venv"]).arg(&venv).output().unwrap_or_else(|e| {
        panic!("`{python} -m venv` could not run ({e}): install Python 3 with venv (Debian: apt-get install python3-venv; .ci/run does)")
    });
    assert!(
        o.status.success(),
        "`{python} -m venv` failed (Debian: apt-get install python3-venv): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "--disable-pip-version-check",
            "-q",
            &format!("litellm[proxy]=={LITELLM_VERSION}"),
        ])
        .output()
        .unwrap();
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        let offline = [
            "(from versions: none)",
            "Failed to establish a new connection",
            "Temporary failure in name resolution",
            "Name or service not known",
            "Network is unreachable",
            "Could not fetch URL",
            "ProxyError",
        ];
        if offline.iter().any(|s| err.contains(s)) {
            eprintln!(
                "SKIPPED: pip cannot reach PyPI to install litellm[proxy]=={LITELLM_VERSION}: {}",
                err.trim()
            );
            return None;
        }
        panic!("pip install litellm[proxy]=={LITELLM_VERSION} failed: {err}");
    }
    eprintln!(
        "installed litellm[proxy]=={LITELLM_VERSION} into {} in {:.0} s",
        venv.display(),
        started.elapsed().as_secs_f64()
    );
    std::fs::write(&done, LITELLM_VERSION).unwrap();
    Some(bin)
}

/// `evalh sim serve SUITE --port 0`: (process, base URL ending in /v1).
fn sim_serve(suite: &Path, log: &Path) -> (Proc, String) {
    use std::io::BufRead;
    let mut p = spawn_group(
        Command::new(bin())
            .args([
                "sim",
                "serve",
                suite.to_str().unwrap(),
                "--port",
                "0",
                "--log",
                log.to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let mut line = String::new();
    std::io::BufReader::new(p.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/v1"),
        "{url}"
    );
    (p, url)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http() -> (tokio::runtime::Runtime, reqwest::Client) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    (rt, c)
}

/// Start the proxy on `config`; returns it once `/health/liveliness` answers.
fn start_proxy(litellm: &Path, config: &Path, log: &Path) -> (Proc, String) {
    let port = free_port();
    let out = std::fs::File::create(log).unwrap();
    let p = spawn_group(
        Command::new(litellm)
            .args([
                "--config",
                config.to_str().unwrap(),
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .env("LITELLM_MASTER_KEY", MASTER_KEY)
            // No network but loopback: the price map from the wheel, and any other outbound call hits a dead proxy.
            .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("HTTP_PROXY", "http://127.0.0.1:9")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .stdout(out.try_clone().unwrap())
            .stderr(out),
    );
    let base = format!("http://127.0.0.1:{port}");
    let (rt, c) = http();
    let started = Instant::now();
    let mut p = p;
    loop {
        if let Ok(Some(status)) = p.0.try_wait() {
            panic!(
                "the proxy exited ({status}) on the generated config:\n{}",
                std::fs::read_to_string(log).unwrap()
            );
        }
        let ok = rt.block_on(async {
            c.get(format!("{base}/health/liveliness"))
                .send()
                .await
                .map(|r| r.status().is_success())
        });
        if matches!(ok, Ok(true)) {
            eprintln!("proxy ready in {:.1} s", started.elapsed().as_secs_f64());
            return (p, base);
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the proxy did not come up:\n{}",
            std::fs::read_to_string(log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// POST a chat request; (status, headers, body).
fn chat(url: &str, key: &str, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let (rt, c) = http();
    rt.block_on(async {
        let r = c
            .post(url)
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or(json!({"raw": text}));
        (status, headers, v)
    })
}

fn get(url: &str) -> Value {
    let (rt, c) = http();
    rt.block_on(async {
        let r = c
            .get(url)
            .bearer_auth(MASTER_KEY)
            .send()
            .await
            .expect("request");
        assert!(r.status().is_success(), "{url}: {}", r.status());
        r.json().await.unwrap()
    })
}

/// The first dataset item's messages as the suite renders them (so the sim recognises the item).
fn first_item_messages(run: &Path) -> Vec<Value> {
    let (_, items, prompter) = evalh::app::prepare(&run.join("suite.yaml"), None).unwrap();
    prompter
        .messages(&items[0], "premium")
        .unwrap()
        .iter()
        .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
        .collect()
}

/// What an answer says: its text and its tool calls (name, parsed arguments).
fn answer(v: &Value) -> (Value, Vec<(String, Value)>) {
    let m = &v["choices"][0]["message"];
    let calls = m["tool_calls"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    let args = c["function"]["arguments"].as_str().unwrap_or("null");
                    (
                        c["function"]["name"].as_str().unwrap_or("").to_string(),
                        serde_json::from_str(args).unwrap_or(json!(args)),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (m["content"].clone(), calls)
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[test]
fn the_real_litellm_proxy_loads_the_config_and_serves_every_route_through_the_sim() {
    let Some(litellm) = litellm_bin() else { return };
    let runs = &demo_runs().1;
    let d = tempfile::tempdir().unwrap();
    // One simulator per suite (each serves its own items), named to `evalh route` per suite.
    let mut sims = Vec::new();
    let mut args = args_of(runs);
    for r in runs {
        let name = yaml_file(&r.join("suite.yaml"))["name"]
            .as_str()
            .unwrap()
            .to_string();
        let (p, url) = sim_serve(
            &r.join("suite.yaml"),
            &d.path().join(format!("sim-{name}.jsonl")),
        );
        sims.push(p);
        args.extend(["--sim-base-url".into(), format!("{name}={url}")]);
    }
    args.extend(["--out".into(), "routes".into()]);
    let o = route(d.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let config = d.path().join("routes/litellm_config.yaml");
    let cfg = yaml_file(&config);
    let deployments = cfg["model_list"].as_array().unwrap().clone();
    assert_eq!(deployments.len(), 6, "4 primaries + 2 fallbacks");

    let (_proxy, base) = start_proxy(&litellm, &config, &d.path().join("proxy.log"));
    // Every deployment survived loading (LiteLLM drops a bad one with a traceback and boots anyway).
    let models: Vec<String> = get(&format!("{base}/v1/models"))["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    let mut groups: Vec<String> = deployments
        .iter()
        .map(|d| d["model_name"].as_str().unwrap().to_string())
        .collect();
    groups.sort();
    let mut sorted = models.clone();
    sorted.sort();
    assert_eq!(sorted, groups);
    let info = get(&format!("{base}/v1/model/info"));
    let mut ids: Vec<&str> = info["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["model_info"]["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut want: Vec<&str> = deployments
        .iter()
        .map(|d| d["model_info"]["id"].as_str().unwrap())
        .collect();
    want.sort();
    assert_eq!(ids, want);

    // One request per route, through the proxy; the same request straight to the sim gives the same answer.
    for dep in &deployments {
        let group = dep["model_name"].as_str().unwrap();
        let suite = dep["model_info"]["evalh_suite"].as_str().unwrap();
        let run = runs
            .iter()
            .find(|r| yaml_file(&r.join("suite.yaml"))["name"] == suite)
            .unwrap();
        let messages = first_item_messages(run);
        let (status, h, via_proxy) = chat(
            &format!("{base}/v1/chat/completions"),
            MASTER_KEY,
            &json!({"model": group, "messages": messages}),
        );
        assert_eq!(status, 200, "{group}: {via_proxy}");
        assert_eq!(
            header(&h, "x-litellm-model-id"),
            dep["model_info"]["id"].as_str().unwrap(),
            "{group}"
        );
        assert_eq!(header(&h, "x-litellm-model-group"), group);
        assert_eq!(header(&h, "x-litellm-attempted-fallbacks"), "0", "{group}");
        let upstream = dep["litellm_params"]["model"]
            .as_str()
            .unwrap()
            .trim_start_matches("openai/");
        let api_base = dep["litellm_params"]["api_base"].as_str().unwrap();
        let (status, _, direct) = chat(
            &format!("{api_base}/chat/completions"),
            "unused",
            &json!({"model": upstream, "messages": messages}),
        );
        assert_eq!(status, 200, "{direct}");
        assert_eq!(
            answer(&via_proxy),
            answer(&direct),
            "{group}: proxy {via_proxy} vs sim {direct}"
        );
        assert_ne!(
            answer(&direct).0,
            json!("I don't know this item."),
            "{group}: the sim did not recognise the item"
        );
        eprintln!(
            "{group} -> {}: {:?}",
            header(&h, "x-litellm-model-id"),
            answer(&via_proxy)
        );
    }
}

#[test]
fn the_proxy_cools_a_failing_candidate_after_its_allowed_fails_and_fails_over_to_the_baseline() {
    let Some(litellm) = litellm_bin() else { return };
    let run = run_of("support-intents");
    let d = tempfile::tempdir().unwrap();
    // The same suite served with flash failing every request (HTTP 500).
    let mut suite: Value = yaml_file(&run.join("suite.yaml"));
    for p in suite["providers"].as_array_mut().unwrap() {
        if p["id"] == "flash" {
            p["sim"]["faults"] = json!({"server_error": 1.0});
        }
    }
    // The run directory's suite names its dataset copy relative to the run directory; the copy of the suite lives
    // elsewhere.
    let data = run.join(suite["dataset"]["path"].as_str().unwrap());
    suite["dataset"]["path"] = json!(data.to_str().unwrap());
    let faulty = d.path().join("faulty.yaml");
    std::fs::write(&faulty, serde_yaml::to_string(&suite).unwrap()).unwrap();
    let sim_log = d.path().join("sim.jsonl");
    let (_sim, url) = sim_serve(&faulty, &sim_log);
    // 30 requests/min: 150 per five minutes, 2% = 3 failures allowed; the 4th cools flash down for 300 s.
    std::fs::write(
        d.path().join("features.yaml"),
        "support-intents: {requests_per_minute: 30}\n",
    )
    .unwrap();
    let o = route(
        d.path(),
        &[
            run.to_string_lossy().into(),
            "--features".into(),
            "features.yaml".into(),
            "--sim-base-url".into(),
            url,
            "--out".into(),
            "routes".into(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let config = d.path().join("routes/litellm_config.yaml");
    assert_eq!(
        yaml_file(&config)["model_list"][0]["model_info"]["allowed_fails_policy"]
            ["InternalServerErrorAllowedFails"],
        3
    );
    let (_proxy, base) = start_proxy(&litellm, &config, &d.path().join("proxy.log"));
    let messages = first_item_messages(&run);
    let hits = |model: &str| {
        let log = std::fs::read_to_string(&sim_log).unwrap();
        log.lines()
            .filter(|l| l.contains(&format!("\"model\":\"{model}\"")))
            .count()
    };
    for i in 0..8 {
        let (status, h, v) = chat(
            &format!("{base}/v1/chat/completions"),
            MASTER_KEY,
            &json!({"model": "support-intents", "messages": messages}),
        );
        assert_eq!(status, 200, "request {i}: {v}");
        assert_eq!(
            header(&h, "x-litellm-model-id"),
            "support-intents.premium",
            "request {i}"
        );
        assert_eq!(
            header(&h, "x-litellm-attempted-fallbacks"),
            "1",
            "request {i}"
        );
        // No retry on the candidate (num_retries: 0): one attempt per request until the 4th failure, then none.
        assert_eq!(hits("sim-flash"), (i + 1).min(4), "after request {i}");
    }
    assert_eq!(hits("sim-premium"), 8);
}

#[test]
fn a_rollout_stage_splits_the_feature_group_by_weight_and_the_proxy_serves_both() {
    let run = run_of("support-intents");
    let d = tempfile::tempdir().unwrap();
    let o = route(
        d.path(),
        &[
            run.to_string_lossy().into(),
            "--stage".into(),
            "7".into(),
            "--out".into(),
            "x".into(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("use one of the migration guide's stages: 1, 5, 20, 50, 100"),
        "{}",
        text(&o)
    );

    let litellm = litellm_bin();
    let sim = litellm
        .as_ref()
        .map(|_| sim_serve(&run.join("suite.yaml"), &d.path().join("sim.jsonl")));
    let mut args: Vec<String> = vec![
        run.to_string_lossy().into(),
        "--stage".into(),
        "50".into(),
        "--out".into(),
        "s".into(),
    ];
    if let Some((_, url)) = &sim {
        args.extend(["--sim-base-url".into(), url.clone()]);
    }
    let o = route(d.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("stage 50%"), "{}", text(&o));
    let config = d.path().join("s/litellm_config.yaml");
    let cfg = yaml_file(&config);
    let group: Vec<(String, i64)> = cfg["model_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["model_name"] == "support-intents")
        .map(|d| {
            (
                d["model_info"]["id"].as_str().unwrap().to_string(),
                d["litellm_params"]["weight"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        group,
        [
            ("support-intents.flash".to_string(), 50),
            ("support-intents.premium.stage".to_string(), 50)
        ]
    );
    assert_eq!(
        cfg["router_settings"]["fallbacks"],
        json!([{"support-intents": ["support-intents-fallback-1"]}])
    );
    let routes = yaml_file(&d.path().join("s/routes.yaml"));
    assert_eq!(routes["stage_percent"], 50);
    // At 50% flash sees 50 of the assumed 100 requests/min: 250 per five minutes, 2% = 5.
    assert_eq!(routes["features"][0]["circuit_breaker"]["allowed_fails"], 5);

    let Some(litellm) = litellm else { return };
    let (_proxy, base) = start_proxy(&litellm, &config, &d.path().join("proxy.log"));
    let messages = first_item_messages(&run);
    let (rt, c) = http();
    let served: Vec<String> = rt.block_on(async {
        let calls = (0..24).map(|_| {
            let c = c.clone();
            let body = json!({"model": "support-intents", "messages": messages});
            let url = format!("{base}/v1/chat/completions");
            async move {
                let r = c
                    .post(url)
                    .bearer_auth(MASTER_KEY)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200);
                header(r.headers(), "x-litellm-model-id").to_string()
            }
        });
        futures_util::future::join_all(calls).await
    });
    // Each of 24 requests goes to either deployment with probability 1/2: both are hit except with p = 2^-23.
    let flash = served
        .iter()
        .filter(|s| *s == "support-intents.flash")
        .count();
    let premium = served
        .iter()
        .filter(|s| *s == "support-intents.premium.stage")
        .count();
    assert_eq!(flash + premium, 24, "{served:?}");
    assert!(flash > 0 && premium > 0, "{served:?}");
    eprintln!("stage 50: flash {flash}, premium {premium} of 24");
}
