//! Suites: the YAML file that says what to evaluate, against whom, and what counts as good enough.
//!
//! `model` holds the schema, `load` turns a file into a [`LoadedSuite`] with precise error locations, `validate`
//! checks what a schema cannot (exactly one baseline, unique ids, known metrics, prices, every number's range, the
//! scorer's settings) and `preflight` checks what the environment must provide (API keys, `${VAR}` in headers).
//! Everything downstream takes a `LoadedSuite`, so paths are already resolved relative to the suite file.

mod headers;
mod judge;
pub mod load;
pub mod model;
pub mod preflight;
pub mod validate;

pub use headers::{env_refs, expand_env, is_credential_header};
pub use judge::{default_prompt, JudgeMode, JudgePrompt, JudgeSpec, RubricScale};
pub use load::{load_suite, LoadedSuite};
pub use model::*;
pub use preflight::preflight;
