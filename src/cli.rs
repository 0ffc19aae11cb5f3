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
    /// Score outputs produced elsewhere: JSONL on stdin, one JSON result per line on stdout.
    #[command(subcommand)]
    Metrics(MetricsCommand),
    /// The built-in simulator.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Blind human review: write a review pack of a run (review/pack.html), or import reviewers' decisions.
    Review(ReviewArgs),
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

/// A suite and an optional provider file.
#[derive(Debug, Args)]
pub struct SuiteArgs {
    /// Suite YAML file.
    pub suite: PathBuf,
    /// Replace the suite's providers with those in this YAML file.
    #[arg(long)]
    pub providers: Option<PathBuf>,
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
        #[arg(long, value_enum, default_value_t = crate::score::function_call::Compat::Strict)]
        compat: crate::score::function_call::Compat,
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
    },
}
