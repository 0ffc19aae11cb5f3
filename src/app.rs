//! The commands: glue between the command line and the pipeline stages. No business logic lives here; each step
//! calls the stage module that owns it, in data-flow order.

use crate::cli::{
    CacheArgs, Cli, Command, OutputArgs, PlanArgs, ReportOutputs, RunArgs, SelectArgs, SimCommand,
    SuiteArgs, VerdictArgs,
};
use crate::dataset::{self, Item};
use crate::error::{Error, InputError, Result};
use crate::journal;
use crate::prompt::Prompter;
use crate::rundir::RESOLVED_SUITE;
use crate::suite::{self, LoadedSuite, TaskKind, ToolsSpec};
use crate::summary::Analysis;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Run a parsed command line; returns the exit code.
pub fn main(cli: Cli) -> Result<i32> {
    load_env_files(&cli.command)?;
    match cli.command {
        Command::Run(a) => run(a),
        Command::Validate(a) => validate(a),
        Command::Plan(a) => plan(a),
        Command::Score(a) => rescore(a, false),
        Command::Report(a) => rescore(a, true),
        Command::Init(a) => crate::init::init(&a),
        Command::Compare(a) => crate::compare::command(&a),
        Command::Runs(c) => crate::runs::command(c),
        Command::Metrics(m) => crate::app_metrics::metrics(m),
        Command::Sim(SimCommand::Serve {
            suite,
            port,
            log,
            rpm,
            tpm,
            rate_limit_headers,
        }) => {
            let limit = (rpm.is_some() || tpm.is_some()).then_some(suite::SimRateLimit {
                rpm,
                tpm,
                headers: rate_limit_headers,
            });
            sim_serve(&suite, port, log.as_deref(), limit)
        }
        Command::Review(a) => crate::app_review::review(a),
        Command::Route(a) => crate::route::command(&a),
        Command::Audit(a) => crate::app_logs::audit(a),
        Command::Dataset(crate::cli::DatasetCommand::FromLogs(a)) => crate::app_logs::from_logs(a),
        Command::Merge(a) => {
            crate::shard::merge(&a.dirs, &a.out)?;
            eprintln!("run directory: {}", a.out.display());
            let out = OutputArgs {
                run_dir: a.out,
                outputs: a.outputs,
                verdicts: a.verdicts,
            };
            rescore(out, true)
        }
    }
}

/// `.env` in the current directory, then next to the suite (see `envfile`), for the commands that check keys.
fn load_env_files(cmd: &Command) -> Result<()> {
    let suite = match cmd {
        Command::Run(a) if a.resume.is_none() => a.suite.as_deref(),
        Command::Run(_) => None,
        Command::Validate(a) => Some(a.suite.as_path()),
        Command::Plan(a) => Some(a.suite.suite.as_path()),
        Command::Sim(SimCommand::Serve { suite, .. }) => Some(suite.as_path()),
        _ => return Ok(()),
    };
    let suite_dir = suite.map(|s| match s.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    });
    let mut dirs = vec![Path::new(".")];
    dirs.extend(suite_dir);
    for f in crate::envfile::load(&dirs)? {
        let mut parts = Vec::new();
        if !f.set.is_empty() {
            parts.push(format!("set {}", f.set.join(", ")));
        }
        if !f.kept.is_empty() {
            parts.push(format!("already set, kept: {}", f.kept.join(", ")));
        }
        if !parts.is_empty() {
            eprintln!("note: read {}: {}", f.path.display(), parts.join("; "));
        }
    }
    Ok(())
}

/// Load a suite, its dataset, and compile its templates: everything that can be checked before spending.
pub fn prepare(
    suite_path: &Path,
    providers: Option<&Path>,
) -> Result<(LoadedSuite, Vec<Item>, Prompter)> {
    prepare_selected(suite_path, providers, &SelectArgs::default())
}

/// [`prepare`] with `--limit` / `--only` applied before the dataset is read.
pub fn prepare_selected(
    suite_path: &Path,
    providers: Option<&Path>,
    select: &SelectArgs,
) -> Result<(LoadedSuite, Vec<Item>, Prompter)> {
    let mut ls = suite::load_suite(suite_path, providers)?;
    crate::select::apply(select, &mut ls)?;
    prepare_loaded(ls)
}

