//! evalh: an offline evaluation harness that tells a team, with evidence, which of its LLM workloads can move off a
//! premium provider to a cheaper one.
//!
//! The modules follow the data flow: `suite` (YAML schema, validation) → `dataset` (loaders) → `prompt` (templates)
//! → `runner` (scheduling, retries, budget) → `provider` (one trait; OpenAI-compatible, Azure, Anthropic, Gemini;
//! `sim` is the simulator they can talk to) → `journal` (append-only record of every call) → `score` (binds a
//! suite's task and outcomes to the pure `metrics`) → `stats` (intervals, paired tests, percentiles) → `gate`
//! (verdicts) → `summary` (results model) → `report` (terminal, JSON, HTML, PNG, JUnit, Markdown). The journal is
//! the seam: everything after it is recomputed offline. `chat` is the vocabulary every stage shares (messages, tool
//! calls, usage, error classes). docs/architecture.md draws the flow and says which module may import which
//! (checked by `tests/it/architecture.rs`).
//! After the runs, `route` turns their verdicts into routing: routes.yaml, a LiteLLM proxy config and a rollout
//! checklist.
//!
//! Around the suites: `logs` reads a team's usage logs for `audit` (spend per feature and bucket, savings of passing
//! candidates) and `fromlogs` (production samples as datasets).

#![warn(unreachable_pub)]

pub mod app;
pub mod app_judge;
pub mod app_logs;
pub mod app_metrics;
pub mod app_review;
pub mod audit;
pub mod batch;
pub mod cache;
pub mod chat;
pub mod cli;
pub mod compare;
pub mod cost;
pub mod dataset;
pub mod envfile;
pub mod error;
pub mod fromlogs;
pub mod gate;
pub mod init;
pub mod journal;
pub mod judge;
pub mod logs;
pub mod memory;
pub mod metrics;
pub mod outcome;
pub mod plan;
pub mod prompt;
pub mod provider;
pub mod redact;
pub mod report;
pub mod review;
pub mod route;
pub mod rundir;
pub mod runner;
pub mod runs;
pub mod score;
pub mod select;
pub mod shard;
pub mod sim;
pub mod stats;
pub mod suite;
pub mod summary;
pub mod tokens;
