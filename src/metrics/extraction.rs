//! Field-level scoring for *extraction* tasks (model output = a JSON record).
//!
//! An extraction item's expected output is a JSON value (normally an object with nested
//! objects, lists and nulls). The model's raw text is parsed with
//! [`parse_model_json`] and compared with the expected
//! value leaf by leaf. There is no reference implementation for this metric: the semantics
//! below are this project's definition, pinned by the hand-written cases in
//! `tests/data/golden/extraction_cases.json` and by property tests.
//!
//! # Leaves and paths
//! The expected value is flattened into *leaves*:
//! * a scalar (string, number, boolean) is a leaf;
//! * an *empty* value is a leaf: `null`, a string that is blank after trimming, `[]` or `{}`
//!   (all four mean "nothing here");
//! * a non-empty object contributes the leaves of each of its values (key `b` of `a` is `a.b`);
//! * a non-empty list contributes the leaves of each element (`items[0].sku`), indexed by the
//!   element's position in the *expected* list.
//!
//! Keys that are empty, equal `$`, or contain `.`, `[`, `]` or `"` are written as a quoted
//! segment, `a["x.y"]` (JSON string syntax). A whole expected value that is itself a scalar or
//! empty is the single leaf `$`. The *field* of a leaf is its path with list indices removed
//! (`items[].sku`); fields key the per-field rules of [`ExtractionConfig::fields`] and the
//! [`CorpusScore::per_field_accuracy`] table. A rule for a list field also applies to the
//! scalar elements of that list: the elements of `tags` (field `tags[]`) use the rule
//! `tags[]` if present, else `tags`.
//!
//! # Alignment
//! * Objects are matched by exact key (no case folding or key renaming).
//! * Lists are matched position-independently. For every expected element `i` and output
//!   element `j` the pair is scored recursively; the *gain* of pairing is the number of
//!   leaves of `i` that match when paired minus the number that match when `i` is left
//!   unpaired (only its empty leaves match "nothing"). An optimal one-to-one assignment
//!   (Hungarian algorithm) maximises the total gain, then, among equal totals, the number of
//!   matched non-empty leaves, then the summed string similarity. A pair is kept only if its
//!   gain is `>= 0`; otherwise both elements stay unpaired. Lists of scalars are therefore
//!   compared as multisets (under the field's match mode), and lists of objects irrespective
//!   of order. Unpaired expected elements have all leaves unanswered; leaves of unpaired
//!   output elements are *extra* and are named with their output position, `items[out=2].sku`.
//!   If `min(n,m)² · max(n,m)` exceeds 5·10⁷ the assignment falls back to greedy
//!   (highest-weight pairs first).
//! * A shape mismatch (expected object/list/scalar, output something else non-empty) leaves
//!   every expected leaf below unanswered and makes every non-empty output leaf there extra.
//!   A list never matches a scalar (`"a, b"` is not `["a", "b"]`), nor `["x"]` a bare `"x"`.
//! * On the output side a value is *empty* if it is `null`, a blank string, or a list or
//!   object whose members are all empty (`{"a": null}`, `[null, ""]`). Empty output values
//!   are treated as absent: they never count as predicted and are never extra.
//! * Cost: aligning lists of `n` and `m` elements takes `n·m` element comparisons plus the
//!   assignment; two 200-element lists of 4-field records take about 1 s in a debug build
//!   (much less in release).
//!
//! # Matching a leaf
//! Every leaf gets three flags, whatever its configured mode, plus a similarity in `[0, 1]`:
//! * **exact** — same JSON type and value; numbers compare by value (`1200 == 1200.0`,
//!   relative tolerance 1e-12); `"1200"` (string) is not exactly `1200` (number).
//! * **normalized** — exact, or equal after interpretation. Each scalar is read as a typed
//!   value when possible, in this order:
//!   1. *boolean*: JSON booleans, and strings whose normalized text is `true`/`yes`
//!      or `false`/`no` (`1`/`0` are numbers, not booleans);
//!   2. *number*: JSON numbers, and strings made of an optional sign, an optional currency
//!      (`$ US$ € £ ¥ ₹ ₩ ₽` or an ISO code such as `USD`, `EUR`, `GBP`, before or after,
//!      any case), digits with separators, and an optional trailing `%` (`15%` reads as 15,
//!      not 0.15). Separators: with both `.` and `,` the later one is the decimal point and
//!      the other the thousands separator (`1,200.00` and `1.200,00` are both 1200); a
//!      single `,` followed by exactly three digits is a thousands separator (`1,200` =
//!      1200 — the US reading of this ambiguous form) unless grouping is impossible
//!      (`0,500` = 0.5); any other single `,` is a decimal comma (`1,5` = 1.5); a single `.`
//!      is always a decimal point (`1.200` = 1.2); repeated `.` or `,` are thousands
//!      separators and must form groups of three (`1.200.000` = 1200000). Spaces,
//!      no-break spaces and `'` may also separate thousands (`1 200,50`). Plain scientific
//!      notation (`1.2e3`) is accepted; `inf`/`NaN` are not numbers. Numbers are equal if
//!      their relative difference is at most 1e-9;
//!   3. *date* (strings only), using `chrono::NaiveDate` formats: `2024-03-05`,
//!      `2024/03/05`, `2024.03.05`; slashed or dashed numeric dates are **US month/day/year**
//!      (`03/05/2024` = 5 March 2024), falling back to day/month/year only when the first
//!      number cannot be a month (`13/05/2024` = 13 May 2024); dotted dates are day-first
//!      European (`05.03.2024` = 5 March 2024, falling back to month-first when the
//!      middle number cannot be a month); two-digit years (`3/5/24`, years 1970–2069
//!      per chrono `%y`); month names in English, full or three-letter, any case, with
//!      optional weekday, ordinal suffix, commas and dots (`5 March 2024`, `March 5, 2024`,
//!      `5 Mar 2024`, `Tue, Mar 5th 2024`, `05-Mar-2024`, `2024 March 5`). Four-digit-year
//!      formats only accept years 1000–9999. Times and datetimes are not dates;
//!   4. otherwise *text*: Unicode lowercase, whitespace collapsed to single spaces, and
//!      leading/trailing punctuation and whitespace stripped. The stripped punctuation is
//!      ``. , ; : ! ? ' " ` ( ) [ ] { } < > * _ -``, `¡ ¿ « » · …`, the Unicode
//!      quotation marks, dashes and bullets in U+2010–U+2027, and CJK `、 。 「 」 『 』`
//!      (`$ % # + & @ /` are kept). No Unicode (NFC/NFKC) normalization is applied.
//!
//!   When both sides read as the same kind of typed value, the typed values decide
//!   (`-5` ≠ `5` even though their texts normalize alike); otherwise the normalized texts
//!   are compared.
//! * **fuzzy** — normalized, or similarity ≥ the field's threshold. Similarity is
//!   `strsim::normalized_levenshtein` (default) or `strsim::jaro_winkler` of the normalized
//!   texts; it is 1 for a normalized match and 0 when both sides are typed values of the
//!   same kind (numbers, dates and booleans never match "approximately").
//!
//! The leaf **score** is 1 if the flag of its configured mode (per-field rule, else
//! [`ExtractionConfig::default_mode`], default `normalized`) is set, else 0.
//!
//! # Empty expected values
//! An empty expected leaf (`null`, blank string, `[]`, `{}`) is correct iff the output has
//! nothing there: *exact* when the output key is absent, `null`, or JSON-equal to the
//! expected value (so `""` fails an expected `null` in exact mode); *normalized* and *fuzzy*
//! when the output is absent or empty. Such leaves
//! count in [`ItemScore::field_accuracy`] and [`ItemScore::record_exact`] but not in
//! precision/recall. A non-empty output where nothing was expected fails the leaf, and its
//! leaves are extra.
//!
//! # Item metrics
//! * `field_accuracy` = leaves scoring 1 / all expected leaves (empty ones included).
//! * `n_expected` = non-empty expected leaves; `n_predicted` = non-empty scalar leaves of
//!   the parsed output (everything the model asserted, wherever it sits); `n_matched` =
//!   non-empty expected leaves scoring 1 (each is backed by a distinct output leaf, so
//!   `n_matched <= n_predicted`).
//! * `precision` = `n_matched / n_predicted`, `recall` = `n_matched / n_expected`; a zero
//!   denominator gives 1 if the other count is also zero and 0 otherwise; `f1` is their
//!   harmonic mean (0 when both are 0). An item expecting nothing that gets nothing scores 1.
//! * `missing_fields`: non-empty expected leaves with no (or an empty) output value.
//!   A leaf with a wrong value is neither missing nor extra.
//! * `extra_fields`: non-empty output leaves not aligned with a non-empty expected leaf
//!   (unknown keys, unpaired list elements, values where the expected is empty, leaves
//!   below a shape mismatch).
//! * `record_exact`: every expected leaf scores 1 and there is no extra field (schema
//!   validity is reported separately and does not enter `record_exact`).
//! * `schema_valid`: `None` without a configured schema; otherwise whether the parsed output
//!   validates (`jsonschema`, draft auto-detected, compiled once in [`ExtractionScorer::new`]).
//!
//! # Parse failures
//! When no JSON can be recovered: `parsed = false`, `parse_error` says why, every expected
//! leaf (empty ones included) is listed in `fields` with score 0 and in `missing_fields`,
//! all item metrics are 0, `record_exact = false`, and `schema_valid = Some(false)` if a
//! schema is configured. Failures stay in every corpus denominator.
//!
//! # Corpus metrics ([`aggregate`])
//! `parse_rate` and `record_exact_match` are means over items; `schema_valid_rate` is the
//! mean over items with a schema verdict (`None` if none has one); `field_accuracy` is
//! micro-averaged (all matched leaves / all expected leaves of all items); micro
//! precision/recall/F1 use the summed counts with the same zero conventions; `macro_f1` is
//! the mean of item F1; `per_field_accuracy` is matched / occurrences per field
//! (`items[].sku`). With no items every rate is 0 and `schema_valid_rate` is `None`.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::jsonparse::parse_model_json;