/// [`prepare`] for a suite already loaded: its dataset, label check and templates.
fn prepare_loaded(ls: LoadedSuite) -> Result<(LoadedSuite, Vec<Item>, Prompter)> {
    let items = dataset::load(&ls.dataset_path, &ls.suite.dataset)?;
    if ls.suite.task == TaskKind::Classification {
        // Under agreement scoring a row may be unlabelled (`Null`); the labelled ones must still use the suite's labels.
        // (Checked in place: a copy of the labelled items was a second copy of the dataset, ~280 MB at 1,000,000.)
        let labelled = items
            .iter()
            .filter(|it| !(ls.suite.dataset.unlabelled_ok && it.expected.is_null()));
        dataset::check_labels(&ls.dataset_path, labelled, &ls.suite.labels)?;
    }
    crate::summary::check_agreement_dataset(&ls, &items)?;
    let prompter = Prompter::new(&ls)?;
    let ids: Vec<&str> = ls.suite.providers.iter().map(|p| p.id.as_str()).collect();
    prompter.check_all(&items, &ids)?;
    let mut judge = crate::judge::check_prompt(&ls, &items);
    if judge.len() > 1 {
        return Err(Error::Inputs(judge));
    }
    if let Some(e) = judge.pop() {
        return Err(e.into());
    }
    Ok((ls, items, prompter))
}

/// Load a run directory's suite and its dataset (the run's copy, or the original checked against its recorded hash;
/// see [`crate::rundir::dataset_for`]), and compile its templates.
fn prepare_run_dir(dir: &Path) -> Result<(LoadedSuite, Vec<Item>, Prompter)> {
    let checked = crate::rundir::dataset_for(dir)?;
    let mut ls = suite::load_suite(&dir.join(RESOLVED_SUITE), None)?;
    if let Some(path) = checked {
        ls.dataset_path = path;
    }
    let (ls, items, prompter) = prepare_loaded(ls)?;
    // A shard's run directory holds its part of the items only (docs/scale.md).
    let items = crate::shard::select(items, crate::shard::of_dir(dir)?);
    Ok((ls, items, prompter))
}

fn validate(a: SuiteArgs) -> Result<i32> {
    let (ls, items, _) = prepare_selected(&a.suite, a.providers.as_deref(), &a.select)?;
    suite::preflight(&ls)?;
    println!(
        "{}: ok — {} task, {} items, {} providers (baseline: {})",
        a.suite.display(),
        ls.suite.task.as_str(),
        items.len(),
        ls.suite.providers.len(),
        ls.suite.baseline().map(|b| b.id.as_str()).unwrap_or("-")
    );
    if let Some(line) = crate::summary::agreement_validate_line(&ls, &items) {
        println!("{line}");
    }
    Ok(0)
}

fn plan(a: PlanArgs) -> Result<i32> {
    let (ls, items, prompter) = prepare_selected(
        &a.suite.suite,
        a.suite.providers.as_deref(),
        &a.suite.select,
    )?;
    suite::preflight(&ls)?;
    let cache = open_cache(&a.cache)?;
    let p = crate::plan::plan(&ls, &items, &prompter, cache.as_deref())?;
    print!("{}", crate::plan::render(&p));
    Ok(0)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the async runtime", e))
}

