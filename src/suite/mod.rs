//! Suites: the YAML file that says what to evaluate, against whom, and what counts as good enough.
//!
//! `model` holds the schema, `load` turns a file into a [`LoadedSuite`] with precise error locations, `validate`
//! checks what a schema cannot (exactly one baseline, unique ids, known metrics, prices, every number's range, the
//! scorer's settings) and `preflight` checks what the environment must provide (API keys, `${VAR}` in headers).
//! Everything downstream takes a `LoadedSuite`, so paths are already resolved relative to the suite file.

mod headers;
mod judge;
mod load;
mod model;
mod preflight;
mod validate;

pub use headers::{env_refs, expand_env, is_credential_header};
pub use judge::{default_prompt, JudgeMode, JudgePrompt, JudgeSpec, RubricScale};
pub use load::{
    load_suite, locate, locate_path, parse_yaml, read_user_file, read_user_file_capped, yaml_error,
    LoadedSuite, MAX_CONFIG_BYTES,
};
pub use model::{
    AuthMode, DatasetFormat, DatasetSpec, Decision, FaultSpec, FewShot, GateSpec, GuardMode,
    GuardsSpec, HumanGateSpec, LatencySpec, OnInconclusive, Pace, Price, PromptSpec, ProviderKind,
    ProviderRole, ProviderSpec, ProvidersFile, RateLimitHeaders, Reference, Require, RunMode,
    RunSpec, ScoringSpec, SimBatchSpec, SimJudgeSpec, SimRateLimit, SimSpec, Suite, TaskKind,
    ToolsSpec,
};
pub use preflight::preflight;
pub use validate::validate;
