//! ROUGE-N, ROUGE-L and ROUGE-Lsum, bit-for-bit equal to Google's `rouge-score` 0.1.2.
//!
//! Why it exists: summarisation and free-text workloads are compared with ROUGE, and the
//! numbers evalh reports must be the numbers people get from the Python package
//! (`rouge_score.rouge_scorer.RougeScorer(types, use_stemmer=S).score(target, prediction)`),
//! so that a gate threshold means the same thing in both worlds.
//!
//! What it matches (reference/metrics.md sections 1 and 2):
//! * Tokenizer (`rouge_score/tokenize.py`): lowercase, every run of characters outside ASCII
//!   `[a-z0-9]` separates tokens (accented letters, CJK, `'`, `-`, `_` ... all separate), so text
//!   without ASCII letters or digits has no tokens. The only non-ASCII code points whose
//!   lowercase contains ASCII letters are U+0130 (`İ` -> `i` + U+0307) and U+212A (KELVIN
//!   SIGN -> `k`); both are handled.
//! * Stemming: nltk `PorterStemmer()` in its default `NLTK_EXTENSIONS` mode (crate
//!   `nltk-porter`, `Mode::Nltk`), applied only to tokens longer than 3 characters.
//! * ROUGE-N with clipped n-gram counts, ROUGE-L (LCS), ROUGE-Lsum (summary-level union LCS
//!   over `"\n"`-separated sentences with the reference's backtracking tie-break and its
//!   token counters), `F = 2*P*R/(P+R)` evaluated left to right (0 when `P+R == 0`), all
//!   zeros for empty token lists, and `score_multi` returning, per type, the whole score of
//!   the first reference with the largest F.
//!
//! Performance: tokens are interned to `u32` ids in a per-thread vocabulary that also caches
//! stems, so the LCS/n-gram loops compare integers and no `String` is allocated per token.
//! The per-thread state makes [`RougeScorer`] trivially `Send + Sync` (it only stores a flag)
//! and keeps rayon workers free of lock contention.
//!
//! Memory: LCS tables are never quadratic for long texts. `rougeL` needs only the LCS length
//! (one row). `rougeLsum` needs the reference's own backtracking path, so small sentence pairs
//! use the full table (at most [`FULL_TABLE_CELLS`] cells) and larger ones compute the same
//! path from bit-parallel rows (Hyyrö's LCS recurrence, 64 columns per word) kept at
//! checkpoints every √m rows and recomputed block by block while backtracking: about
//! 2·√m·n/64 words instead of m·n, and 3·m·n/64 word operations. A 1 MB sentence compared with
//! itself needs tens of MB instead of the 40 GB table.

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use nltk_porter::{Mode, PorterStemmer};

/// Precision, recall and F-measure of one ROUGE type (rouge-score's `Score`).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Prf {
    /// Matches divided by the prediction size.
    pub precision: f64,
    /// Matches divided by the reference size.
    pub recall: f64,
    /// `2*P*R/(P+R)`, or 0 when `P+R == 0`.
    pub fmeasure: f64,
}

/// The four ROUGE types evalh reports for one (reference, prediction) pair.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct RougeScores {
    /// Unigram overlap (`rouge1`).
    pub rouge1: Prf,
    /// Bigram overlap (`rouge2`).
    pub rouge2: Prf,
    /// Longest common subsequence over the whole text (`rougeL`).
    pub rouge_l: Prf,
    /// Summary-level LCS over newline-separated sentences (`rougeLsum`).
    pub rouge_lsum: Prf,
}

/// A ROUGE scorer equivalent to `RougeScorer(["rouge1","rouge2","rougeL","rougeLsum"],
/// use_stemmer=S)` of rouge-score 0.1.2 (with `split_summaries=False`, the default).
///
/// It holds no per-call state (caches are per thread), so it is cheap to share across threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RougeScorer {
    use_stemmer: bool,
}

impl RougeScorer {
    /// A scorer; `use_stemmer` enables nltk Porter stemming of tokens longer than 3 chars.
    pub fn new(use_stemmer: bool) -> Self {
        RougeScorer { use_stemmer }
    }

    /// Whether this scorer stems tokens.
    pub fn use_stemmer(&self) -> bool {
        self.use_stemmer
    }

    /// Scores `prediction` against `reference` (reference FIRST, as in rouge-score's
    /// `score(target, prediction)`) for rouge1, rouge2, rougeL and rougeLsum.
    pub fn score(&self, reference: &str, prediction: &str) -> RougeScores {
        self.with_pair(reference, prediction, |ws, r, p| ws.score_docs(r, p))
    }

    /// Multi-reference score (rouge-score `score_multi(targets, prediction)`): for each type
    /// independently, the whole [`Prf`] of the reference with the largest F-measure; on ties
    /// the first such reference wins (`np.argmax`). An empty `references` slice (which makes
    /// rouge-score raise) gives all zeros.
    pub fn score_multi(&self, references: &[String], prediction: &str) -> RougeScores {
        with_workspace(|ws| {
            ws.begin();
            let (mut p, mut r) = (std::mem::take(&mut ws.doc_a), std::mem::take(&mut ws.doc_b));
            ws.tokenize_doc(prediction, self.use_stemmer, &mut p);
            let mut best: Option<RougeScores> = None;
            for reference in references {
                ws.tokenize_doc(reference, self.use_stemmer, &mut r);
                let s = ws.score_docs(&r, &p);
                best = Some(match best {
                    None => s,
                    Some(b) => RougeScores {
                        rouge1: first_max(b.rouge1, s.rouge1),
                        rouge2: first_max(b.rouge2, s.rouge2),
                        rouge_l: first_max(b.rouge_l, s.rouge_l),
                        rouge_lsum: first_max(b.rouge_lsum, s.rouge_lsum),
                    },
                });
            }
            ws.doc_a = p;
            ws.doc_b = r;
            best.unwrap_or_default()
        })
    }

