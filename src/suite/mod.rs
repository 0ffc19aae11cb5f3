//! Suites: the YAML file that says what to evaluate, against whom, and what counts as good enough.
//!
//! `model` holds the schema, `load` turns a file into a [`LoadedSuite`] with precise error locations, and `validate`
//! checks what a schema cannot (exactly one baseline, unique ids, known metrics, prices). Everything downstream takes
//! a `LoadedSuite`, so paths are already resolved relative to the suite file.

pub mod load;
pub mod model;
pub mod validate;

pub use load::{load_suite, LoadedSuite};
pub use model::*;
