//! The review pack: which items it shows, with the candidate on which side, and how that is sealed.
//!
//! Why this module exists: blinding only works if the reviewer cannot see the side assignment and nobody can change
//! it after the fact. The assignment lives in `review/pack.json` (never in the HTML); the HTML and every exported
//! decisions file carry only a hash of it, keyed with a random salt that is also only in pack.json, so the hash says
//! nothing about the sides and an edited pack.json or decisions file no longer matches. Every pack of a run is also
//! kept as `review/packs/<pack id>.json`, so decisions on an earlier pack of the same run still import.

use super::choice::Side;
use super::sample::{draw, Draw, Eligible};
use crate::dataset::Item;
use crate::error::{Error, InputError, Result};
use crate::outcome::Outcome;
use crate::score::ProviderScores;
use crate::suite::{LoadedSuite, ProviderRole, TaskKind};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Folder of a run directory holding packs and decisions.
pub const REVIEW_DIR: &str = "review";
/// The latest pack's page.
pub const PACK_HTML: &str = "pack.html";
/// The latest pack's side assignment and draw.
pub const PACK_JSON: &str = "pack.json";
/// Every pack of the run, by id.
pub const PACKS_DIR: &str = "packs";
/// `format` of pack.json.
pub(super) const PACK_FORMAT: &str = "evalh-review-pack/1";
/// Items in a pack when neither `--n` nor `--sample` is given.
pub const DEFAULT_N: usize = 60;
/// Two outputs on this share of the per-item score apart count as a disagreement (summarization).
const SCORE_GAP: f64 = 0.1;

/// One item of a pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackItem {
    /// Dataset item id.
    pub item_id: String,
    /// The side the candidate's output is shown on (the baseline's is on the other).
    pub candidate_side: Side,
    /// The item's stratum, when the draw was stratified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stratum: Option<String>,
    /// The two outputs disagree on it.
    pub disagreement: bool,
}

/// `review/pack.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackFile {
    /// [`PACK_FORMAT`].
    pub format: String,
    /// Random-looking id, unique per pack.
    pub pack_id: String,
    /// When the pack was made (UTC, RFC 3339).
    pub created_at: String,
    /// Suite name.
    pub suite: String,
    /// The candidate provider id.
    pub candidate: String,
    /// The baseline provider id.
    pub baseline: String,
    /// Whether the reference answer is shown.
    pub show_reference: bool,
    /// How the items were drawn.
    pub draw: Draw,
    /// Secret key of the side-assignment hash (hex).
    pub salt: String,
    /// Keyed hash of the side assignment; the page and every decisions file carry it.
    pub side_assignment_hash: String,
    /// The items, in the order the page shows them.
    pub items: Vec<PackItem>,
}

impl PackFile {
    /// The keyed hash of this pack's side assignment, recomputed from its items.
    pub fn compute_hash(&self) -> String {
        side_hash(&self.salt, &self.pack_id, &self.items)
    }
}

