//! `evalh route`: from verdicts to routing. Reads run directories, decides per feature which provider takes the
//! traffic and what it fails over to, and writes the routes three ways: `routes.yaml` (evalh's own), a LiteLLM
//! proxy config that a gateway loads as is, and the staged rollout checklist with the gate's rollback thresholds.
//!
//! Why this module exists: a verdict per suite is where `evalh run` stops, but a team still has to turn "flash
//! PASSes" into a router configuration, a failover chain and a rollout plan by hand — and must never route a
//! candidate the evidence did not clear. Here the rule lives in one place (`plan`), and every output is rendered
//! from its result.
//!
//! `input` reads run directories and the features file, `plan` decides, `litellm` emits and checks the proxy config,
//! `rollout` writes the checklist, `render` the table and routes.yaml.

mod input;
mod litellm;
mod plan;
mod render;
mod rollout;

pub use input::{check_feature_name, load_run, FeatureSpec, Features, RunInput, SimUrls};
pub use litellm::{
    check as check_litellm_config, config as litellm_config, sim_url_env, LitellmConfig, NO_KEY,
};
pub use plan::{group_name, plan, Breaker, Excluded, FeatureRoute, Hop, Rollback, Routes};
pub use render::{routes_yaml, table};
pub use rollout::{render as rollout_markdown, stage_sample, StageSample, STAGES};

use crate::error::{Error, InputError, Result};
use std::path::Path;

/// File names written under `--out`.
pub const ROUTES_FILE: &str = "routes.yaml";
/// The LiteLLM proxy config.
pub const LITELLM_FILE: &str = "litellm_config.yaml";
/// The rollout checklist.
pub const ROLLOUT_FILE: &str = "rollout.md";

/// Write `text` to `dir/name` through a temporary file, so a reader never sees half a config.
fn write_file(dir: &Path, name: &str, text: &str) -> Result<()> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// The output directory exists (created if needed) and is a directory.
fn prepare_out(out: &Path) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(InputError::new(out, "--out names a file, not a directory")
            .hint("name a directory, e.g. --out routes")
            .into());
    }
    std::fs::create_dir_all(out).map_err(|e| {
        InputError::new(out, format!("cannot create the output directory: {e}"))
            .hint("check the path and its permissions, or name another directory with --out")
            .into()
    })
}

/// Run `evalh route`: returns the exit code (0; bad input is an error, exit 2).
pub fn command(a: &crate::cli::RouteArgs) -> Result<i32> {
    let features = match &a.features {
        Some(p) => Features::load(p)?,
        None => Features::default(),
    };
    let sim = SimUrls::parse(&a.sim_base_url)?;
    let runs = a
        .run_dirs
        .iter()
        .map(|d| load_run(d))
        .collect::<Result<Vec<_>>>()?;
    for s in sim.named_suites() {
        if !runs.iter().any(|r| r.suite.name == s) {
            let names: Vec<&str> = runs.iter().map(|r| r.suite.name.as_str()).collect();
            return Err(InputError::new(
                "",
                format!("--sim-base-url names suite `{s}`, which no run directory has"),
            )
            .hint(format!("the suites given are: {}", names.join(", ")))
            .into());
        }
    }
    for s in features.by_suite.keys() {
        if !runs.iter().any(|r| &r.suite.name == s) {
            eprintln!("note: the features file maps suite `{s}`, which none of the run directories is; ignored");
        }
    }
    if !STAGES.contains(&a.stage) {
        let stages: Vec<String> = STAGES.iter().map(u32::to_string).collect();
        return Err(
            InputError::new("", format!("--stage {} is not a rollout stage", a.stage))
                .hint(format!(
                    "use one of the migration guide's stages: {}",
                    stages.join(", ")
                ))
                .into(),
        );
    }
    let routes = plan(&runs, &features, a.stage)?;
    let cfg = litellm_config(&routes, &runs, &sim)?;
    let checklist = rollout_markdown(&routes);
    prepare_out(&a.out)?;
    write_file(&a.out, ROUTES_FILE, &routes_yaml(&routes)?)?;
    write_file(&a.out, LITELLM_FILE, &cfg.yaml)?;
    write_file(&a.out, ROLLOUT_FILE, &checklist)?;
    for w in &cfg.warnings {
        eprintln!("warning: {w}");
    }
    let mut out = table(&routes);
    if a.stage < 100 {
        out.push_str(&format!(
            "\nstage {}%: each routed feature's group sends {}% of its traffic to its primary and the rest to its baseline\n",
            a.stage, a.stage
        ));
    }
    out.push_str(&format!("\n{checklist}\n"));
    out.push_str(&format!("routes:  {}\n", a.out.join(ROUTES_FILE).display()));
    out.push_str(&format!(
        "litellm: {} (reads {})\n",
        a.out.join(LITELLM_FILE).display(),
        cfg.env_vars.join(", ")
    ));
    out.push_str(&format!(
        "rollout: {}\n",
        a.out.join(ROLLOUT_FILE).display()
    ));
    // The files are written; a reader that stops early (`| head`) is not an error.
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(Error::io("writing to stdout", e))
        }
        _ => {}
    }
    Ok(0)
}
