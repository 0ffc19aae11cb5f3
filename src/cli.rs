//! Command-line interface (clap derive). Only parsing lives here; `app` carries the commands out.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// evalh — tells you, with evidence, which LLM workloads can move to a cheaper provider.
#[derive(Debug, Parser)]
#[command(name = "evalh", version, about, long_about = None)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a suite: send every item to every provider, score, gate, report.
    Run(RunArgs),
    /// Check a suite (and its dataset and templates) without sending anything.
    Validate(SuiteArgs),
    /// Estimate tokens, cost and cache hits of a suite before spending anything.
    Plan(PlanArgs),
    /// Recompute scores, statistics and verdicts of a run directory from its journal (offline).
    Score(OutputArgs),
    /// Regenerate the reports of a run directory (offline).
    Report(OutputArgs),
    /// Write a starter suite, a 5-row dataset and a providers file for a task (runs offline as written).
    Init(InitArgs),
    /// Compare two runs of the same suite: per provider, what changed and whether it is significant (offline).
    Compare(CompareArgs),
    /// The run directories under an output folder: list them, prune old ones, rewrite index.html.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Score outputs produced elsewhere: JSONL on stdin, one JSON result per line on stdout.
    #[command(subcommand)]
    Metrics(MetricsCommand),
    /// The built-in simulator.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Blind human review: write a review pack of a run (review/pack.html), or import reviewers' decisions.
    Review(ReviewArgs),
    /// Turn run verdicts into routes: a routing table, routes.yaml, a LiteLLM proxy config and a rollout checklist.
    Route(RouteArgs),
    /// Read usage logs: spend per feature and bucket, what could move, and what passing candidates would save.
    Audit(AuditArgs),
    /// Build datasets.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Merge the run directories of `evalh run --shard K/N` (all N of them) into one run directory, and score it.
    Merge(MergeArgs),
}

/// `evalh merge DIR... --out RUN_DIR` (docs/scale.md).
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' run directories (every K of 1..N once).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The merged run directory to create (must not exist, or be empty).
    #[arg(long, value_name = "RUN_DIR")]
    pub out: PathBuf,
    /// Report outputs.
    #[command(flatten)]
    pub outputs: ReportOutputs,
    /// What the verdicts need and how they are shown.
    #[command(flatten)]
    pub verdicts: VerdictArgs,
}

/// `evalh review RUN_DIR [options]` or `evalh review import RUN_DIR FILE...` (docs/review.md).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReviewArgs {
    /// `import`: check, un-blind and append exported decisions.
    #[command(subcommand)]
    pub command: Option<ReviewCommand>,
    /// Run directory to draw the pack from.
    #[arg(required = true, value_name = "RUN_DIR")]
    pub run_dir: Option<PathBuf>,
    /// The candidate compared with the baseline (required when the run has several).
    #[arg(long, value_name = "ID")]
    pub candidate: Option<String>,
    /// Share of the eligible items to sample, e.g. 5%.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent, conflicts_with = "n")]
    pub sample: Option<f64>,
    /// Number of items to sample [default: 60].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub n: Option<u32>,
    /// Seed of the draw and of the A/B sides [default: the suite's run.seed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also put in the pack every item where the two providers' outputs disagree (over-weights disagreements).
    #[arg(long)]
    pub include_disagreements: bool,
    /// Show the dataset's reference answer next to the input.
    #[arg(long)]
    pub show_reference: bool,
}

/// `evalh review ...` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Check exported decisions files against the run's packs, un-blind them, append to review/decisions.jsonl.
    Import {
        /// Run directory the pack was made from.
        run_dir: PathBuf,
        /// decisions-<reviewer>.json files exported from the pack.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

/// "5%" or "5" -> 0.05; within (0, 100].
fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let v: f64 = t
        .strip_suffix('%')
        .unwrap_or(t)
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage; write e.g. 5%"))?;
    if v > 0.0 && v <= 100.0 {
        Ok(v / 100.0)
    } else {
        Err(format!("{s} is outside (0, 100]%; write e.g. 5%"))
    }
}

