//! The mapping file: how to read a team's logs (`log:`), which features go to which bucket (`buckets:`), which suite
//! stands for which feature (`suites:`), and prices for models the pinned table lacks (`prices:`). Every mistake is
//! bad input naming the file, the line and the fix.

use super::fields::{Field, Preset, Source, Syntax};
use crate::error::{did_you_mean, InputError, Result};
use crate::suite::Price;
use crate::suite::{locate, locate_path, parse_yaml, read_user_file};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    #[serde(default)]
    log: Option<RawLog>,
    #[serde(default)]
    buckets: BTreeMap<i64, BucketRules>,
    #[serde(default)]
    suites: BTreeMap<String, String>,
    #[serde(default)]
    prices: BTreeMap<String, Price>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    #[serde(default)]
    preset: Option<String>,
    #[serde(default)]
    syntax: Option<Syntax>,
    #[serde(default)]
    fields: BTreeMap<String, OneOrMany>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// What puts a row into one bucket. A row's bucket is decided by its feature first, then its tags (the lowest
/// bucket among matching tags), then its model, then the longest matching prompt prefix.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BucketRules {
    /// Feature names (exact).
    #[serde(default)]
    pub features: Vec<String>,
    /// Request tags (exact).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Models, case-insensitive; a trailing `*` matches any suffix (`gpt-4o*`), a provider prefix (`openai/`) is
    /// ignored.
    #[serde(default)]
    pub models: Vec<String>,
    /// Prompt prefixes: the start of the first user message (system message when there is none).
    #[serde(default)]
    pub prompt_prefixes: Vec<String>,
}

/// The `log:` section, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogSection {
    /// Preset to start from.
    pub preset: Option<Preset>,
    /// Forced syntax.
    pub syntax: Option<Syntax>,
    /// Fields that replace the preset's.
    pub fields: BTreeMap<Field, Vec<Source>>,
}

/// A checked mapping file.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// The file.
    pub path: PathBuf,
    /// How to read the logs.
    pub log: LogSection,
    /// Rules of bucket 1 (keep premium), 2 (migration target), 3 (rules or the cheapest model).
    pub buckets: [BucketRules; 3],
    /// Suite name -> feature, for savings.
    pub suites: BTreeMap<String, String>,
    /// Model -> price, for models the pinned table lacks (wins over the table).
    pub prices: BTreeMap<String, Price>,
}

/// Bucket names, for reports.
pub const BUCKET_NAMES: [&str; 3] = ["keep premium", "migration target", "rules or cheapest"];

fn at(path: &Path, src: &str, keys: &[&str], msg: impl Into<String>) -> InputError {
    let e = InputError::new(path, msg);
    match locate_path(src, keys) {
        Some((l, c)) => e.at(l, c),
        None => e.at_line(1),
    }
}

/// The 1-based line of the `nth` list entry or flow value equal to `value` (quoted or not), for duplicate names.
fn line_of_value(src: &str, value: &str, nth: usize) -> Option<usize> {
    let pats = [
        format!("- {value}"),
        format!("- \"{value}\""),
        format!("- '{value}'"),
        format!("[{value}"),
        format!(" {value},"),
        format!(" {value}]"),
        format!("\"{value}\""),
        format!("'{value}'"),
    ];
    let mut seen = 0;
    for (i, line) in src.lines().enumerate() {
        let code = line.split(" #").next().unwrap_or(line);
        if pats.iter().any(|p| code.contains(p.as_str())) {
            if seen == nth {
                return Some(i + 1);
            }
            seen += 1;
        }
    }
    None
}

/// Read and check a mapping file.
pub fn load(path: &Path) -> Result<Mapping> {
    let src = read_user_file(path, "mapping file")?;
    let raw: RawMapping = parse_yaml(path, &src)?;
    let mut m = Mapping {
        path: path.to_path_buf(),
        ..Mapping::default()
    };
    if let Some(log) = raw.log {
        m.log = check_log(path, &src, log)?;
    }
    let mut owner: BTreeMap<(usize, String), i64> = BTreeMap::new();
    for (n, rules) in raw.buckets {
        if !(1..=3).contains(&n) {
            let (l, c) = locate_path(&src, &["buckets", &n.to_string()]).unwrap_or((1, 1));
            return Err(InputError::new(path, format!("there is no bucket {n}"))
                .at(l, c)
                .hint("buckets are 1 (keep premium), 2 (migration target) and 3 (rules or the cheapest model)")
                .into());
        }
        let lists: [(&str, &Vec<String>); 4] = [
            ("features", &rules.features),
            ("tags", &rules.tags),
            ("models", &rules.models),
            ("prompt_prefixes", &rules.prompt_prefixes),
        ];
        for (kind_i, (kind, list)) in lists.iter().enumerate() {
            for v in list.iter() {
                if v.trim().is_empty() {
                    return Err(at(path, &src, &["buckets", &n.to_string(), kind], format!("an empty entry in bucket {n}'s {kind}"))
                        .hint("remove it: an empty name would match nothing (or, as a prefix, everything)")
                        .into());
                }
                let key = if *kind == "models" {
                    v.to_ascii_lowercase()
                } else {
                    v.clone()
                };
                if let Some(prev) = owner.insert((kind_i, key), n) {
                    let line = line_of_value(&src, v, 1).or_else(|| line_of_value(&src, v, 0));
                    let mut e = InputError::new(
                        path,
                        format!("`{v}` is listed twice in `{kind}` (buckets {prev} and {n})"),
                    );
                    if let Some(l) = line {
                        e = e.at_line(l);
                    }
                    return Err(e
                        .hint("a name belongs to one bucket: keep the entry you mean")
                        .into());
                }
            }
        }
        m.buckets[(n - 1) as usize] = rules;
    }
    for (suite, feature) in &raw.suites {
        if feature.trim().is_empty() {
            return Err(at(path, &src, &["suites", suite], format!("suite `{suite}` is mapped to an empty feature"))
                .hint("write the feature name whose traffic the suite stands for, e.g. `support-tickets: classify`")
                .into());
        }
    }
    m.suites = raw.suites;
    for (model, p) in &raw.prices {
        let vals = [
            Some(p.input_per_mtok),
            Some(p.output_per_mtok),
            p.cached_input_per_mtok,
            p.cache_write_per_mtok,
        ];
        if vals
            .into_iter()
            .flatten()
            .any(|x| !(x.is_finite() && x >= 0.0))
        {
            return Err(at(
                path,
                &src,
                &["prices", model],
                format!("the price of `{model}` is not a non-negative number"),
            )
            .hint(
                "prices are USD per million tokens, e.g. {input_per_mtok: 3, output_per_mtok: 15}",
            )
            .into());
        }
    }
    m.prices = raw.prices;
    Ok(m)
}

