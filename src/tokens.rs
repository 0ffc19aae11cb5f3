//! Local token estimates: exact o200k_base token counts (the GPT-4o / GPT-4.1 / o-series vocabulary) of the
//! prompts evalh renders and the completions it receives. They drive the context-window preflight, the tpm limits,
//! the budget estimate, the usage of providers that report none, and the per-provider token-count discrepancy.
//!
//! Why a purpose-built counter: building tiktoken-rs's encoder at run time (200k heap-allocated keys in two maps,
//! plus a sort of all token bytes) took ~190 ms of CPU, a quarter of a short run, and held ~50 MB for the whole
//! process. Here the vocabulary is converted once at build time (`build.rs`) into a flat blob embedded in the
//! binary together with its bytes → rank hash table, so loading allocates nothing per token (it only compiles the
//! split pattern), and a [`Tokenizer`] is an ordinary value that the runner drops when the requests are done.
//!
//! Counting follows the reference algorithm: the text is split into pieces by the o200k pattern, and each piece
//! that is not itself a token is byte-pair merged (repeatedly join the adjacent pair whose concatenation has the
//! lowest rank, the leftmost on ties). `tests/it/tokens_golden.rs` checks the counts against Python tiktoken
//! (`scripts/gen_token_golden.py`).

use crate::chat::{Message, ToolCall};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;

/// The vocabulary written by `build.rs`: `u32 n`, `u32 offsets[n + 1]`, then the token bytes (all little-endian;
/// token `r` is `bytes[offsets[r]..offsets[r + 1]]`, empty for a rank that does not exist).
static O200K: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k.bin"));

/// The o200k pre-tokenizer pattern (tiktoken's `o200k_base` definition) without its sixth alternative,
/// `\s+(?!\S)`: the `regex` crate has no look-ahead, so [`Tokenizer::pieces`] applies it in code. Anchored, and
/// matched against the rest of the text, so every search is a single anchored forward scan. Measured on the golden
/// strings: 4.7 ms against 13.8 ms for `fancy-regex` with the full pattern; compile 2.8 ms against 4.3 ms.
const SPLIT: &str = concat!(
    r"^(?:",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|\p{N}{1,3}",
    r"| ?[^\s\p{L}\p{N}]+[\r\n/]*",
    r"|\s*[\r\n]+",
    r"|\s+",
    r")"
);

/// Pieces longer than this (bytes) are merged with a priority queue instead of repeated linear scans; both give
/// the same merges, the queue just avoids quadratic time on very long words.
const LONG_PIECE: usize = 256;

/// No pair can merge.
const NONE: u32 = u32::MAX;

/// Entries of the token-count memo before it is cleared.
const MEMO_CAP: usize = 200_000;

/// An o200k token counter. Cheap to build ([`Tokenizer::o200k`]: a few milliseconds, a few MB); hold one for a
/// run and drop it after. `Sync`: share it by reference or `Arc`.
pub struct Tokenizer {
    /// `None` only if the embedded vocabulary or the pattern were unusable; counts are then bytes / 4.
    inner: Option<Inner>,
    /// Counts of message texts already seen by this tokenizer, keyed by a 128-bit hash. Every item shares the
    /// system prompt and every provider of a suite sends the same user message, so without it the same text was
    /// counted many times (profiled at ~12% of a zero-latency run). Bounded: cleared at `MEMO_CAP` entries.
    memo: Mutex<HashMap<[u8; 16], u64>>,
}

struct Inner {
    vocab: Vocab,
    split: regex::Regex,
}

/// Token bytes → rank: views into the embedded blob (the table is laid out by `build.rs`).
struct Vocab {
    /// Ranks.
    n: usize,
    /// `n + 1` little-endian u32: token `r` is `bytes[offsets[r]..offsets[r + 1]]`.
    offsets: &'static [u8],
    /// Hash slots, little-endian u32 (see `tokens_hash.rs`); their number is a power of two.
    slots: &'static [u8],
    mask: usize,
    bytes: &'static [u8],
}

include!("tokens_hash.rs");

