//! Blind human review end to end: `evalh review` draws a pack from a sim run, a scripted headless Chromium session
//! (DevTools protocol over a pipe: real key presses and mouse clicks, a reload, a real download) plays two
//! reviewers, `evalh review import` un-blinds their files, and results.json holds exactly the hand-computed rates,
//! Wilson intervals and Cohen's kappa. Also: every way a decisions file or a pack can be wrong is rejected (exit 2).

use crate::common;
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const LABELS: [&str; 3] = ["billing", "bug", "feature"];

/// A sim run of 40 tickets with `gate.human` set; returns (temp dir, run dir).
fn sim_run() -> (tempfile::TempDir, PathBuf) {
    let mut data = String::new();
    for i in 0..40 {
        data.push_str(&format!(
            "{{\"id\": \"t{i:02}\", \"text\": \"ticket number {i} <b>bold</b>\", \"label\": \"{}\"}}\n",
            LABELS[i % 3]
        ));
    }
    let suite = sim_suite("gate: {min_items: 5, human: {min_acceptable_rate: 0.95}}\n")
        .replace(
            "sim: {quality: 1.0}\n  - id: cand",
            "sim: {quality: 0.95}\n  - id: cand",
        )
        .replace("sim: {quality: 1.0}\n", "sim: {quality: 0.8}\n");
    let d = fixture(&[("suite.yaml", &suite), ("data.jsonl", &data)]);
    let out = evalh(d.path(), &["run", "suite.yaml", "--no-progress"]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let dir = run_dir(d.path());
    (d, dir)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The blind choice that means `meant` when the candidate is on `side` ("A"/"B").
fn blind_for(meant: &str, side: &str) -> &'static str {
    match (meant, side) {
        ("candidate_better", "A") | ("baseline_better", "B") => "a_better",
        ("candidate_better", _) | ("baseline_better", _) => "b_better",
        ("tie_fine", _) => "both_fine",
        _ => "both_bad",
    }
}

/// An exported decisions file for `pack`, deciding position k as `meant[k]`.
fn export(pack: &Value, reviewer: &str, meant: &[&str]) -> Value {
    let items = pack["items"].as_array().unwrap();
    let decisions: Vec<Value> = meant
        .iter()
        .enumerate()
        .map(|(k, m)| {
            json!({"item_id": items[k]["item_id"], "choice": blind_for(m, items[k]["candidate_side"].as_str().unwrap()),
                   "decided_at": "2026-01-01T00:00:00.000Z"})
        })
        .collect();
    json!({"format": "evalh-review-decisions/1", "pack_id": pack["pack_id"],
           "side_assignment_hash": pack["side_assignment_hash"], "reviewer": reviewer,
           "exported_at": "2026-01-01T00:00:01.000Z", "decisions": decisions})
}

fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p
}

