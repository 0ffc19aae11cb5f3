//! Crash safety, end to end: a 2,000-item run against the sim (5–20 ms latency, 32 in flight per provider) is
//! SIGKILLed at random moments several times and resumed each time. Afterwards:
//! - the resumed run's journal holds every (item, provider, repeat) exactly once, with the same responses as an
//!   uninterrupted run of the same suite, and its results.json equals the uninterrupted run's (wall-clock latency
//!   figures aside — they are measurements, not results);
//! - the sim's request log shows that no resume ever sent a request the journal already held, and that the only
//!   requests sent twice are those that were in flight at the instant of a SIGKILL (their answers died with the
//!   process: no client can keep what it never received), at most the concurrency limit per kill.

use crate::common;
use crate::durability_util;
use common::*;
use durability_util::*;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ITEMS: usize = 2000;
const PROVIDERS: usize = 2;
const CONCURRENCY: usize = 32;
const KILLS: usize = 4;

fn spawn(dir: &Path, args: &[&str], n: usize) -> std::process::Child {
    let err = std::fs::File::create(dir.join(format!("stderr-{n}.txt"))).unwrap();
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("CI", "true")
        .env("EVALH_CACHE_DIR", dir.join("unused-cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(err))
        .spawn()
        .expect("spawn evalh")
}

fn lines_in(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// A SIGKILL can tear the sim log's last line; end it so the next invocation's first line stays readable.
fn end_log_line(path: &Path) {
    if let Ok(b) = std::fs::read(path) {
        if b.last().is_some_and(|&c| c != b'\n') {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            f.write_all(b"\n").unwrap();
        }
    }
}

fn find_run_dir(runs: &Path) -> Option<PathBuf> {
    std::fs::read_dir(runs)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.join("suite.yaml").exists())
}

fn provider_of(model: &str) -> String {
    model.strip_prefix("m-").unwrap_or(model).to_string()
}

#[test]
fn sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run() {
    let started = Instant::now();
    let d = fixture(&[
        (
            "s.yaml",
            &suite(
                ", latency_ms: {p50: 9, p99: 20}",
                &format!("concurrency: {CONCURRENCY}, seed: 11"),
                "",
            ),
        ),
        ("data.jsonl", &dataset(ITEMS)),
    ]);
    let dir = d.path();

    // The uninterrupted reference run.
    let reference = evalh(
        dir,
        &[
            "run",
            "s.yaml",
            "--out",
            "ref",
            "--no-cache",
            "--no-progress",
            "--sim-log",
            "ref.log",
        ],
    );
    let ref_code = reference.status.code();
    assert!(matches!(ref_code, Some(0 | 1)), "{}", text(&reference));
    let ref_dir = only_subdir(&dir.join("ref"));
    assert_eq!(sim_log(&dir.join("ref.log")).len(), ITEMS * PROVIDERS);

    // Kill, resume, kill, ... at random moments.
    let seed: u64 = std::env::var("EVALH_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("kill schedule seed: {seed} (set EVALH_KILL_SEED to replay)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let log = dir.join("kill.log");
    let runs = dir.join("runs");
    let mut run_dir: Option<PathBuf> = None;
    // Per invocation: (first log line, journal keys when it started, killed?, journal keys when it ended).
    type Seg = (usize, BTreeSet<Key>, bool, BTreeSet<Key>);
    let mut segments: Vec<Seg> = Vec::new();
    let mut kills = 0;
    let mut invocation = 0;
    while kills < KILLS {
        invocation += 1;
        assert!(invocation <= 3 * KILLS, "could not land {KILLS} kills");
        end_log_line(&log);
        let first_line = lines_in(&log);
        let at_start = run_dir
            .as_deref()
            .map(|r| journal_keys(r, false))
            .unwrap_or_default();
        let journal_before = run_dir
            .as_deref()
            .map(|r| lines_in(&r.join("journal.jsonl")))
            .unwrap_or(0);
        let resume_arg = run_dir.as_ref().map(|r| r.to_string_lossy().into_owned());
        let mut args: Vec<&str> = match &resume_arg {
            Some(r) => vec!["run", "--resume", r.as_str()],
            None => vec!["run", "s.yaml", "--out", "runs"],
        };
        args.extend(["--no-cache", "--no-progress", "--sim-log", "kill.log"]);
        let mut child = spawn(dir, &args, invocation);
        let t0 = Instant::now();
        // Each kill lands after a random number of new journal records plus a random few milliseconds; the first
        // may land at 0 records, i.e. during start-up before any request was answered. (Counting records rather than
        // time keeps the kills inside the sending phase however fast or slow the build is.)
        let target = if invocation == 1 {
            rng.random_range(0..=1200)
        } else {
            journal_before + rng.random_range(50..=700)
        };
        let extra = Duration::from_millis(rng.random_range(0..20));
        let killed = loop {
            if child.try_wait().unwrap().is_some() {
                break false;
            }
            if run_dir.is_none() {
                run_dir = find_run_dir(&runs);
            }
            let due = run_dir
                .as_deref()
                .is_some_and(|r| lines_in(&r.join("journal.jsonl")) >= target);
            if due {
                std::thread::sleep(extra);
                // Kill only if it is still running: a finished run is not a crash.
                if child.try_wait().unwrap().is_some() {
                    break false;
                }
                child.kill().unwrap();
                child.wait().unwrap();
                break true;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "run hung");
            std::thread::sleep(Duration::from_millis(2));
        };
        if run_dir.is_none() {
            run_dir = find_run_dir(&runs);
        }
        kills += usize::from(killed);
        let at_end = run_dir
            .as_deref()
            .map(|r| journal_keys(r, false))
            .unwrap_or_default();
        eprintln!(
            "invocation {invocation}: {} after {:?}, journal {} -> {} records",
            if killed { "SIGKILLed" } else { "finished" },
            t0.elapsed(),
            at_start.len(),
            at_end.len()
        );
        segments.push((first_line, at_start, killed, at_end));
        if !killed {
            break; // It finished on its own; nothing left to resume.
        }
    }
    let run_dir = run_dir.expect("a run directory");
    assert!(kills >= 3, "only {kills} kills landed");

    // Resume to completion.
    end_log_line(&log);
    let first_line = lines_in(&log);
    let at_start = journal_keys(&run_dir, false);
    let out = evalh(
        dir,
        &[
            "run",
            "--resume",
            run_dir.to_str().unwrap(),
            "--no-cache",
            "--no-progress",
            "--sim-log",
            "kill.log",
        ],
    );
    assert_eq!(out.status.code(), ref_code, "{}", text(&out));
    segments.push((first_line, at_start, false, journal_keys(&run_dir, false)));

    // 1. The journal: every request exactly once, the same responses as the uninterrupted run.
    let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
    let parsed = journal
        .lines()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
        .count();
    assert_eq!(
        parsed,
        ITEMS * PROVIDERS,
        "every (item, provider, repeat) journaled exactly once"
    );
    let got = journal_content(&run_dir);
    let want = journal_content(&ref_dir);
    assert_eq!(got.len(), want.len());
    for (k, v) in &want {
        assert_eq!(got.get(k), Some(v), "record {k:?} differs");
    }

    // 2. results.json equals the uninterrupted run's (wall-clock figures aside).
    let a = std::fs::read(ref_dir.join("results.json")).unwrap();
    let b = std::fs::read(run_dir.join("results.json")).unwrap();
    assert_eq!(without_wallclock(&a), without_wallclock(&b));

    // 3. The sim's request log.
    let lines = sim_log(&log);
    let mut sent_by: BTreeMap<Key, Vec<usize>> = BTreeMap::new(); // key -> invocations that got it answered
    for (si, seg) in segments.iter().enumerate() {
        let end = segments.get(si + 1).map_or(usize::MAX, |s| s.0);
        let raw = std::fs::read_to_string(&log).unwrap();
        for l in raw.lines().skip(seg.0).take(end.saturating_sub(seg.0)) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(l) else {
                continue;
            };
            if v["outcome"] != "ok" {
                continue;
            }
            let key = (
                provider_of(v["model"].as_str().unwrap()),
                v["item"].as_str().unwrap().to_string(),
                v["repeat"].as_str().unwrap().to_string(),
            );
            // A resume never sends what the journal already held when it started.
            assert!(
                !seg.1.contains(&key),
                "invocation {} re-sent {key:?}, which its journal already held",
                si + 1
            );
            sent_by.entry(key).or_default().push(si);
        }
    }
    assert_eq!(sent_by.len(), ITEMS * PROVIDERS, "nothing lost");
    let mut twice = 0;
    let mut lost_per_kill = vec![0usize; segments.len()];
    for (key, invs) in &sent_by {
        for &si in &invs[..invs.len() - 1] {
            // Sent again later: it must have been in flight when invocation `si` was killed.
            let (_, _, killed, at_end) = &segments[si];
            assert!(
                *killed,
                "{key:?} sent twice though invocation {} was not killed",
                si + 1
            );
            assert!(
                !at_end.contains(key),
                "{key:?} was journaled yet sent again"
            );
            lost_per_kill[si] += 1;
            twice += 1;
        }
    }
    for (si, n) in lost_per_kill.iter().enumerate() {
        assert!(
            *n <= PROVIDERS * CONCURRENCY,
            "invocation {}: {n} requests re-sent, more than could be in flight",
            si + 1
        );
    }
    eprintln!(
        "{kills} kills; {} log lines; {twice} requests were in flight at a kill and sent again ({lost_per_kill:?}); \
         none of the {} journaled before a resume was sent again; took {:?}",
        lines.len(),
        ITEMS * PROVIDERS,
        started.elapsed()
    );
}

/// SIGTERM (a cancelled CI job, `docker stop`) is a gentle stop: evalh stops sending, waits for the requests in
/// flight, journals them and exits 3 — so, unlike after a SIGKILL, the resume pays for nothing twice.
#[cfg(unix)]
#[test]
fn sigterm_finishes_in_flight_requests_so_nothing_is_paid_twice() {
    let d = fixture(&[
        (
            "s.yaml",
            &suite(
                ", latency_ms: {p50: 20, p99: 60}",
                "concurrency: 16, seed: 4",
                "",
            ),
        ),
        ("data.jsonl", &dataset(600)),
    ]);
    let dir = d.path();
    let mut child = spawn(
        dir,
        &[
            "run",
            "s.yaml",
            "--out",
            "runs",
            "--no-cache",
            "--no-progress",
            "--sim-log",
            "sim.log",
        ],
        1,
    );
    let runs = dir.join("runs");
    let t0 = Instant::now();
    let run_dir = loop {
        if let Some(r) = find_run_dir(&runs) {
            if lines_in(&r.join("journal.jsonl")) >= 150 {
                break r;
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "run did not start");
        std::thread::sleep(Duration::from_millis(2));
    };
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let code = child.wait().unwrap().code();
    let err = std::fs::read_to_string(dir.join("stderr-1.txt")).unwrap();
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("terminated") && err.contains("--resume"),
        "{err}"
    );
    let journaled = journal_keys(&run_dir, false);
    assert!(
        journaled.len() < ITEMS.min(600) * PROVIDERS,
        "it stopped early"
    );
    // Everything the sim answered was journaled.
    let answered: BTreeSet<Key> = sim_log(&dir.join("sim.log"))
        .iter()
        .map(|l| (provider_of(&l.model), l.item.clone(), l.repeat.clone()))
        .collect();
    assert_eq!(answered, journaled);
    // The resume sends exactly what is missing, once.
    end_log_line(&dir.join("sim.log"));
    let out = evalh(
        dir,
        &[
            "run",
            "--resume",
            run_dir.to_str().unwrap(),
            "--no-cache",
            "--no-progress",
            "--sim-log",
            "sim.log",
        ],
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let log = sim_log(&dir.join("sim.log"));
    assert_eq!(log.len(), 600 * PROVIDERS, "no request sent twice");
}