fn le_u32(b: &[u8], i: usize) -> Option<u32> {
    let w = b.get(4 * i..4 * i + 4)?;
    Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

impl Vocab {
    fn parse(blob: &'static [u8]) -> Option<Vocab> {
        let n = usize::try_from(le_u32(blob, 0)?).ok()?;
        let m = usize::try_from(le_u32(blob, 1)?).ok()?;
        let (offsets, rest) = blob.get(8..)?.split_at_checked(4 * (n + 1))?;
        let (slots, bytes) = rest.split_at_checked(4 * m)?;
        let end = le_u32(offsets, n)? as usize;
        (m.is_power_of_two() && end == bytes.len()).then_some(Vocab {
            n,
            offsets,
            slots,
            mask: m - 1,
            bytes,
        })
    }

    fn token(&self, rank: u32) -> &'static [u8] {
        let r = rank as usize;
        if r >= self.n {
            return &[];
        }
        match (le_u32(self.offsets, r), le_u32(self.offsets, r + 1)) {
            (Some(a), Some(b)) => self.bytes.get(a as usize..b as usize).unwrap_or_default(),
            _ => &[],
        }
    }

    fn rank(&self, bytes: &[u8]) -> Option<u32> {
        let h = hash(bytes);
        let tag = slot_tag(h);
        let rank_mask = (1u32 << RANK_BITS) - 1;
        let mut i = h as usize & self.mask;
        loop {
            let s = le_u32(self.slots, i)?;
            if s == 0 {
                return None;
            }
            let rank = (s & rank_mask).wrapping_sub(1);
            if s & !rank_mask == tag && self.token(rank) == bytes {
                return Some(rank);
            }
            i = (i + 1) & self.mask;
        }
    }

    fn rank_or_none(&self, bytes: &[u8]) -> u32 {
        self.rank(bytes).unwrap_or(NONE)
    }

    /// Tokens of one pre-token piece.
    fn count_piece(&self, piece: &[u8], parts: &mut Vec<(usize, u32)>) -> u64 {
        if piece.len() <= 1 || self.rank(piece).is_some() {
            return piece.len().min(1) as u64;
        }
        if piece.len() > LONG_PIECE {
            self.merge_long(piece)
        } else {
            self.merge_short(piece, parts)
        }
    }

    /// Byte-pair merge by linear scans. `parts[i] = (start of part i, rank of part i joined with part i + 1)`,
    /// with a sentinel part at the end of the piece.
    fn merge_short(&self, piece: &[u8], parts: &mut Vec<(usize, u32)>) -> u64 {
        parts.clear();
        parts.extend((0..=piece.len()).map(|i| (i, NONE)));
        for i in 0..piece.len() - 1 {
            parts[i].1 = self.rank_or_none(&piece[i..i + 2]);
        }
        let joined = |parts: &[(usize, u32)], i: usize| match (parts.get(i), parts.get(i + 2)) {
            (Some(&(a, _)), Some(&(b, _))) => self.rank_or_none(&piece[a..b]),
            _ => NONE,
        };
        loop {
            let mut best = (NONE, 0);
            for (i, &(_, r)) in parts[..parts.len() - 1].iter().enumerate() {
                if r < best.0 {
                    best = (r, i);
                }
            }
            if best.0 == NONE {
                break;
            }
            let i = best.1;
            parts.remove(i + 1);
            parts[i].1 = joined(parts, i);
            if i > 0 {
                parts[i - 1].1 = joined(parts, i - 1);
            }
        }
        (parts.len() - 1) as u64
    }

    /// The same merges as [`Vocab::merge_short`], with the parts as a linked list over byte positions and the
    /// candidate pairs in a min-heap of (rank, start); entries made stale by a neighbouring merge are skipped.
    fn merge_long(&self, piece: &[u8]) -> u64 {
        let n = piece.len();
        let mut next: Vec<usize> = (1..=n).collect();
        let mut prev: Vec<Option<usize>> = (0..n).map(|i| i.checked_sub(1)).collect();
        let mut pair: Vec<u32> = vec![NONE; n];
        let mut heap = BinaryHeap::with_capacity(n);
        for i in 0..n - 1 {
            pair[i] = self.rank_or_none(&piece[i..i + 2]);
            if pair[i] != NONE {
                heap.push(Reverse((pair[i], i)));
            }
        }
        let mut parts = n as u64;
        while let Some(Reverse((rank, i))) = heap.pop() {
            if pair[i] != rank {
                continue;
            }
            let j = next[i];
            let k = next.get(j).copied().unwrap_or(n);
            next[i] = k;
            if let Some(p) = prev.get_mut(k) {
                *p = Some(i);
            }
            pair[j] = NONE;
            parts -= 1;
            pair[i] = match next.get(k) {
                Some(&end) => self.rank_or_none(&piece[i..end]),
                None => NONE,
            };
            if pair[i] != NONE {
                heap.push(Reverse((pair[i], i)));
            }
            if let Some(p) = prev[i] {
                pair[p] = self.rank_or_none(&piece[p..k]);
                if pair[p] != NONE {
                    heap.push(Reverse((pair[p], p)));
                }
            }
        }
        parts
    }
}

impl Tokenizer {
    /// The o200k_base counter (no special tokens: text like `<|endoftext|>` counts as ordinary text).
    pub fn o200k() -> Tokenizer {
        let inner = Vocab::parse(O200K).and_then(|vocab| {
            let split = regex::Regex::new(SPLIT).ok()?;
            Some(Inner { vocab, split })
        });
        Tokenizer {
            inner,
            memo: Mutex::default(),
        }
    }

    /// Tokens of `text`.
    pub fn count(&self, text: &str) -> u64 {
        let Some(inner) = &self.inner else {
            return (text.len() as u64).div_ceil(4);
        };
        let mut parts = Vec::new();
        let mut n = 0;
        pieces(&inner.split, text, |p| {
            n += inner.vocab.count_piece(p.as_bytes(), &mut parts)
        });
        n
    }