fn make_pack(d: &Path, run: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["review", run.to_str().unwrap(), "--n", "10", "--seed", "5"];
    args.extend_from_slice(extra);
    let out = evalh(d, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    read_json(&run.join("review/pack.json"))
}

/// Alice decides all 10 items, Bob the first 6 (both in pack order).
const ALICE: [&str; 10] = [
    "candidate_better",
    "candidate_better",
    "tie_fine",
    "tie_fine",
    "tie_fine",
    "tie_fine",
    "tie_bad",
    "baseline_better",
    "tie_fine",
    "candidate_better",
];
const BOB: [&str; 6] = [
    "candidate_better",
    "tie_fine",
    "tie_fine",
    "tie_fine",
    "tie_bad",
    "tie_bad",
];

/// The hand-computed fixture for ALICE + BOB (16 decisions):
/// candidate_better 3+1 = 4, tie_fine 5+3 = 8, tie_bad 1+2 = 3, baseline_better 1.
/// acceptable = (4 + 8)/16 = 0.75; win 4/16; tie 11/16; loss 1/16; preference 4/(4+1) = 0.8.
/// Wilson (z = 1.959963984540054, two-sided 95%): centre (p + z²/2n)/(1 + z²/n) ± z·sqrt(p(1−p)/n + z²/4n²)/(1 + z²/n).
/// Cohen's kappa on the 6 items both decided (categories cb, bb, tf, tb): alice cb cb tf tf tf tf, bob cb tf tf tf tb
/// tb; p_o = 3/6; p_e = (2/6)(1/6) + (4/6)(3/6) = 14/36; kappa = (18/36 − 14/36)/(22/36) = 2/11.
fn check_fixture(results: &Value) {
    let cand = results["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "cand")
        .unwrap();
    let h = &cand["human_review"];
    assert_eq!(h["n_decisions"], 16, "{h:#}");
    assert_eq!(h["n_items"], 10);
    assert_eq!(h["reviewers"], json!(["alice", "bob"]));
    assert_eq!(
        h["counts"],
        json!({"candidate_better": 4, "baseline_better": 1, "tie_fine": 8, "tie_bad": 3})
    );
    let z: f64 = 1.959963984540054;
    let wilson = |k: f64, n: f64| {
        let p = k / n;
        let den = 1.0 + z * z / n;
        let centre = (p + z * z / (2.0 * n)) / den;
        let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / den;
        (centre - half, centre + half)
    };
    let close = |v: &Value, want: f64, what: &str| {
        let got = v.as_f64().unwrap_or_else(|| panic!("{what}: {v}"));
        assert!((got - want).abs() < 1e-12, "{what}: {got} vs {want}");
    };
    for (key, k, n) in [
        ("acceptable_rate", 12.0, 16.0),
        ("win_rate", 4.0, 16.0),
        ("tie_rate", 11.0, 16.0),
        ("loss_rate", 1.0, 16.0),
        ("preference_rate", 4.0, 5.0),
    ] {
        let r = &h[key];
        assert_eq!(
            (r["k"].as_f64(), r["n"].as_f64()),
            (Some(k), Some(n)),
            "{key}"
        );
        close(&r["rate"], k / n, key);
        let (lo, hi) = wilson(k, n);
        close(&r["lower"], lo, key);
        close(&r["upper"], hi, key);
    }
    // Cross-check: statsmodels proportion_confint(12, 16, method="wilson") printed these.
    close(
        &h["acceptable_rate"]["lower"],
        0.5050168346449122,
        "statsmodels lower",
    );
    close(
        &h["acceptable_rate"]["upper"],
        0.8981793250878696,
        "statsmodels upper",
    );
    let a = &h["agreement"];
    assert_eq!(a["method"], "cohen");
    assert_eq!(
        (a["n_items"].as_u64(), a["reviewers"].as_u64()),
        (Some(6), Some(2))
    );
    close(&a["kappa"], 2.0 / 11.0, "kappa");
    close(&a["observed_agreement"], 0.5, "p_o");
    // gate.human: min 0.95, upper bound 0.898 < 0.95: FAIL, judged on the interval.
    let rule = cand["gate"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "human")
        .unwrap();
    assert_eq!(rule["status"], "fail", "{rule:#}");
    assert_eq!(cand["gate"]["verdict"], "FAIL");
}

#[test]
fn crafted_exports_import_unblinded_and_give_the_hand_computed_fixture() {
    let (d, run) = sim_run();
    let pack = make_pack(d.path(), &run, &[]);
    let html = std::fs::read_to_string(run.join("review/pack.html")).unwrap();
    // The page hides who is who: no provider id, model, side or salt; it carries the keyed hash only.
    for secret in [
        "m-base",
        "m-cand",
        "candidate_side",
        pack["salt"].as_str().unwrap(),
    ] {
        assert!(!html.contains(secret), "pack.html leaks {secret}");
    }
    assert!(html.contains(pack["side_assignment_hash"].as_str().unwrap()));
    assert!(html.contains("Content-Security-Policy"));
    assert!(
        html.contains("&lt;b&gt;bold&lt;/b&gt;"),
        "dataset text is escaped"
    );
    assert!(!html.contains("<b>bold</b>"));
    assert_eq!(pack["draw"]["method"], "stratified");
    assert_eq!(pack["draw"]["stratified_by"], "label");
    assert_eq!(pack["items"].as_array().unwrap().len(), 10);

    let a = write(
        d.path(),
        "decisions-alice.json",
        &export(&pack, "alice", &ALICE),
    );
    let b = write(d.path(), "decisions-bob.json", &export(&pack, "bob", &BOB));
    let out = evalh(
        d.path(),
        &[
            "review",
            "import",
            run.to_str().unwrap(),
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("acceptable  75.0% (12/16"),
        "{}",
        text(&out)
    );
    check_unblinding(&run, &pack, &[("alice", &ALICE[..]), ("bob", &BOB[..])]);
    let out = evalh(d.path(), &["report", run.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("human review of cand vs base"),
        "{}",
        text(&out)
    );
    check_fixture(&read_json(&run.join("results.json")));
    let report = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(report.contains("<section id=\"human\">"));
    assert!(
        report.contains("Cohen's κ <b>0.182</b>"),
        "report agreement"
    );
}

/// Every decisions.jsonl line means what the reviewer clicked given pack.json's side for that item.
fn check_unblinding(run: &Path, pack: &Value, who: &[(&str, &[&str])]) {
    let sides: std::collections::HashMap<&str, &str> = pack["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["item_id"].as_str().unwrap(),
                i["candidate_side"].as_str().unwrap(),
            )
        })
        .collect();
    let order: Vec<&str> = pack["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item_id"].as_str().unwrap())
        .collect();
    let lines = std::fs::read_to_string(run.join("review/decisions.jsonl")).unwrap();
    let mut n = 0;
    for line in lines.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let item = v["item_id"].as_str().unwrap();
        let side = sides[item];
        assert_eq!(v["candidate_side"], side, "{line}");
        let (_, meant) = who.iter().find(|(r, _)| v["reviewer"] == *r).unwrap();
        let k = order.iter().position(|i| *i == item).unwrap();
        assert_eq!(v["choice"], meant[k], "{line}");
        assert_eq!(v["blind_choice"], blind_for(meant[k], side), "{line}");
        assert_eq!(
            (v["candidate"].as_str(), v["baseline"].as_str()),
            (Some("cand"), Some("base"))
        );
        n += 1;
    }
    assert_eq!(n, who.iter().map(|(_, m)| m.len()).sum::<usize>());
}