/// Write the resolved suite: dataset path absolute, tools and extraction schema inline (the loader read the schema),
/// providers as used — so the run directory alone
/// says what ran, and `evalh score`/`report`/`run --resume` can reload it.
fn write_resolved(ls: &LoadedSuite, dir: &Path) -> Result<()> {
    let mut s = ls.suite.clone();
    // The run's copy of its dataset when it has one (relative to the run directory), else the absolute path.
    s.dataset.path = match crate::rundir::resolved_dataset_path(dir) {
        Some(p) => p,
        None => std::fs::canonicalize(&ls.dataset_path)
            .unwrap_or_else(|_| ls.dataset_path.clone())
            .to_string_lossy()
            .into_owned(),
    };
    if !ls.tools.is_empty() {
        s.tools = ToolsSpec::Inline(ls.tools.clone());
    }
    let yaml = serde_yaml::to_string(&s)
        .map_err(|e| Error::Internal(format!("serializing the suite: {e}")))?;
    // Temporary file + rename: a crash never leaves a half-written suite.yaml that `--resume` would choke on.
    let path = dir.join(RESOLVED_SUITE);
    let tmp = dir.join(format!(".{RESOLVED_SUITE}.tmp"));
    std::fs::write(&tmp, yaml)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// Open the response cache the command line asks for: `None` with `--no-cache` (or when no default location exists
/// and none was given). An explicit `--cache-dir` that cannot be used is an error; a default one only a warning.
pub fn open_cache(a: &CacheArgs) -> Result<Option<Arc<crate::cache::Cache>>> {
    if a.no_cache {
        return Ok(None);
    }
    match &a.cache_dir {
        Some(dir) => Ok(Some(Arc::new(crate::cache::Cache::open(dir, a.cache_ttl)?))),
        None => match crate::cache::default_dir() {
            Some(dir) => match crate::cache::Cache::open(&dir, a.cache_ttl) {
                Ok(c) => Ok(Some(Arc::new(c))),
                Err(e) => {
                    eprintln!("warning: response cache disabled: {e}");
                    Ok(None)
                }
            },
            None => {
                eprintln!("note: response cache disabled: set EVALH_CACHE_DIR or pass --cache-dir");
                Ok(None)
            }
        },
    }
}

fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `<stamp>` or `<stamp>-<n>` as `new_run_dir` makes them: (stamp, n) for ordering.
fn parse_stamp(rest: &str) -> Option<(&str, u32)> {
    let (stamp, n) = match rest.split_once('-') {
        Some((s, n)) => (s, n.parse().ok()?),
        None => (rest, 1),
    };
    let b = stamp.as_bytes();
    let ok = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    ok.then_some((stamp, n))
}

/// What the newest run of a suite is doing, for the note printed when another run of it starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Latest {
    /// No process runs it, and this many of its requests have no journal record.
    Missing(u64),
    /// A process is running it right now ("pid N, started T").
    InProgress(String),
}

/// The newest run directory of suite `name` under `out` and its state, or `None` when there is no such run or it
/// cannot be read (then there is nothing useful to say).
pub fn latest_run_missing(out: &Path, name: &str) -> Option<(PathBuf, Latest)> {
    let prefix = format!("{}-", safe_name(name));
    let newest = std::fs::read_dir(out)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let file = e.file_name().into_string().ok()?;
            let (stamp, n) = parse_stamp(file.strip_prefix(&prefix)?)?;
            Some(((stamp.to_string(), n), e.path()))
        })
        .filter(|(_, p)| p.join(RESOLVED_SUITE).is_file())
        .max()?
        .1;
    // A run in progress is not incomplete: it is not finished yet (its lock says who runs it).
    if let Some(who) = crate::rundir::holder(&newest) {
        return Some((newest, Latest::InProgress(who)));
    }
    let ls = suite::load_suite(&newest.join(RESOLVED_SUITE), None).ok()?;
    if ls.suite.name != name {
        return None;
    }
    let data = match crate::rundir::manifest(&newest).ok()? {
        Some(m) => match m.dataset.copy {
            Some(c) => newest.join(c),
            None => PathBuf::from(m.dataset.path),
        },
        None => ls.dataset_path.clone(),
    };
    let items = dataset::load(&data, &ls.suite.dataset).ok()?;
    let slots = journal::Slots::new(
        items.iter().map(|it| it.id.as_str()),
        ls.suite.providers.iter().map(|p| p.id.as_str()),
        ls.suite.run.repeats,
    );
    // Unsettled, not merely unrecorded: a run whose provider was unreachable is incomplete too.
    let mut settled = vec![false; slots.len()];
    journal::for_each(&newest, |r| {
        if let Some(s) = slots.of(&r) {
            settled[s] = r.settled();
        }
    })
    .ok()?;
    let missing = settled.iter().filter(|s| !**s).count() as u64;
    Some((newest, Latest::Missing(missing)))
}