fn side_hash(salt: &str, pack_id: &str, items: &[PackItem]) -> String {
    let mut h = blake3::Hasher::new();
    for part in [PACK_FORMAT, salt, pack_id] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    for it in items {
        let side = match it.candidate_side {
            Side::A => "A",
            Side::B => "B",
        };
        // Length-prefixed: no id can be crafted to collide with another id and side.
        h.update(format!("{}:{}\t{side}\n", it.item_id.len(), it.item_id).as_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// What `evalh review RUN_DIR` was asked for.
#[derive(Debug, Clone, Default)]
pub struct PackOptions {
    /// The candidate; required when the run has several.
    pub candidate: Option<String>,
    /// Items in the pack.
    pub n: Option<usize>,
    /// Or this share (0-1] of the eligible items.
    pub share: Option<f64>,
    /// Seed (default: the suite's).
    pub seed: Option<u64>,
    /// Put every disagreement in the pack.
    pub include_disagreements: bool,
    /// Show the reference answer.
    pub show_reference: bool,
}

/// One item as the page shows it: `a` and `b` are the outputs in display order.
pub struct Shown<'a> {
    /// The dataset item.
    pub item: &'a Item,
    /// The output shown as A.
    pub a: &'a Outcome,
    /// The output shown as B.
    pub b: &'a Outcome,
}

/// A pack just drawn: the pack file and the items as the page shows them (report's `review_page` renders them;
/// [`write`] stores both).
pub struct Drawn<'a> {
    /// The pack.
    pub pack: PackFile,
    /// The items, in page order, with their outputs on the drawn sides.
    pub shown: Vec<Shown<'a>>,
}

/// The files a new pack was written to.
#[derive(Debug, Clone)]
pub struct PackWritten {
    /// The pack.
    pub pack: PackFile,
    /// review/pack.html.
    pub html: PathBuf,
    /// review/pack.json.
    pub json: PathBuf,
}

/// The candidate and baseline positions among the suite's providers, or bad input naming the choices.
fn pair(ls: &LoadedSuite, run_dir: &Path, candidate: Option<&str>) -> Result<(usize, usize)> {
    let ps = &ls.suite.providers;
    let Some(b) = ps.iter().position(|p| p.role == ProviderRole::Baseline) else {
        return Err(InputError::new(
            run_dir,
            "the run has no baseline provider: nothing to compare against",
        )
        .hint("a review pack compares a candidate with the baseline (role: baseline)")
        .into());
    };
    let cands: Vec<usize> = (0..ps.len()).filter(|&i| i != b).collect();
    let names = cands
        .iter()
        .map(|&i| ps[i].id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let c = match candidate {
        Some(id) => cands
            .iter()
            .copied()
            .find(|&i| ps[i].id == id)
            .ok_or_else(|| {
                InputError::new(run_dir, format!("`{id}` is not a candidate of this run"))
                    .hint(format!("pass --candidate with one of: {names}"))
            })?,
        None if cands.len() == 1 => cands[0],
        None => {
            return Err(InputError::new(
                run_dir,
                format!(
                "the run has {} candidates; which one should the pack compare with the baseline?",
                cands.len()
            ),
            )
            .hint(format!("pass --candidate with one of: {names}"))
            .into())
        }
    };
    Ok((c, b))
}

/// Whether the two providers' outputs disagree on item `i` (different label, a per-item score gap for
/// summarization, a different per-item score otherwise).
fn disagree(scores: &[ProviderScores], task: TaskKind, c: usize, b: usize, i: usize) -> bool {
    let (sc, sb) = (&scores[c], &scores[b]);
    match task {
        TaskKind::Classification => sc.notes.get(i) != sb.notes.get(i),
        TaskKind::Summarization => (sc.item_score[i] - sb.item_score[i]).abs() >= SCORE_GAP,
        _ => sc.item_score[i] != sb.item_score[i],
    }
}

/// The stratum field and each item's stratum: the label for classification, else a `category` field every item has.
fn strata(task: TaskKind, items: &[Item]) -> (Option<&'static str>, Vec<Option<String>>) {
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    if task == TaskKind::Classification {
        return (
            Some("label"),
            items.iter().map(|it| scalar(&it.expected)).collect(),
        );
    }
    let cats: Vec<Option<String>> = items
        .iter()
        .map(|it| it.fields().get("category").and_then(scalar))
        .collect();
    if !cats.is_empty() && cats.iter().all(Option::is_some) {
        (Some("category"), cats)
    } else {
        (None, vec![None; items.len()])
    }
}

/// Draw a pack from an analysed run: `records` and `scores` are the analysis's, per provider in suite order.
pub fn draw_pack<'a>(
    run_dir: &Path,
    ls: &LoadedSuite,
    items: &'a [Item],
    records: &'a [Vec<Option<Outcome>>],
    scores: &[ProviderScores],
    opts: &PackOptions,
) -> Result<Drawn<'a>> {
    let (c, b) = pair(ls, run_dir, opts.candidate.as_deref())?;
    let task = ls.suite.task;
    let answered =
        |p: usize, i: usize| matches!(records[p].get(i), Some(Some(o)) if o.error().is_none());
    let (field, stratum) = strata(task, items);
    let eligible: Vec<Eligible> = (0..items.len())
        .filter(|&i| answered(c, i) && answered(b, i))
        .map(|i| Eligible {
            index: i,
            stratum: stratum[i].clone(),
            disagreement: disagree(scores, task, c, b, i),
        })
        .collect();
    let ps = &ls.suite.providers;
    if eligible.is_empty() {
        return Err(InputError::new(
            run_dir,
            format!(
                "no item was answered by both {} and {}: nothing to review",
                ps[c].id, ps[b].id
            ),
        )
        .hint("resume or re-run until both providers have answered (evalh run --resume RUN_DIR)")
        .into());
    }
    let n = match (opts.n, opts.share) {
        (Some(n), _) => n,
        (None, Some(s)) => ((s * eligible.len() as f64).ceil() as usize).max(1),
        (None, None) => DEFAULT_N,
    };
    let seed = opts.seed.unwrap_or(ls.suite.run.seed);
    let not_eligible = items.len() - eligible.len();
    let (picks, record) = draw(
        &eligible,
        not_eligible,
        n,
        seed,
        opts.include_disagreements,
        field,
    );
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let salt: [u8; 32] = rand::random();
    let salt = blake3::Hash::from_bytes(salt).to_hex().to_string();
    let pack_items: Vec<PackItem> = picks
        .iter()
        .map(|&(e, side)| PackItem {
            item_id: items[eligible[e].index].id.clone(),
            candidate_side: side,
            stratum: eligible[e]
                .stratum
                .clone()
                .filter(|_| record.method == "stratified"),
            disagreement: eligible[e].disagreement,
        })
        .collect();
    let mut id = blake3::Hasher::new();
    for part in [
        salt.as_str(),
        &ls.suite.name,
        &ps[c].id,
        &ps[b].id,
        &created_at,
    ] {
        id.update(part.as_bytes());
        id.update(b"\n");
    }
    let pack_id = id.finalize().to_hex()[..16].to_string();
    let side_assignment_hash = side_hash(&salt, &pack_id, &pack_items);
    let pack = PackFile {
        format: PACK_FORMAT.into(),
        pack_id,
        created_at,
        suite: ls.suite.name.clone(),
        candidate: ps[c].id.clone(),
        baseline: ps[b].id.clone(),
        show_reference: opts.show_reference,
        draw: record,
        salt,
        side_assignment_hash,
        items: pack_items,
    };
    let shown: Vec<Shown<'a>> = picks
        .iter()
        .map(|&(e, side)| {
            let i = eligible[e].index;
            let out = |p: usize| {
                records[p][i]
                    .as_ref()
                    .expect("eligible items were answered")
            };
            let (a, bb): (&Outcome, &Outcome) = match side {
                Side::A => (out(c), out(b)),
                Side::B => (out(b), out(c)),
            };
            Shown {
                item: &items[i],
                a,
                b: bb,
            }
        })
        .collect();
    Ok(Drawn { pack, shown })
}

