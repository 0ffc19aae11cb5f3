//! Which items belong to which shard, and how a run directory remembers its shard.

use crate::dataset::Item;
use crate::error::{Error, InputError, Result};
pub use crate::rundir::{parse_shard as parse, Shard};
use std::path::Path;

/// The shard (1..=count) an item id belongs to: the first 8 bytes of blake3(id), little-endian, modulo `count`. A
/// function of the id alone, so adding or removing other items never moves an item between shards.
pub fn bucket(item_id: &str, count: u32) -> u32 {
    let h = blake3::hash(item_id.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    (u64::from_le_bytes(b) % u64::from(count.max(1))) as u32 + 1
}

impl Shard {
    /// Whether the item with this id belongs to this shard.
    pub fn holds(&self, item_id: &str) -> bool {
        bucket(item_id, self.count) == self.index
    }
}

/// The items of `shard` (all of them for `None`), in dataset order, renumbered `0..` (the runner and the analysis
/// index their tables by position in the list they are given).
pub fn select(items: Vec<Item>, shard: Option<Shard>) -> Vec<Item> {
    let Some(s) = shard else { return items };
    let mut kept: Vec<Item> = items.into_iter().filter(|it| s.holds(&it.id)).collect();
    for (i, it) in kept.iter_mut().enumerate() {
        it.index = i;
    }
    kept
}

/// Record `shard` in a new run directory's manifest (written by [`crate::rundir::record_dataset`] just before).
pub fn record(dir: &Path, shard: Shard) -> Result<()> {
    let path = dir.join(crate::rundir::MANIFEST_FILE);
    let mut m = crate::rundir::manifest(dir)?.ok_or_else(|| {
        Error::Internal(format!(
            "{} has no manifest to record the shard in",
            dir.display()
        ))
    })?;
    m.shard = Some(shard);
    let text = serde_json::to_vec_pretty(&m)
        .map_err(|e| Error::Internal(format!("serializing the manifest: {e}")))?;
    crate::report::write_atomic(&path, &text)
}

/// The shard a run directory holds (`None`: the whole dataset, or a run made before shards existed).
pub fn of_dir(dir: &Path) -> Result<Option<Shard>> {
    let Some(m) = crate::rundir::manifest(dir)? else {
        return Ok(None);
    };
    match m.shard {
        Some(s) if s.count == 0 || s.index == 0 || s.index > s.count => Err(InputError::new(
            dir.join(crate::rundir::MANIFEST_FILE),
            format!("shard {s} is not a shard (K/N with 1 <= K <= N)"),
        )
        .hint("restore the manifest from the run directory's artifact, or run the shard again")
        .into()),
        s => Ok(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_k_of_n_and_refuses_the_rest() {
        assert_eq!(parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(parse(" 1/1 "), Ok(Shard { index: 1, count: 1 }));
        for bad in ["0/4", "5/4", "1/0", "2", "a/b", "2/4/1", "-1/4", ""] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("K/N"), "{bad}: {e}");
        }
    }

    #[test]
    fn buckets_partition_and_are_stable() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("item-{i}")).collect();
        let mut sizes = [0usize; 4];
        for id in &ids {
            let b = bucket(id, 4);
            assert!((1..=4).contains(&b));
            // Exactly one shard holds each item.
            let holders = (1..=4)
                .filter(|k| {
                    Shard {
                        index: *k,
                        count: 4,
                    }
                    .holds(id)
                })
                .count();
            assert_eq!(holders, 1);
            sizes[(b - 1) as usize] += 1;
        }
        // Roughly even: each shard within 10% of 2,500.
        for s in sizes {
            assert!((2_250..=2_750).contains(&s), "{sizes:?}");
        }
        // Pinned: the assignment must never change between versions (the shards of one run may be made by different
        // builds). Values computed with the Python `blake3` package (an independent implementation) from the
        // definition: first 8 bytes of blake3(id), little-endian, mod N, plus 1.
        let got: Vec<u32> = (0..12).map(|i| bucket(&format!("x{i}"), 4)).collect();
        assert_eq!(got, [1, 4, 1, 1, 3, 1, 3, 3, 3, 1, 2, 4]);
        assert_eq!(bucket("a1", 7), 6);
        assert_eq!(bucket("anything", 1), 1);
    }
}