/// A new, empty run directory `<out>/<suite>-<UTC stamp>[-n]`. Each candidate name is created with `create_dir`,
/// which fails if it exists, so two runs started in the same second (or two processes racing) never get one
/// directory.
fn new_run_dir(out: &Path, name: &str) -> Result<PathBuf> {
    let safe = safe_name(name);
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    std::fs::create_dir_all(out)
        .map_err(|e| Error::io(format!("creating {}", out.display()), e))?;
    for n in 1u32.. {
        let dir = match n {
            1 => out.join(format!("{safe}-{stamp}")),
            n => out.join(format!("{safe}-{stamp}-{n}")),
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 10_000 => continue,
            Err(e) => return Err(Error::io(format!("creating {}", dir.display()), e)),
        }
    }
    unreachable!("the loop returns")
}

fn run(a: RunArgs) -> Result<i32> {
    let started = std::time::Instant::now();
    let (suite_path, run_dir, providers) = run_target(&a)?;
    check_output_paths(&a.outputs)?;
    // A resume owns its run directory before it reads anything: a second one stops here, naming the first.
    // Held until `run` returns (the process's end releases it in any case).
    let resume_lock = run_dir.as_deref().map(crate::rundir::lock).transpose()?;
    let (mut ls, items, prompter) = match &run_dir {
        Some(d) => {
            let prepared = prepare_run_dir(d)?;
            crate::rundir::check_journal(&prepared.0, &prepared.1, &prepared.2, d)?;
            prepared
        }
        None => {
            let (ls, items, prompter) =
                prepare_selected(&suite_path, providers.as_deref(), &a.select)?;
            (ls, crate::shard::select(items, a.shard), prompter)
        }
    };
    // Keys and credentials before anything is created or sent (a failed preflight leaves no run directory behind).
    suite::preflight(&ls)?;
    apply_overrides(&a, &mut ls)?;
    let cache = open_cache(&a.cache)?;
    let (run_dir, _lock) = match run_dir {
        Some(d) => {
            if a.max_cost.is_some() || a.verdicts.require.is_some() || a.batch {
                write_resolved(&ls, &d)?; // the new budget (or require) holds for later resumes too
            }
            (d, resume_lock)
        }
        None => {
            let (d, lock) = start_run_dir(&a, &ls)?;
            (d, Some(lock))
        }
    };
    eprintln!("run directory: {}", run_dir.display());
    let items = Arc::new(items);
    let opts = crate::runner::RunOptions {
        progress: !a.no_progress,
        max_cost_usd: a.max_cost,
        sim_log: a.sim_log.clone(),
        cache: cache.clone(),
        detach: a.detach,
    };
    timing("run: load, validate, render check", started);
    let rt = runtime()?;
    let prompter = Arc::new(prompter);
    let outcome = rt.block_on(crate::runner::execute(
        &ls,
        items.clone(),
        prompter.clone(),
        &run_dir,
        &opts,
    ))?;
    let judged = crate::app_judge::phase(&rt, &ls, &items, &prompter, &run_dir, &opts, &outcome)?;
    listen_while_scoring(&rt, &run_dir);
    if let Some(c) = &cache {
        if c.hits() > 0 {
            eprintln!(
                "response cache: {} responses served from {} (not paid, left out of latency statistics)",
                c.hits(),
                c.root().display()
            );
        }
    }
    timing("run: requests sent and journaled", started);
    let mut items = items;
    let released = release_fields(&rt, &ls, &mut items);
    let analysis = crate::rundir::analyse(&ls, &items, &run_dir)?;
    timing("run: analysis", started);
    if let (true, Some(items)) = (released, Arc::get_mut(&mut items)) {
        restore_shown_fields(&ls, &analysis, items)?;
    }
    let code = emit(
        &ls,
        &items,
        &analysis,
        &run_dir,
        &a.outputs,
        &a.verdicts,
        true,
    )?;
    timing("run: reports written", started);
    if let Some(out) = run_dir.parent() {
        crate::runs::refresh_index(out);
    }
    if !analysis.results.complete || outcome.missing > 0 {
        let why = incomplete_reason(&judged, &outcome);
        return Err(Error::Incomplete(incomplete_message(
            &why,
            &analysis.results,
            &run_dir,
        )));
    }
    Ok(code)
}

