//! Per-item notes (the predicted label, an error type, a score) stored once per distinct text.
//!
//! Why this module exists: a provider's scores keep one note per item for the drill-downs, and a classifier's million
//! notes are a handful of labels. A string (or even a shared pointer) per item cost 16–24 bytes an item; here an item
//! costs a `u32` position in a table of distinct texts. Long notes (a ROUGE score, a list of missing fields) are
//! mostly unique and are stored as they come, without a lookup.

use serde::{Serialize, Serializer};
use std::collections::HashMap;

/// Notes longer than this are not looked up among the earlier ones.
const SHARED_MAX_LEN: usize = 64;

/// One note per item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notes {
    texts: Vec<Box<str>>,
    at: Vec<u32>,
}

impl Notes {
    /// The note of item `i`.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.at.get(i).map(|&k| &*self.texts[k as usize])
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// Every item's note, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.at.iter().map(|&k| &*self.texts[k as usize])
    }

    /// The notes laid out over `n` items: `out[idx[j]] = self[j]`, `fill` elsewhere.
    pub fn spread(&self, idx: &[usize], n: usize, fill: &str) -> Notes {
        let mut texts = self.texts.clone();
        let f = texts.len() as u32;
        texts.push(fill.into());
        let mut at = vec![f; n];
        for (&k, &i) in self.at.iter().zip(idx) {
            at[i] = k;
        }
        Notes { texts, at }
    }
}

impl<S: AsRef<str>> FromIterator<S> for Notes {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut notes = Notes::default();
        let mut seen: HashMap<Box<str>, u32> = HashMap::new();
        for s in iter {
            let s = s.as_ref();
            let k = match seen.get(s) {
                Some(&k) => k,
                None => {
                    let k = u32::try_from(notes.texts.len()).expect("fewer than 2^32 notes");
                    notes.texts.push(s.into());
                    if s.len() <= SHARED_MAX_LEN {
                        seen.insert(s.into(), k);
                    }
                    k
                }
            };
            notes.at.push(k);
        }
        notes
    }
}

impl Serialize for Notes {
    fn serialize<Se: Serializer>(&self, s: Se) -> Result<Se::Ok, Se::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_short_notes_share_a_text_and_read_back_in_order() {
        let long = "x".repeat(SHARED_MAX_LEN + 1);
        let input = ["billing", "bug", "billing", &long, &long, "billing"];
        let n: Notes = input.iter().collect();
        assert_eq!(n.len(), 6);
        assert_eq!(n.iter().collect::<Vec<_>>(), input);
        assert_eq!(
            n.texts.len(),
            4,
            "billing and bug once, the long note twice"
        );
        assert_eq!((n.get(1), n.get(6)), (Some("bug"), None));
        let s = n.spread(&[0, 2], 4, "(no reference)");
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            ["billing", "(no reference)", "bug", "(no reference)"]
        );
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"["billing","(no reference)","bug","(no reference)"]"#
        );
    }
}