    /// ROUGE-N for any `n >= 1` (rouge-score accepts `rouge1`..`rouge9`). `n == 0`, which
    /// rouge-score rejects with a ValueError, gives all zeros here.
    pub fn rouge_n(&self, reference: &str, prediction: &str, n: usize) -> Prf {
        if n == 0 {
            return Prf::default();
        }
        self.with_pair(reference, prediction, |ws, r, p| {
            ws.rouge_n(&r.tokens, &p.tokens, n)
        })
    }

    /// ROUGE-L only (LCS over all tokens).
    pub fn rouge_l(&self, reference: &str, prediction: &str) -> Prf {
        self.with_pair(reference, prediction, |ws, r, p| {
            ws.rouge_l(&r.tokens, &p.tokens)
        })
    }

    /// ROUGE-Lsum only (summary-level LCS over `"\n"`-separated sentences).
    pub fn rouge_lsum(&self, reference: &str, prediction: &str) -> Prf {
        self.with_pair(reference, prediction, |ws, r, p| ws.rouge_lsum(r, p))
    }

    /// Tokenizes both texts into this thread's workspace and runs `f` on them.
    fn with_pair<T>(
        &self,
        reference: &str,
        prediction: &str,
        f: impl FnOnce(&mut Workspace, &Doc, &Doc) -> T,
    ) -> T {
        with_workspace(|ws| {
            ws.begin();
            let (mut r, mut p) = (std::mem::take(&mut ws.doc_a), std::mem::take(&mut ws.doc_b));
            ws.tokenize_doc(reference, self.use_stemmer, &mut r);
            ws.tokenize_doc(prediction, self.use_stemmer, &mut p);
            let out = f(ws, &r, &p);
            ws.doc_a = r;
            ws.doc_b = p;
            out
        })
    }
}

/// rouge-score's tokenizer (`tokenize.tokenize(text, stemmer)`): the token list used by all
/// ROUGE types, with nltk Porter stemming of tokens longer than 3 characters when
/// `use_stemmer` is true.
pub fn tokenize(text: &str, use_stemmer: bool) -> Vec<String> {
    with_workspace(|ws| {
        ws.begin();
        let mut d = Doc::default();
        ws.tokenize_doc(text, use_stemmer, &mut d);
        d.tokens
            .iter()
            .map(|&id| ws.vocab.text(id).to_string())
            .collect()
    })
}

/// `np.argmax` semantics over two candidates: the later one replaces the earlier only if its
/// F is strictly larger.
fn first_max(best: Prf, candidate: Prf) -> Prf {
    if candidate.fmeasure > best.fmeasure {
        candidate
    } else {
        best
    }
}

/// `scoring.fmeasure`: `2 * precision * recall / (precision + recall)`, evaluated left to
/// right like Python, or 0.0 when `precision + recall` is not positive.
fn fmeasure(precision: f64, recall: f64) -> f64 {
    if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    }
}

/// Builds a [`Prf`] from integer counts: `hits / n_pred` and `hits / n_ref` as one correctly
/// rounded f64 division each, which is what Python's int true division gives (the counts are
/// far below 2^53, so converting them is exact).
fn prf(hits: usize, n_pred: usize, n_ref: usize) -> Prf {
    let precision = hits as f64 / n_pred as f64;
    let recall = hits as f64 / n_ref as f64;
    Prf {
        precision,
        recall,
        fmeasure: fmeasure(precision, recall),
    }
}

// ---------------------------------------------------------------------------------------
// Tokens and per-thread state
// ---------------------------------------------------------------------------------------

/// Shared nltk Porter stemmer (NLTK_EXTENSIONS mode, as rouge-score's default tokenizer).
fn stemmer() -> &'static PorterStemmer {
    static STEMMER: OnceLock<PorterStemmer> = OnceLock::new();
    STEMMER.get_or_init(|| PorterStemmer::new(Mode::Nltk))
}

/// Minimal Fx-style hasher for the interning maps (keys are short ASCII tokens).
#[derive(Default)]
struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Id used for a stem that would not pass rouge-score's final `^[a-z0-9]+$` filter.
const DROPPED: u32 = u32::MAX;

/// The vocabulary is cleared (between pairs) once it holds this many distinct tokens, which
/// bounds per-thread memory to a few tens of MB.
const MAX_VOCAB: usize = 1 << 18;

/// Per-thread token interner and stem cache.
#[derive(Default)]
struct Vocab {
    /// Final token text -> id.
    ids: FxMap<Box<str>, u32>,
    /// Raw token (longer than 3 chars) -> id of its stem.
    stems: FxMap<Box<str>, u32>,
    /// Id -> final token text.
    strings: Vec<Box<str>>,
}

impl Vocab {
    fn clear(&mut self) {
        self.ids.clear();
        self.stems.clear();
        self.strings.clear();
    }

    fn text(&self, id: u32) -> &str {
        self.strings.get(id as usize).map_or("", |s| s)
    }