/// How a leaf is judged (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    /// Same JSON type and value.
    Exact,
    /// Equal after number/date/boolean interpretation or text normalization.
    #[default]
    Normalized,
    /// Normalized, or string similarity at least the threshold.
    Fuzzy,
}

/// String similarity used by [`MatchMode::Fuzzy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FuzzyAlgo {
    /// `strsim::normalized_levenshtein` (1 − edit distance / longer length, in chars).
    #[default]
    Levenshtein,
    /// `strsim::jaro_winkler`.
    JaroWinkler,
}

/// Per-field override of the match mode, fuzzy threshold and fuzzy algorithm.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// Match mode; `None` uses [`ExtractionConfig::default_mode`].
    #[serde(default)]
    pub mode: Option<MatchMode>,
    /// Fuzzy threshold in `[0, 1]`; `None` uses [`ExtractionConfig::fuzzy_threshold`].
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Fuzzy algorithm; `None` means Levenshtein.
    #[serde(default)]
    pub algorithm: Option<FuzzyAlgo>,
}

fn default_fuzzy_threshold() -> f64 {
    0.85
}

/// Configuration of the extraction scorer (the `scoring` block of an extraction suite).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractionConfig {
    /// Mode for fields without a rule (default `normalized`).
    #[serde(default)]
    pub default_mode: MatchMode,
    /// Fuzzy threshold for fields without their own (default 0.85).
    #[serde(default = "default_fuzzy_threshold")]
    pub fuzzy_threshold: f64,
    /// Rules keyed by field path, e.g. `vendor.name` or `items[].sku`.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldRule>,
    /// Optional JSON Schema the parsed output is validated against.
    #[serde(default)]
    pub schema: Option<Value>,
}

impl Default for ExtractionConfig {
    fn default() -> Self {
        Self {
            default_mode: MatchMode::default(),
            fuzzy_threshold: default_fuzzy_threshold(),
            fields: BTreeMap::new(),
            schema: None,
        }
    }
}

/// The verdict on one expected leaf.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldResult {
    /// Leaf path with expected-list indices, e.g. `items[0].sku`.
    pub path: String,
    /// Field (path without list indices), e.g. `items[].sku`.
    pub field: String,
    /// Expected value.
    pub expected: Value,
    /// Output value aligned with this leaf (`None` if absent or unparseable output).
    pub actual: Option<Value>,
    /// Exact-mode verdict.
    pub exact: bool,
    /// Normalized-mode verdict.
    pub normalized: bool,
    /// Fuzzy-mode verdict (with this field's threshold and algorithm).
    pub fuzzy: bool,
    /// Similarity in `[0, 1]` used by the fuzzy verdict.
    pub similarity: f64,
    /// 1 if the verdict of the configured mode is true, else 0.
    pub score: f64,
}

/// Scores of one item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemScore {
    /// Whether a JSON value was recovered from the output.
    pub parsed: bool,
    /// Why parsing failed.
    pub parse_error: Option<String>,
    /// Schema verdict; `None` when no schema is configured.
    pub schema_valid: Option<bool>,
    /// One entry per expected leaf, in expected order.
    pub fields: Vec<FieldResult>,
    /// Matched leaves / expected leaves.
    pub field_accuracy: f64,
    /// `n_matched / n_predicted`.
    pub precision: f64,
    /// `n_matched / n_expected`.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// All leaves match and nothing extra.
    pub record_exact: bool,
    /// Paths of extra non-empty output leaves.
    pub extra_fields: Vec<String>,
    /// Paths of non-empty expected leaves with no output value.
    pub missing_fields: Vec<String>,
    /// Non-empty expected leaves.
    pub n_expected: usize,
    /// Non-empty output leaves.
    pub n_predicted: usize,
    /// Non-empty expected leaves that match.
    pub n_matched: usize,
}

/// Corpus-level extraction metrics (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorpusScore {
    /// Number of items.
    pub n: usize,
    /// Share of items whose output parsed.
    pub parse_rate: f64,
    /// Share of schema-valid outputs among items with a schema verdict.
    pub schema_valid_rate: Option<f64>,
    /// Micro-averaged field accuracy.
    pub field_accuracy: f64,
    /// Micro precision over non-empty leaves.
    pub micro_precision: f64,
    /// Micro recall over non-empty leaves.
    pub micro_recall: f64,
    /// Micro F1.
    pub micro_f1: f64,
    /// Mean of item F1.
    pub macro_f1: f64,
    /// Share of items with `record_exact`.
    pub record_exact_match: f64,
    /// Accuracy per field path (`items[].sku`).
    pub per_field_accuracy: BTreeMap<String, f64>,
}

/// Scorer holding the configuration and the compiled schema validator.
#[derive(Debug)]
pub struct ExtractionScorer {
    cfg: ExtractionConfig,
    validator: Option<jsonschema::Validator>,
}

/// Effective rule of one field.
#[derive(Debug, Clone, Copy)]
struct Rule {
    mode: MatchMode,
    threshold: f64,
    algo: FuzzyAlgo,
}

impl ExtractionScorer {
    /// Validate the configuration and compile the schema.
    ///
    /// # Errors
    /// A threshold outside `[0, 1]`, an empty field key or one with a list index
    /// (`items[0].sku` instead of `items[].sku`), or an invalid schema.
    pub fn new(cfg: &ExtractionConfig) -> Result<Self, String> {
        check_threshold("fuzzy_threshold", cfg.fuzzy_threshold)?;
        for (key, rule) in &cfg.fields {
            if key.trim().is_empty() {
                return Err("extraction field rule with an empty path".to_string());
            }
            let has_index = key
                .as_bytes()
                .windows(2)
                .any(|w| w[0] == b'[' && w[1].is_ascii_digit());
            if has_index {
                return Err(format!(
                    "extraction field rule {key:?}: rules apply to every list element, \
                     write `[]` instead of an index (e.g. `items[].sku`)"
                ));
            }
            if let Some(t) = rule.threshold {
                check_threshold(&format!("fields.{key}.threshold"), t)?;
            }
        }
        let validator = match &cfg.schema {
            None => None,
            Some(schema) => Some(
                jsonschema::validator_for(schema)
                    .map_err(|e| format!("invalid extraction JSON schema: {e}"))?,
            ),
        };
        Ok(Self {
            cfg: cfg.clone(),
            validator,
        })
    }

    /// The configuration this scorer was built from.
    pub fn config(&self) -> &ExtractionConfig {
        &self.cfg
    }

    /// Parse the model's raw text and score it against `expected`.
    pub fn score(&self, expected: &Value, output_text: &str) -> ItemScore {
        match parse_model_json(output_text) {
            Ok(actual) => self.score_value(expected, &actual),
            Err(err) => self.parse_failure(expected, err),
        }
    }

    /// Score an already-parsed output value against `expected`.
    pub fn score_value(&self, expected: &Value, actual: &Value) -> ItemScore {
        let mut acc = Acc::recording();
        let mut path = Vec::new();
        Run::new(self).compare(expected, Some(actual), &mut path, &mut acc);
        let total = acc.fields.len();
        let field_accuracy = ratio(acc.c.matched, total);
        let (precision, recall, f1) = prf(acc.c.tp, acc.c.predicted, acc.c.expected_nonempty);
        let record_exact = acc.c.matched == total && acc.extras.is_empty();
        ItemScore {
            parsed: true,
            parse_error: None,
            schema_valid: self.validator.as_ref().map(|v| v.is_valid(actual)),
            fields: acc.fields,
            field_accuracy,
            precision,
            recall,
            f1,
            record_exact,
            extra_fields: acc.extras,
            missing_fields: acc.missing,
            n_expected: acc.c.expected_nonempty,
            n_predicted: acc.c.predicted,
            n_matched: acc.c.tp,
        }
    }

    fn parse_failure(&self, expected: &Value, err: String) -> ItemScore {
        let mut acc = Acc::recording();
        let mut path = Vec::new();
        Run::new(self).compare(expected, None, &mut path, &mut acc);
        let mut fields = acc.fields;
        for f in &mut fields {
            f.exact = false;
            f.normalized = false;
            f.fuzzy = false;
            f.similarity = 0.0;
            f.score = 0.0;
        }
        let missing = fields.iter().map(|f| f.path.clone()).collect();
        ItemScore {
            parsed: false,
            parse_error: Some(err),
            schema_valid: self.validator.as_ref().map(|_| false),
            fields,
            field_accuracy: 0.0,
            precision: 0.0,
            recall: 0.0,
            f1: 0.0,
            record_exact: false,
            extra_fields: Vec::new(),
            missing_fields: missing,
            n_expected: acc.c.expected_nonempty,
            n_predicted: 0,
            n_matched: 0,
        }
    }

