//! Reports: every way a run's results leave evalh — terminal table, results.json, JUnit XML, Markdown summary, and
//! (in `html` and `chart`) the self-contained HTML report with PNG charts.
//!
//! Why this module exists: the same [`crate::summary::Analysis`] feeds every format, so the verdict a CI job acts on,
//! the table an engineer reads and the report a reviewer opens can never disagree. Each format is one file here.

pub mod chart;
pub mod html;
pub mod index;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

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