    fn final_id(&mut self, tok: &str) -> u32 {
        if let Some(&id) = self.ids.get(tok) {
            return id;
        }
        // rouge-score's last filter keeps only `^[a-z0-9]+$` tokens.
        if tok.is_empty()
            || !tok
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return DROPPED;
        }
        let id = self.strings.len() as u32;
        self.strings.push(tok.into());
        self.ids.insert(tok.into(), id);
        id
    }

    /// Id of the final token for the raw (lowercased, ASCII alphanumeric) token `raw`.
    fn intern(&mut self, raw: &str, stem: bool) -> u32 {
        // Python `len(x) > 3` counts code points; `raw` is ASCII so bytes == chars.
        if stem && raw.len() > 3 {
            if let Some(&id) = self.stems.get(raw) {
                return id;
            }
            let stemmed = stemmer().stem(raw);
            let id = self.final_id(&stemmed);
            self.stems.insert(raw.into(), id);
            id
        } else {
            self.final_id(raw)
        }
    }
}

/// A tokenized text: all tokens plus the end offsets of its non-empty `"\n"` sentences.
#[derive(Default, Debug)]
struct Doc {
    tokens: Vec<u32>,
    /// Exclusive end index into `tokens` of each sentence that has at least one token.
    sent_ends: Vec<usize>,
}

impl Doc {
    fn clear(&mut self) {
        self.tokens.clear();
        self.sent_ends.clear();
    }

    fn end_sentence(&mut self) {
        let start = self.sent_ends.last().copied().unwrap_or(0);
        if self.tokens.len() > start {
            self.sent_ends.push(self.tokens.len());
        }
    }

    fn sentences(&self) -> impl Iterator<Item = &[u32]> + '_ {
        let mut start = 0;
        self.sent_ends.iter().map(move |&end| {
            let s = &self.tokens[start..end];
            start = end;
            s
        })
    }
}

/// Per-thread scratch space reused across calls.
#[derive(Default)]
struct Workspace {
    vocab: Vocab,
    buf: String,
    row: Vec<u32>,
    table: Vec<u32>,
    mark: Vec<bool>,
    keys_a: Vec<u64>,
    keys_b: Vec<u64>,
    idx_a: Vec<usize>,
    idx_b: Vec<usize>,
    cnt_r: Vec<u32>,
    cnt_c: Vec<u32>,
    doc_a: Doc,
    doc_b: Doc,
}

thread_local! {
    static WORKSPACE: Cell<Option<Box<Workspace>>> = const { Cell::new(None) };
}

/// Runs `f` with this thread's workspace. The workspace is moved out of the thread-local
/// slot for the duration of the call (a nested call, which does not happen, would simply get
/// a fresh one), so no borrow can fail and nothing can panic here.
fn with_workspace<T>(f: impl FnOnce(&mut Workspace) -> T) -> T {
    let mut ws = WORKSPACE
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default();
    let out = f(&mut ws);
    // Fails only during thread teardown, in which case the workspace is just dropped.
    let _ = WORKSPACE.try_with(|slot| slot.set(Some(ws)));
    out
}

impl Workspace {
    /// Called at the start of every public operation: bounds the vocabulary size. Ids are
    /// only compared within one operation, so clearing here is safe.
    fn begin(&mut self) {
        if self.vocab.strings.len() > MAX_VOCAB {
            self.vocab.clear();
        }
    }

