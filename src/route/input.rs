//! What `evalh route` reads: run directories (their `results.json` and resolved `suite.yaml`) and the optional
//! features file that maps suites to product features.
//!
//! Only the fields routing needs are read from `results.json`, so a results file written by an older or newer evalh
//! still routes as long as those fields are there; anything missing is bad input with the fix (`evalh score DIR`).

use crate::error::{InputError, Result};
use crate::suite::{locate, parse_yaml, read_user_file, yaml_error};
use crate::suite::{GateSpec, ProviderRole, Suite};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One run directory, read.
#[derive(Debug, Clone)]
pub struct RunInput {
    /// The directory as given.
    pub dir: PathBuf,
    /// The resolved suite the run used (providers, endpoints, key variables, timeouts).
    pub suite: Suite,
    /// The parts of results.json routing needs.
    pub results: RunResults,
}

/// The subset of `results.json` routing reads.
#[derive(Debug, Clone, Deserialize)]
pub struct RunResults {
    /// Suite name.
    pub suite: String,
    /// Task type.
    pub task: String,
    /// Items in the dataset.
    pub n_items: usize,
    /// Whether every request was settled; an incomplete run has no verdicts.
    pub complete: bool,
    /// Unsettled requests by reason.
    #[serde(default)]
    pub unsettled_by_reason: BTreeMap<String, usize>,
    /// The gate settings the verdicts were made with (rollback thresholds come from here).
    pub gate_config: GateSpec,
    /// Per provider, in suite order.
    pub providers: Vec<ProviderRow>,
}

/// One provider's row of results.json.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderRow {
    /// Provider id.
    pub id: String,
    /// Baseline or candidate.
    pub role: ProviderRole,
    /// Client kind.
    pub kind: String,
    /// Model.
    pub model: String,
    /// Error rate over settled requests (null when nothing was settled).
    pub error_rate: Option<f64>,
    /// Cost per 1,000 items, USD (null when undefined).
    pub cost_usd_per_1k_items: Option<f64>,
    /// Latency percentiles.
    pub latency_ms: LatencyRow,
    /// The gate's verdict (candidates only).
    pub gate: Option<GateRow>,
}

/// Latency percentiles of a provider.
#[derive(Debug, Clone, Copy, Deserialize, Default)]
pub struct LatencyRow {
    /// Median, ms.
    pub p50: Option<f64>,
    /// 99th percentile, ms.
    pub p99: Option<f64>,
}

/// A candidate's gate result.
#[derive(Debug, Clone, Deserialize)]
pub struct GateRow {
    /// PASS, FAIL, INCONCLUSIVE or INCOMPLETE.
    pub verdict: String,
    /// Whether the candidate counted for the exit code.
    #[serde(default = "yes")]
    pub gated: bool,
    /// Point estimate of the quality ratio.
    #[serde(default)]
    pub quality_ratio: Option<f64>,
    /// Cost ratio.
    #[serde(default)]
    pub cost_ratio: Option<f64>,
    /// One line per rule that was not a clean pass (every rule when all passed).
    #[serde(default)]
    pub reasons: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Read one run directory: `suite.yaml` and `results.json`, checked against each other.
pub fn load_run(dir: &Path) -> Result<RunInput> {
    let not_run = |what: &str| -> crate::error::Error {
        InputError::new(dir, format!("not a run directory ({what})"))
            .hint("pass a directory `evalh run` created, e.g. reports/<suite>-<timestamp>")
            .into()
    };
    if !dir.is_dir() {
        return Err(not_run("no such directory"));
    }
    let suite_path = dir.join(crate::rundir::RESOLVED_SUITE);
    if !suite_path.is_file() {
        return Err(not_run("no suite.yaml"));
    }
    let results_path = dir.join(crate::report::RESULTS_FILE);
    if !results_path.is_file() {
        return Err(
            InputError::new(&results_path, "the run has no results.json")
                .hint(format!(
                    "compute it from the journal with: evalh score {}",
                    dir.display()
                ))
                .into(),
        );
    }
    let src = read_user_file(&suite_path, "suite file")?;
    let suite: Suite = parse_yaml(&suite_path, &src)?;
    let text = read_user_file(&results_path, "results file")?;
    let results: RunResults = serde_json::from_str(&text).map_err(|e| {
        InputError::new(&results_path, format!("cannot read the results: {e}"))
            .at(e.line().max(1), e.column().max(1))
            .hint(format!(
                "regenerate it with: evalh score {} (the journal is the source of truth)",
                dir.display()
            ))
    })?;
    check_agree(&results_path, &suite, &results, dir)?;
    Ok(RunInput {
        dir: dir.to_path_buf(),
        suite,
        results,
    })
}

/// results.json and suite.yaml describe the same run: same suite, same providers, one baseline.
fn check_agree(path: &Path, suite: &Suite, r: &RunResults, dir: &Path) -> Result<()> {
    let regen = format!(
        "results.json is stale or from another run; regenerate it with: evalh score {}",
        dir.display()
    );
    if r.suite != suite.name {
        return Err(InputError::new(
            path,
            format!(
                "results.json is for suite `{}` but suite.yaml is `{}`",
                r.suite, suite.name
            ),
        )
        .hint(regen)
        .into());
    }
    for p in &r.providers {
        if !suite.providers.iter().any(|s| s.id == p.id) {
            return Err(InputError::new(
                path,
                format!(
                    "provider `{}` is in results.json but not in suite.yaml",
                    p.id
                ),
            )
            .hint(regen)
            .into());
        }
    }
    let baselines = r
        .providers
        .iter()
        .filter(|p| p.role == ProviderRole::Baseline)
        .count();
    if baselines != 1 {
        return Err(InputError::new(
            path,
            format!("results.json has {baselines} baselines; routing needs exactly one"),
        )
        .hint(regen)
        .into());
    }
    Ok(())
}

/// How one suite's traffic is known in production.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// Feature name (the LiteLLM model group clients call); default: the suite name.
    #[serde(default)]
    pub feature: Option<String>,
    /// Route to the passing provider with the lowest p99 instead of the cheapest.
    #[serde(default)]
    pub latency_sensitive: bool,
    /// Expected peak requests per minute of the feature, for the circuit breaker's failure count and the rollout's
    /// stage durations.
    #[serde(default)]
    pub requests_per_minute: Option<f64>,
}