/// `evalh route`.
#[derive(Debug, Args)]
pub struct RouteArgs {
    /// Run directories, one per suite (reports/<suite>-<timestamp>).
    #[arg(required = true, value_name = "RUN_DIR")]
    pub run_dirs: Vec<PathBuf>,
    /// Where routes.yaml, litellm_config.yaml and rollout.md are written.
    #[arg(long, value_name = "DIR", default_value = "routes")]
    pub out: PathBuf,
    /// YAML mapping suite name -> {feature, latency_sensitive, requests_per_minute} (default feature: the suite name).
    #[arg(long, value_name = "FILE")]
    pub features: Option<PathBuf>,
    /// Rollout stage: the percent of each routed feature's traffic its primary takes (1, 5, 20, 50 or 100); below 100
    /// the config splits the feature's group between the primary and the baseline by weight.
    #[arg(long, value_name = "PERCENT", default_value_t = 100)]
    pub stage: u32,
    /// Where `evalh sim serve` answers, for sim providers: URL (every suite) or SUITE=URL (repeatable)
    /// [default: an os.environ/EVALH_SIM_URL_<SUITE> placeholder].
    #[arg(long, value_name = "[SUITE=]URL")]
    pub sim_base_url: Vec<String>,
}

/// How to read usage logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Tell from the first row (a mapping file's `log.preset` wins).
    Auto,
    /// LiteLLM spend logs (`LiteLLM_SpendLogs` rows as JSONL, a JSON array or a psql CSV export).
    Litellm,
    /// An OpenAI-style request log (`usage.prompt_tokens`, ...).
    Openai,
    /// Plain JSONL of chat messages (`{"messages": [...]}`).
    Chat,
}

/// The logs and how to read them.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log files: JSON lines, a JSON array or CSV; gzipped or not.
    #[arg(required = true, value_name = "LOG")]
    pub logs: Vec<PathBuf>,
    /// Mapping file: `log:` (fields), `buckets:`, `suites:`, `prices:` (see docs/decision.md).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Log format preset.
    #[arg(long, value_enum, default_value_t = LogFormat::Auto)]
    pub format: LogFormat,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// `evalh audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The logs.
    #[command(flatten)]
    pub log: LogArgs,
    /// Write the audit as JSON.
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    /// Write the audit as a self-contained HTML page.
    #[arg(long, value_name = "OUT")]
    pub html: Option<PathBuf>,
    /// Run directories whose suites the mapping file's `suites:` ties to features: project their savings.
    #[arg(long, value_name = "DIR", num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// Days the logs cover (default: from their first to their last timestamp).
    #[arg(long, value_name = "N")]
    pub days: Option<f64>,
}

/// `evalh dataset ...`.
#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Draw a reproducible, masked sample of logged requests into a dataset (with FILE.meta.json).
    FromLogs(FromLogsArgs),
}

/// `evalh dataset from-logs`.
#[derive(Debug, Args)]
pub struct FromLogsArgs {
    /// The logs.
    #[command(flatten)]
    pub log: LogArgs,
    /// Task the dataset is for (shapes `logged_answer`).
    #[arg(long, value_parser = parse_task)]
    pub task: crate::suite::TaskKind,
    /// Rows to draw.
    #[arg(long, default_value_t = 500)]
    pub n: usize,
    /// Stratify by feature, model, task_type, label (the logged answer) or a dotted path into the log row.
    #[arg(long, value_name = "FIELD")]
    pub stratify: Option<String>,
    /// How --n is shared between strata.
    #[arg(long, value_enum, default_value_t = Allocation::Proportional)]
    pub allocation: Allocation,
    /// Seed of the sampling hash (same logs and seed, same sample).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only requests of this feature (repeatable).
    #[arg(long = "feature", value_name = "NAME")]
    pub features: Vec<String>,
    /// Also draw requests whose logged status is a failure.
    #[arg(long)]
    pub include_failed: bool,
    /// The dataset file (JSONL); its sidecar is FILE.meta.json.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// How `--n` is shared between strata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Allocation {
    /// In proportion to each stratum's rows.
    Proportional,
    /// The same number from each stratum.
    Equal,
}

fn parse_task(s: &str) -> Result<crate::suite::TaskKind, String> {
    use crate::suite::TaskKind;
    [
        TaskKind::Classification,
        TaskKind::Summarization,
        TaskKind::Extraction,
        TaskKind::FunctionCalling,
    ]
    .into_iter()
    .find(|t| t.as_str() == s)
    .ok_or_else(|| {
        "expected classification, summarization, extraction or function_calling".to_string()
    })
}

/// A suite and an optional provider file.
#[derive(Debug, Args)]
pub struct SuiteArgs {
    /// Suite YAML file.
    pub suite: PathBuf,
    /// Replace the suite's providers with those in this YAML file.
    #[arg(long)]
    pub providers: Option<PathBuf>,
    /// Which items and providers.
    #[command(flatten)]
    pub select: SelectArgs,
}