    fn rule_for(&self, field: &str) -> Rule {
        let mut key = field;
        loop {
            if let Some(r) = self.cfg.fields.get(key) {
                return Rule {
                    mode: r.mode.unwrap_or(self.cfg.default_mode),
                    threshold: r.threshold.unwrap_or(self.cfg.fuzzy_threshold),
                    algo: r.algorithm.unwrap_or_default(),
                };
            }
            match key.strip_suffix("[]") {
                Some(shorter) if !shorter.is_empty() => key = shorter,
                _ => break,
            }
        }
        self.default_rule()
    }

    fn default_rule(&self) -> Rule {
        Rule {
            mode: self.cfg.default_mode,
            threshold: self.cfg.fuzzy_threshold,
            algo: FuzzyAlgo::default(),
        }
    }
}

/// One scoring run: the scorer plus a cache of scalar interpretations, keyed by the address
/// of the scalar (the values outlive the run, so addresses are stable and unique).
struct Run<'s> {
    scorer: &'s ExtractionScorer,
    canon: RefCell<HashMap<usize, Rc<Canon>>>,
}

impl<'s> Run<'s> {
    fn new(scorer: &'s ExtractionScorer) -> Self {
        Self {
            scorer,
            canon: RefCell::new(HashMap::new()),
        }
    }

    fn canon(&self, v: &Value) -> Rc<Canon> {
        let key = v as *const Value as usize;
        if let Some(c) = self.canon.borrow().get(&key) {
            return Rc::clone(c);
        }
        let c = Rc::new(canon(v));
        self.canon.borrow_mut().insert(key, Rc::clone(&c));
        c
    }

    /// Rule of the leaf at `path` (paths are only rendered when rules exist).
    fn rule_at(&self, path: &[Seg<'_>]) -> Rule {
        if self.scorer.cfg.fields.is_empty() {
            self.scorer.default_rule()
        } else {
            self.scorer.rule_for(&render(path, true))
        }
    }

    /// Compare `exp` with the output value at the same position (`None` = absent).
    fn compare<'a>(
        &self,
        exp: &'a Value,
        act: Option<&'a Value>,
        path: &mut Vec<Seg<'a>>,
        acc: &mut Acc,
    ) {
        if is_empty(exp) {
            self.empty_leaf(exp, act, path, acc);
            return;
        }
        let present = act.filter(|a| !deep_empty(a));
        match exp {
            Value::Object(em) => {
                let am = match act {
                    Some(Value::Object(am)) => Some(am),
                    _ => None,
                };
                for (k, ev) in em {
                    path.push(Seg::Key(k));
                    self.compare(ev, am.and_then(|m| m.get(k)), path, acc);
                    path.pop();
                }
                match am {
                    Some(am) => {
                        for (k, av) in am {
                            if !em.contains_key(k) {
                                path.push(Seg::Key(k));
                                collect_extra(av, path, acc);
                                path.pop();
                            }
                        }
                    }
                    None => {
                        if let Some(other) = present {
                            collect_extra(other, path, acc);
                        }
                    }
                }
            }
            Value::Array(ea) => match act {
                Some(Value::Array(aa)) if !aa.is_empty() => self.compare_lists(ea, aa, path, acc),
                _ => {
                    for (i, ev) in ea.iter().enumerate() {
                        path.push(Seg::Idx(i));
                        self.compare(ev, None, path, acc);
                        path.pop();
                    }
                    if let Some(other) = present {
                        collect_extra(other, path, acc);
                    }
                }
            },
            _ => self.scalar_leaf(exp, act, present, path, acc),
        }
    }

    /// A leaf whose expected value is empty (null, blank, `[]`, `{}`).
    fn empty_leaf<'a>(
        &self,
        exp: &'a Value,
        act: Option<&'a Value>,
        path: &mut Vec<Seg<'a>>,
        acc: &mut Acc,
    ) {
        let rule = self.rule_at(path);
        let exact = act.is_none_or(|a| a.is_null() || json_exact_eq(a, exp));
        let normalized = act.is_none_or(deep_empty);
        let ok = match rule.mode {
            MatchMode::Exact => exact,
            MatchMode::Normalized | MatchMode::Fuzzy => normalized,
        };
        if let Some(a) = act {
            collect_extra(a, path, acc);
        }
        let similarity = if normalized { 1.0 } else { 0.0 };
        acc.c.leaves += 1;
        acc.c.sim += similarity;
        if ok {
            acc.c.matched += 1;
        }
        if acc.record {
            acc.fields.push(FieldResult {
                path: render(path, false),
                field: render(path, true),
                expected: exp.clone(),
                actual: act.cloned(),
                exact,
                normalized,
                fuzzy: normalized,
                similarity,
                score: if ok { 1.0 } else { 0.0 },
            });
        }
    }

    /// A leaf whose expected value is a non-empty scalar.
    fn scalar_leaf<'a>(
        &self,
        exp: &'a Value,
        act: Option<&'a Value>,
        present: Option<&'a Value>,
        path: &mut Vec<Seg<'a>>,
        acc: &mut Acc,
    ) {
        let rule = self.rule_at(path);
        acc.c.expected_nonempty += 1;
        let cmp = match present {
            None => {
                if acc.record {
                    acc.missing.push(render(path, false));
                }
                ScalarCmp::NONE
            }
            Some(a @ (Value::Object(_) | Value::Array(_))) => {
                collect_extra(a, path, acc);
                ScalarCmp::NONE
            }
            Some(a) => {
                acc.c.predicted += 1;
                self.compare_scalars(exp, a, rule.algo)
            }
        };
        let ScalarCmp {
            exact,
            normalized,
            similarity,
            fuzzy_allowed,
        } = cmp;
        let fuzzy = normalized || (fuzzy_allowed && similarity >= rule.threshold);
        let ok = match rule.mode {
            MatchMode::Exact => exact,
            MatchMode::Normalized => normalized,
            MatchMode::Fuzzy => fuzzy,
        };
        acc.c.leaves += 1;
        acc.c.sim += similarity;
        if ok {
            acc.c.matched += 1;
            acc.c.tp += 1;
        }
        if acc.record {
            acc.fields.push(FieldResult {
                path: render(path, false),
                field: render(path, true),
                expected: exp.clone(),
                actual: act.cloned(),
                exact,
                normalized,
                fuzzy,
                similarity,
                score: if ok { 1.0 } else { 0.0 },
            });
        }
    }

    /// Compare two non-empty scalars (cached interpretations).
    fn compare_scalars(&self, exp: &Value, act: &Value, algo: FuzzyAlgo) -> ScalarCmp {
        let exact = json_exact_eq(exp, act);
        if exact {
            return ScalarCmp {
                exact,
                normalized: true,
                similarity: 1.0,
                fuzzy_allowed: true,
            };
        }
        compare_canon(&self.canon(exp), &self.canon(act), algo)
    }

    /// Align an expected list with a non-empty output list (see "Alignment").
    fn compare_lists<'a>(
        &self,
        ea: &'a [Value],
        aa: &'a [Value],
        path: &mut Vec<Seg<'a>>,
        acc: &mut Acc,
    ) {
        let (n, m) = (ea.len(), aa.len());
        // Counting pass: every pairing and every element left alone.
        let mut base: Vec<Counts> = Vec::with_capacity(n);
        let mut pairs: Vec<Vec<Counts>> = Vec::with_capacity(n);
        for (i, e) in ea.iter().enumerate() {
            path.push(Seg::Idx(i));
            let mut b = Acc::counting();
            self.compare(e, None, path, &mut b);
            let mut row = Vec::with_capacity(m);
            for a in aa {
                let mut p = Acc::counting();
                self.compare(e, Some(a), path, &mut p);
                row.push(p.c);
            }
            path.pop();
            base.push(b.c);
            pairs.push(row);
        }
        // Lexicographic weights: gain, then matched non-empty leaves, then similarity.
        let t_total: usize = base.iter().map(|b| b.expected_nonempty).sum();
        let l_total: usize = base.iter().map(|b| b.leaves).sum();
        let alpha = 1.0 / (t_total as f64 + 1.0);
        let beta = alpha / (l_total as f64 + 1.0);
        let gain = |i: usize, j: usize| pairs[i][j].matched as i64 - base[i].matched as i64;
        let weight: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..m)
                    .map(|j| {
                        let g = gain(i, j);
                        if g >= 0 {
                            g as f64 + alpha * pairs[i][j].tp as f64 + beta * pairs[i][j].sim
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let assignment: Vec<Option<usize>> = assign_max(&weight, n, m)
            .into_iter()
            .enumerate()
            .map(|(i, j)| j.filter(|&j| gain(i, j) >= 0))
            .collect();
        let mut used = vec![false; m];
        for j in assignment.iter().flatten() {
            used[*j] = true;
        }
        if acc.record {
            // Recording pass over the chosen alignment only.
            for (i, e) in ea.iter().enumerate() {
                path.push(Seg::Idx(i));
                self.compare(e, assignment[i].map(|j| &aa[j]), path, acc);
                path.pop();
            }
            for (j, a) in aa.iter().enumerate() {
                if !used[j] {
                    path.push(Seg::Out(j));
                    collect_extra(a, path, acc);
                    path.pop();
                }
            }
        } else {
            for (i, b) in base.iter().enumerate() {
                acc.c.add(&assignment[i].map_or(*b, |j| pairs[i][j]));
            }
            for (j, a) in aa.iter().enumerate() {
                if !used[j] {
                    path.push(Seg::Out(j));
                    collect_extra(a, path, acc);
                    path.pop();
                }
            }
        }
    }
}

fn check_threshold(name: &str, t: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&t) {
        Ok(())
    } else {
        Err(format!("{name} must be within [0, 1], got {t}"))
    }
}