/// The features file: suite name → feature settings.
#[derive(Debug, Clone, Default)]
pub struct Features {
    /// By suite name.
    pub by_suite: BTreeMap<String, FeatureSpec>,
    /// Where they came from (for error messages).
    pub path: Option<PathBuf>,
    src: String,
}

impl Features {
    /// Read and check a features file (a YAML mapping of suite name to `{feature, latency_sensitive,
    /// requests_per_minute}`).
    pub fn load(path: &Path) -> Result<Features> {
        let src = read_user_file(path, "features file")?;
        if src.trim().is_empty() {
            return Err(InputError::new(path, "features file is empty")
                .at_line(1)
                .hint("map each suite name to its feature, e.g. `support-intents: {feature: ticket-triage, latency_sensitive: true}`")
                .into());
        }
        let by_suite: BTreeMap<String, FeatureSpec> = serde_yaml::from_str(&src).map_err(|e| {
            let mut ie = yaml_error(path, &src, &e);
            if ie.hint.is_none() {
                ie = ie.hint("the file maps suite names to `{feature: NAME, latency_sensitive: true|false, requests_per_minute: N}`");
            }
            ie
        })?;
        let f = Features {
            by_suite,
            path: Some(path.to_path_buf()),
            src,
        };
        f.check()?;
        Ok(f)
    }

    fn err_at(&self, key: &str, value: Option<&str>, msg: String, hint: &str) -> InputError {
        let path = self.path.clone().unwrap_or_default();
        let mut e = InputError::new(path, msg).hint(hint);
        let at = locate(&self.src, key, value, 0).or_else(|| locate(&self.src, key, None, 0));
        if let Some((l, c)) = at {
            e = e.at(l, c);
        }
        e
    }

    fn check(&self) -> Result<()> {
        for (suite, spec) in &self.by_suite {
            if let Some(name) = &spec.feature {
                if let Err(why) = check_feature_name(name) {
                    return Err(self
                        .err_at(
                            "feature",
                            Some(name),
                            format!("feature name `{name}` (suite `{suite}`) {why}"),
                            "use letters, digits, '.', '_' and '-' (it becomes a LiteLLM model group name)",
                        )
                        .into());
                }
            }
            if let Some(rpm) = spec.requests_per_minute {
                if !(rpm.is_finite() && rpm > 0.0) {
                    return Err(self
                        .err_at(
                            "requests_per_minute",
                            Some(&rpm.to_string()),
                            format!("requests_per_minute of suite `{suite}` is {rpm}; it must be a positive number"),
                            "give the feature's expected peak traffic, e.g. requests_per_minute: 600",
                        )
                        .into());
                }
            }
        }
        Ok(())
    }