/// `--limit N` / `--only ID`: a smaller run for a fast loop (see docs/runs.md).
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Use only the first N items of the dataset (overrides dataset.limit).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Run only this candidate (repeatable); the baseline always runs.
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,
}

/// `evalh plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The suite.
    #[command(flatten)]
    pub suite: SuiteArgs,
    /// Where to look for cached responses.
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// The response cache (shared across runs; see docs/runs.md).
#[derive(Debug, Args, Clone)]
pub struct CacheArgs {
    /// Neither read nor write the response cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Response cache directory [default: $EVALH_CACHE_DIR, else $XDG_CACHE_HOME/evalh, else ~/.cache/evalh].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Ignore cached responses older than this (e.g. 7d, 12h, 30m, 45s).
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = crate::cache::parse_ttl)]
    pub cache_ttl: std::time::Duration,
}

/// `evalh run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Suite YAML file (optional with --resume).
    pub suite: Option<PathBuf>,
    /// Replace the suite's providers with those in this YAML file.
    #[arg(long)]
    pub providers: Option<PathBuf>,
    /// Where run directories are created.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Resume an incomplete run: send only the requests its journal lacks (its suite and providers are the run's own,
    /// so a suite file or --providers cannot be given with it).
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["suite", "providers"])]
    pub resume: Option<PathBuf>,
    /// Run only shard K of N (items by a hash of their id); merge the N run directories with `evalh merge`.
    #[arg(long, value_name = "K/N", value_parser = crate::shard::parse, conflicts_with = "resume")]
    pub shard: Option<crate::shard::Shard>,
    /// Stop sending before spending more than this many USD (overrides run.max_cost_usd).
    #[arg(long, value_name = "USD")]
    pub max_cost: Option<f64>,
    /// Send every provider's requests through its batch API (half the price, results within hours; sets
    /// run.mode: batch, recorded in the run directory so a resume keeps it).
    #[arg(long)]
    pub batch: bool,
    /// Batch mode: return right after submitting the batches (exit 3, incomplete); collect them later with
    /// `evalh run --resume RUN_DIR`.
    #[arg(long)]
    pub detach: bool,
    /// Which items and providers (recorded in the run directory, so a resume keeps them).
    #[command(flatten)]
    pub select: SelectArgs,
    /// Hide progress bars.
    #[arg(long)]
    pub no_progress: bool,
    /// Write the simulator's request log (JSONL) to this file.
    #[arg(long, value_name = "FILE")]
    pub sim_log: Option<PathBuf>,
    /// The response cache.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Report outputs.
    #[command(flatten)]
    pub outputs: ReportOutputs,
    /// What the verdicts need and how they are shown.
    #[command(flatten)]
    pub verdicts: VerdictArgs,
}

/// The gate's exit rule and the terminal summary's detail (run, score, report).
#[derive(Debug, Args, Default, Clone)]
pub struct VerdictArgs {
    /// Exit 0 when every gated candidate passes (all: CI promotion) or when at least one does (any: exploring
    /// candidates) [default: the suite's gate.require, else all]
    #[arg(long, value_name = "all|any", value_parser = parse_require)]
    pub require: Option<crate::suite::Require>,
    /// Show each gate rule's full statistics in the terminal summary.
    #[arg(short, long)]
    pub verbose: bool,
}

fn parse_require(s: &str) -> Result<crate::suite::Require, String> {
    match s {
        "all" => Ok(crate::suite::Require::All),
        "any" => Ok(crate::suite::Require::Any),
        _ => Err(format!("`{s}` is not all or any")),
    }
}

/// Optional extra outputs.
#[derive(Debug, Args, Default, Clone)]
pub struct ReportOutputs {
    /// Write JUnit XML (a test case per candidate × gate rule).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary (also appended to $GITHUB_STEP_SUMMARY when set).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

/// A run directory and outputs.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Run directory (reports/<suite>-<timestamp>).
    pub run_dir: PathBuf,
    /// Report outputs.
    #[command(flatten)]
    pub outputs: ReportOutputs,
    /// What the verdicts need and how they are shown.
    #[command(flatten)]
    pub verdicts: VerdictArgs,
}