#[test]
fn bad_decisions_files_and_tampered_packs_are_rejected_and_import_nothing() {
    let (d, run) = sim_run();
    let rd = run.to_str().unwrap();
    let pack = make_pack(
        d.path(),
        &run,
        &["--show-reference", "--include-disagreements"],
    );
    assert_eq!(pack["draw"]["include_disagreements"], true);
    let ok = export(&pack, "alice", &ALICE);
    let import = |files: &[&Path]| {
        let mut args = vec!["review", "import", rd];
        args.extend(files.iter().map(|f| f.to_str().unwrap()));
        evalh(d.path(), &args)
    };
    let rejected = |v: &Value, name: &str, want: &str| {
        let f = write(d.path(), name, v);
        // A valid file of another reviewer first: one bad file imports nothing at all.
        let good = write(d.path(), "carol.json", &export(&pack, "carol", &BOB));
        let out = import(&[&good, &f]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out));
        assert!(text(&out).contains(want), "{name}: {}", text(&out));
        assert!(text(&out).contains(name), "{name}: names the file");
        assert!(
            !run.join("review/decisions.jsonl").exists(),
            "{name}: nothing imported"
        );
    };
    let mut v = ok.clone();
    v["side_assignment_hash"] = json!("0".repeat(64));
    rejected(&v, "hash.json", "side-assignment hash does not match");
    let mut v = ok.clone();
    v["pack_id"] = json!("00000000000000aa");
    rejected(&v, "other-run.json", "is not a pack of run");
    let mut v = ok.clone();
    v["decisions"][3]["choice"] = json!("A better");
    rejected(&v, "choice.json", "choice `A better`");
    let mut v = ok.clone();
    let dup = v["decisions"][0].clone();
    v["decisions"].as_array_mut().unwrap().push(dup);
    rejected(&v, "dup.json", "already has a decision on item");
    let mut v = ok.clone();
    v["reviewer"] = json!("   ");
    rejected(&v, "anon.json", "names no reviewer");
    let mut v = ok.clone();
    v["decisions"][1]["item_id"] = json!("not-in-pack");
    rejected(&v, "item.json", "item `not-in-pack` is not in pack");
    let f = d.path().join("broken.json");
    std::fs::write(
        &f,
        "{\"format\": \"evalh-review-decisions/1\",\n \"pack_id\": }",
    )
    .unwrap();
    let out = import(&[&f]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("broken.json:2:"), "{}", text(&out));

    // A pack from another run: its decisions do not import here.
    let (d2, run2) = sim_run();
    let other = make_pack(d2.path(), &run2, &[]);
    rejected(
        &export(&other, "alice", &ALICE),
        "from-run2.json",
        "is not a pack of run",
    );

    // Accepted once; the same file again is a duplicate decision.
    let good = write(d.path(), "good.json", &ok);
    assert_eq!(import(&[&good]).status.code(), Some(0));
    let out = import(&[&good]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("reviewer `alice` already has a decision"),
        "{}",
        text(&out)
    );

    // Someone edits a side in the stored pack: the pack no longer matches its hash, so nothing un-blinds with it.
    let p = run
        .join("review/packs")
        .join(format!("{}.json", pack["pack_id"].as_str().unwrap()));
    let t = std::fs::read_to_string(&p).unwrap();
    let flipped = if t.contains("\"candidate_side\": \"A\"") {
        t.replacen("\"candidate_side\": \"A\"", "\"candidate_side\": \"B\"", 1)
    } else {
        t.replacen("\"candidate_side\": \"B\"", "\"candidate_side\": \"A\"", 1)
    };
    std::fs::write(&p, flipped).unwrap();
    let bob = write(d.path(), "bob.json", &export(&pack, "bob", &BOB));
    let out = import(&[&bob]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("does not match its hash"),
        "{}",
        text(&out)
    );
}

