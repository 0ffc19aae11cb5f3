//! Why this exists: evalh counts o200k tokens locally (`src/tokens.rs`), and parsing the base64 vocabulary file
//! into hash maps at run time cost a quarter of a short run's CPU. Here, once per build, the vocabulary is taken
//! from `tiktoken-rs` and written, with its bytes → rank hash table already laid out, as one flat binary blob that
//! the crate embeds with `include_bytes!` (all integers little-endian):
//!
//! ```text
//! u32 n                      number of ranks
//! u32 m                      number of hash slots (a power of two)
//! u32 offsets[n + 1]         token r is bytes[offsets[r]..offsets[r + 1]]; an empty token = no such rank
//! u32 slots[m]               the table (layout in src/tokens_hash.rs)
//! u8  bytes[offsets[n]]      all token bytes, concatenated in rank order
//! ```

use std::collections::HashSet;
use std::path::PathBuf;

/// Ranks probed. o200k_base's ordinary ranks are 0..199_998; the build fails if a vocabulary ever reaches this far.
const PROBE: u32 = 1 << 18;

include!("src/tokens_hash.rs");

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/tokens_hash.rs");
    let bpe = tiktoken_rs::o200k_base().expect("tiktoken-rs o200k_base");
    // `decode_bytes` also knows the special tokens (<|endoftext|>, ...); they are not part of BPE counting.
    let special: HashSet<Vec<u8>> = bpe
        .special_tokens()
        .into_iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    // Ranks in order; a missing rank below the last one is an empty entry.
    let mut offsets: Vec<u32> = vec![0];
    let mut bytes: Vec<u8> = Vec::with_capacity(2 << 20);
    let mut gaps = 0usize;
    for rank in 0..PROBE {
        match bpe.decode_bytes(&[rank]) {
            Ok(b) if !b.is_empty() && !special.contains(&b) => {
                let end = offsets.last().copied().unwrap_or(0);
                gaps += rank as usize + 1 - offsets.len();
                offsets.resize(rank as usize + 1, end);
                bytes.extend_from_slice(&b);
                offsets.push(bytes.len() as u32);
            }
            _ => {}
        }
    }
    // Not needed any more, and freeing its ~200k small allocations is a visible part of this script's time.
    std::mem::forget(bpe);
    let n = offsets.len() - 1;
    assert!(
        n > 0 && n < PROBE as usize - 4096,
        "unexpected o200k vocabulary size {n}"
    );
    if gaps > 0 {
        println!("cargo::warning=o200k vocabulary has {gaps} missing ranks below {n}");
    }

    // Load factor under 0.4: linear probing then averages ~1.3 probes per present token.
    let m = (2 * n).next_power_of_two();
    let mut slots = vec![0u32; m];
    for rank in 0..n {
        let token = &bytes[offsets[rank] as usize..offsets[rank + 1] as usize];
        if token.is_empty() {
            continue;
        }
        let h = hash(token);
        let mut i = h as usize & (m - 1);
        while slots[i] != 0 {
            i = (i + 1) & (m - 1);
        }
        slots[i] = slot_tag(h) | (rank as u32 + 1);
    }

    let mut out = Vec::with_capacity(8 + 4 * (offsets.len() + m) + bytes.len());
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&(m as u32).to_le_bytes());
    for o in offsets.iter().chain(&slots) {
        out.extend_from_slice(&o.to_le_bytes());
    }
    out.extend_from_slice(&bytes);
    let dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(dir.join("o200k.bin"), out).expect("write o200k.bin");
}