/// `evalh init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The task the starter suite evaluates.
    #[arg(long, value_enum, default_value_t = InitTask::Classification)]
    pub task: InitTask,
    /// Folder to write into (created when missing; existing files are never overwritten).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// Task types `evalh init` can write a starter for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum InitTask {
    /// Pick one label per item.
    Classification,
    /// Free-text summaries scored with ROUGE.
    Summarization,
    /// JSON records scored field by field.
    Extraction,
    /// Tool calls scored against expected calls.
    FunctionCalling,
}

/// `evalh compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The earlier run directory.
    pub run_a: PathBuf,
    /// The later run directory (changes are B − A).
    pub run_b: PathBuf,
    /// How many ids of items whose correctness flipped to list per direction.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub flips: usize,
    /// Print the comparison as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `evalh runs ...`.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List every run directory under the output folder, newest first per suite.
    List(RunsDirArgs),
    /// Delete all but the newest N runs of each suite (never a run in progress).
    Prune {
        /// Runs to keep per suite.
        #[arg(long, value_name = "N")]
        keep: usize,
        /// Say what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// The output folder.
        #[command(flatten)]
        dir: RunsDirArgs,
    },
    /// Rewrite <out>/index.html (also done after each `evalh run`).
    Index(RunsDirArgs),
}

/// The folder holding run directories.
#[derive(Debug, Args)]
pub struct RunsDirArgs {
    /// Where run directories are (the --out of `evalh run`).
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
}

/// `evalh metrics ...`.
#[derive(Debug, Subcommand)]
pub enum MetricsCommand {
    /// {"expected": [labels], "predicted": [labels]} -> accuracy, micro/macro/weighted [p, r, f1] (zero_division 0).
    Classification,
    /// {"reference": str, "prediction": str} -> rouge1/rouge2/rougeL/rougeLsum [p, r, f] (rouge-score 0.1.2).
    Rouge {
        /// Use the Porter stemmer (rouge-score use_stemmer=True).
        #[arg(long)]
        stem: bool,
        /// The ROUGE types to compute and print, as rouge-score's `rouge_types` (default: all four).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "rouge1,rouge2,rougeL,rougeLsum"
        )]
        types: Vec<RougeType>,
    },
    /// {"prediction": str, "answers": [str]} -> exact_match, f1 (SQuAD v1.1).
    Squad,
    /// {"expected": [...], "actual": [...], "tools": [...], "id"?} -> the item's verdict and error type.
    ///
    /// Two modes: `strict` (default) is evalh's checker, BFCL's rules with their flaws fixed and the tool
    /// schema checked; `bfcl` gives the BFCL AST checker's verdict rule for rule, with BFCL's own error type
    /// in `bfcl_error` (it needs the tool of every expected call in `tools`; an optional BFCL item `id`,
    /// such as `live_multiple_0-0-0`, names the category). See docs/metrics.md.
    FunctionCall {
        /// Which rules decide: strict (evalh's) or bfcl (the BFCL checker's).
        #[arg(long, value_enum, default_value_t = crate::metrics::Compat::Strict)]
        compat: crate::metrics::Compat,
    },
}

/// `evalh sim ...`.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the suite's sim providers as an OpenAI-compatible endpoint on 127.0.0.1.
    Serve {
        /// Suite YAML file.
        suite: PathBuf,
        /// Port (0 = random; the URL is printed).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Request log (JSONL).
        #[arg(long)]
        log: Option<PathBuf>,
        /// Limit every sim model to this many requests per minute, like a provider (replaces the suite's
        /// `sim.rate_limit`; 429 with retry-after beyond it).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        rpm: Option<u32>,
        /// Limit every sim model to this many tokens per minute (prompt tokens + max_tokens per request).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        tpm: Option<u32>,
        /// Whose rate-limit headers and 429 body to send with --rpm/--tpm.
        #[arg(long, value_enum, default_value_t = crate::suite::RateLimitHeaders::Openai)]
        rate_limit_headers: crate::suite::RateLimitHeaders,
    },
}

/// A ROUGE type of `evalh metrics rouge --types`, named as in rouge-score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RougeType {
    /// Unigram overlap.
    #[value(name = "rouge1")]
    Rouge1,
    /// Bigram overlap.
    #[value(name = "rouge2")]
    Rouge2,
    /// Longest common subsequence over the whole text.
    #[value(name = "rougeL")]
    RougeL,
    /// Summary-level LCS over newline-separated sentences.
    #[value(name = "rougeLsum")]
    RougeLsum,
}