#[test]
fn review_command_line_errors_are_bad_input() {
    let (d, run) = sim_run();
    let rd = run.to_str().unwrap();
    for (args, want) in [
        (vec!["review", "nowhere"], "not a run directory"),
        (
            vec!["review", rd, "--candidate", "zzz"],
            "`zzz` is not a candidate",
        ),
        (vec!["review", rd, "--sample", "0%"], "outside (0, 100]"),
        (
            vec!["review", rd, "--sample", "5%", "--n", "3"],
            "cannot be used with",
        ),
        (vec!["review", "import", rd], "FILE"),
    ] {
        let out = evalh(d.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(want), "{args:?}: {}", text(&out));
    }
    // Without decisions the human rule is not measured and the candidate cannot pass.
    let res = read_json(&run.join("results.json"));
    let cand = &res["providers"][1];
    let rule = cand["gate"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "human")
        .unwrap();
    assert_eq!(rule["status"], "not_measured");
    assert_ne!(cand["gate"]["verdict"], "PASS");
    assert!(cand.get("human_review").is_none());
    // A 5% sample of 40 eligible items is 2 items.
    let out = evalh(d.path(), &["review", rd, "--sample", "5%"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        read_json(&run.join("review/pack.json"))["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// A headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: the browser reads
/// NUL-terminated JSON commands on fd 3 and writes replies and events on fd 4). No port, no npm, no extra crate.
struct Browser {
    child: std::process::Child,
    pipe: std::os::unix::net::UnixStream,
    buf: Vec<u8>,
    next: u64,
    session: String,
}

impl Browser {
    fn launch(bin: &Path, profile: &Path, downloads: &Path) -> Browser {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        extern "C" {
            fn dup(fd: i32) -> i32;
            fn dup2(old: i32, new: i32) -> i32;
        }
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        let fd = theirs.as_raw_fd();
        let mut cmd = std::process::Command::new(bin);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--remote-debugging-pipe",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        // SAFETY: between fork and exec only dup/dup2 run (async-signal-safe). dup() gives a copy without
        // close-on-exec, which dup2 then places on fds 3 and 4 (the socket serves both directions).
        unsafe {
            cmd.pre_exec(move || {
                let copy = dup(fd);
                if copy < 0 || dup2(copy, 3) < 0 || dup2(copy, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start chromium");
        drop(theirs);
        ours.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut b = Browser {
            child,
            pipe: ours,
            buf: Vec::new(),
            next: 0,
            session: String::new(),
        };
        b.call_browser(
            "Browser.setDownloadBehavior",
            json!({"behavior": "allow", "downloadPath": downloads.to_str().unwrap()}),
        );
        b
    }

    fn send(&mut self, method: &str, params: Value, session: Option<String>) -> Value {
        use std::io::{Read, Write};
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.pipe.write_all(&bytes).expect("write to chromium");
        loop {
            while let Some(end) = self.buf.iter().position(|&b| b == 0) {
                let frame: Vec<u8> = self.buf.drain(..=end).collect();
                let v: Value = serde_json::from_slice(&frame[..end]).expect("DevTools JSON");
                if v["id"] == id {
                    assert!(v.get("error").is_none(), "{method}: {v}");
                    return v["result"].clone();
                }
            }
            let mut chunk = [0u8; 65536];
            let n = self
                .pipe
                .read(&mut chunk)
                .expect("read from chromium (timed out?)");
            assert!(n > 0, "chromium closed the pipe");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None)
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.send(method, params, Some(s))
    }

    fn open(&mut self, url: &str) {
        let t = self.call_browser("Target.createTarget", json!({"url": url}));
        let s = self.call_browser(
            "Target.attachToTarget",
            json!({"targetId": t["targetId"], "flatten": true}),
        );
        self.session = s["sessionId"].as_str().unwrap().to_string();
        self.wait_ready();
    }

    fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true}),
        );
        r["result"]["value"].clone()
    }

    fn wait_ready(&mut self) {
        for _ in 0..200 {
            if self.eval("document.documentElement.getAttribute('data-js')") == "ready" {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the pack's script did not start");
    }

    /// Reload the page and wait for the new document's script (a marker on the old document tells them apart).
    fn reload(&mut self) {
        self.eval("document.documentElement.setAttribute('data-old','1')");
        self.call("Page.reload", json!({}));
        for _ in 0..200 {
            let fresh = self
                .eval("document.documentElement.getAttribute('data-old')")
                .is_null();
            if fresh && self.attr("data-js") == "ready" {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the page did not reload");
    }

    fn attr(&mut self, name: &str) -> String {
        let v = self.eval(&format!("document.documentElement.getAttribute('{name}')"));
        v.as_str().unwrap_or_default().to_string()
    }

    /// A real key press (keyDown with its text, keyUp).
    fn key(&mut self, key: &str) {
        let (code, vk, text) = match key {
            "ArrowLeft" => ("ArrowLeft".to_string(), 37, ""),
            "ArrowRight" => ("ArrowRight".to_string(), 39, ""),
            k if k.chars().all(|c| c.is_ascii_digit()) => {
                (format!("Digit{k}"), k.as_bytes()[0] as i64, k)
            }
            k => (
                format!("Key{}", k.to_uppercase()),
                k.to_uppercase().as_bytes()[0] as i64,
                k,
            ),
        };
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyDown", "key": key, "code": code,
            "windowsVirtualKeyCode": vk, "text": text}),
        );
        self.call(
            "Input.dispatchKeyEvent",
            json!({"type": "keyUp", "key": key, "code": code,
            "windowsVirtualKeyCode": vk}),
        );
    }

    /// A real mouse click in the middle of the element `selector` matches.
    fn click(&mut self, selector: &str) {
        let js = format!(
            "(function(){{var e=document.querySelector({}); e.scrollIntoView({{block:'center'}}); var r=e.getBoundingClientRect(); return [r.left+r.width/2, r.top+r.height/2];}})()",
            serde_json::to_string(selector).unwrap()
        );
        let p = self.eval(&js);
        let (x, y) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
        for t in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": t, "x": x, "y": y,
                "button": "left", "clickCount": 1}),
            );
        }
    }

    fn type_text(&mut self, selector: &str, text: &str) {
        self.click(selector);
        self.call("Input.insertText", json!({"text": text}));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until `dir/name` is a complete download.
fn downloaded(dir: &Path, name: &str) -> Value {
    let p = dir.join(name);
    for _ in 0..200 {
        if let Ok(t) = std::fs::read_to_string(&p) {
            if let Ok(v) = serde_json::from_str::<Value>(&t) {
                return v;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let listing: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    panic!(
        "{name} was not downloaded; {} holds {listing:?}",
        dir.display()
    );
}

#[test]
fn chromium_reviewers_pick_export_and_import_gives_the_fixture() {
    let bin = PathBuf::from("/usr/bin/chromium");
    if !bin.exists() {
        eprintln!("note: /usr/bin/chromium not found (.ci/run installs the Debian package `chromium`); skipping the browser review test");
        return;
    }
    let (d, run) = sim_run();
    let pack = make_pack(d.path(), &run, &[]);
    let sides: Vec<String> = pack["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["candidate_side"].as_str().unwrap().to_string())
        .collect();
    let ids: Vec<String> = pack["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item_id"].as_str().unwrap().to_string())
        .collect();
    let url = format!("file://{}", run.join("review/pack.html").display());
    let downloads = d.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();

    // Alice: keys only (digits for some items, letters for others), a change of mind, a reload half-way.
    let key_for = |meant: &str, side: &str, letters: bool| -> &'static str {
        match (blind_for(meant, side), letters) {
            ("a_better", false) => "1",
            ("b_better", false) => "2",
            ("both_fine", false) => "3",
            ("both_bad", false) => "4",
            ("a_better", true) => "a",
            ("b_better", true) => "b",
            ("both_fine", true) => "f",
            _ => "x",
        }
    };
    {
        let mut b = Browser::launch(&bin, &d.path().join("profile-alice"), &downloads);
        b.open(&url);
        assert_eq!(b.attr("data-current"), ids[0]);
        b.type_text("#reviewer", "alice");
        b.click("h1"); // leave the name box: keys typed there are text, not choices
        b.key("x"); // both bad on item 1 ...
        assert_eq!(
            b.attr("data-current"),
            ids[1],
            "a choice moves to the next undecided item"
        );
        b.key("ArrowLeft"); // ... changed her mind
        assert_eq!(b.attr("data-current"), ids[0]);
        for k in 0..5 {
            assert_eq!(b.attr("data-current"), ids[k]);
            b.key(key_for(ALICE[k], &sides[k], k % 2 == 1));
        }
        assert_eq!(b.attr("data-decided"), "5");
        // Close and reopen: nothing is lost (local storage keyed by the pack id).
        b.reload();
        assert_eq!(b.attr("data-decided"), "5", "decisions survive a reload");
        assert_eq!(b.attr("data-current"), ids[5], "and so does the position");
        assert_eq!(b.eval("document.getElementById('reviewer').value"), "alice");
        for k in 5..10 {
            assert_eq!(b.attr("data-current"), ids[k]);
            b.key(key_for(ALICE[k], &sides[k], k % 2 == 0));
        }
        assert_eq!(b.attr("data-decided"), "10");
        b.click("#export");
        let v = downloaded(&downloads, "decisions-alice.json");
        assert_eq!(v["pack_id"], pack["pack_id"]);
        assert_eq!(v["side_assignment_hash"], pack["side_assignment_hash"]);
        assert_eq!(v["decisions"].as_array().unwrap().len(), 10);
        assert!(v["decisions"][0]["decided_at"]
            .as_str()
            .unwrap()
            .ends_with('Z'));
    }
    // Bob: mouse clicks only, six items, a note.
    {
        let mut b = Browser::launch(&bin, &d.path().join("profile-bob"), &downloads);
        b.open(&url);
        b.type_text("#reviewer", "bob");
        for k in 0..6 {
            assert_eq!(b.attr("data-current"), ids[k]);
            if k == 2 {
                b.type_text(
                    "#items .item:not([hidden]) textarea[data-note]",
                    "both say the same",
                );
            }
            let choice = blind_for(BOB[k], &sides[k]);
            b.click(&format!(
                "#items .item:not([hidden]) button[data-choice={choice}]"
            ));
        }
        assert_eq!(b.attr("data-decided"), "6");
        b.click("#export");
        let v = downloaded(&downloads, "decisions-bob.json");
        assert_eq!(v["decisions"].as_array().unwrap().len(), 6);
        assert_eq!(v["decisions"][2]["note"], "both say the same");
    }
    let a = downloads.join("decisions-alice.json");
    let bfile = downloads.join("decisions-bob.json");
    let out = evalh(
        d.path(),
        &[
            "review",
            "import",
            run.to_str().unwrap(),
            a.to_str().unwrap(),
            bfile.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    check_unblinding(&run, &pack, &[("alice", &ALICE[..]), ("bob", &BOB[..])]);
    let out = evalh(d.path(), &["score", run.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    check_fixture(&read_json(&run.join("results.json")));
}

#[test]
fn validate_checks_the_human_rule() {
    for (v, ok) in [("0.95", true), ("1", true), ("0", false), ("1.5", false)] {
        let suite = sim_suite(&format!("gate: {{human: {{min_acceptable_rate: {v}}}}}\n"));
        let d = fixture(&[("suite.yaml", &suite), ("data.jsonl", TICKETS)]);
        let out = evalh(d.path(), &["validate", "suite.yaml"]);
        if ok {
            assert_eq!(out.status.code(), Some(0), "{v}: {}", text(&out));
        } else {
            assert_eq!(out.status.code(), Some(2), "{v}: {}", text(&out));
            assert!(text(&out).contains("suite.yaml:20:"), "{v}: {}", text(&out));
            assert!(
                text(&out).contains("gate.human.min_acceptable_rate is"),
                "{v}: {}",
                text(&out)
            );
        }
    }
    let suite = sim_suite("gate: {human: {min_acceptable: 0.9}}\n");
    let d = fixture(&[("suite.yaml", &suite), ("data.jsonl", TICKETS)]);
    let out = evalh(d.path(), &["validate", "suite.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