    /// Tokenizes `text` as rouge-score does, recording sentence ends at every `'\n'`.
    fn tokenize_doc(&mut self, text: &str, stem: bool, doc: &mut Doc) {
        doc.clear();
        self.buf.clear();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_alphanumeric() {
                self.buf.push(char::from(b.to_ascii_lowercase()));
                i += 1;
                continue;
            }
            // U+212A KELVIN SIGN (E2 84 AA) lowercases to ASCII 'k' and joins its neighbours.
            if b == 0xE2 && bytes.get(i + 1) == Some(&0x84) && bytes.get(i + 2) == Some(&0xAA) {
                self.buf.push('k');
                i += 3;
                continue;
            }
            // U+0130 (C4 B0) lowercases to 'i' + U+0307: the 'i' ends the current token.
            if b == 0xC4 && bytes.get(i + 1) == Some(&0xB0) {
                self.buf.push('i');
                i += 1;
            }
            // Any other byte (ASCII non-alphanumeric, or part of another non-ASCII char)
            // separates tokens.
            self.flush(stem, doc);
            if b == b'\n' {
                doc.end_sentence();
            }
            i += 1;
        }
        self.flush(stem, doc);
        doc.end_sentence();
    }

    fn flush(&mut self, stem: bool, doc: &mut Doc) {
        if !self.buf.is_empty() {
            let id = self.vocab.intern(&self.buf, stem);
            if id != DROPPED {
                doc.tokens.push(id);
            }
            self.buf.clear();
        }
    }

    fn score_docs(&mut self, r: &Doc, p: &Doc) -> RougeScores {
        RougeScores {
            rouge1: self.rouge_n(&r.tokens, &p.tokens, 1),
            rouge2: self.rouge_n(&r.tokens, &p.tokens, 2),
            rouge_l: self.rouge_l(&r.tokens, &p.tokens),
            rouge_lsum: self.rouge_lsum(r, p),
        }
    }

    /// `_score_ngrams(_create_ngrams(target, n), _create_ngrams(prediction, n))`.
    fn rouge_n(&mut self, r: &[u32], p: &[u32], n: usize) -> Prf {
        let count_r = (r.len() + 1).saturating_sub(n);
        let count_p = (p.len() + 1).saturating_sub(n);
        let overlap = if count_r == 0 || count_p == 0 {
            0
        } else if n <= 2 {
            // Pack each n-gram into a u64 key, sort, and merge with clipped counts.
            let pack = |g: &[u32]| g.iter().fold(0u64, |acc, &t| (acc << 32) | u64::from(t));
            self.keys_a.clear();
            self.keys_a.extend(r.windows(n).map(pack));
            self.keys_b.clear();
            self.keys_b.extend(p.windows(n).map(pack));
            self.keys_a.sort_unstable();
            self.keys_b.sort_unstable();
            clipped_overlap(&self.keys_a, &self.keys_b, |x, y| x.cmp(y))
        } else {
            self.idx_a.clear();
            self.idx_a.extend(0..count_r);
            self.idx_b.clear();
            self.idx_b.extend(0..count_p);
            self.idx_a
                .sort_unstable_by(|&x, &y| r[x..x + n].cmp(&r[y..y + n]));
            self.idx_b
                .sort_unstable_by(|&x, &y| p[x..x + n].cmp(&p[y..y + n]));
            clipped_overlap(&self.idx_a, &self.idx_b, |&x, &y| {
                r[x..x + n].cmp(&p[y..y + n])
            })
        };
        prf(overlap, count_p.max(1), count_r.max(1))
    }

    /// `_score_lcs`: LCS length over all tokens; zeros if either side is empty.
    fn rouge_l(&mut self, r: &[u32], p: &[u32]) -> Prf {
        if r.is_empty() || p.is_empty() {
            return Prf::default();
        }
        let lcs = lcs_length(r, p, &mut self.row);
        prf(lcs, p.len(), r.len())
    }

    /// `_summary_level_lcs` over the sentences of `r` (reference) and `p` (prediction).
    fn rouge_lsum(&mut self, r: &Doc, p: &Doc) -> Prf {
        // Sentences without tokens contribute nothing, and if every sentence of one side is
        // empty then m or n is 0, which rouge-score also maps to zeros.
        let m = r.tokens.len();
        let n = p.tokens.len();
        if m == 0 || n == 0 {
            return Prf::default();
        }
        let size = self.vocab.strings.len();
        if self.cnt_r.len() < size {
            self.cnt_r.resize(size, 0);
            self.cnt_c.resize(size, 0);
        }
        for &t in &r.tokens {
            self.cnt_r[t as usize] += 1;
        }
        for &t in &p.tokens {
            self.cnt_c[t as usize] += 1;
        }
        let mut hits = 0usize;
        for rs in r.sentences() {
            self.mark.clear();
            self.mark.resize(rs.len(), false);
            for cs in p.sentences() {
                mark_lcs(rs, cs, &mut self.table, &mut self.mark);
            }
            // Union of the LCS index sets, in increasing index order.
            for (k, _) in self.mark.iter().enumerate().filter(|(_, &m)| m) {
                let t = rs[k] as usize;
                if self.cnt_c[t] > 0 && self.cnt_r[t] > 0 {
                    hits += 1;
                    self.cnt_c[t] -= 1;
                    self.cnt_r[t] -= 1;
                }
            }
        }
        // Reset the counters for the next call.
        for &t in r.tokens.iter().chain(&p.tokens) {
            self.cnt_r[t as usize] = 0;
            self.cnt_c[t as usize] = 0;
        }
        prf(hits, n, m)
    }
}

/// Sum over distinct keys of `min(count in a, count in b)` for two sorted sequences.
fn clipped_overlap<T>(a: &[T], b: &[T], cmp: impl Fn(&T, &T) -> std::cmp::Ordering) -> usize {
    use std::cmp::Ordering;
    let (mut i, mut j, mut total) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match cmp(&a[i], &b[j]) {
            Ordering::Less => i += 1,
            Ordering::Greater => j += 1,
            Ordering::Equal => {
                let (si, sj) = (i, j);
                while i < a.len() && cmp(&a[i], &b[sj]) == Ordering::Equal {
                    i += 1;
                }
                while j < b.len() && cmp(&a[si], &b[j]) == Ordering::Equal {
                    j += 1;
                }
                total += (i - si).min(j - sj);
            }
        }
    }
    total
}

/// Sentence pairs with a table of at most this many cells (4 MiB of `u32`) are backtracked on the
/// full table; larger ones on bit-parallel rows ([`mark_lcs_bits`]).
const FULL_TABLE_CELLS: usize = 1 << 20;

/// Above this many cells the LCS length is computed bit-parallel (64 columns per word op).
const BIT_LENGTH_CELLS: usize = 1 << 16;

/// LCS length: the standard DP recurrence keeping one row, or bit-parallel for long inputs.
fn lcs_length(a: &[u32], b: &[u32], row: &mut Vec<u32>) -> usize {
    if a.len().saturating_mul(b.len()) > BIT_LENGTH_CELLS {
        return lcs_length_bits(a, b);
    }
    lcs_length_dp(a, b, row)
}