    /// The settings of `suite` (defaults when the file does not name it).
    pub fn of(&self, suite: &str) -> FeatureSpec {
        self.by_suite.get(suite).cloned().unwrap_or_default()
    }
}

/// Feature names become LiteLLM model group names and deployment ids: keep them to a safe alphabet.
pub fn check_feature_name(name: &str) -> std::result::Result<(), &'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("is empty"),
        Some(c) if !c.is_ascii_alphanumeric() => return Err("must start with a letter or digit"),
        _ => {}
    }
    if name.len() > 64 {
        return Err("is longer than 64 characters");
    }
    if chars.any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err("has a character other than letters, digits, '.', '_' and '-'");
    }
    Ok(())
}

/// Where `evalh sim serve` answers, for routing sim providers: one URL for every suite, or one per suite.
#[derive(Debug, Clone, Default)]
pub struct SimUrls {
    all: Option<String>,
    by_suite: BTreeMap<String, String>,
}

impl SimUrls {
    /// Parse `--sim-base-url` values: `URL` or `SUITE=URL`.
    pub fn parse(values: &[String]) -> Result<SimUrls> {
        let mut s = SimUrls::default();
        for v in values {
            let (suite, url) = match v.split_once('=') {
                Some((k, u)) if !k.contains("://") => (Some(k.to_string()), u.to_string()),
                _ => (None, v.clone()),
            };
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
                return Err(InputError::new(
                    "",
                    format!("--sim-base-url {v}: `{url}` is not an http(s) URL"),
                )
                .hint("pass the URL `evalh sim serve SUITE` prints, e.g. http://127.0.0.1:8089/v1 (or SUITE=URL)")
                .into());
            }
            let url = url.trim_end_matches('/').to_string();
            match suite {
                Some(k) => {
                    if s.by_suite.insert(k.clone(), url).is_some() {
                        return Err(InputError::new(
                            "",
                            format!("--sim-base-url names suite `{k}` twice"),
                        )
                        .hint("give one URL per suite")
                        .into());
                    }
                }
                None => {
                    if s.all.replace(url).is_some() {
                        return Err(InputError::new(
                            "",
                            "--sim-base-url is given twice without a suite name",
                        )
                        .hint("give one URL for every suite, or SUITE=URL for each")
                        .into());
                    }
                }
            }
        }
        Ok(s)
    }

    /// The URL for `suite`'s sim providers, if one was given.
    pub fn for_suite(&self, suite: &str) -> Option<&str> {
        self.by_suite
            .get(suite)
            .or(self.all.as_ref())
            .map(String::as_str)
    }

    /// Suite names given as `SUITE=URL`.
    pub fn named_suites(&self) -> impl Iterator<Item = &str> {
        self.by_suite.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_names_are_a_safe_alphabet() {
        assert!(check_feature_name("ticket-triage.v2_eu").is_ok());
        assert!(check_feature_name("").is_err());
        assert!(check_feature_name("-x").is_err());
        assert!(check_feature_name("a b").is_err());
        assert!(check_feature_name("a/b").is_err());
        assert!(check_feature_name(&"x".repeat(65)).is_err());
    }

    #[test]
    fn sim_urls_for_all_or_per_suite() {
        let s = SimUrls::parse(&[
            "http://127.0.0.1:1/v1/".into(),
            "news=http://127.0.0.1:2/v1".into(),
        ])
        .unwrap();
        assert_eq!(s.for_suite("news"), Some("http://127.0.0.1:2/v1"));
        assert_eq!(s.for_suite("other"), Some("http://127.0.0.1:1/v1"));
        assert!(SimUrls::parse(&["ftp://x".into()]).is_err());
        assert!(SimUrls::parse(&["a=http://h:1/v1".into(), "a=http://h:2/v1".into()]).is_err());
        assert_eq!(SimUrls::default().for_suite("x"), None);
    }

    #[test]
    fn features_file_errors_point_at_the_line() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.yaml");
        std::fs::write(&p, "a: {feature: ok}\nb:\n  feature: \"bad name\"\n").unwrap();
        let e = Features::load(&p).unwrap_err().to_string();
        assert!(e.contains("f.yaml:3:"), "{e}");
        std::fs::write(&p, "a:\n  latency_sensitiv: true\n").unwrap();
        let e = Features::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("f.yaml:2:") && e.contains("latency_sensitive"),
            "{e}"
        );
        std::fs::write(&p, "a: {requests_per_minute: -3}\n").unwrap();
        let e = Features::load(&p).unwrap_err().to_string();
        assert!(e.contains("f.yaml:1:") && e.contains("positive"), "{e}");
    }
}