/// What `evalh run` runs: the suite file, the run directory of a resume, the providers file.
fn run_target(a: &RunArgs) -> Result<(PathBuf, Option<PathBuf>, Option<PathBuf>)> {
    let target = match (&a.resume, &a.suite) {
        (Some(dir), _) => {
            let p = dir.join(RESOLVED_SUITE);
            if !p.exists() {
                return Err(InputError::new(dir, "not a run directory (no suite.yaml)")
                    .hint("pass the directory evalh printed, e.g. reports/<suite>-<timestamp>")
                    .into());
            }
            (p, Some(dir.clone()), None)
        }
        (None, Some(s)) => (s.clone(), None, a.providers.clone()),
        (None, None) => {
            return Err(
                InputError::new("", "`evalh run` needs a suite file or --resume RUN_DIR")
                    .hint("e.g. evalh run suites/classify.yaml")
                    .into(),
            )
        }
    };
    if target.1.is_some() && !crate::select::is_empty(&a.select) {
        return Err(InputError::new(
            "",
            "--limit and --only cannot be given with --resume: a run keeps the items and providers it started with",
        )
        .hint("resume without them, or start a new run: evalh run SUITE --limit N --only ID")
        .into());
    }
    Ok(target)
}

/// `--max-cost` and `--require` replace the suite's (and are recorded in the run directory's suite.yaml).
fn apply_overrides(a: &RunArgs, ls: &mut LoadedSuite) -> Result<()> {
    if let Some(b) = a.max_cost {
        if !(b.is_finite() && b >= 0.0) {
            return Err(
                InputError::new("", format!("--max-cost {b} is not a budget"))
                    .hint("pass a non-negative number of USD, e.g. --max-cost 5")
                    .into(),
            );
        }
        // Recorded in the run directory's suite.yaml, so a resume keeps the budget unless given a new one.
        ls.suite.run.max_cost_usd = Some(b);
    }
    if let Some(req) = a.verdicts.require {
        ls.suite.gate.require = req; // recorded like the budget
    }
    if a.batch {
        ls.suite.run.mode = suite::RunMode::Batch; // recorded like the budget
    }
    let batch =
        ls.suite.run.mode == suite::RunMode::Batch || ls.suite.providers.iter().any(|p| p.batch);
    if a.detach && !batch {
        return Err(InputError::new(
            "",
            "--detach needs batch mode: nothing would be left to collect",
        )
        .hint("add --batch (or run.mode: batch, or batch: true on a provider), or drop --detach")
        .into());
    }
    Ok(())
}

/// A new run directory for `ls`, locked, with its dataset recorded and its resolved suite written (after a note
/// when the suite's latest run is incomplete or still going).
fn start_run_dir(a: &RunArgs, ls: &LoadedSuite) -> Result<(PathBuf, crate::rundir::RunLock)> {
    let latest = match a.shard {
        Some(_) => None, // shards of one run start together by design
        None => latest_run_missing(&a.out, &ls.suite.name),
    };
    match latest {
        Some((dir, Latest::Missing(missing))) if missing > 0 => eprintln!(
            "note: the latest run {} is incomplete ({missing} requests unsettled); resume it with evalh run --resume {}",
            dir.display(),
            dir.display()
        ),
        Some((dir, Latest::InProgress(who))) => eprintln!(
            "note: another run of this suite is in progress in {} ({who}); starting a separate run",
            dir.display()
        ),
        _ => {}
    }
    let name = match a.shard {
        Some(s) => format!("{}-shard{}of{}", ls.suite.name, s.index, s.count),
        None => ls.suite.name.clone(),
    };
    let d = new_run_dir(&a.out, &name)?;
    // Locked before anything is written: a run directory is seen as a run once its suite.yaml exists.
    let lock = crate::rundir::lock(&d)?;
    crate::rundir::record_dataset(&d, &ls.dataset_path)?;
    if let Some(s) = a.shard {
        crate::shard::record(&d, s)?;
    }
    write_resolved(ls, &d)?;
    Ok((d, lock))
}

