//! Sharded runs: one suite split over N machines (CI matrix jobs, a Kubernetes Indexed Job), then merged back.
//!
//! Why this module exists: past one machine the limit is the providers' rate limits per key and the wall clock, not
//! evalh. `evalh run SUITE --shard K/N` runs the items whose id hashes into bucket K of N into a run directory of its
//! own (the bucket is a hash of the item id, so adding items to the dataset never moves an existing item to another
//! shard, and no two machines need to talk to each other); `evalh merge DIR... --out RUN_DIR` checks that the shards
//! are the N parts of one run of one suite over one dataset — no part missing, none given twice, every journal record
//! in the shard it claims — and writes an ordinary run directory whose results are those of the unsharded run.
//!
//! The shard is recorded in the run directory's `manifest.json`, so `--resume`, `evalh score` and `evalh report` of a
//! shard use the same 1/N of the items without being told again.

mod assign;
mod merge;

pub use assign::{bucket, of_dir, parse, record, select, Shard};
pub use merge::merge;
