//! `evalh review`: glue between the command line and the `review` module (load the run, analyse it, write the pack;
//! or import decisions and print what they now say).

use crate::cli::{ReviewArgs, ReviewCommand};
use crate::error::{InputError, Result};
use crate::review::{self, PackOptions};
use std::path::Path;

/// Run `evalh review ...`; returns the exit code.
pub fn review(a: ReviewArgs) -> Result<i32> {
    match a.command {
        Some(ReviewCommand::Import { run_dir, files }) => import(&run_dir, &files),
        None => {
            let run_dir = a.run_dir.clone().unwrap_or_default();
            let opts = PackOptions {
                candidate: a.candidate,
                n: a.n.map(|n| n as usize),
                share: a.sample,
                seed: a.seed,
                include_disagreements: a.include_disagreements,
                show_reference: a.show_reference,
            };
            pack(&run_dir, &opts)
        }
    }
}

fn load_run(run_dir: &Path) -> Result<(crate::suite::LoadedSuite, Vec<crate::dataset::Item>)> {
    let p = run_dir.join(crate::rundir::RESOLVED_SUITE);
    if !p.exists() {
        return Err(
            InputError::new(run_dir, "not a run directory (no suite.yaml)")
                .hint("pass the directory evalh run printed, e.g. reports/<suite>-<timestamp>")
                .into(),
        );
    }
    let ls = crate::suite::load_suite(&p, None)?;
    let items = crate::dataset::load(&ls.dataset_path, &ls.suite.dataset)?;
    Ok((ls, items))
}

fn pack(run_dir: &Path, opts: &PackOptions) -> Result<i32> {
    let (ls, items) = load_run(run_dir)?;
    let an = crate::rundir::analyse(&ls, &items, run_dir)?;
    let drawn = review::draw_pack(run_dir, &ls, &items, &an.records, &an.scores, opts)?;
    let html = crate::report::render_review_page(&drawn.pack, &ls.suite, &drawn.shown);
    let w = review::write_pack(run_dir, &drawn.pack, &html)?;
    let p = &w.pack;
    println!(
        "review pack {}: {} vs {} — {}",
        p.pack_id,
        p.candidate,
        p.baseline,
        p.draw.describe()
    );
    println!("open:     {}", w.html.display());
    println!(
        "sides:    {} (keep it from the reviewers)",
        w.json.display()
    );
    println!(
        "then:     evalh review import {} decisions-<reviewer>.json ...",
        run_dir.display()
    );
    Ok(0)
}

fn import(run_dir: &Path, files: &[std::path::PathBuf]) -> Result<i32> {
    let (ls, _) = load_run(run_dir)?;
    let added = review::import(run_dir, files)?;
    for a in &added {
        println!(
            "imported {} decision(s) by {} on pack {} ({} vs {}) from {}",
            a.n,
            a.reviewer,
            a.pack_id,
            a.pair.0,
            a.pair.1,
            a.file.display()
        );
    }
    let all = review::Decisions::load(run_dir)?.unwrap_or_default();
    let conf = ls.suite.gate.confidence;
    let mut pairs: Vec<(String, String)> = added.iter().map(|a| a.pair.clone()).collect();
    pairs.sort();
    pairs.dedup();
    for (c, b) in pairs {
        if let Some(h) = all.review_for(&c, &b, conf) {
            print!("{}", crate::report::review_terminal_block(&c, &h));
        }
    }
    println!(
        "\nresults.json and report.html include them from: evalh report {}",
        run_dir.display()
    );
    Ok(0)
}