/// While the journal is scored: the first stop signal lets the scoring finish, a second ends the process.
fn listen_while_scoring(rt: &tokio::runtime::Runtime, run_dir: &Path) {
    // The runner's Ctrl-C/SIGTERM handlers replaced the default "terminate" action for the rest of the process. While
    // the journal is scored (minutes on a large run) the first signal lets the scoring finish, so results.json and the
    // reports are written (a cancelled CI job gets its results within its grace period); a second one stops at once.
    // Everything is journaled, so stopping loses nothing: `--resume` sends nothing and recomputes the results.
    let resume_dir = run_dir.to_path_buf();
    let mut signals = {
        let _in_runtime = rt.enter();
        crate::runner::StopSignals::listen()
    };
    rt.spawn(async move {
        signals.next().await;
        eprintln!(
            "\nfinishing the results from the journal (a second signal stops now; evalh run --resume {} recomputes them)",
            resume_dir.display()
        );
        signals.next().await;
        eprintln!(
            "\nstopped while scoring; every response is journaled. Results: evalh run --resume {}",
            resume_dir.display()
        );
        std::process::exit(crate::error::exit::INCOMPLETE);
    });
}

/// Why an incomplete run is incomplete, for its error message.
fn incomplete_reason(
    judged: &Option<crate::runner::JudgeOutcome>,
    outcome: &crate::runner::RunOutcome,
) -> String {
    if let Some(why) = crate::app_judge::incomplete_reason(judged) {
        why
    } else if outcome.budget_exhausted {
        format!(
            "budget reached: the run has spent ${:.4} of its ${:.4} budget and the next request could exceed it \
             (raise it with --max-cost when resuming)",
            outcome.run_spent_usd,
            outcome.budget_usd.unwrap_or(0.0)
        )
    } else if outcome.interrupted {
        "interrupted".to_string()
    } else if outcome.batches_waiting > 0 {
        format!(
            "{} batch(es) submitted and not collected yet (batch mode)",
            outcome.batches_waiting
        )
    } else if outcome.batch_unsettled > 0 {
        format!(
            "the provider batches left {} request(s) unsettled (not run before they expired or were cancelled, or \
             failed with an error a retry can fix); a resume submits them again",
            outcome.batch_unsettled
        )
    } else if !outcome.circuit_open.is_empty() {
        outcome
            .circuit_open
            .iter()
            .map(|(p, why)| format!("stopped sending to {p}: {why}"))
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        "some requests are not settled (the provider could not be reached or used)".to_string()
    }
}

/// "<why>; N request(s) unsettled (reasons): no verdicts. Resume with: evalh run --resume DIR".
fn incomplete_message(why: &str, r: &crate::summary::Results, run_dir: &Path) -> String {
    let reasons: Vec<String> = r
        .unsettled_by_reason
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    format!(
        "incomplete run, no verdicts — {why}; {} request(s) unsettled ({}). Resume once the cause is fixed: evalh run --resume {}",
        r.unsettled_by_reason.values().sum::<usize>(),
        reasons.join(", "),
        run_dir.display()
    )
}

/// Every report file the command line names (and `$GITHUB_STEP_SUMMARY`) can be written: checked before the run, so
/// an unwritable path is bad input (exit 2) instead of an I/O error after every request was paid for.
fn check_output_paths(outs: &ReportOutputs) -> Result<()> {
    let summary = std::env::var_os("GITHUB_STEP_SUMMARY")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    let named = [
        ("--junit", outs.junit.clone()),
        ("--markdown", outs.markdown.clone()),
        ("$GITHUB_STEP_SUMMARY", summary),
    ];
    for (what, path) in named {
        if let Some(p) = path {
            crate::report::check_writable(&p, what)?;
        }
    }
    Ok(())
}