fn check_log(path: &Path, src: &str, log: RawLog) -> Result<LogSection> {
    let preset = match &log.preset {
        None => None,
        Some(name) => Some(Preset::from_name(name).ok_or_else(|| {
            let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
            let (l, c) = locate(src, "preset", Some(name), 0)
                .or_else(|| locate_path(src, &["log", "preset"]))
                .unwrap_or((1, 1));
            let hint = match did_you_mean(name, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "presets: {}; or leave it out and map the fields yourself",
                    names.join(", ")
                ),
            };
            InputError::new(path, format!("unknown log preset `{name}`"))
                .at(l, c)
                .hint(hint)
        })?),
    };
    let mut fields = BTreeMap::new();
    for (name, srcs) in log.fields {
        let Some(f) = Field::from_name(&name) else {
            let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
            let hint = match did_you_mean(&name, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("fields: {}", names.join(", ")),
            };
            return Err(at(
                path,
                src,
                &["log", "fields", &name],
                format!("unknown log field `{name}`"),
            )
            .hint(hint)
            .into());
        };
        let list = match srcs {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        };
        if list.is_empty() {
            return Err(at(path, src, &["log", "fields", &name], format!("`{name}` has no source"))
                .hint("give a path such as `usage.prompt_tokens`, or a list of them (the first present one wins)")
                .into());
        }
        let mut parsed = Vec::new();
        for s in &list {
            let source = Source::parse(s).map_err(|why| {
                at(path, src, &["log", "fields", &name], format!("`{name}`: {why}"))
                    .hint("paths are keys separated by dots (`metadata.feature`, `choices.0.message`), or `tag:PREFIX`")
            })?;
            if matches!(source, Source::TagPrefix(_)) && f == Field::Tags {
                return Err(at(
                    path,
                    src,
                    &["log", "fields", &name],
                    "`tags` cannot be read from a tag",
                )
                .hint("map `tags` to the path of the tag list, e.g. `request_tags`")
                .into());
            }
            parsed.push(source);
        }
        fields.insert(f, parsed);
    }
    Ok(LogSection {
        preset,
        syntax: log.syntax,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Mapping> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.yaml");
        std::fs::write(&p, text).unwrap();
        load(&p)
    }

    #[test]
    fn a_full_mapping_loads() {
        let m = load_text(
            "log:\n  preset: openai\n  fields:\n    feature: [metadata.team, \"tag:feature:\"]\n    input_tokens: usage.input\nbuckets:\n  1: {features: [legal]}\n  2:\n    features: [summarize, classify]\n    models: [\"gpt-4o*\"]\n  3: {tags: [batch], prompt_prefixes: [\"Extract the\"]}\nsuites:\n  tickets: classify\nprices:\n  my-model: {input_per_mtok: 1, output_per_mtok: 2}\n",
        )
        .unwrap();
        assert_eq!(m.log.preset, Some(Preset::Openai));
        assert_eq!(m.log.fields[&Field::Feature].len(), 2);
        assert_eq!(m.buckets[1].features, ["summarize", "classify"]);
        assert_eq!(m.buckets[2].prompt_prefixes, ["Extract the"]);
        assert_eq!(m.suites["tickets"], "classify");
        assert_eq!(m.prices["my-model"].output_per_mtok, 2.0);
    }

    #[test]
    fn mistakes_name_the_line_and_the_fix() {
        let e = load_text("buckets:\n  2: {features: [a]}\n  4: {features: [b]}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.yaml:3:") && e.contains("no bucket 4"), "{e}");
        let e =
            load_text("buckets:\n  1:\n    features:\n      - a\n  2:\n    features:\n      - a\n")
                .unwrap_err()
                .to_string();
        assert!(e.contains("m.yaml:7:") && e.contains("listed twice"), "{e}");
        let e = load_text("log:\n  fields:\n    input_tokes: x\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("m.yaml:3:") && e.contains("did you mean `input_tokens`"),
            "{e}"
        );
        let e = load_text("log:\n  preset: litelm\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.yaml:2:") && e.contains("`litellm`"), "{e}");
        let e = load_text("log:\n  fields:\n    model: a..b\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("m.yaml:3:") && e.contains("empty segment"),
            "{e}"
        );
        let e = load_text("bucket:\n  1: {}\n").unwrap_err().to_string();
        assert!(
            e.contains("m.yaml:1:") && e.contains("did you mean `buckets`"),
            "{e}"
        );
        let e = load_text("prices:\n  m: {input_per_mtok: -1, output_per_mtok: 2}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("m.yaml:2:"), "{e}");
        let e = load_text("suites:\n  s: \"\"\n").unwrap_err().to_string();
        assert!(e.contains("m.yaml:2:"), "{e}");
    }
}