/// Write a drawn pack: review/pack.html (`html`, its page), review/pack.json and review/packs/<id>.json.
pub fn write(run_dir: &Path, pack: &PackFile, html: &str) -> Result<PackWritten> {
    let dir = run_dir.join(REVIEW_DIR);
    let packs = dir.join(PACKS_DIR);
    std::fs::create_dir_all(&packs)
        .map_err(|e| Error::io(format!("creating {}", packs.display()), e))?;
    let json = serde_json::to_string_pretty(pack)
        .map_err(|e| Error::Internal(format!("serializing the pack: {e}")))?
        + "\n";
    let write = |path: PathBuf, text: &str| -> Result<PathBuf> {
        std::fs::write(&path, text)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        Ok(path)
    };
    write(packs.join(format!("{}.json", pack.pack_id)), &json)?;
    let json_path = write(dir.join(PACK_JSON), &json)?;
    let html_path = write(dir.join(PACK_HTML), html)?;
    Ok(PackWritten {
        pack: pack.clone(),
        html: html_path,
        json: json_path,
    })
}

/// A pack id as the page writes it: 16 lower-case hex digits (anything else cannot name a file of this run).
pub(super) fn valid_pack_id(id: &str) -> bool {
    id.len() == 16
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Load pack `id` of the run, checking that its side assignment still matches its hash. `Ok(None)` when the run has
/// no such pack.
pub fn load(run_dir: &Path, id: &str) -> Result<Option<(PathBuf, PackFile)>> {
    if !valid_pack_id(id) {
        return Ok(None);
    }
    let path = run_dir
        .join(REVIEW_DIR)
        .join(PACKS_DIR)
        .join(format!("{id}.json"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let pack: PackFile = serde_json::from_str(&text).map_err(|e| {
        InputError::new(&path, format!("not a review pack: {e}"))
            .at(e.line(), e.column())
            .hint("pack files are written by `evalh review RUN_DIR`; do not edit them")
    })?;
    if pack.format != PACK_FORMAT || pack.pack_id != id {
        return Err(InputError::new(
            &path,
            format!(
                "not review pack {id} (format {}, id {})",
                pack.format, pack.pack_id
            ),
        )
        .hint("pack files are written by `evalh review RUN_DIR`; do not edit or rename them")
        .into());
    }
    if pack.compute_hash() != pack.side_assignment_hash {
        return Err(InputError::new(&path, "the pack's side assignment does not match its hash: it was changed after the pack was made")
            .hint("restore the file from `evalh review`'s output (review/pack.json of the same pack) or make a new pack; decisions made on a changed assignment cannot be un-blinded")
            .into());
    }
    Ok(Some((path, pack)))
}

/// Ids of every pack of the run (for messages).
pub(super) fn pack_ids(run_dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(run_dir.join(REVIEW_DIR).join(PACKS_DIR))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".json")
                .map(str::to_string)
        })
        .filter(|id| valid_pack_id(id))
        .collect();
    ids.sort();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack() -> PackFile {
        PackFile {
            format: PACK_FORMAT.into(),
            pack_id: "0123456789abcdef".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
            suite: "s".into(),
            candidate: "c".into(),
            baseline: "b".into(),
            show_reference: false,
            draw: draw(&[], 0, 0, 1, false, None).1,
            salt: "00".repeat(32),
            side_assignment_hash: String::new(),
            items: vec![
                PackItem {
                    item_id: "x1".into(),
                    candidate_side: Side::A,
                    stratum: None,
                    disagreement: false,
                },
                PackItem {
                    item_id: "x2".into(),
                    candidate_side: Side::B,
                    stratum: None,
                    disagreement: true,
                },
            ],
        }
    }

    #[test]
    fn the_hash_changes_with_any_side_the_salt_or_the_order() {
        let p = pack();
        let h = p.compute_hash();
        assert_eq!(h.len(), 64);
        let mut q = p.clone();
        q.items[1].candidate_side = Side::A;
        assert_ne!(q.compute_hash(), h);
        let mut q = p.clone();
        q.salt = "11".repeat(32);
        assert_ne!(q.compute_hash(), h);
        let mut q = p.clone();
        q.items.swap(0, 1);
        assert_ne!(q.compute_hash(), h);
        assert_eq!(p.compute_hash(), h, "deterministic");
    }

    #[test]
    fn pack_ids_are_checked_before_they_name_a_file() {
        assert!(valid_pack_id("0123456789abcdef"));
        assert!(!valid_pack_id("../../etc/passwd"));
        assert!(!valid_pack_id("0123456789ABCDEF"));
        assert!(!valid_pack_id("0123"));
        let d = tempfile::tempdir().unwrap();
        assert!(load(d.path(), "../x").unwrap().is_none());
        assert!(load(d.path(), "0123456789abcdef").unwrap().is_none());
        let mut p = pack();
        p.side_assignment_hash = p.compute_hash();
        write(d.path(), &p, "<html>").unwrap();
        assert_eq!(load(d.path(), &p.pack_id).unwrap().unwrap().1, p);
        assert_eq!(pack_ids(d.path()), vec![p.pack_id.clone()]);
        // Edit one side in the stored pack: rejected as tampered.
        let path = d.path().join("review/packs/0123456789abcdef.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replacen("\"candidate_side\": \"A\"", "\"candidate_side\": \"B\"", 1);
        assert_ne!(edited, text);
        std::fs::write(&path, edited).unwrap();
        let e = load(d.path(), &p.pack_id).unwrap_err().to_string();
        assert!(e.contains("does not match its hash"), "{e}");
    }
}