/// LCS length with the standard DP recurrence, keeping one row.
fn lcs_length_dp(a: &[u32], b: &[u32], row: &mut Vec<u32>) -> usize {
    row.clear();
    row.resize(b.len() + 1, 0);
    for &x in a {
        let mut diag = 0u32; // t[i-1][j-1]
        let mut left = 0u32; // t[i][j-1]
        for (j, &y) in b.iter().enumerate() {
            let up = row[j + 1]; // t[i-1][j]
            let v = if x == y { diag + 1 } else { up.max(left) };
            diag = up;
            left = v;
            row[j + 1] = v;
        }
    }
    row[b.len()] as usize
}

/// `lcs_ind(ref, can)`: builds the full LCS table and backtracks from the bottom-right
/// corner exactly like `_backtrack_norec` (on equal tokens step diagonally and record the
/// reference index; else step left only if `t[i][j-1] > t[i-1][j]`, otherwise up), marking
/// the recorded reference indices in `mark`.
fn mark_lcs(r: &[u32], c: &[u32], table: &mut Vec<u32>, mark: &mut [bool]) {
    if (r.len() + 1).saturating_mul(c.len() + 1) > FULL_TABLE_CELLS {
        return mark_lcs_bits(r, c, mark, 0);
    }
    mark_lcs_table(r, c, table, mark);
}

/// [`mark_lcs`] on the full `(r.len()+1) × (c.len()+1)` table.
fn mark_lcs_table(r: &[u32], c: &[u32], table: &mut Vec<u32>, mark: &mut [bool]) {
    let w = c.len() + 1;
    table.clear();
    table.resize((r.len() + 1) * w, 0);
    for (i, &x) in r.iter().enumerate() {
        let (prev, cur) = table[i * w..(i + 2) * w].split_at_mut(w);
        for (j, &y) in c.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
    }
    let (mut i, mut j) = (r.len(), c.len());
    while i > 0 && j > 0 {
        if r[i - 1] == c[j - 1] {
            mark[i - 1] = true;
            i -= 1;
            j -= 1;
        } else if table[i * w + j - 1] > table[(i - 1) * w + j] {
            j -= 1;
        } else {
            i -= 1;
        }
    }
}

/// Match masks of a token sequence `c` for the bit-parallel LCS: bit `j` of a token's mask is set
/// when `c[j]` is that token. Tokens occurring more often than a mask has words get a cached dense
/// mask; rarer ones are set into (and cleared from) one scratch mask per use, so building every
/// mask costs O(n) and holding them O(n) words.
struct Masks {
    words: usize,
    /// Positions in `c`, grouped by token.
    positions: Vec<u32>,
    /// token -> range in `positions`.
    ranges: HashMap<u32, (usize, usize), BuildHasherDefault<FxHasher>>,
    /// Dense masks of frequent tokens.
    dense: HashMap<u32, Vec<u64>, BuildHasherDefault<FxHasher>>,
    scratch: Vec<u64>,
}

impl Masks {
    fn new(c: &[u32]) -> Self {
        let words = c.len().div_ceil(64);
        let mut order: Vec<u32> = (0..c.len() as u32).collect();
        order.sort_by_key(|&j| (c[j as usize], j));
        let mut ranges = HashMap::default();
        let mut dense = HashMap::default();
        let mut start = 0;
        while start < order.len() {
            let tok = c[order[start] as usize];
            let mut end = start;
            while end < order.len() && c[order[end] as usize] == tok {
                end += 1;
            }
            if end - start > words {
                let mut m = vec![0u64; words];
                for &j in &order[start..end] {
                    m[j as usize / 64] |= 1 << (j % 64);
                }
                dense.insert(tok, m);
            }
            ranges.insert(tok, (start, end));
            start = end;
        }
        Masks {
            words,
            positions: order,
            ranges,
            dense,
            scratch: vec![0; words],
        }
    }

    /// `next` = the row after `prev` for a reference token `x` (Hyyrö: V' = (V + (V & M)) | (V & !M),
    /// where a zero bit of V marks a column where the LCS value steps up).
    fn step(&mut self, x: u32, prev: &[u64], next: &mut [u64]) {
        let Some(&(a, b)) = self.ranges.get(&x) else {
            next.copy_from_slice(prev); // no match: the row does not change
            return;
        };
        let sparse = !self.dense.contains_key(&x);
        if sparse {
            for &j in &self.positions[a..b] {
                self.scratch[j as usize / 64] |= 1 << (j % 64);
            }
        }
        let m: &[u64] = match self.dense.get(&x) {
            Some(d) => d,
            None => &self.scratch,
        };
        let mut carry = false;
        for k in 0..self.words {
            let v = prev[k];
            let u = v & m[k];
            let (s1, c1) = v.overflowing_add(u);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            carry = c1 | c2;
            next[k] = s2 | (v & !m[k]);
        }
        if sparse {
            for &j in &self.positions[a..b] {
                self.scratch[j as usize / 64] = 0;
            }
        }
    }
}

/// LCS length of `a` and `b` with bit-parallel rows over `b` (one row of `b.len()/64` words).
fn lcs_length_bits(a: &[u32], b: &[u32]) -> usize {
    let mut masks = Masks::new(b);
    let mut v = vec![u64::MAX; masks.words];
    let mut next = v.clone();
    for &x in a {
        masks.step(x, &v, &mut next);
        std::mem::swap(&mut v, &mut next);
    }
    prefix_value(&v, b.len())
}