    /// [`Tokenizer::count`], remembered for texts of 16 bytes and more.
    pub fn count_memo(&self, text: &str) -> u64 {
        if text.len() < 16 {
            return self.count(text);
        }
        let mut key = [0u8; 16];
        key.copy_from_slice(&blake3::hash(text.as_bytes()).as_bytes()[..16]);
        if let Some(n) = self.memo.lock().ok().and_then(|m| m.get(&key).copied()) {
            return n;
        }
        let n = self.count(text);
        if let Ok(mut m) = self.memo.lock() {
            if m.len() >= MEMO_CAP {
                m.clear();
            }
            m.insert(key, n);
        }
        n
    }

    /// Local token estimate of a prompt: 3 + Σ (4 + tokens of the content).
    pub fn estimate_tokens(&self, messages: &[Message]) -> u64 {
        3 + messages
            .iter()
            .map(|m| 4 + self.count_memo(&m.content))
            .sum::<u64>()
    }

    /// Local token estimate of a completion: its text plus, per tool call, 3 + its name + its JSON arguments.
    pub fn estimate_output_tokens(&self, text: &str, calls: &[ToolCall]) -> u64 {
        self.count(text)
            + calls
                .iter()
                .map(|c| 3 + self.count(&c.name) + self.count(&c.arguments.to_string()))
                .sum::<u64>()
    }
}

/// Calls `f` with each o200k pre-token of `text`, in order. The pattern's `\s+(?!\S)` alternative is applied here:
/// a match of the plain `\s+` alternative (all whitespace, no line break: a run with a line break would have matched
/// `\s*[\r\n]+` first) that is followed by more text gives its last whitespace character to the next piece.
fn pieces<'t>(split: &regex::Regex, text: &'t str, mut f: impl FnMut(&'t str)) {
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = match split.find(rest) {
            Some(m) if m.end() > 0 => m.end(),
            // Unreachable (every character matches some alternative), but never loop: one character.
            _ => rest.chars().next().map_or(rest.len(), char::len_utf8),
        };
        let piece = &rest[..end];
        if end < rest.len() && piece.starts_with(char::is_whitespace) {
            let mut chars = piece.chars();
            let last = chars.next_back();
            let more_than_one = chars.next().is_some();
            if more_than_one
                && piece.chars().all(char::is_whitespace)
                && !piece.contains(['\r', '\n'])
            {
                end -= last.map_or(0, char::len_utf8);
            }
        }
        let (piece, tail) = rest.split_at(end);
        f(piece);
        rest = tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok() -> Tokenizer {
        Tokenizer::o200k()
    }

    #[test]
    fn vocabulary_loads_and_round_trips() {
        let t = tok();
        let v = &t.inner.as_ref().expect("embedded vocabulary").vocab;
        assert_eq!(v.n, 199_998);
        for rank in (0..199_998).step_by(997) {
            assert_eq!(v.rank(v.token(rank)), Some(rank));
        }
        assert_eq!(v.rank(b"the"), Some(3086));
        assert_eq!(v.rank(b"\xff\xfe\xfd\xfc\xfb"), None);
    }

    #[test]
    fn pieces_apply_the_look_ahead() {
        let t = tok();
        let split = &t.inner.as_ref().expect("pattern").split;
        let p = |s: &str| {
            let mut v = Vec::new();
            pieces(split, s, |x| v.push(x.to_string()));
            v
        };
        assert_eq!(p("a  b"), ["a", " ", " b"]);
        assert_eq!(p("a   "), ["a", "   "]);
        assert_eq!(p("\n\n  x"), ["\n\n", " ", " x"]);
        assert_eq!(p("x \t\u{a0}y"), ["x", " \t", "\u{a0}y"]);
        assert_eq!(p("I'LL they've"), ["I'LL", " they've"]);
        assert_eq!(p(""), Vec::<String>::new());
    }

    #[test]
    fn short_and_long_merges_agree() {
        let t = tok();
        let v = &t.inner.as_ref().expect("vocabulary").vocab;
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut parts = Vec::new();
        for len in [2usize, 3, 7, 40, 255, 256, 257, 600] {
            for round in 0..6 {
                let alphabet: &[u8] =
                    [&b"ab"[..], b"abcxyz", b"aaab", "é日😀 ".as_bytes()][round % 4];
                let piece: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        alphabet[(state % alphabet.len() as u64) as usize]
                    })
                    .collect();
                assert_eq!(
                    v.merge_short(&piece, &mut parts),
                    v.merge_long(&piece),
                    "{len} {round}"
                );
            }
        }
    }

    #[test]
    fn known_counts() {
        let t = tok();
        assert_eq!(t.count(""), 0);
        assert_eq!(t.count("hello world"), 2);
        assert_eq!(t.count("a  b"), 3);
        assert_eq!(t.count(&"a".repeat(4000)), t.count_memo(&"a".repeat(4000)));
        let m = |s: &str| Message {
            role: crate::chat::Role::User,
            content: s.into(),
        };
        assert_eq!(t.estimate_tokens(&[]), 3);
        assert!(
            t.estimate_tokens(&[m("hello world")])
                < t.estimate_tokens(&[m(&"hello world ".repeat(50))])
        );
        assert_eq!(t.estimate_tokens(&[m("hello world"), m("")]), 3 + 4 + 2 + 4);
    }
}
