//! `--limit N` and `--only ID`: run a suite on fewer items or fewer candidates, for a fast edit-and-run loop.
//!
//! Why this module exists: trying a prompt change on a 2,000-item suite with five candidates costs minutes and money;
//! the loop a user iterates in wants "the first 20 items against the one candidate I care about". The selection is
//! applied to the loaded suite before the dataset is read, so everything downstream (validation of templates, the
//! plan, the run, the resolved `suite.yaml` written into the run directory, and therefore `--resume`, `score` and
//! `report`) sees one consistent, smaller suite. The baseline always stays: without it there is nothing to compare.

use crate::cli::SelectArgs;
use crate::error::{did_you_mean, InputError, Result};
use crate::suite::{LoadedSuite, Role};

/// Whether the command line selects anything.
pub fn is_empty(sel: &SelectArgs) -> bool {
    sel.limit.is_none() && sel.only.is_empty()
}

/// Apply `--limit` (overrides `dataset.limit`) and `--only` (keeps the baseline and the named candidates, in suite
/// order; `gate.candidates` keeps only the named ones it listed). Unknown ids and `--limit 0` are bad input.
pub fn apply(sel: &SelectArgs, ls: &mut LoadedSuite) -> Result<()> {
    if let Some(n) = sel.limit {
        if n == 0 {
            return Err(InputError::new("", "--limit 0 selects no item")
                .hint(
                    "pass the number of items to use from the top of the dataset, e.g. --limit 20",
                )
                .into());
        }
        ls.suite.dataset.limit = Some(n);
    }
    if sel.only.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = ls.suite.providers.iter().map(|p| p.id.clone()).collect();
    for want in &sel.only {
        if !ids.contains(want) {
            let hint = match did_you_mean(want, ids.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("the providers are: {}", ids.join(", ")),
            };
            return Err(InputError::new(
                &ls.providers_path,
                format!("--only {want}: no provider has the id `{want}`"),
            )
            .hint(hint)
            .into());
        }
    }
    let keep = |id: &str, role: Role| role == Role::Baseline || sel.only.iter().any(|o| o == id);
    ls.suite.providers.retain(|p| keep(&p.id, p.role));
    if let Some(c) = &mut ls.suite.gate.candidates {
        c.retain(|id| sel.only.contains(id));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded() -> (tempfile::TempDir, LoadedSuite) {
        let d = tempfile::tempdir().unwrap();
        let suite = "name: t\ntask: classification\ndataset: {path: d.jsonl, expected: label}\nlabels: [a, b]\n\
                     prompt: {user: \"{{ text }}\"}\n\
                     providers:\n\
                     \x20 - {id: base, role: baseline, kind: sim, model: m1, price: {input_per_mtok: 1, output_per_mtok: 1}}\n\
                     \x20 - {id: c1, kind: sim, model: m2, price: {input_per_mtok: 1, output_per_mtok: 1}}\n\
                     \x20 - {id: c2, kind: sim, model: m3, price: {input_per_mtok: 1, output_per_mtok: 1}}\n\
                     gate: {candidates: [c1, c2]}\n";
        std::fs::write(d.path().join("s.yaml"), suite).unwrap();
        std::fs::write(
            d.path().join("d.jsonl"),
            "{\"text\": \"x\", \"label\": \"a\"}\n",
        )
        .unwrap();
        let ls = crate::suite::load_suite(&d.path().join("s.yaml"), None).unwrap();
        (d, ls)
    }

    fn ids(ls: &LoadedSuite) -> Vec<&str> {
        ls.suite.providers.iter().map(|p| p.id.as_str()).collect()
    }

    #[test]
    fn only_keeps_the_baseline_and_the_named_candidates() {
        let (_d, mut ls) = loaded();
        let sel = SelectArgs {
            limit: Some(3),
            only: vec!["c2".into()],
        };
        apply(&sel, &mut ls).unwrap();
        assert_eq!(ids(&ls), ["base", "c2"]);
        assert_eq!(
            ls.suite.gate.candidates.as_deref(),
            Some(&["c2".to_string()][..])
        );
        assert_eq!(ls.suite.dataset.limit, Some(3));
        // Naming the baseline is allowed and changes nothing about it.
        let (_d, mut ls) = loaded();
        let sel = SelectArgs {
            limit: None,
            only: vec!["base".into()],
        };
        apply(&sel, &mut ls).unwrap();
        assert_eq!(ids(&ls), ["base"]);
    }

    #[test]
    fn unknown_ids_and_zero_limits_are_bad_input_with_a_fix() {
        let (_d, mut ls) = loaded();
        let sel = SelectArgs {
            limit: None,
            only: vec!["c3".into()],
        };
        let e = apply(&sel, &mut ls).unwrap_err().to_string();
        assert!(
            e.contains("--only c3") && e.contains("did you mean `c1`?") || e.contains("`c2`?"),
            "{e}"
        );
        let sel = SelectArgs {
            limit: None,
            only: vec!["zzzzzz".into()],
        };
        let e = apply(&sel, &mut ls).unwrap_err().to_string();
        assert!(e.contains("the providers are: base, c1, c2"), "{e}");
        let sel = SelectArgs {
            limit: Some(0),
            only: vec![],
        };
        let e = apply(&sel, &mut ls).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("e.g. --limit 20"));
        assert_eq!(
            ids(&ls),
            ["base", "c1", "c2"],
            "a failed selection changes nothing"
        );
    }
}