/// `t[i][j]` from row `i`'s bits: the number of zero bits among the first `j`.
fn prefix_value(row: &[u64], j: usize) -> usize {
    let full = j / 64;
    let mut ones: usize = row[..full].iter().map(|w| w.count_ones() as usize).sum();
    if j % 64 != 0 {
        ones += (row[full] & ((1u64 << (j % 64)) - 1)).count_ones() as usize;
    }
    j - ones
}

/// The bit-parallel rows of the LCS table of `r` × `c`, kept at checkpoints every `k` rows and
/// recomputed a block at a time on demand (backtracking walks rows upwards, so each block is
/// computed once).
struct BitRows<'a> {
    r: &'a [u32],
    masks: Masks,
    k: usize,
    /// Rows 0, k, 2k, ...
    checkpoints: Vec<u64>,
    /// Rows `lo..=hi`.
    block: Vec<u64>,
    lo: usize,
    hi: usize,
}

impl<'a> BitRows<'a> {
    fn new(r: &'a [u32], c: &[u32], k: usize) -> Self {
        let mut masks = Masks::new(c);
        let w = masks.words;
        let mut checkpoints = vec![u64::MAX; w];
        let mut v = vec![u64::MAX; w];
        let mut next = v.clone();
        for (i, &x) in r.iter().enumerate() {
            masks.step(x, &v, &mut next);
            std::mem::swap(&mut v, &mut next);
            if (i + 1) % k == 0 {
                checkpoints.extend_from_slice(&v);
            }
        }
        BitRows {
            r,
            masks,
            k,
            checkpoints,
            block: Vec::new(),
            lo: 1,
            hi: 0,
        }
    }

    /// Row `i`, recomputing the block `[i+1-k, i+1]` (clipped) from the checkpoint below it when
    /// `i` is not cached.
    fn row(&mut self, i: usize) -> &[u64] {
        let w = self.masks.words;
        if !(self.lo..=self.hi).contains(&i) {
            let hi = (i + 1).min(self.r.len());
            let lo = hi.saturating_sub(self.k);
            let start = lo / self.k * self.k;
            let mut v = self.checkpoints[start / self.k * w..(start / self.k + 1) * w].to_vec();
            let mut next = v.clone();
            self.block.clear();
            if start == lo {
                self.block.extend_from_slice(&v);
            }
            for row in start + 1..=hi {
                self.masks.step(self.r[row - 1], &v, &mut next);
                std::mem::swap(&mut v, &mut next);
                if row >= lo {
                    self.block.extend_from_slice(&v);
                }
            }
            self.lo = lo;
            self.hi = hi;
        }
        let at = (i - self.lo) * w;
        &self.block[at..at + w]
    }

    /// `t[i][j] - t[i][j-1]` (0 or 1), for `j >= 1`.
    fn step_up(&mut self, i: usize, j: usize) -> usize {
        let bit = (self.row(i)[(j - 1) / 64] >> ((j - 1) % 64)) & 1;
        1 - bit as usize
    }

    fn value(&mut self, i: usize, j: usize) -> usize {
        prefix_value(self.row(i), j)
    }
}