/// Write results.json and every report, print the table; returns the gate's exit code. With `visual`, also draw the
/// charts and write report.html (`evalh run` and `evalh report`; `evalh score` skips them).
fn emit(
    ls: &LoadedSuite,
    items: &[Item],
    an: &Analysis,
    run_dir: &Path,
    outs: &ReportOutputs,
    verdicts: &VerdictArgs,
    visual: bool,
) -> Result<i32> {
    crate::report::write_results(run_dir, &an.results)?;
    let mut report_path = None;
    let mut artifacts = crate::report::Artifacts {
        run_dir: run_dir.display().to_string(),
        files: Vec::new(),
    };
    if visual {
        let started = std::time::Instant::now();
        let (charts, failed) = crate::report::render_charts(an, run_dir)?;
        timing("charts", started);
        for f in &failed {
            eprintln!("warning: {f}");
        }
        let mut images = Vec::new();
        for c in &charts {
            let path = run_dir.join(&c.file);
            let png = std::fs::read(&path)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            images.push(crate::report::ChartImage { chart: c, png });
            artifacts.files.push(c.file.clone());
        }
        let page = crate::report::Page {
            analysis: an,
            suite: &ls.suite,
            items,
            charts: images,
            chart_errors: failed.iter().map(ToString::to_string).collect(),
        };
        let started = std::time::Instant::now();
        report_path = Some(crate::report::write_html(run_dir, &page)?);
        timing("report.html", started);
    }
    if let Some(j) = &outs.junit {
        crate::report::write_junit(j, &an.results)?;
    }
    // The Markdown names the report and charts by their place in the run directory: GitHub's job summary cannot
    // show files from the runner's disk, so nothing is embedded.
    if report_path.is_some() {
        artifacts
            .files
            .insert(0, crate::report::REPORT_FILE.to_string());
    }
    crate::report::write_markdown(outs.markdown.as_deref(), &an.results, &artifacts)?;
    let opts = crate::report::TerminalOptions {
        verbose: verdicts.verbose,
    };
    // anstream drops the colours when stdout is not a terminal, or with NO_COLOR.
    {
        use std::io::Write as _;
        let mut stdout = anstream::stdout();
        let _ = write!(
            stdout,
            "{}",
            crate::report::render_terminal(&an.results, opts)
        );
    }
    println!(
        "\nresults: {}",
        run_dir.join(crate::report::RESULTS_FILE).display()
    );
    if let Some(p) = report_path {
        println!("report:  {}", p.display());
    }
    Ok(an.results.gate_exit_code)
}

/// With `EVALH_TIMINGS` set, print how long a stage took (stderr), for `bench/report_100k.sh`.
fn timing(stage: &str, started: std::time::Instant) {
    if std::env::var_os("EVALH_TIMINGS").is_some() {
        // With resident memory now and at its highest so far: which phase sets the peak.
        eprintln!(
            "timing: {stage}: {:.3} s{}",
            started.elapsed().as_secs_f64(),
            crate::memory::resident()
        );
    }
}

