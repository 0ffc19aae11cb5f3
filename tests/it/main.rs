//! evalh's integration tests, in one binary: one compile and one link instead of one per file (as ripgrep's
//! `tests/tests.rs` and uv's `tests/it/` do). A module per topic; the helpers every topic shares are in `common`
//! (the binary, fixtures), `durability_util` (journal and run-directory checks) and `loopback` (scripted HTTP
//! servers on 127.0.0.1).

mod common;
mod durability_util;
mod loopback;

mod agreement;
mod architecture;
mod audit;
mod bad_inputs;
mod batch_mode;
mod budget_repeats;
mod cache;
mod ci_mode;
mod cli_errors;
mod cli_metrics;
mod cli_run;
mod compare_runs;
mod determinism;
mod evidence;
mod evidence_property;
mod fast_loop;
mod fault_storm;
mod from_logs;
mod gate_calibration;
mod guard_calibration;
mod interrupt;
mod judge;
mod kill_resume;
mod metric_properties;
mod metric_table;
mod openai_loopback;
mod pacing;
mod parser_fuzz;
mod preflight_tokens;
mod provider_kinds;
mod report;
mod review;
mod route;
mod run_dir;
mod scale_docs;
mod secrets;
mod shard;
mod sim_serve;
mod timeouts;
mod tokens_golden;
mod transport_errors;
mod wire_conformance;
