//! Reports: every way a run's results leave evalh — terminal table, results.json, JUnit XML, Markdown summary, and
//! (in `html` and `chart`) the self-contained HTML report with PNG charts.
//!
//! Why this module exists: the same [`crate::summary::Analysis`] feeds every format, so the verdict a CI job acts on,
//! the table an engineer reads and the report a reviewer opens can never disagree. Each format is one file here.

mod chart;
mod html;
mod json;
mod judge;
mod junit;
mod markdown;
mod review;
mod review_page;
mod terminal;

pub use chart::{color_hex, render_all as render_charts, Chart, ChartError};
pub use html::{escape, shown_items, write as write_html, ChartImage, Page, REPORT_FILE};
pub(crate) use html::{money, CSS as REPORT_CSS};
pub use json::{write as write_results, RESULTS_FILE};
pub use junit::write as write_junit;
pub use markdown::{local_images, write as write_markdown, Artifacts};
pub use review::terminal_block as review_terminal_block;
pub use review_page::render as render_review_page;
pub use terminal::{render as render_terminal, Options as TerminalOptions};

use crate::error::{Error, InputError, Result};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Write `bytes` to `path` atomically: into a temporary file in the same directory, synced, then renamed over
/// `path`. A reader (or a crash) sees the old file or the new one, never a half-written one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let io = |e| Error::io(format!("writing {}", path.display()), e);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        name.as_deref().unwrap_or("evalh"),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let res = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_data()
        })
        .and_then(|_| std::fs::rename(&tmp, path));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.map_err(io)
}

/// `path` is a file that can be created or appended to; nothing is left behind by the check.
pub fn check_writable(path: &Path, what: &str) -> Result<()> {
    let bad = |msg: String, hint: &str| -> Error { InputError::new(path, msg).hint(hint).into() };
    if path.is_dir() {
        return Err(bad(
            format!("{what} names a directory, not a file"),
            "name a file, e.g. reports/summary.md",
        ));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(bad(
            format!("{what}: folder {} does not exist", parent.display()),
            "create the folder first (mkdir -p) or name a file in an existing one",
        ));
    }
    let probe = if path.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|f| {
                drop(f);
                std::fs::remove_file(path)
            })
    };
    probe.map_err(|e| {
        bad(
            format!("{what}: cannot write {}: {e}", path.display()),
            "check the folder's permissions or name another file",
        )
    })
}

/// Format a USD amount compactly.
pub fn usd(x: f64) -> String {
    if x == 0.0 {
        "$0".into()
    } else if x.abs() < 0.01 {
        format!("${x:.5}")
    } else {
        format!("${x:.2}")
    }
}

/// Format an optional number with `digits` decimals, "-" when absent.
pub fn opt(x: Option<f64>, digits: usize) -> String {
    x.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

/// A '/'-separated link from directory `from` to file `to` (e.g. `../reports/run/charts/x.png`), for Markdown that
/// lives elsewhere than the run directory. Falls back to `to` as given when either path cannot be resolved.
pub fn relative_link(from: &std::path::Path, to: &std::path::Path) -> String {
    use std::path::Component;
    let fallback = || to.to_string_lossy().replace('\\', "/");
    let (Ok(from), Ok(to_abs)) = (std::fs::canonicalize(from), std::fs::canonicalize(to)) else {
        return fallback();
    };
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to_abs.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return fallback();
    }
    let mut parts: Vec<String> = vec!["..".to_string(); a.len() - common];
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::write_atomic;

    #[test]
    fn atomic_writes_replace_the_file_and_leave_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.json");
        std::fs::write(&p, "old").unwrap();
        let link = d.path().join("old-link");
        std::fs::hard_link(&p, &link).unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        // The old file was replaced, not rewritten in place: a reader holding it still sees it whole.
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "old");
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // A missing directory is an I/O error, and no temporary is left anywhere.
        assert!(write_atomic(&d.path().join("no/such/x.json"), b"x").is_err());
    }

    #[test]
    fn relative_link_walks_up_and_down() {
        let d = tempfile::tempdir().unwrap();
        let run = d.path().join("reports/run-1/charts");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::create_dir_all(d.path().join("out")).unwrap();
        let png = run.join("a.png");
        std::fs::write(&png, b"x").unwrap();
        assert_eq!(
            super::relative_link(&d.path().join("out"), &png),
            "../reports/run-1/charts/a.png"
        );
        assert_eq!(
            super::relative_link(d.path(), &png),
            "reports/run-1/charts/a.png"
        );
        assert_eq!(
            super::relative_link(&d.path().join("missing"), std::path::Path::new("x/y.png")),
            "x/y.png"
        );
    }
}
