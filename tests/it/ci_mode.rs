//! What a CI log and a GitHub job summary show: periodic progress lines when stderr is not a terminal, a terminal
//! summary that fits 100 columns for every demo suite, a Markdown summary without broken images, and the exit code
//! under `--require all|any`.

use crate::common;
use common::*;
use std::path::Path;
use std::process::{Command, Output};

fn run_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    c.args(args)
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("NO_COLOR")
        .env("CI", "true")
        .env("EVALH_CACHE_DIR", dir.join(".evalh-cache"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run evalh")
}

fn progress_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.starts_with("progress "))
        .map(str::to_string)
        .collect()
}

/// Slow sim providers (one request in flight, ~150 ms each): the run lasts about a second.
fn slow_suite() -> String {
    sim_suite("run: {concurrency: 1, seed: 3}\n").replace(
        "sim: {quality: 1.0}",
        "sim: {quality: 1.0, latency_ms: {p50: 150, p99: 250}}",
    )
}

#[test]
fn off_a_terminal_a_progress_line_comes_every_interval() {
    let d = fixture(&[("s.yaml", &slow_suite()), ("data.jsonl", TICKETS)]);
    let started = std::time::Instant::now();
    let out = run_with_env(
        d.path(),
        &["run", "s.yaml", "--no-cache"],
        &[("EVALH_PROGRESS_INTERVAL_MS", "150")],
    );
    let elapsed = started.elapsed().as_secs_f64();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let lines = progress_lines(&out);
    assert!(
        lines.len() >= 3,
        "{} lines in {elapsed:.1} s: {}",
        lines.len(),
        text(&out)
    );
    // At most one line per interval.
    assert!(lines.len() as f64 <= elapsed / 0.15 + 1.0, "{lines:?}");
    for l in &lines {
        assert!(
            l.contains(" | base ")
                && l.contains("/6, ")
                && l.contains(" | cand ")
                && l.contains(" spent, "),
            "{l}"
        );
        assert!(l.contains("ETA ") || l.ends_with("finishing"), "{l}");
    }
    // The counts only grow.
    let done = |l: &str| -> u64 {
        l.rsplit(" | ")
            .next()
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(
        lines.windows(2).all(|w| done(&w[0]) <= done(&w[1])),
        "{lines:?}"
    );

    // --no-progress silences it; the default interval (10 s) prints nothing in a one-second run.
    let quiet = run_with_env(
        d.path(),
        &["run", "s.yaml", "--no-cache", "--no-progress"],
        &[("EVALH_PROGRESS_INTERVAL_MS", "150")],
    );
    assert!(progress_lines(&quiet).is_empty(), "{}", text(&quiet));
    let default = run_with_env(d.path(), &["run", "s.yaml", "--no-cache"], &[]);
    assert!(progress_lines(&default).is_empty(), "{}", text(&default));
}

/// Every demo suite (suites/*.yaml; the one for real endpoints with the simulator's providers) prints a terminal
/// summary no wider than 100 columns, with and without -v, and a Markdown summary that embeds no local image.
#[test]
fn every_demo_suite_fits_100_columns_and_its_markdown_has_no_local_image() {
    let sims = "providers:\n\
  - {id: premium, role: baseline, kind: sim, model: sim-premium, price: {input_per_mtok: 2.5, output_per_mtok: 10}}\n\
  - {id: mini, kind: sim, model: sim-mini, price: {input_per_mtok: 0.15, output_per_mtok: 0.6}, sim: {quality: 0.9}}\n";
    let d = fixture(&[("sims.yaml", sims)]);
    let mut suites: Vec<_> = std::fs::read_dir(root().join("suites"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    suites.sort();
    assert!(suites.len() >= 4);
    let summary = d.path().join("step_summary.md");
    std::thread::scope(|scope| {
        let handles: Vec<_> = suites
            .iter()
            .map(|suite| {
                let d = d.path();
                let summary = &summary;
                scope.spawn(move || {
                    let name = suite.file_stem().unwrap().to_string_lossy().into_owned();
                    let real = std::fs::read_to_string(suite)
                        .unwrap()
                        .contains("api_key_env");
                    let out_dir = d.join(format!("out-{name}"));
                    let md = d.join(format!("{name}.md"));
                    let mut args = vec![
                        "run".to_string(),
                        suite.to_string_lossy().into_owned(),
                        "--out".into(),
                        out_dir.to_string_lossy().into_owned(),
                        "--markdown".into(),
                        md.to_string_lossy().into_owned(),
                        "--no-progress".into(),
                    ];
                    if real {
                        args.extend(["--providers".into(), "sims.yaml".into()]);
                    }
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let env = [("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())];
                    let out = run_with_env(d, &args, &env);
                    assert!(
                        matches!(out.status.code(), Some(0 | 1)),
                        "{name}: {}",
                        text(&out)
                    );
                    // The run directory (the output folder also holds index.html).
                    let run_dir = std::fs::read_dir(&out_dir)
                        .unwrap()
                        .map(|e| e.unwrap().path())
                        .find(|p| p.is_dir())
                        .unwrap();
                    let verbose = run_with_env(d, &["score", run_dir.to_str().unwrap(), "-v"], &[]);
                    assert_eq!(verbose.status.code(), out.status.code(), "{name}");
                    (name, out, verbose, std::fs::read_to_string(&md).unwrap())
                })
            })
            .collect();
        for h in handles {
            let (name, out, verbose, md) = h.join().unwrap();
            for (how, o) in [("run", &out), ("score -v", &verbose)] {
                let stdout = String::from_utf8_lossy(&o.stdout);
                assert!(
                    !stdout.contains('\u{1b}'),
                    "{name} {how}: colour codes off a terminal"
                );
                for l in stdout.lines() {
                    assert!(
                        l.chars().count() <= 100,
                        "{name} {how}: {} columns: {l}",
                        l.chars().count()
                    );
                }
                // The recommendation comes first, before the table.
                let rec = stdout.lines().position(|l| l.starts_with("→ "));
                assert!(
                    rec.is_some_and(|i| i <= 4),
                    "{name}: recommendation at {rec:?}\n{stdout}"
                );
            }
            assert!(
                String::from_utf8_lossy(&verbose.stdout).contains("95% bounds"),
                "{name}: -v"
            );
            let images = evalh::report::local_images(&md);
            assert!(images.is_empty(), "{name}: {images:?}");
            assert!(md.contains("charts/quality_vs_cost.png"), "{name}: {md}");
        }
    });
    let all = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(all.matches("## evalh: ").count(), suites.len());
    assert!(evalh::report::local_images(&all).is_empty());
}

#[test]
fn require_any_exits_0_when_one_candidate_passes_and_the_suite_can_say_so() {
    let d = tempfile::tempdir().unwrap();
    let suite = root().join("suites/classify.yaml");
    let out = evalh(
        d.path(),
        &[
            "run",
            suite.to_str().unwrap(),
            "--out",
            "reports",
            "--no-progress",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("→ flash can replace premium: "), "{t}");
    let dir = run_dir(d.path());
    let dir_s = dir.to_str().unwrap();
    let any = evalh(d.path(), &["score", dir_s, "--require", "any"]);
    assert_eq!(any.status.code(), Some(0), "{}", text(&any));
    assert!(
        text(&any).contains("exit 0: require any, and flash passed"),
        "{}",
        text(&any)
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["gate_config"]["require"], "any");
    assert_eq!(results["gate_exit_code"], 0);
    assert_eq!(results["recommendation"]["kind"], "replace");
    assert_eq!(results["recommendation"]["candidate"], "flash");
    assert!(
        results["recommendation"]["saves_usd_per_1k_items"]
            .as_f64()
            .unwrap()
            > 0.2
    );
    // Back to the suite's own rule (all).
    let all = evalh(d.path(), &["score", dir_s, "--require", "all"]);
    assert_eq!(all.status.code(), Some(1));
    let bad = evalh(d.path(), &["score", dir_s, "--require", "some"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));

    // gate.require and gate.monthly_volume in the suite itself.
    let yaml = std::fs::read_to_string(&suite)
        .unwrap()
        .replace(
            "path: ../datasets/",
            &format!("path: {}/datasets/", root().display()),
        )
        .replace(
            "  on_inconclusive: fail",
            "  on_inconclusive: fail\n  require: any\n  monthly_volume: 2000000",
        );
    std::fs::write(d.path().join("any.yaml"), yaml).unwrap();
    let out = evalh(
        d.path(),
        &["run", "any.yaml", "--out", "any", "--no-progress"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("a month at 2,000,000 items"),
        "{}",
        text(&out)
    );
}

/// On a terminal the verdicts are coloured; NO_COLOR turns that off (a pseudo-terminal from util-linux `script`;
/// skipped where it is missing). Piped output never has colour codes (checked above).
#[test]
fn verdicts_are_coloured_on_a_terminal_unless_no_color_is_set() {
    if !Path::new("/usr/bin/script").exists() {
        eprintln!("note: /usr/bin/script missing; terminal colour test skipped");
        return;
    }
    let d = fixture(&[("s.yaml", &sim_suite("")), ("data.jsonl", TICKETS)]);
    let out = evalh(d.path(), &["run", "s.yaml", "--no-progress"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let cmd = format!("{} score {}", bin().display(), run_dir(d.path()).display());
    let on_tty = |no_color: bool| {
        let mut c = Command::new("/usr/bin/script");
        c.args(["-qec", &cmd, "/dev/null"])
            .current_dir(d.path())
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CI")
            .env("TERM", "xterm");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
    };
    let coloured = on_tty(false);
    assert!(
        coloured.contains("\u{1b}[") && coloured.contains("INCONCLUSIVE"),
        "{coloured:?}"
    );
    let plain = on_tty(true);
    assert!(
        !plain.contains('\u{1b}') && plain.contains("INCONCLUSIVE"),
        "{plain:?}"
    );
}

/// Every shipped suite validates as written — real-endpoint suites with a dummy value for each key they name (a
/// local endpoint must say `auth: none`; nothing is sent by `validate`).
#[test]
fn every_shipped_suite_validates_as_written() {
    let d = fixture(&[]);
    let mut n = 0;
    for e in std::fs::read_dir(root().join("suites")).unwrap() {
        let suite = e.unwrap().path();
        if suite.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let yaml = std::fs::read_to_string(&suite).unwrap();
        let keys: Vec<String> = yaml
            .lines()
            .filter_map(|l| l.split("api_key_env:").nth(1))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(|k| {
                k.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .to_string()
            })
            .collect();
        let env: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "dummy")).collect();
        let out = run_with_env(d.path(), &["validate", suite.to_str().unwrap()], &env);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            suite.display(),
            text(&out)
        );
        n += 1;
    }
    assert!(n >= 7, "{n} suites");
}
