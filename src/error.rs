//! Error types and the documented exit codes.
//!
//! Why this module exists: evalh is used as a CI gate, so *why* it stopped must be machine-readable. Every failure
//! maps to exactly one exit code, and bad input always names the file, the line (or row) and the fix — a user who
//! mistyped a key should never see a panic or a bare "invalid type".

use std::fmt;
use std::path::{Path, PathBuf};

/// Exit codes (also listed in README.md).
pub mod exit {
    /// Every gated candidate passed (or there was nothing to gate).
    pub const OK: i32 = 0;
    /// A gated candidate failed the gate (or was inconclusive with `on_inconclusive: fail`).
    pub const GATE_FAILED: i32 = 1;
    /// Bad input: suite, provider file, dataset, template, command-line usage.
    pub const BAD_INPUT: i32 = 2;
    /// The run could not complete (interrupted, budget reached, provider/infra failure, I/O). Resumable.
    pub const INCOMPLETE: i32 = 3;
    /// A bug in evalh.
    pub const INTERNAL: i32 = 70;
}

/// A problem with something the user gave us, located as precisely as we can.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    /// The file at fault (suite, provider file, dataset, ...); empty for command-line problems.
    pub file: PathBuf,
    /// 1-based line (or data row) when known.
    pub line: Option<usize>,
    /// 1-based column when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we can say.
    pub hint: Option<String>,
}

impl InputError {
    /// An error about `file` with no position yet.
    pub fn new(file: impl AsRef<Path>, message: impl Into<String>) -> Self {
        InputError {
            file: file.as_ref().to_path_buf(),
            line: None,
            column: None,
            message: message.into(),
            hint: None,
        }
    }
    /// Attach a 1-based line number.
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
    /// Attach a 1-based line and column.
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
    /// Attach a fix suggestion.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.file.as_os_str().is_empty() {
            write!(f, "{}", self.file.display())?;
            if let Some(l) = self.line {
                write!(f, ":{l}")?;
                if let Some(c) = self.column {
                    write!(f, ":{c}")?;
                }
            }
            write!(f, ": ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

/// Every error evalh's library functions return.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: exit 2.
    #[error("{0}")]
    Input(#[from] InputError),
    /// Several input errors found at once (validation reports them all): exit 2.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Inputs(Vec<InputError>),
    /// The run stopped before every request finished: exit 3.
    #[error("run incomplete: {0}")]
    Incomplete(String),
    /// File-system trouble outside the user's input files: exit 3.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A bug: exit 70.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Inputs(_) => exit::BAD_INPUT,
            Error::Incomplete(_) | Error::Io { .. } => exit::INCOMPLETE,
            Error::Internal(_) => exit::INTERNAL,
        }
    }

    /// Wrap an I/O error with what we were doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The closest candidate to `word` among `candidates` (Jaro-Winkler >= 0.8 or edit distance <= 2), for did-you-mean hints.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(&str, f64)> = None;
    for c in candidates {
        let jw = strsim::jaro_winkler(word, c);
        let lev = strsim::levenshtein(word, c);
        let score = if lev <= 2 { jw.max(0.9) } else { jw };
        if score >= 0.8 && best.is_none_or(|(_, s)| score > s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_column_and_hint() {
        let e = InputError::new("suites/a.yaml", "unknown field `concurency`")
            .at(7, 3)
            .hint("did you mean `concurrency`?");
        assert_eq!(
            e.to_string(),
            "suites/a.yaml:7:3: unknown field `concurency`\n  help: did you mean `concurrency`?"
        );
    }

    #[test]
    fn did_you_mean_finds_close_keys_only() {
        let keys = ["concurrency", "timeout_s", "max_retries", "seed"];
        assert_eq!(did_you_mean("concurency", keys), Some("concurrency"));
        assert_eq!(did_you_mean("timeout", keys), Some("timeout_s"));
        assert_eq!(did_you_mean("zzzz", keys), None);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Error::Input(InputError::new("x", "y")).exit_code(), 2);
        assert_eq!(Error::Incomplete("x".into()).exit_code(), 3);
        assert_eq!(Error::Internal("x".into()).exit_code(), 70);
    }
}