/// [`mark_lcs`] without the table: the same backtracking path (`_backtrack_norec`: on equal
/// tokens step diagonally, else left only if `t[i][j-1] > t[i-1][j]`, otherwise up), with the
/// two values it compares kept as running counts and rows taken from [`BitRows`]. `k` is the
/// checkpoint interval (0: √m).
fn mark_lcs_bits(r: &[u32], c: &[u32], mark: &mut [bool], k: usize) {
    let (m, n) = (r.len(), c.len());
    if m == 0 || n == 0 {
        return;
    }
    let k = if k == 0 { m.isqrt().max(1) } else { k };
    let mut rows = BitRows::new(r, c, k);
    let (mut i, mut j) = (m, n);
    // a = t[i][j], b = t[i-1][j]
    let mut a = rows.value(i, j);
    let mut b = rows.value(i - 1, j);
    while i > 0 && j > 0 {
        if r[i - 1] == c[j - 1] {
            mark[i - 1] = true;
            a = b - rows.step_up(i - 1, j);
            i -= 1;
            j -= 1;
            if i > 0 {
                b = rows.value(i - 1, j);
            }
        } else {
            let left = a - rows.step_up(i, j);
            if left > b {
                b -= rows.step_up(i - 1, j);
                a = left;
                j -= 1;
            } else {
                a = b;
                i -= 1;
                if i > 0 {
                    b = rows.value(i - 1, j);
                }
            }
        }
    }
    debug_assert!(a <= m);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const GOLDEN: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/golden/rouge.json"
    ));
    const GOLDEN_RANDOM: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/golden/rouge_random.jsonl"
    ));
    const GOLDEN_STEMS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/golden/rouge_stems.json"
    ));

    fn s(v: &Value) -> &str {
        v.as_str()
            .unwrap_or_else(|| panic!("expected a string, got {v}"))
    }

    /// Expected `[p, r, f]` (repr strings) parsed exactly.
    fn expected(case: &Value, mode: &str, ty: &str) -> Prf {
        let arr = case[mode][ty]
            .as_array()
            .unwrap_or_else(|| panic!("missing {mode}/{ty} in {}", case["name"]));
        let num = |i: usize| -> f64 {
            s(&arr[i])
                .parse()
                .unwrap_or_else(|e| panic!("bad float {}: {e}", arr[i]))
        };
        Prf {
            precision: num(0),
            recall: num(1),
            fmeasure: num(2),
        }
    }

    fn check_scores(case: &Value, mode: &str, got: &RougeScores, rouge3: Option<Prf>) -> usize {
        let name = s(&case["name"]);
        let mut bad = 0;
        let mut cmp = |ty: &str, g: Prf| {
            let e = expected(case, mode, ty);
            if g != e {
                bad += 1;
                eprintln!("MISMATCH {name} [{mode}] {ty}: got {g:?}, expected {e:?}");
            }
        };
        cmp("rouge1", got.rouge1);
        cmp("rouge2", got.rouge2);
        cmp("rougeL", got.rouge_l);
        cmp("rougeLsum", got.rouge_lsum);
        if let Some(r3) = rouge3 {
            cmp("rouge3", r3);
        }
        bad
    }

    fn check_pair(case: &Value) -> usize {
        let reference = s(&case["reference"]);
        let prediction = s(&case["prediction"]);
        let mut bad = 0;
        for (mode, stem) in [("nostem", false), ("stem", true)] {
            let scorer = RougeScorer::new(stem);
            let got = scorer.score(reference, prediction);
            let r3 = scorer.rouge_n(reference, prediction, 3);
            bad += check_scores(case, mode, &got, Some(r3));
            // The single-type entry points agree with `score`.
            assert_eq!(scorer.rouge_n(reference, prediction, 1), got.rouge1);
            assert_eq!(scorer.rouge_n(reference, prediction, 2), got.rouge2);
            assert_eq!(scorer.rouge_l(reference, prediction), got.rouge_l);
            assert_eq!(scorer.rouge_lsum(reference, prediction), got.rouge_lsum);
        }
        bad
    }

    #[test]
    fn golden_trap_cases() {
        let v: Value = serde_json::from_str(GOLDEN).expect("golden json");
        let cases = v["cases"].as_array().expect("cases");
        assert!(cases.len() >= 40);
        let bad: usize = cases.iter().map(check_pair).sum();
        assert_eq!(bad, 0, "{bad} mismatches in rouge.json cases");
    }

    #[test]
    fn golden_multi_reference() {
        let v: Value = serde_json::from_str(GOLDEN).expect("golden json");
        let multi = v["multi"].as_array().expect("multi");
        assert!(multi.len() >= 10);
        let mut bad = 0;
        for case in multi {
            let refs: Vec<String> = case["references"]
                .as_array()
                .expect("references")
                .iter()
                .map(|x| s(x).to_string())
                .collect();
            let pred = s(&case["prediction"]);
            for (mode, stem) in [("nostem", false), ("stem", true)] {
                let got = RougeScorer::new(stem).score_multi(&refs, pred);
                bad += check_scores(case, mode, &got, None);
            }
        }
        assert_eq!(bad, 0, "{bad} mismatches in rouge.json multi");
    }

    #[test]
    fn golden_random_pairs() {
        let mut n = 0;
        let mut bad = 0;
        for line in GOLDEN_RANDOM.lines().filter(|l| !l.trim().is_empty()) {
            let case: Value = serde_json::from_str(line).expect("jsonl line");
            bad += check_pair(&case);
            n += 1;
        }
        assert!(n >= 300, "only {n} random pairs");
        assert_eq!(bad, 0, "{bad} mismatches in rouge_random.jsonl");
    }

    #[test]
    fn golden_random_pairs_multithreaded() {
        // Same vectors scored from several threads at once (per-thread vocabularies).
        let cases: Vec<Value> = GOLDEN_RANDOM
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("jsonl line"))
            .collect();
        let scorer = RougeScorer::new(true);
        let bad = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..4)
                .map(|k| {
                    let cases = &cases;
                    sc.spawn(move || {
                        cases
                            .iter()
                            .skip(k)
                            .step_by(4)
                            .map(|c| {
                                let got = scorer.score(s(&c["reference"]), s(&c["prediction"]));
                                check_scores(c, "stem", &got, None)
                            })
                            .sum::<usize>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .sum::<usize>()
        });
        assert_eq!(bad, 0);
    }

    #[test]
    fn golden_stem_table() {
        let v: Value = serde_json::from_str(GOLDEN_STEMS).expect("stems json");
        let words = v["words"].as_array().expect("words");
        assert!(words.len() >= 500);
        let porter = PorterStemmer::new(Mode::Nltk);
        let mut bad = 0;
        for row in words {
            let (word, stem, toks) = (s(&row[0]), s(&row[1]), s(&row[2]));
            if porter.stem(word) != stem {
                bad += 1;
                eprintln!("porter {word}: got {}, expected {stem}", porter.stem(word));
            }
            let got = tokenize(word, true).join(" ");
            if got != toks {
                bad += 1;
                eprintln!("tokenize {word}: got {got}, expected {toks}");
            }
        }
        assert_eq!(bad, 0);
    }

    #[test]
    fn tokenizer_traps() {
        assert_eq!(
            tokenize("don't 4.5 test-case", false),
            ["don", "t", "4", "5", "test", "case"]
        );
        assert_eq!(
            tokenize("café naïve Zürich", false),
            ["caf", "na", "ve", "z", "rich"]
        );
        assert!(tokenize("Привет мир 東京", false).is_empty());
        assert_eq!(tokenize("AİB", false), ["ai", "b"]);
        assert_eq!(tokenize("\u{212A}elvin", false), ["kelvin"]);
        assert_eq!(
            tokenize("its this 1990s running", true),
            ["its", "thi", "1990", "run"]
        );
        assert_eq!(tokenize("", true), Vec::<String>::new());
    }

    #[test]
    fn documented_values() {
        let sc = RougeScorer::new(false);
        // Tie-break vector and its asymmetry (metrics.md 1.5).
        assert_eq!(
            sc.score("alpha beta", "beta alpha\nalpha")
                .rouge_lsum
                .fmeasure,
            0.4
        );
        assert_eq!(
            sc.score("beta alpha\nalpha", "alpha beta")
                .rouge_lsum
                .fmeasure,
            0.8
        );
        // Operation order of F (metrics.md 1.3).
        assert_eq!(
            sc.score("w1 w2 w3 w4 w5", "w1 w2 w3 x9").rouge1.fmeasure,
            0.6666666666666665
        );
        // Clipped counts.
        let c = sc.score("the the the cat", "the the the the the the cat cat");
        assert_eq!((c.rouge1.precision, c.rouge1.recall), (0.5, 1.0));
        // Empty inputs: zeros, not NaN.
        assert_eq!(sc.score("", ""), RougeScores::default());
        assert_eq!(sc.score_multi(&[], "x"), RougeScores::default());
        assert_eq!(sc.rouge_n("a b", "a b", 0), Prf::default());
    }

    #[test]
    fn vocabulary_reset_keeps_results_exact() {
        // One text with more distinct tokens than MAX_VOCAB forces a reset on the next call.
        let big: String = (0..MAX_VOCAB + 10).map(|i| format!("w{i} ")).collect();
        let s1 = RougeScorer::new(false).score(&big, "w1 w2 zzz");
        assert_eq!(s1.rouge1.precision, 2.0 / 3.0);
        with_workspace(|ws| assert!(ws.vocab.strings.len() > MAX_VOCAB));
        let s2 = RougeScorer::new(true).score("alpha beta", "beta alpha\nalpha");
        with_workspace(|ws| assert!(ws.vocab.strings.len() < 10));
        assert_eq!(s2.rouge_lsum.fmeasure, 0.4);
        assert_eq!(tokenize("Running dogs", true), ["run", "dog"]);
    }

    /// Small deterministic PRNG for the property tests below.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    fn random_tokens(state: &mut u64, len: usize, alphabet: u64) -> Vec<u32> {
        (0..len)
            .map(|_| (xorshift(state) % alphabet) as u32)
            .collect()
    }

    #[test]
    fn bit_parallel_lcs_takes_the_table_backtracking_path() {
        // Small alphabets give many equal-length LCSs, so a different tie-break would show.
        let mut st = 0x9e37_79b9_7f4a_7c15u64;
        let mut table = Vec::new();
        let mut row = Vec::new();
        for case in 0..600 {
            let alphabet = [2, 3, 5, 20][case % 4];
            let m = (xorshift(&mut st) % 150) as usize;
            let n = (xorshift(&mut st) % 150) as usize;
            let r = random_tokens(&mut st, m, alphabet);
            let c = random_tokens(&mut st, n, alphabet);
            let mut want = vec![false; m];
            mark_lcs_table(&r, &c, &mut table, &mut want);
            for k in [0, 1, 2, 3, 7, 64] {
                let mut got = vec![false; m];
                mark_lcs_bits(&r, &c, &mut got, k);
                assert_eq!(got, want, "case {case}, k {k}: {r:?} / {c:?}");
            }
            assert_eq!(
                lcs_length_bits(&r, &c),
                lcs_length_dp(&r, &c, &mut row),
                "case {case}"
            );
        }
    }

    #[test]
    fn pairs_above_the_full_table_size_take_the_same_path() {
        let mut st = 7u64;
        let r = random_tokens(&mut st, 1500, 30);
        let c = random_tokens(&mut st, 1400, 30);
        assert!((r.len() + 1) * (c.len() + 1) > FULL_TABLE_CELLS);
        let (mut want, mut got) = (vec![false; r.len()], vec![false; r.len()]);
        mark_lcs_table(&r, &c, &mut Vec::new(), &mut want);
        mark_lcs(&r, &c, &mut Vec::new(), &mut got);
        assert_eq!(got, want);
    }

    #[test]
    fn a_sentence_of_thirty_thousand_tokens_is_scored_without_a_quadratic_table() {
        // One ~190 KB line each side: the full table would be 9e8 cells (3.6 GB).
        let mut st = 11u64;
        let words: Vec<String> = (0..30_000)
            .map(|_| format!("w{}", xorshift(&mut st) % 2000))
            .collect();
        let reference = words.join(" ");
        let mut pred_words = words.clone();
        pred_words.swap(10, 20_000);
        pred_words[15_000] = "zzz".into();
        let prediction = pred_words.join(" ");
        let s = RougeScorer::new(false).score(&reference, &prediction);
        assert_eq!(
            RougeScorer::new(false)
                .score(&reference, &reference)
                .rouge_lsum
                .fmeasure,
            1.0
        );
        assert!(
            s.rouge_lsum.fmeasure > 0.99 && s.rouge_lsum.fmeasure < 1.0,
            "{s:?}"
        );
        assert_eq!(s.rouge_l, s.rouge_lsum, "one sentence: rougeLsum is rougeL");
        with_workspace(|ws| {
            assert!(
                ws.table.capacity() <= FULL_TABLE_CELLS,
                "{}",
                ws.table.capacity()
            )
        });
    }

    #[test]
    fn scorer_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RougeScorer>();
    }
}
