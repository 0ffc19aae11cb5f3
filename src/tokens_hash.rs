// The hash table layout of the embedded o200k vocabulary, shared by `build.rs` (which lays the table out) and
// `src/tokens.rs` (which probes it) through `include!`, so the two cannot disagree. Why a table built at build
// time: inserting 200k tokens at random places in a 2 MB table is memory-latency bound (~15-40 ms per load);
// embedded, loading it costs nothing.
//
// A slot is a u32: 0 = empty, else `tag << RANK_BITS | (rank + 1)`, where the tag is the top `32 - RANK_BITS` bits
// of the hash (most probes of absent byte strings end without reading token bytes). Linear probing from
// `hash & (slots - 1)`.

/// Bits of a slot that hold `rank + 1`; the vocabulary must have fewer than `2^RANK_BITS - 1` ranks.
const RANK_BITS: u32 = 18;

/// A fast 64-bit hash of token bytes: multiply-rotate over 8-byte words, then a finaliser that mixes the high bits
/// into the low ones (the low bits pick the slot, the high bits are the tag).
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        h = (h ^ u64::from_le_bytes(b)).wrapping_mul(K).rotate_left(31);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(b)).wrapping_mul(K).rotate_left(31);
    }
    h ^= h >> 32;
    h = h.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    h ^ (h >> 32)
}

/// The tag bits of a slot for hash `h` (the slot with the rank bits cleared).
fn slot_tag(h: u64) -> u32 {
    ((h >> (32 + RANK_BITS)) as u32) << RANK_BITS
}
