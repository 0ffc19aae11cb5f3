//! Ctrl-C (SIGINT) stops sending, lets in-flight requests finish, keeps what was recorded, exits 3 with a resume
//! hint; `--resume` then completes the run without re-sending what was recorded.

use crate::common;
use common::*;

#[test]
fn sigint_keeps_work_and_resume_completes() {
    let mut data = String::new();
    for i in 0..120 {
        data.push_str(&format!(
            "{{\"id\": \"i{i}\", \"text\": \"ticket number {i}\", \"label\": \"{}\"}}\n",
            ["billing", "bug", "feature"][i % 3]
        ));
    }
    let suite = sim_suite("gate: {decision: point}\nrun: {concurrency: 4}\n").replace(
        "sim: {quality: 1.0}",
        "sim: {quality: 1.0, latency_ms: {p50: 40, p99: 60}}",
    );
    let d = fixture(&[("s.yaml", &suite), ("data.jsonl", &data)]);
    let child = std::process::Command::new(bin())
        .args(["run", "s.yaml", "--out", "reports", "--sim-log", "sim.log"])
        .current_dir(d.path())
        .env("CI", "true")
        .env("EVALH_CACHE_DIR", d.path().join(".evalh-cache"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let st = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("interrupted") && t.contains("--resume"), "{t}");
    let dir = run_dir(d.path());
    let recorded = std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert!(recorded > 0 && recorded < 240, "recorded {recorded}");
    let sent_before = std::fs::read_to_string(d.path().join("sim.log"))
        .unwrap()
        .lines()
        .count();
    // Everything sent was recorded: in-flight requests were allowed to finish.
    assert_eq!(sent_before, recorded);

    let out = evalh(
        d.path(),
        &[
            "run",
            "--resume",
            dir.to_str().unwrap(),
            "--sim-log",
            "sim.log",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(dir.join("journal.jsonl"))
            .unwrap()
            .lines()
            .count(),
        240
    );
    let sent_total = std::fs::read_to_string(d.path().join("sim.log"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(sent_total, 240, "no request sent twice");
}

/// Ctrl-C while requests wait on a provider's `rpm` cap ends the run at once, not after the queue has trickled
/// through the cap (each waiting request used to sleep its turn out: ~7 s here, more with more concurrency).
#[test]
fn sigint_while_waiting_on_an_rpm_cap_stops_at_once() {
    let suite = sim_suite("run: {concurrency: 4}\n")
        .replace("sim: {quality: 1.0}", "sim: {quality: 1.0}\n    rpm: 30");
    let mut data = String::new();
    for i in 0..60 {
        data.push_str(&format!(
            "{{\"id\": \"i{i}\", \"text\": \"ticket {i}\", \"label\": \"bug\"}}\n"
        ));
    }
    let d = fixture(&[("s.yaml", &suite), ("data.jsonl", &data)]);
    let child = std::process::Command::new(bin())
        .args(["run", "s.yaml", "--out", "reports", "--no-cache"])
        .current_dir(d.path())
        .env("CI", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let t0 = std::time::Instant::now();
    let st = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("--resume"), "{t}");
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(4),
        "stopped after {:?}: {t}",
        t0.elapsed()
    );
}
