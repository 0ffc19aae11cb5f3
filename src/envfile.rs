//! `.env` files: API keys kept next to the work instead of exported in every shell.
//!
//! Why this module exists: a suite names its keys by environment variable (`api_key_env`), and the usual place to keep
//! such variables for one project is a `.env` file that git ignores. evalh reads `.env` from the current directory
//! and then from the suite file's folder (when that is another folder), before anything checks a key. A variable
//! already set in the environment always wins (so CI secrets and a one-off `KEY=... evalh run` override the file),
//! and between the two files the current directory's wins. Values are never printed: a malformed line is reported by
//! file, line, column and variable name only, since the line itself may hold a key.
//!
//! Parsing is the `dotenvy` crate's (quotes, escapes, `export`, comments, multi-line values, `${VAR}` expansion).

use crate::error::{InputError, Result};
use std::path::{Path, PathBuf};

/// The file name looked for.
pub const FILE_NAME: &str = ".env";

/// What one `.env` file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The file.
    pub path: PathBuf,
    /// Variables it set (names only).
    pub set: Vec<String>,
    /// Variables it names that were already set and so kept their value.
    pub kept: Vec<String>,
}

/// Read `.env` in each of `dirs` (in order, each folder once) into the process environment, never replacing a
/// variable that is already set. Must run before any thread is started (it calls `std::env::set_var`).
pub fn load(dirs: &[&Path]) -> Result<Vec<Loaded>> {
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut out = Vec::new();
    for dir in dirs {
        let path = dir.join(FILE_NAME);
        if !path.is_file() {
            continue;
        }
        let canon = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if seen.contains(&canon) {
            continue;
        }
        seen.push(canon);
        out.push(load_file(&path)?);
    }
    Ok(out)
}

/// Parse one file completely (an error sets nothing), then set what is not already set.
fn load_file(path: &Path) -> Result<Loaded> {
    let text = crate::suite::read_user_file(path, ".env file")?;
    let mut pairs = Vec::new();
    for entry in dotenvy::from_read_iter(text.as_bytes()) {
        match entry {
            Ok(kv) => pairs.push(kv),
            Err(e) => return Err(parse_error(path, &text, &e).into()),
        }
    }
    let mut set = Vec::new();
    let mut kept = Vec::new();
    for (k, v) in pairs {
        if std::env::var_os(&k).is_some() {
            if !set.contains(&k) && !kept.contains(&k) {
                kept.push(k);
            }
        } else {
            std::env::set_var(&k, v);
            set.push(k);
        }
    }
    Ok(Loaded {
        path: path.to_path_buf(),
        set,
        kept,
    })
}

/// A located error that names the variable but never shows the line (it may hold a secret).
fn parse_error(path: &Path, text: &str, e: &dotenvy::Error) -> InputError {
    let dotenvy::Error::LineParse(line, index) = e else {
        return InputError::new(path, format!("cannot read the .env file: {e}"))
            .hint("check the file's permissions and that it is UTF-8 text");
    };
    let start = text.find(line.as_str()).unwrap_or(0);
    let start_line = text[..start].matches('\n').count() + 1;
    let at = line.get(..(*index).min(line.len())).unwrap_or(line);
    // An error past the entry's first line is a value that never ends (an unclosed quote): point at its start.
    let runs_on = at.contains('\n');
    let (lineno, col) = if runs_on {
        (start_line, 1)
    } else {
        (start_line, at.chars().count() + 1)
    };
    let name = line
        .trim_start()
        .trim_start_matches("export ")
        .split('=')
        .next()
        .unwrap_or("")
        .trim();
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    let what = if valid_name && line.contains('=') && runs_on {
        format!("the value of `{name}` never ends (a quote opened here is not closed)")
    } else if valid_name && line.contains('=') {
        format!("cannot parse the value of `{name}`")
    } else {
        "cannot parse this line (expected NAME=value)".to_string()
    };
    InputError::new(path, what)
        .at(lineno, col)
        .hint("write NAME=value, one per line; quote a value holding spaces, `#` or quotes (\"...\" or '...'); lines starting with # are comments")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_variable_wins_and_the_first_file_wins_over_the_second() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let pre = "EVALH_ENVFILE_TEST_PRESET";
        std::env::set_var(pre, "from-env");
        std::fs::write(
            a.path().join(".env"),
            format!("# comment\n{pre}=from-file\nexport EVALH_ENVFILE_TEST_A='a b'\nEVALH_ENVFILE_TEST_B=\"x\"\n"),
        )
        .unwrap();
        std::fs::write(
            b.path().join(".env"),
            "EVALH_ENVFILE_TEST_B=second\nEVALH_ENVFILE_TEST_C=c\n",
        )
        .unwrap();
        let got = load(&[a.path(), b.path(), a.path()]).unwrap();
        assert_eq!(got.len(), 2, "each file once");
        assert_eq!(got[0].set, ["EVALH_ENVFILE_TEST_A", "EVALH_ENVFILE_TEST_B"]);
        assert_eq!(got[0].kept, [pre]);
        assert_eq!(got[1].set, ["EVALH_ENVFILE_TEST_C"]);
        assert_eq!(got[1].kept, ["EVALH_ENVFILE_TEST_B"]);
        assert_eq!(std::env::var(pre).unwrap(), "from-env");
        assert_eq!(std::env::var("EVALH_ENVFILE_TEST_A").unwrap(), "a b");
        assert_eq!(std::env::var("EVALH_ENVFILE_TEST_B").unwrap(), "x");
        assert_eq!(std::env::var("EVALH_ENVFILE_TEST_C").unwrap(), "c");
        // No file: nothing to do.
        let empty = tempfile::tempdir().unwrap();
        assert!(load(&[empty.path()]).unwrap().is_empty());
    }

    #[test]
    fn a_bad_line_is_located_without_showing_its_value() {
        let d = tempfile::tempdir().unwrap();
        let secret = "sk-live-9f8e7d";
        std::fs::write(
            d.path().join(".env"),
            format!("EVALH_ENVFILE_TEST_OK=1\n\nEVALH_ENVFILE_TEST_BAD=\"{secret}\n"),
        )
        .unwrap();
        let e = load(&[d.path()]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let msg = e.to_string();
        assert!(
            msg.contains(".env:3:1: the value of") && msg.contains("never ends"),
            "{msg}"
        );
        assert!(msg.contains("`EVALH_ENVFILE_TEST_BAD`"), "{msg}");
        assert!(!msg.contains(secret), "the value leaked: {msg}");
        assert!(
            std::env::var_os("EVALH_ENVFILE_TEST_OK").is_none(),
            "a file with an error sets nothing"
        );
        std::fs::write(d.path().join(".env"), "just words here\n").unwrap();
        let msg = load(&[d.path()]).unwrap_err().to_string();
        assert!(
            msg.contains(".env:1:") && msg.contains("expected NAME=value"),
            "{msg}"
        );
    }
}