fn rescore(a: OutputArgs, full_report: bool) -> Result<i32> {
    check_output_paths(&a.outputs)?;
    let p = a.run_dir.join(RESOLVED_SUITE);
    if !p.exists() {
        return Err(
            InputError::new(&a.run_dir, "not a run directory (no suite.yaml)")
                .hint("pass a directory under reports/")
                .into(),
        );
    }
    let started = std::time::Instant::now();
    let checked = crate::rundir::dataset_for(&a.run_dir)?;
    timing("dataset checked against the manifest", started);
    let mut ls = suite::load_suite(&p, None)?;
    if let Some(path) = checked {
        ls.dataset_path = path;
    }
    if let Some(req) = a.verdicts.require {
        ls.suite.gate.require = req;
    }
    let items = dataset::load(&ls.dataset_path, &ls.suite.dataset)?;
    let mut items = crate::shard::select(items, crate::shard::of_dir(&a.run_dir)?);
    timing("suite and dataset loaded", started);
    crate::rundir::check_journal(&ls, &items, &Prompter::new(&ls)?, &a.run_dir)?;
    timing("journal checked against the suite", started);
    // Every prompt's hash is checked: the analysis needs no row's fields (the report's few rows are read back).
    let released = dataset::fields_releasable(&ls);
    if released {
        dataset::release_fields(&mut items);
    }
    if let Some(who) = crate::rundir::holder(&a.run_dir) {
        eprintln!(
            "note: {} is being run right now ({who}); these results cover only what is journaled so far",
            a.run_dir.display()
        );
    }
    let started = std::time::Instant::now();
    let an = crate::rundir::analyse(&ls, &items, &a.run_dir)?;
    timing("analysis (journal, scores, intervals, gate)", started);
    if released && full_report {
        restore_shown_fields(&ls, &an, &mut items)?;
    }
    let code = emit(
        &ls,
        &items,
        &an,
        &a.run_dir,
        &a.outputs,
        &a.verdicts,
        full_report,
    )?;
    if !an.results.complete {
        return Err(Error::Incomplete(incomplete_message(
            "the journal does not settle every request",
            &an.results,
            &a.run_dir,
        )));
    }
    Ok(code)
}

fn sim_serve(
    suite_path: &Path,
    port: u16,
    log: Option<&Path>,
    limit: Option<suite::SimRateLimit>,
) -> Result<i32> {
    let (mut ls, items, prompter) = prepare(suite_path, None)?;
    if let Some(limit) = limit {
        eprintln!(
            "rate limit per sim model: {} requests/min, {} tokens/min ({:?} headers)",
            limit.rpm.map_or("unlimited".into(), |n| n.to_string()),
            limit.tpm.map_or("unlimited".into(), |n| n.to_string()),
            limit.headers
        );
        for p in ls.suite.providers.iter_mut() {
            if p.kind == suite::ProviderKind::Sim {
                p.sim.get_or_insert_with(Default::default).rate_limit = Some(limit);
            }
        }
    }
    let rt = runtime()?;
    rt.block_on(async {
        let tokens = std::sync::Arc::new(crate::tokens::Tokenizer::o200k());
        let state = crate::sim::SimState::new(
            &ls,
            std::sync::Arc::new(items),
            &prompter,
            log,
            tokens,
            true,
        )?;
        let server = crate::sim::start(state, port).await?;
        println!("{}", server.base_url);
        let models: Vec<&str> = ls
            .suite
            .providers
            .iter()
            .filter(|p| p.kind == suite::ProviderKind::Sim)
            .map(|p| p.model.as_str())
            .collect();
        eprintln!(
            "serving OpenAI-compatible chat completions for models: {}; Ctrl-C to stop",
            models.join(", ")
        );
        let _ = tokio::signal::ctrl_c().await;
        drop(server);
        Ok::<_, Error>(())
    })?;
    Ok(0)
}

/// After the sending phase, drop the rows' fields when the analysis reads none ([`dataset::fields_releasable`]):
/// ~135 MB of a 1,000,000-item dataset. The simulator shares the items and lets go of them once its last connection
/// closes, which is awaited briefly; if another holder remains the fields simply stay. Returns whether they went.
fn release_fields(
    rt: &tokio::runtime::Runtime,
    ls: &LoadedSuite,
    items: &mut Arc<Vec<Item>>,
) -> bool {
    if !dataset::fields_releasable(ls) {
        return false;
    }
    rt.block_on(async {
        for _ in 0..200 {
            if Arc::strong_count(items) == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    });
    match Arc::get_mut(items) {
        Some(v) => {
            dataset::release_fields(v);
            true
        }
        None => false,
    }
}

/// Read back the fields of the rows the report's drill-down shows (after [`release_fields`]).
fn restore_shown_fields(ls: &LoadedSuite, an: &Analysis, items: &mut [Item]) -> Result<()> {
    let shown = crate::report::shown_items(an, ls.suite.task, items.len());
    dataset::restore_fields(&ls.dataset_path, items, &shown)
}