/// Counts of a (sub)comparison.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    /// Expected leaves.
    leaves: usize,
    /// Leaves scoring 1 (empty ones included).
    matched: usize,
    /// Non-empty expected leaves scoring 1.
    tp: usize,
    /// Non-empty expected leaves.
    expected_nonempty: usize,
    /// Non-empty output leaves.
    predicted: usize,
    /// Sum of leaf similarities (tie-breaking only).
    sim: f64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.leaves += o.leaves;
        self.matched += o.matched;
        self.tp += o.tp;
        self.expected_nonempty += o.expected_nonempty;
        self.predicted += o.predicted;
        self.sim += o.sim;
    }
}

/// Running totals of a (sub)comparison; `record` also keeps per-leaf details.
#[derive(Debug, Default)]
struct Acc {
    record: bool,
    c: Counts,
    fields: Vec<FieldResult>,
    extras: Vec<String>,
    missing: Vec<String>,
}

impl Acc {
    fn recording() -> Self {
        Self {
            record: true,
            ..Self::default()
        }
    }

    fn counting() -> Self {
        Self::default()
    }
}

/// One path segment.
#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    /// Index in the expected list.
    Idx(usize),
    /// Index of an unpaired element in the output list.
    Out(usize),
}

/// Render a path; `generic` drops list indices (`items[].sku`).
fn render(path: &[Seg<'_>], generic: bool) -> String {
    if path.is_empty() {
        return "$".to_string();
    }
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                let simple = !k.is_empty()
                    && *k != "$"
                    && !k.chars().any(|c| matches!(c, '.' | '[' | ']' | '"'));
                if simple {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                } else {
                    s.push('[');
                    s.push_str(&Value::String((*k).to_string()).to_string());
                    s.push(']');
                }
            }
            Seg::Idx(i) if !generic => s.push_str(&format!("[{i}]")),
            Seg::Out(j) if !generic => s.push_str(&format!("[out={j}]")),
            Seg::Idx(_) | Seg::Out(_) => s.push_str("[]"),
        }
    }
    s
}

/// Record every non-empty scalar below `v` as an extra output leaf.
fn collect_extra<'a>(v: &'a Value, path: &mut Vec<Seg<'a>>, acc: &mut Acc) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(Seg::Key(k));
                collect_extra(x, path, acc);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (j, x) in a.iter().enumerate() {
                path.push(Seg::Idx(j));
                collect_extra(x, path, acc);
                path.pop();
            }
        }
        Value::Null => {}
        Value::String(x) if x.trim().is_empty() => {}
        Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            acc.c.predicted += 1;
            if acc.record {
                acc.extras.push(render(path, false));
            }
        }
    }
}

/// `null`, a blank string, `[]` or `{}`.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// An output value with no content: `null`, a blank string, or a list/object of such values.
fn deep_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.iter().all(deep_empty),
        Value::Object(o) => o.values().all(deep_empty),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Precision, recall and F1 with the documented zero conventions.
fn prf(tp: usize, predicted: usize, expected: usize) -> (f64, f64, f64) {
    let p = if predicted == 0 {
        if expected == 0 {
            1.0
        } else {
            0.0
        }
    } else {
        tp as f64 / predicted as f64
    };
    let r = if expected == 0 {
        if predicted == 0 {
            1.0
        } else {
            0.0
        }
    } else {
        tp as f64 / expected as f64
    };
    let f = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    (p, r, f)
}

// ---------------------------------------------------------------------------------------
// Scalar comparison
// ---------------------------------------------------------------------------------------

/// Numbers compare by value: integers exactly, otherwise with relative tolerance `tol`.
fn num_eq(a: &Number, b: &Number, tol: f64) -> bool {
    if !a.is_f64() && !b.is_f64() {
        let ai = a.as_i64().map(i128::from).or(a.as_u64().map(i128::from));
        let bi = b.as_i64().map(i128::from).or(b.as_u64().map(i128::from));
        if let (Some(x), Some(y)) = (ai, bi) {
            return x == y;
        }
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => f64_close(x, y, tol),
        _ => false,
    }
}

fn f64_close(x: f64, y: f64, tol: f64) -> bool {
    x == y || (x - y).abs() <= tol * x.abs().max(y.abs())
}

/// Exact JSON equality (object key order ignored, numbers by value).
fn json_exact_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => num_eq(x, y, 1e-12),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_exact_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_exact_eq(v, w)))
        }
        _ => false,
    }
}

/// A scalar read as a typed value, if possible.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Typed {
    Bool(bool),
    Num(f64),
    Date(NaiveDate),
}

/// Interpretation of a scalar: typed value (if any) and normalized text.
#[derive(Debug, Clone)]
struct Canon {
    typed: Option<Typed>,
    text: String,
}

fn canon(v: &Value) -> Canon {
    match v {
        Value::Bool(b) => Canon {
            typed: Some(Typed::Bool(*b)),
            text: b.to_string(),
        },
        Value::Number(n) => Canon {
            typed: n.as_f64().map(Typed::Num),
            text: n.to_string(),
        },
        Value::String(s) => {
            let text = normalize_text(s);
            let typed = match text.as_str() {
                "true" | "yes" => Some(Typed::Bool(true)),
                "false" | "no" => Some(Typed::Bool(false)),
                _ => parse_number(s)
                    .map(Typed::Num)
                    .or_else(|| parse_date(s).map(Typed::Date)),
            };
            Canon { typed, text }
        }
        Value::Null | Value::Array(_) | Value::Object(_) => Canon {
            typed: None,
            text: String::new(),
        },
    }
}

/// Normalized equality of two canonical scalars.
fn canon_eq(a: &Canon, b: &Canon) -> Option<bool> {
    match (a.typed, b.typed) {
        (Some(Typed::Bool(x)), Some(Typed::Bool(y))) => Some(x == y),
        (Some(Typed::Num(x)), Some(Typed::Num(y))) => Some(f64_close(x, y, 1e-9)),
        (Some(Typed::Date(x)), Some(Typed::Date(y))) => Some(x == y),
        _ => None,
    }
}

/// Verdicts on two non-empty scalars.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ScalarCmp {
    exact: bool,
    normalized: bool,
    similarity: f64,
    /// False when both sides are typed values of the same kind (no approximate match).
    fuzzy_allowed: bool,
}

impl ScalarCmp {
    /// Nothing to compare with (absent, empty or non-scalar output).
    const NONE: ScalarCmp = ScalarCmp {
        exact: false,
        normalized: false,
        similarity: 0.0,
        fuzzy_allowed: false,
    };
}

/// Compare two non-empty scalars (uncached; see [`Run::compare_scalars`]).
#[cfg(test)]
fn compare_scalars(exp: &Value, act: &Value, algo: FuzzyAlgo) -> ScalarCmp {
    if json_exact_eq(exp, act) {
        return ScalarCmp {
            exact: true,
            normalized: true,
            similarity: 1.0,
            fuzzy_allowed: true,
        };
    }
    compare_canon(&canon(exp), &canon(act), algo)
}

/// Normalized verdict and similarity of two scalars that are not exactly equal.
fn compare_canon(ce: &Canon, ca: &Canon, algo: FuzzyAlgo) -> ScalarCmp {
    let (normalized, typed_both) = match canon_eq(ce, ca) {
        Some(eq) => (eq, true),
        None => (ce.text == ca.text, false),
    };
    let similarity = if normalized {
        1.0
    } else if typed_both {
        0.0
    } else {
        match algo {
            FuzzyAlgo::Levenshtein => strsim::normalized_levenshtein(&ce.text, &ca.text),
            FuzzyAlgo::JaroWinkler => strsim::jaro_winkler(&ce.text, &ca.text),
        }
    };
    ScalarCmp {
        exact: false,
        normalized,
        similarity,
        fuzzy_allowed: !typed_both,
    }
}

/// Characters stripped from both ends by text normalization.
fn is_strip_punct(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '\''
            | '"'
            | '`'
            | '('
            | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '<'
            | '>'
            | '*'
            | '_'
            | '-'
            | '¡'
            | '¿'
            | '«'
            | '»'
            | '·'
            | '…'
            | '、'
            | '。'
            | '「'
            | '」'
            | '『'
            | '』'
            | '\u{2010}'..='\u{2027}'
    )
}

/// Lowercase, collapse whitespace, strip surrounding punctuation.
fn normalize_text(s: &str) -> String {
    let lower = s.to_lowercase();
    let trimmed = lower.trim_matches(|c: char| c.is_whitespace() || is_strip_punct(c));
    trimmed.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------

const CURRENCY_SYMBOLS: [&str; 8] = ["US$", "$", "€", "£", "¥", "₹", "₩", "₽"];
const CURRENCY_CODES: [&str; 22] = [
    "USD", "EUR", "GBP", "JPY", "CNY", "INR", "CAD", "AUD", "CHF", "NZD", "SEK", "NOK", "DKK",
    "BRL", "MXN", "ZAR", "SGD", "HKD", "KRW", "RUB", "PLN", "RMB",
];

fn strip_currency_prefix(s: &str) -> Option<&str> {
    for sym in CURRENCY_SYMBOLS {
        if let Some(r) = s.strip_prefix(sym) {
            return Some(r);
        }
    }
    let head = s.get(..3)?;
    if CURRENCY_CODES.iter().any(|c| c.eq_ignore_ascii_case(head)) {
        let rest = &s[3..];
        // A code must be followed by something that is not a letter ("USDT" is no code).
        if !rest.starts_with(|c: char| c.is_alphabetic()) {
            return Some(rest);
        }
    }
    None
}

fn strip_currency_suffix(s: &str) -> Option<&str> {
    for sym in CURRENCY_SYMBOLS {
        if let Some(r) = s.strip_suffix(sym) {
            return Some(r);
        }
    }
    let cut = s.len().checked_sub(3)?;
    let tail = s.get(cut..)?;
    if CURRENCY_CODES.iter().any(|c| c.eq_ignore_ascii_case(tail)) {
        let rest = &s[..cut];
        if !rest.ends_with(|c: char| c.is_alphabetic()) {
            return Some(rest);
        }
    }
    None
}

/// Parse a human-written number (see the module documentation for the rules).
fn parse_number(raw: &str) -> Option<f64> {
    let mut s = raw.trim();
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    let mut negative: Option<bool> = None;
    let mut currency = false;
    loop {
        let before = s;
        if negative.is_none() {
            if let Some(r) = s.strip_prefix('-').or_else(|| s.strip_prefix('\u{2212}')) {
                negative = Some(true);
                s = r.trim_start();
            } else if let Some(r) = s.strip_prefix('+') {
                negative = Some(false);
                s = r.trim_start();
            }
        }
        if !currency {
            if let Some(r) = strip_currency_prefix(s) {
                currency = true;
                s = r.trim_start();
            }
        }
        if s == before {
            break;
        }
    }
    let mut percent = false;
    loop {
        let before = s;
        if !currency {
            if let Some(r) = strip_currency_suffix(s) {
                currency = true;
                s = r.trim_end();
            }
        }
        if !percent {
            if let Some(r) = s.strip_suffix('%') {
                percent = true;
                s = r.trim_end();
            }
        }
        if s == before {
            break;
        }
    }
    let v = parse_plain_number(s)?;
    Some(if negative == Some(true) { -v } else { v })
}

/// Digits with optional separators or plain scientific notation, no sign.
fn parse_plain_number(s: &str) -> Option<f64> {
    if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    if !s.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if let Some(epos) = s.find(['e', 'E']) {
        let (mant, exp) = (&s[..epos], &s[epos + 1..]);
        let exp_digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        let mant_ok = !mant.is_empty()
            && mant.chars().all(|c| c.is_ascii_digit() || c == '.')
            && mant.chars().filter(|&c| c == '.').count() <= 1
            && mant.chars().any(|c| c.is_ascii_digit());
        let exp_ok = !exp_digits.is_empty() && exp_digits.chars().all(|c| c.is_ascii_digit());
        return if mant_ok && exp_ok {
            s.parse::<f64>().ok().filter(|v| v.is_finite())
        } else {
            None
        };
    }
    let is_ws_group = |c: char| matches!(c, ' ' | '\'' | '\u{a0}' | '\u{202f}' | '\u{2009}');
    if !s
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == ',' || is_ws_group(c))
    {
        return None;
    }
    let mut ws_chars = s.chars().filter(|&c| is_ws_group(c)).collect::<Vec<_>>();
    ws_chars.dedup();
    if ws_chars.len() > 1 {
        return None;
    }
    let ws = ws_chars.first().copied();
    let dots = s.matches('.').count();
    let commas = s.matches(',').count();
    let candidates: Vec<(Option<char>, Option<char>)> = match (dots, commas) {
        (0, 0) => vec![(None, ws)],
        (_, _) if dots > 0 && commas > 0 => {
            if ws.is_some() {
                return None;
            }
            let last_dot = s.rfind('.')?;
            let last_comma = s.rfind(',')?;
            if last_dot > last_comma {
                vec![(Some('.'), Some(','))]
            } else {
                vec![(Some(','), Some('.'))]
            }
        }
        (1, 0) => vec![(Some('.'), ws)],
        (_, 0) => {
            if ws.is_some() {
                return None;
            }
            vec![(None, Some('.'))]
        }
        (0, 1) => {
            let after = s.rsplit(',').next().map_or(0, str::len);
            if after == 3 && ws.is_none() {
                vec![(None, Some(',')), (Some(','), None)]
            } else {
                vec![(Some(','), ws)]
            }
        }
        (0, _) => {
            if ws.is_some() {
                return None;
            }
            vec![(None, Some(','))]
        }
        _ => return None,
    };
    candidates
        .into_iter()
        .find_map(|(dec, group)| number_with(s, dec, group))
}

/// Parse `s` with the given decimal and grouping characters, validating groups of three.
fn number_with(s: &str, dec: Option<char>, group: Option<char>) -> Option<f64> {
    let (int_part, frac_part) = match dec {
        Some(d) => {
            let (i, f) = s.split_once(d)?;
            if f.is_empty() || !f.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            (i, Some(f))
        }
        None => (s, None),
    };
    let digits: String = match group {
        Some(g) if int_part.contains(g) => {
            let groups: Vec<&str> = int_part.split(g).collect();
            let first = groups.first()?;
            let first_ok = (1..=3).contains(&first.len()) && !first.starts_with('0');
            let rest_ok = groups[1..].iter().all(|x| x.len() == 3);
            let all_digits = groups.iter().all(|x| x.chars().all(|c| c.is_ascii_digit()));
            if !(first_ok && rest_ok && all_digits) {
                return None;
            }
            groups.concat()
        }
        _ => {
            if !int_part.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            int_part.to_string()
        }
    };
    if digits.is_empty() && frac_part.is_none() {
        return None;
    }
    let text = match frac_part {
        Some(f) => format!("{}.{f}", if digits.is_empty() { "0" } else { &digits }),
        None => digits,
    };
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

// ---------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------

/// Numeric formats, in priority order; `true` = four-digit year (years 1000–9999 only).
const NUMERIC_DATE_FORMATS: [(&str, bool); 13] = [
    ("%Y-%m-%d", true),
    ("%Y/%m/%d", true),
    ("%Y.%m.%d", true),
    ("%m/%d/%Y", true),
    ("%d/%m/%Y", true),
    ("%m-%d-%Y", true),
    ("%d-%m-%Y", true),
    ("%d.%m.%Y", true),
    ("%m.%d.%Y", true),
    ("%m/%d/%y", false),
    ("%d/%m/%y", false),
    ("%d.%m.%y", false),
    ("%m.%d.%y", false),
];

const NAMED_DATE_FORMATS: [&str; 3] = ["%d %B %Y", "%B %d %Y", "%Y %B %d"];

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn year_ok(d: NaiveDate, four_digit: bool) -> bool {
    !four_digit || (1000..=9999).contains(&d.year())
}

/// Parse a calendar date written in one of the supported formats.
fn parse_date(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    if s.len() < 6 || s.len() > 48 || !s.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    if s.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '/' | '-' | '.'))
    {
        return NUMERIC_DATE_FORMATS.iter().find_map(|(fmt, four)| {
            NaiveDate::parse_from_str(s, fmt)
                .ok()
                .filter(|d| year_ok(*d, *four))
        });
    }
    if !s.chars().any(|c| c.is_alphabetic()) {
        return None;
    }
    // Named month: unify separators, drop a weekday and ordinal suffixes.
    let lowered = s.to_lowercase();
    let spaced: String = lowered
        .chars()
        .map(|c| {
            if matches!(c, ',' | '.' | '-' | '/') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let mut tokens: Vec<String> = spaced.split_whitespace().map(str::to_string).collect();
    if let Some(first) = tokens.first() {
        let is_weekday = WEEKDAYS
            .iter()
            .any(|w| first == w || (first.len() == 3 && w.starts_with(first.as_str())));
        if is_weekday && tokens.len() > 3 {
            tokens.remove(0);
        }
    }
    for t in &mut tokens {
        if t == "sept" {
            *t = "sep".to_string();
        }
        for suffix in ["st", "nd", "rd", "th"] {
            if let Some(num) = t.strip_suffix(suffix) {
                if !num.is_empty() && num.len() <= 2 && num.chars().all(|c| c.is_ascii_digit()) {
                    *t = num.to_string();
                    break;
                }
            }
        }
    }
    if tokens.len() != 3 {
        return None;
    }
    let cleaned = tokens.join(" ");
    NAMED_DATE_FORMATS.iter().find_map(|fmt| {
        NaiveDate::parse_from_str(&cleaned, fmt)
            .ok()
            .filter(|d| year_ok(*d, true))
    })
}

// ---------------------------------------------------------------------------------------
// Assignment
// ---------------------------------------------------------------------------------------

/// Maximum-weight assignment of rows to columns (`weight` is `n x m`, all finite, >= 0).
/// Returns, per row, its column (every row gets one when `n <= m`).
fn assign_max(weight: &[Vec<f64>], n: usize, m: usize) -> Vec<Option<usize>> {
    if n == 0 || m == 0 {
        return vec![None; n];
    }
    let (small, large) = (n.min(m), n.max(m));
    if (small as f64) * (small as f64) * (large as f64) > 5e7 {
        return assign_greedy(weight, n, m);
    }
    if n <= m {
        hungarian_max(n, m, |i, j| weight[i][j])
    } else {
        let by_col = hungarian_max(m, n, |j, i| weight[i][j]);
        let mut out = vec![None; n];
        for (j, i) in by_col.into_iter().enumerate() {
            if let Some(i) = i {
                out[i] = Some(j);
            }
        }
        out
    }
}

/// Hungarian algorithm with potentials (rows <= cols), maximising total weight.
fn hungarian_max(rows: usize, cols: usize, w: impl Fn(usize, usize) -> f64) -> Vec<Option<usize>> {
    let inf = f64::INFINITY;
    // 1-based arrays; p[j] = row matched to column j (0 = none).
    let mut u = vec![0.0f64; rows + 1];
    let mut v = vec![0.0f64; cols + 1];
    let mut p = vec![0usize; cols + 1];
    let mut way = vec![0usize; cols + 1];
    for i in 1..=rows {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![inf; cols + 1];
        let mut used = vec![false; cols + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0usize;
            for j in 1..=cols {
                if !used[j] {
                    let cur = -w(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            if j1 == 0 {
                // Unreachable with finite weights; keep the partial matching.
                break;
            }
            for j in 0..=cols {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        if p[j0] != 0 {
            continue;
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![None; rows];
    for j in 1..=cols {
        if p[j] != 0 {
            out[p[j] - 1] = Some(j - 1);
        }
    }
    out
}

/// Greedy fallback for very large lists: highest weight first, ties by index.
fn assign_greedy(weight: &[Vec<f64>], n: usize, m: usize) -> Vec<Option<usize>> {
    let mut cells: Vec<(usize, usize)> = (0..n).flat_map(|i| (0..m).map(move |j| (i, j))).collect();
    cells.sort_by(|&(a, b), &(c, d)| {
        weight[c][d]
            .total_cmp(&weight[a][b])
            .then((a, b).cmp(&(c, d)))
    });
    let mut out = vec![None; n];
    let mut used = vec![false; m];
    for (i, j) in cells {
        if out[i].is_none() && !used[j] {
            out[i] = Some(j);
            used[j] = true;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Aggregation
// ---------------------------------------------------------------------------------------

/// An item's leaf counts: the sufficient statistics of the micro metrics, so they can be recomputed on any subset
/// (bootstrap resample) of items by summing counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeafCounts {
    /// Non-empty expected leaves that match.
    pub matched: usize,
    /// Non-empty output leaves.
    pub predicted: usize,
    /// Non-empty expected leaves.
    pub expected: usize,
}

impl LeafCounts {
    /// The counts of one item.
    pub fn of(item: &ItemScore) -> Self {
        LeafCounts {
            matched: item.n_matched,
            predicted: item.n_predicted,
            expected: item.n_expected,
        }
    }

    /// Add another item's counts.
    pub fn add(&mut self, o: LeafCounts) {
        self.matched += o.matched;
        self.predicted += o.predicted;
        self.expected += o.expected;
    }

    /// Micro precision, recall and F1 of counts summed over `n_items` items (all 0 when `n_items == 0`).
    pub fn micro_prf(&self, n_items: usize) -> (f64, f64, f64) {
        if n_items == 0 {
            (0.0, 0.0, 0.0)
        } else {
            prf(self.matched, self.predicted, self.expected)
        }
    }
}

/// Corpus metrics over item scores (see the module documentation).
pub fn aggregate(items: &[ItemScore]) -> CorpusScore {
    let n = items.len();
    let mean = |f: &dyn Fn(&ItemScore) -> f64| -> f64 {
        if n == 0 {
            0.0
        } else {
            items.iter().map(f).sum::<f64>() / n as f64
        }
    };
    let parse_rate = mean(&|i| if i.parsed { 1.0 } else { 0.0 });
    let record_exact_match = mean(&|i| if i.record_exact { 1.0 } else { 0.0 });
    let macro_f1 = mean(&|i| i.f1);
    let verdicts: Vec<bool> = items.iter().filter_map(|i| i.schema_valid).collect();
    let schema_valid_rate = if verdicts.is_empty() {
        None
    } else {
        Some(verdicts.iter().filter(|&&b| b).count() as f64 / verdicts.len() as f64)
    };
    let mut leaves = 0usize;
    let mut matched = 0usize;
    let mut counts = LeafCounts::default();
    let mut per_field: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for item in items {
        counts.add(LeafCounts::of(item));
        for f in &item.fields {
            leaves += 1;
            let ok = f.score >= 1.0;
            if ok {
                matched += 1;
            }
            let e = per_field.entry(f.field.clone()).or_insert((0, 0));
            e.0 += usize::from(ok);
            e.1 += 1;
        }
    }
    let (micro_precision, micro_recall, micro_f1) = counts.micro_prf(n);
    CorpusScore {
        n,
        parse_rate,
        schema_valid_rate,
        field_accuracy: ratio(matched, leaves),
        micro_precision,
        micro_recall,
        micro_f1,
        macro_f1,
        record_exact_match,
        per_field_accuracy: per_field
            .into_iter()
            .map(|(k, (ok, total))| (k, ratio(ok, total)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use serde_json::{json, Map};

    const CASES: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/golden/extraction_cases.json"
    ));

    fn golden() -> Value {
        serde_json::from_str(CASES).expect("golden file is valid JSON")
    }

    fn scorer(cfg: &Value) -> ExtractionScorer {
        let cfg: ExtractionConfig = if cfg.is_null() {
            ExtractionConfig::default()
        } else {
            serde_json::from_value(cfg.clone()).expect("case config deserializes")
        };
        ExtractionScorer::new(&cfg).expect("case config is valid")
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12
    }

    fn sorted(v: &[String]) -> Vec<String> {
        let mut v = v.to_vec();
        v.sort();
        v
    }

    fn strings(v: &Value) -> Vec<String> {
        let mut out: Vec<String> = v
            .as_array()
            .expect("list of paths")
            .iter()
            .map(|x| x.as_str().expect("path string").to_string())
            .collect();
        out.sort();
        out
    }

    fn field<'a>(s: &'a ItemScore, path: &str) -> &'a FieldResult {
        s.fields
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no field {path} in {:?}", s.fields))
    }

    #[test]
    fn golden_numbers() {
        let g = golden();
        let cases = g["numbers"].as_array().expect("numbers");
        for c in cases {
            let text = c[0].as_str().expect("text");
            let got = parse_number(text);
            match c[1].as_f64() {
                Some(want) => assert!(
                    got.is_some_and(|v| close(v, want)),
                    "{text:?}: got {got:?}, want {want}"
                ),
                None => assert_eq!(got, None, "{text:?} should not be a number"),
            }
        }
    }

    #[test]
    fn golden_dates() {
        let g = golden();
        for c in g["dates"].as_array().expect("dates") {
            let text = c[0].as_str().expect("text");
            let got = parse_date(text).map(|d| d.format("%Y-%m-%d").to_string());
            assert_eq!(got.as_deref(), c[1].as_str(), "{text:?}");
        }
    }

    #[test]
    fn golden_scalars() {
        let g = golden();
        for c in g["scalars"].as_array().expect("scalars") {
            let algo = match c["algo"].as_str() {
                Some("jaro_winkler") => FuzzyAlgo::JaroWinkler,
                _ => FuzzyAlgo::Levenshtein,
            };
            let r = compare_scalars(&c["a"], &c["b"], algo);
            assert_eq!(Some(r.exact), c["exact"].as_bool(), "exact {c}");
            assert_eq!(
                Some(r.normalized),
                c["normalized"].as_bool(),
                "normalized {c}"
            );
            if let Some(sim) = c["similarity"].as_f64() {
                assert!(
                    close(r.similarity, sim),
                    "similarity {c}: got {}",
                    r.similarity
                );
            }
            // Symmetry of every verdict.
            let back = compare_scalars(&c["b"], &c["a"], algo);
            assert_eq!(r, back, "asymmetric {c}");
        }
    }

    #[test]
    fn golden_items() {
        let g = golden();
        let cases = g["items"].as_array().expect("items");
        assert!(cases.len() >= 40);
        for case in cases {
            let name = case["name"].as_str().expect("name");
            let s = scorer(&case["config"]);
            let out = case["output"].as_str().expect("output");
            let got = s.score(&case["expected"], out);
            let want = case["want"].as_object().expect("want");
            for (key, w) in want {
                let ctx = format!("case {name:?}, key {key}: {got:#?}");
                match key.as_str() {
                    "parsed" => assert_eq!(Some(got.parsed), w.as_bool(), "{ctx}"),
                    "record_exact" => assert_eq!(Some(got.record_exact), w.as_bool(), "{ctx}"),
                    "schema_valid" => assert_eq!(got.schema_valid, w.as_bool(), "{ctx}"),
                    "parse_error_contains" => {
                        let needle = w.as_str().expect("needle");
                        assert!(
                            got.parse_error
                                .as_deref()
                                .is_some_and(|e| e.contains(needle)),
                            "{ctx}"
                        );
                    }
                    "field_accuracy" | "precision" | "recall" | "f1" => {
                        let v = match key.as_str() {
                            "field_accuracy" => got.field_accuracy,
                            "precision" => got.precision,
                            "recall" => got.recall,
                            _ => got.f1,
                        };
                        assert!(close(v, w.as_f64().expect("number")), "{ctx}");
                    }
                    "n_expected" => assert_eq!(Some(got.n_expected as u64), w.as_u64(), "{ctx}"),
                    "n_predicted" => assert_eq!(Some(got.n_predicted as u64), w.as_u64(), "{ctx}"),
                    "n_matched" => assert_eq!(Some(got.n_matched as u64), w.as_u64(), "{ctx}"),
                    "missing_fields" => {
                        assert_eq!(sorted(&got.missing_fields), strings(w), "{ctx}")
                    }
                    "extra_fields" => assert_eq!(sorted(&got.extra_fields), strings(w), "{ctx}"),
                    "scores" | "similarity" => {
                        for (path, v) in w.as_object().expect("map") {
                            let f = field(&got, path);
                            let x = if key == "scores" {
                                f.score
                            } else {
                                f.similarity
                            };
                            assert!(close(x, v.as_f64().expect("number")), "{ctx} @ {path}");
                        }
                    }
                    "actual" => {
                        for (path, v) in w.as_object().expect("map") {
                            let f = field(&got, path);
                            let want_actual = if v.is_null() { None } else { Some(v) };
                            assert_eq!(f.actual.as_ref(), want_actual, "{ctx} @ {path}");
                        }
                    }
                    "flags" => {
                        for (path, v) in w.as_object().expect("map") {
                            let f = field(&got, path);
                            let flags = json!([f.exact, f.normalized, f.fuzzy]);
                            assert_eq!(&flags, v, "{ctx} @ {path}");
                        }
                    }
                    other => panic!("unknown want key {other} in case {name}"),
                }
            }
            check_invariants(&got);
        }
    }

    #[test]
    fn golden_corpus() {
        let g = golden();
        let c = &g["corpus"];
        let s = scorer(&Value::Null);
        let items: Vec<ItemScore> = c["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| s.score(&i["expected"], i["output"].as_str().expect("output")))
            .collect();
        let got = aggregate(&items);
        let w = &c["want"];
        assert_eq!(Some(got.n as u64), w["n"].as_u64());
        assert_eq!(got.schema_valid_rate, w["schema_valid_rate"].as_f64());
        for (name, v) in [
            ("parse_rate", got.parse_rate),
            ("field_accuracy", got.field_accuracy),
            ("micro_precision", got.micro_precision),
            ("micro_recall", got.micro_recall),
            ("micro_f1", got.micro_f1),
            ("macro_f1", got.macro_f1),
            ("record_exact_match", got.record_exact_match),
        ] {
            assert!(close(v, w[name].as_f64().expect("number")), "{name}: {v}");
        }
        let pf = w["per_field_accuracy"].as_object().expect("map");
        assert_eq!(got.per_field_accuracy.len(), pf.len());
        for (k, v) in pf {
            let x = got.per_field_accuracy.get(k).copied().unwrap_or(f64::NAN);
            assert!(close(x, v.as_f64().expect("number")), "per_field {k}: {x}");
        }
    }

    /// Relations every item score must satisfy.
    fn check_invariants(s: &ItemScore) {
        assert!(s.n_matched <= s.n_predicted, "{s:?}");
        assert!(s.n_matched <= s.n_expected, "{s:?}");
        for v in [s.field_accuracy, s.precision, s.recall, s.f1] {
            assert!((0.0..=1.0).contains(&v), "{s:?}");
        }
        for f in &s.fields {
            assert!(!f.exact || f.normalized, "exact implies normalized: {f:?}");
            assert!(!f.normalized || f.fuzzy, "normalized implies fuzzy: {f:?}");
            assert!(f.score == 0.0 || f.score == 1.0);
        }
        let matched = s.fields.iter().filter(|f| f.score == 1.0).count();
        assert_eq!(
            s.record_exact,
            s.parsed && matched == s.fields.len() && s.extra_fields.is_empty()
        );
        let mut paths: Vec<&String> = s.fields.iter().map(|f| &f.path).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), s.fields.len(), "duplicate leaf paths: {s:?}");
    }

    #[test]
    fn config_defaults_and_validation() {
        let cfg: ExtractionConfig = serde_json::from_value(json!({})).expect("empty config");
        assert_eq!(cfg, ExtractionConfig::default());
        assert_eq!(cfg.fuzzy_threshold, 0.85);
        assert_eq!(cfg.default_mode, MatchMode::Normalized);
        assert!(serde_json::from_value::<ExtractionConfig>(json!({"mode": "exact"})).is_err());
        assert!(serde_json::from_value::<ExtractionConfig>(
            json!({"fields": {"a": {"mode": "fuzzy", "treshold": 0.5}}})
        )
        .is_err());
        let bad = |v: Value| {
            let cfg: ExtractionConfig = serde_json::from_value(v).expect("deserializes");
            ExtractionScorer::new(&cfg).err()
        };
        assert!(bad(json!({"fuzzy_threshold": 1.5})).is_some());
        assert!(bad(json!({"fields": {"a": {"threshold": -0.1}}})).is_some());
        assert!(bad(json!({"fields": {" ": {"mode": "exact"}}})).is_some());
        let e = bad(json!({"fields": {"items[0].sku": {"mode": "exact"}}})).unwrap_or_default();
        assert!(e.contains("items[].sku"), "{e}");
        let e = bad(json!({"schema": {"type": "no-such-type"}})).unwrap_or_default();
        assert!(e.contains("schema"), "{e}");
        assert!(
            bad(json!({"fields": {"a": {"threshold": 1.0}}, "schema": {"type": "object"}}))
                .is_none()
        );
    }

    #[test]
    fn scorer_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<ExtractionScorer>();
    }

    #[test]
    fn empty_corpus() {
        let c = aggregate(&[]);
        assert_eq!(c.n, 0);
        assert_eq!(c.parse_rate, 0.0);
        assert_eq!(c.schema_valid_rate, None);
        assert!(c.per_field_accuracy.is_empty());
    }

    #[test]
    fn schema_rate_counts_parse_failures() {
        let cfg = ExtractionConfig {
            schema: Some(json!({"type": "object"})),
            ..ExtractionConfig::default()
        };
        let s = ExtractionScorer::new(&cfg).expect("valid");
        let exp = json!({"a": 1});
        let items = [
            s.score(&exp, "{\"a\": 1}"),
            s.score(&exp, "[1]"),
            s.score(&exp, "nope"),
        ];
        let c = aggregate(&items);
        assert!(close(c.schema_valid_rate.unwrap_or(f64::NAN), 1.0 / 3.0));
        assert!(close(c.parse_rate, 2.0 / 3.0));
    }

    #[test]
    fn hungarian_matches_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..300 {
            let n = rng.random_range(1..=5);
            let m = rng.random_range(1..=5);
            let w: Vec<Vec<f64>> = (0..n)
                .map(|_| {
                    (0..m)
                        .map(|_| f64::from(rng.random_range(0u8..4)))
                        .collect()
                })
                .collect();
            let a = assign_max(&w, n, m);
            let total: f64 = a
                .iter()
                .enumerate()
                .filter_map(|(i, j)| j.map(|j| w[i][j]))
                .sum();
            let mut cols: Vec<usize> = a.iter().flatten().copied().collect();
            let k = cols.len();
            cols.sort_unstable();
            cols.dedup();
            assert_eq!(cols.len(), k, "one-to-one");
            assert_eq!(k, n.min(m), "full assignment");
            assert_eq!(total, brute(&w, 0, &mut vec![false; m]), "{w:?}");
            let g = assign_greedy(&w, n, m);
            assert_eq!(g.iter().flatten().count(), n.min(m));
        }
    }

    fn brute(w: &[Vec<f64>], i: usize, used: &mut Vec<bool>) -> f64 {
        if i == w.len() {
            return 0.0;
        }
        let mut best = brute(w, i + 1, used); // row i unassigned
        for j in 0..used.len() {
            if !used[j] {
                used[j] = true;
                best = best.max(w[i][j] + brute(w, i + 1, used));
                used[j] = false;
            }
        }
        best
    }

    #[test]
    fn paths_render_and_generalize() {
        let s = scorer(&Value::Null);
        let r = s.score_value(
            &json!({"items": [{"sku": "A"}], "x.y": {"z": 1}}),
            &json!({"items": [{"sku": "A"}], "x.y": {"z": 1}}),
        );
        let p: Vec<(&str, &str)> = r
            .fields
            .iter()
            .map(|f| (f.path.as_str(), f.field.as_str()))
            .collect();
        assert_eq!(
            p,
            vec![
                ("items[0].sku", "items[].sku"),
                ("[\"x.y\"].z", "[\"x.y\"].z")
            ]
        );
    }

    #[test]
    fn parse_failure_marks_null_leaves_wrong() {
        let s = scorer(&Value::Null);
        let r = s.score(&json!({"a": null, "b": [{"c": "x"}]}), "");
        assert!(!r.parsed);
        assert_eq!(r.fields.len(), 2);
        assert!(r.fields.iter().all(|f| f.score == 0.0 && !f.exact));
        assert_eq!(r.n_expected, 1);
        assert_eq!(sorted(&r.missing_fields), vec!["a", "b[0].c"]);
    }

    // ------------------------------------------------------------------ property tests

    fn rand_string(rng: &mut ChaCha8Rng) -> String {
        const WORDS: [&str; 14] = [
            "acme",
            "Corp.",
            "  spaced  out ",
            "Ünïcödé",
            "1,200.50",
            "2024-03-05",
            "March 5, 2024",
            "yes",
            "{brace}",
            "quote\"d",
            "x",
            "",
            "   ",
            "€ 1.234,56",
        ];
        let k = rng.random_range(1..=3);
        (0..k)
            .map(|_| WORDS[rng.random_range(0..WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn rand_value(rng: &mut ChaCha8Rng, depth: u32) -> Value {
        let kind = if depth == 0 {
            rng.random_range(0..5)
        } else {
            rng.random_range(0..7)
        };
        match kind {
            0 => Value::Null,
            1 => Value::Bool(rng.random()),
            2 => {
                if rng.random() {
                    json!(rng.random_range(-1000i64..1000))
                } else {
                    json!(f64::from(rng.random_range(-100_000i32..100_000)) / 7.0)
                }
            }
            3 | 4 => Value::String(rand_string(rng)),
            5 => {
                let n = rng.random_range(0..4);
                Value::Array((0..n).map(|_| rand_value(rng, depth - 1)).collect())
            }
            _ => {
                let n = rng.random_range(0..5);
                let mut m = Map::new();
                for i in 0..n {
                    let key = if rng.random_range(0..10) == 0 {
                        format!("k.{i}")
                    } else {
                        format!("k{i}")
                    };
                    m.insert(key, rand_value(rng, depth - 1));
                }
                Value::Object(m)
            }
        }
    }

    /// Shuffle object keys (and, if `lists`, list elements) recursively.
    fn shuffle(v: &Value, rng: &mut ChaCha8Rng, lists: bool) -> Value {
        match v {
            Value::Object(m) => {
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                entries.shuffle(rng);
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, x)| (k.clone(), shuffle(x, rng, lists)))
                        .collect(),
                )
            }
            Value::Array(a) => {
                let mut items: Vec<Value> = a.iter().map(|x| shuffle(x, rng, lists)).collect();
                if lists {
                    items.shuffle(rng);
                }
                Value::Array(items)
            }
            other => other.clone(),
        }
    }

    /// Randomly damage a value: drop keys, change scalars, add keys, null things out.
    fn mutate(v: &Value, rng: &mut ChaCha8Rng) -> Value {
        match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, x) in m {
                    match rng.random_range(0..8) {
                        0 => {}
                        1 => {
                            out.insert(k.clone(), Value::Null);
                        }
                        _ => {
                            out.insert(k.clone(), mutate(x, rng));
                        }
                    }
                }
                if rng.random_range(0..4) == 0 {
                    out.insert("extra".to_string(), rand_value(rng, 1));
                }
                Value::Object(out)
            }
            Value::Array(a) => {
                let mut items: Vec<Value> = Vec::new();
                for x in a {
                    if rng.random_range(0..6) != 0 {
                        items.push(mutate(x, rng));
                    }
                }
                if rng.random_range(0..4) == 0 {
                    items.push(rand_value(rng, 1));
                }
                Value::Array(items)
            }
            other => {
                if rng.random_range(0..4) == 0 {
                    rand_value(rng, 0)
                } else {
                    other.clone()
                }
            }
        }
    }

    fn configs() -> Vec<ExtractionScorer> {
        [MatchMode::Exact, MatchMode::Normalized, MatchMode::Fuzzy]
            .into_iter()
            .map(|mode| {
                ExtractionScorer::new(&ExtractionConfig {
                    default_mode: mode,
                    ..ExtractionConfig::default()
                })
                .expect("valid")
            })
            .collect()
    }

    #[test]
    fn property_self_serialization_scores_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(2024);
        let scorers = configs();
        for _ in 0..400 {
            let v = rand_value(&mut rng, 3);
            let texts = [
                serde_json::to_string(&v).expect("serializes"),
                format!(
                    "Here you go:\n```json\n{}\n```",
                    serde_json::to_string_pretty(&v).expect("serializes")
                ),
            ];
            for s in &scorers {
                for text in &texts {
                    let r = s.score(&v, text);
                    assert!(r.parsed, "{text}");
                    assert!(
                        r.fields.iter().all(|f| f.score == 1.0 && f.exact),
                        "{v} via {text}: {r:#?}"
                    );
                    assert_eq!(r.field_accuracy, 1.0);
                    assert_eq!(r.f1, 1.0);
                    assert!(r.record_exact, "{v}: {r:#?}");
                    assert!(r.missing_fields.is_empty() && r.extra_fields.is_empty());
                    check_invariants(&r);
                }
            }
        }
    }

    type Summary = (u64, u64, u64, usize, usize, usize, Vec<(String, f64)>);

    fn summary(r: &ItemScore) -> Summary {
        let mut scores: Vec<(String, f64)> =
            r.fields.iter().map(|f| (f.path.clone(), f.score)).collect();
        scores.sort_by(|a, b| a.0.cmp(&b.0));
        (
            r.field_accuracy.to_bits(),
            r.precision.to_bits(),
            r.recall.to_bits(),
            r.n_expected,
            r.n_predicted,
            r.n_matched,
            scores,
        )
    }

    #[test]
    fn property_key_order_invariance() {
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let scorers = configs();
        for _ in 0..300 {
            let exp = rand_value(&mut rng, 3);
            let act = mutate(&exp, &mut rng);
            let exp2 = shuffle(&exp, &mut rng, false);
            let act2 = shuffle(&act, &mut rng, false);
            for s in &scorers {
                let a = s.score_value(&exp, &act);
                let b = s.score_value(&exp2, &act2);
                check_invariants(&a);
                assert_eq!(summary(&a), summary(&b), "{exp} vs {act}");
                assert_eq!(sorted(&a.extra_fields), sorted(&b.extra_fields));
                assert_eq!(sorted(&a.missing_fields), sorted(&b.missing_fields));
                assert_eq!(a.record_exact, b.record_exact);
            }
        }
    }

    /// Lists of small flat records over a tiny alphabet (many partial agreements, ties and
    /// null slots): the scorer's matched-leaf total must equal the brute-force optimum over
    /// all partial one-to-one pairings, and be invariant to the output order.
    #[test]
    fn property_list_alignment_is_optimal() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let s = scorer(&Value::Null);
        let keys = ["p", "q", "r"];
        let pick = |rng: &mut ChaCha8Rng| -> Value {
            match rng.random_range(0..4) {
                0 => Value::Null,
                1 => json!("a"),
                2 => json!("b"),
                _ => json!("c"),
            }
        };
        for _ in 0..400 {
            let n = rng.random_range(1..=5);
            let m = rng.random_range(1..=5);
            let exp: Vec<Value> = (0..n)
                .map(|_| {
                    Value::Object(
                        keys.iter()
                            .map(|k| (k.to_string(), pick(&mut rng)))
                            .collect(),
                    )
                })
                .collect();
            let act: Vec<Value> = (0..m)
                .map(|_| {
                    Value::Object(
                        keys.iter()
                            .map(|k| (k.to_string(), pick(&mut rng)))
                            .collect(),
                    )
                })
                .collect();
            let base: Vec<f64> = exp
                .iter()
                .map(|e| keys.iter().filter(|k| e[**k].is_null()).count() as f64)
                .collect();
            let w: Vec<Vec<f64>> = exp
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    act.iter()
                        .map(|a| {
                            let hits = keys.iter().filter(|k| e[**k] == a[**k]).count() as f64;
                            (hits - base[i]).max(0.0)
                        })
                        .collect()
                })
                .collect();
            let optimum = base.iter().sum::<f64>() + brute(&w, 0, &mut vec![false; m]);
            let r = s.score_value(&json!({ "l": exp }), &json!({ "l": act }));
            let matched = r.fields.iter().filter(|f| f.score == 1.0).count() as f64;
            assert_eq!(matched, optimum, "{exp:?} vs {act:?}: {r:#?}");
            let mut act2 = act.clone();
            act2.shuffle(&mut rng);
            let r2 = s.score_value(&json!({ "l": exp }), &json!({ "l": act2 }));
            assert_eq!(summary(&r).0, summary(&r2).0);
            assert_eq!(r.n_matched, r2.n_matched);
            check_invariants(&r);
        }
    }

    #[test]
    fn property_output_list_order_invariance() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let scorers = configs();
        for _ in 0..300 {
            let exp = rand_value(&mut rng, 3);
            let act = mutate(&exp, &mut rng);
            let act2 = shuffle(&act, &mut rng, true);
            for s in &scorers {
                let a = s.score_value(&exp, &act);
                let b = s.score_value(&exp, &act2);
                check_invariants(&b);
                // Pairings may differ between equally good optima; the totals may not.
                assert_eq!(
                    a.field_accuracy, b.field_accuracy,
                    "{exp} vs {act} / {act2}"
                );
                assert_eq!(a.n_matched, b.n_matched, "{exp} vs {act} / {act2}");
                assert_eq!(a.n_predicted, b.n_predicted);
                assert_eq!(a.f1, b.f1);
            }
        }
    }
}
