//! Checking a model's tool calls against expected calls, BFCL style.
//!
//! Why: a provider migration often moves agents that call tools, and "does the
//! cheaper model still call the right function with the right arguments" is a
//! question with a well-known reference: the AST checker of the Berkeley Function
//! Calling Leaderboard (BFCL, `bfcl-eval` on PyPI: `bfcl_eval/eval_checker/ast_eval/
//! ast_checker.py`). Two modes, chosen per suite with
//! `scoring: {function_call: {compat: strict | bfcl}}` or per run of
//! `evalh metrics function-call --compat strict|bfcl`:
//!
//! * **`bfcl`** reproduces the verdict of BFCL's checker for a function-calling
//!   model (tool names with `.` sent as `_`), rule for rule, and reports BFCL's own
//!   error type (`bfcl_error`, e.g. `type_error:nested`) next to evalh's. Checked
//!   against golden vectors made by running `bfcl-eval` itself on cases derived
//!   from all of BFCL v4's simple, multiple, parallel, parallel_multiple and
//!   irrelevance entries and their live_ versions
//!   (`scripts/golden/bfcl_agreement.py`): the verdict and the error type agree on
//!   every case except BFCL's greedy pairing of parallel calls, which is not
//!   copied (see fix 1 below). Use it to put a number next to the leaderboard's.
//! * **`strict`** (the default) keeps BFCL's data format and rules, fixes its
//!   flaws and checks the tool schema too; the differences are listed below.
//!
//! Data format: each expected argument lists **all acceptable values**; `""`
//! among them (or the argument missing from the expected call) means it may be
//! omitted. BFCL schema dialect types (`dict`, `float`, `tuple`, `any`) are mapped
//! to JSON Schema (`object`, `number`, `array`, no constraint). A call's
//! `arguments` is an object, or a string holding a JSON object (the OpenAI wire
//! format); **`""` (or blank) and `null` mean "no arguments", `{}`** — evalh's
//! provider clients turn the empty argument string some servers send for an
//! argument-less call into `{}` before anything is scored. Only `compat: bfcl`
//! differs, as BFCL's decoder does: there an argument string must be JSON, so `""`
//! fails to decode.
//!
//! Strict mode, per call, in this order: function name (a `.` in the expected
//! name may appear as `_`, as OpenAI-style names cannot contain dots) → no
//! argument outside the tool schema and the expected call
//! ([`CallError::UnexpectedArg`]) → required arguments (schema `required`, plus
//! expected arguments without `""`) present ([`CallError::MissingRequiredArg`]) →
//! types from the schema ([`CallError::WrongType`]; an integer is accepted for
//! `number`, and a float with zero fraction for `integer`, as JSON Schema does;
//! booleans are strict) → values ([`CallError::WrongValue`]) → JSON Schema
//! validation of the whole argument object with the `jsonschema` crate
//! ([`CallError::SchemaInvalid`], catches `enum`, `minimum`, `pattern`, ...).
//! **A value the answer key lists is never scored wrong**, whatever the schema
//! says: an argument whose value matches an acceptable value skips the type and
//! schema checks, and `enum` compares after the same standardisation as values.
//!
//! Values: strings are compared after BFCL's `standardize_string` (lowercase,
//! remove ` ,./-_*^`, `'` → `"`); numbers exactly by value, as Python compares
//! them (`1 == 1.0`, but `9007199254740993 != 9007199254740992.0`: integers are
//! never rounded to a double); lists element by element in order; dicts
//! recursively, where each expected field again lists acceptable values (`""` =
//! may be omitted); lists of dicts likewise. JSON numbers are parsed as Python's
//! `json` does: integers exactly at any size (argument strings and answer keys;
//! see `exact.rs`), decimals to the nearest double.
//!
//! * **fix 1** (both modes): parallel calls are paired by a *maximum* bipartite
//!   matching (augmenting paths), not BFCL's greedy first match, so a correct
//!   answer is never rejected because of call order;
//! * **fix 2** (strict): an argument payload that is not a JSON object (or a
//!   string holding one) is [`CallError::UnparseableArguments`] and never correct;
//!   on an irrelevance item (no call expected) *any* attempted call, parseable or
//!   not, is [`CallError::WrongCallOnIrrelevance`] (BFCL counts a decode failure
//!   as a correct abstention, gorilla issue #1362);
//! * not calling at all when a call was expected is [`CallError::Abstained`],
//!   kept apart from wrong calls (BFCL: a count or decode error).
//!
//! Where strict mode and BFCL differ. The last column counts the strict-vs-BFCL
//! disagreements each rule causes among all 95,766 cases the golden script
//! generates (7,825 in all; run it with a large `BFCL_GOLDEN_CAP`); on every other
//! kind of case (wrong values, types, names, counts, missing and extra arguments,
//! standardised strings and enums, abstentions, calls on irrelevance items, ...)
//! the two agree:
//!
//! | rule | BFCL | evalh strict | why | cases |
//! |---|---|---|---|---|
//! | pairing parallel calls | greedy first match: a correct set can fail on call order | maximum matching (`compat: bfcl` too) | call order is not an error | 7 |
//! | undecodable or non-object arguments, or `arguments: ""`, on an irrelevance item | counted as no call: correct | a wrong call | the model did try to call (gorilla #1362) | 4,476 |
//! | `arguments: ""` where no argument is needed | does not decode: wrong | no arguments, `{}`: correct | servers send `""` for an argument-less call | 32 |
//! | dotted tool names (`math.factorial`) | only the `_` form (FC models) | `.` or `_` | providers differ in what names they allow | 1,088 |
//! | `5.0` for an `integer`, also inside arrays | type error | accepted, equal to `5` | JSON has one number type; JSON Schema agrees | 2,127 |
//! | integers inside a `float` array | type error unless the answer lists integers | accepted | an integer is a number | 7 |
//! | an integer for a `float` parameter | turned into a double first (`2**53+1` rounds) | compared exactly | numbers are compared exactly | 1 |
//! | schema parameter the answer does not mention | unexpected parameter | accepted if type-correct and schema-valid | the answer key does not constrain it | 39 |
//! | answer parameter missing from the schema (a BFCL data bug) | unexpected parameter | accepted | the answer key lists it | 22 |
//! | value whose type differs from the schema's (`"dontcare"` for an integer) | accepted if listed exactly, not standardised; `""` accepted too | accepted after standardisation; `""` only where the schema allows a string | one rule for every listed value; `""` is the omission marker | 24 |
//! | strings inside nested lists and dicts | standardised at the first level only | standardised at every depth | case and punctuation are not content at any depth | 2 |
//! | `enum`, `minimum`, `pattern`, ... | not checked | checked (`schema_invalid`), `enum` after standardisation, never against a listed value | a call the tool would reject is wrong | 0 |
//! | `True == 1` inside compared lists and dicts | equal (Python) | a boolean never equals a number | JSON types | 0 |
//! | `multiple` items with several expected calls | only the first call is checked | every call | every call matters | 0 |
//!
//! BFCL's data has no case for the last three rows; the hand-written cases of
//! `scripts/golden/bfcl_cases.py` cover them.
//!
//! Compiled schema validators are cached: [`ToolSet`] compiles a tool list once;
//! the free functions [`check`] and [`check_compat`] use a process-wide cache
//! keyed by tool name and schema text, so each distinct tool schema is compiled
//! once per process.
//!
//! Per-category accuracy ([`category_summary`]) follows BFCL's summary: items are
//! put in BFCL's categories by their id (`simple_python_3`, `live_multiple_0-0-0`,
//! ...), or by the shape of their expected calls when the id says nothing (then
//! never live).

mod bfcl;
mod category;
mod exact;
mod matching;
mod schema;
mod strict;
mod values;

#[cfg(test)]
mod tests;

pub use category::{category_summary, Category};
pub use exact::{has_long_digit_run as may_hold_big_int, parse as parse_exact_json};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

use schema::CompiledTool;

use crate::chat::{ToolCall, ToolDef};

/// One expected call (BFCL `possible_answer` format).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExpectedCall {
    /// Function name.
    pub name: String,
    /// Argument name → array of acceptable values. `""` among them marks an
    /// optional argument; an argument not listed here may be omitted too.
    pub arguments: Map<String, Value>,
}

/// Which rules decide a function call's verdict.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Compat {
    /// evalh's rules: BFCL's, with its flaws fixed and the tool schema checked.
    #[default]
    Strict,
    /// The BFCL AST checker's verdict, rule for rule (call order excepted).
    Bfcl,
}

/// Function-calling scoring settings (`scoring.function_call` in a suite).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionCallConfig {
    /// `strict` (default) or `bfcl`.
    #[serde(default)]
    pub compat: Compat,
}

/// Why a function-call item was scored wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallError {
    /// The number of calls differs from the number expected.
    WrongCount,
    /// The called functions are not the expected ones.
    WrongName,
    /// A required argument is missing.
    MissingRequiredArg,
    /// An argument that is neither in the tool schema nor in the expected call.
    UnexpectedArg,
    /// An argument has the wrong JSON type for the tool schema.
    WrongType,
    /// An argument value is not among the acceptable values.
    WrongValue,
    /// The argument object fails JSON Schema validation against the tool schema.
    SchemaInvalid,
    /// The arguments are not a JSON object (or a string holding one); a blank
    /// string or `null` is no arguments, `{}`, not this error (except under
    /// `compat: bfcl`, where a string must decode as JSON).
    UnparseableArguments,
    /// A call was made although none was expected (irrelevance item).
    WrongCallOnIrrelevance,
    /// No call was made although one was expected.
    Abstained,
}

/// The verdict on one item.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CallVerdict {
    /// The item is correct: `args_correct` and exactly as many calls as expected
    /// (for irrelevance items: no call at all).
    pub correct: bool,
    /// Every expected call can be paired one-to-one with an actual call of the
    /// same function name, and there are no extra calls.
    pub name_correct: bool,
    /// Every expected call can be paired one-to-one with an actual call that
    /// passes every check (extra calls are judged by `correct`, not here).
    pub args_correct: bool,
    /// The main reason the item is wrong; `None` when correct.
    pub error: Option<CallError>,
    /// `compat: bfcl` only: BFCL's own error type (`type_error:simple`,
    /// `parallel_function_checker_no_order:cannot_find_match`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bfcl_error: Option<String>,
    /// Human-readable explanation.
    pub detail: String,
    /// The item expects no call (irrelevance detection).
    pub irrelevance: bool,
    /// Each expected call's function name and whether it was matched, in the
    /// order of the expected calls.
    pub per_function: Vec<(String, bool)>,
}

type CacheKey = (String, String);

fn global_cache() -> &'static Mutex<HashMap<CacheKey, Arc<CompiledTool>>> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, Arc<CompiledTool>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// A tool list with compiled argument validators; build once, check many items.
#[derive(Debug, Clone)]
pub struct ToolSet {
    tools: Vec<Arc<CompiledTool>>,
}

impl ToolSet {
    /// Compiles the schemas of `tools`. A schema that does not compile disables
    /// schema validation for that tool only (see [`ToolSet::schema_errors`]).
    pub fn new(tools: &[ToolDef]) -> Self {
        ToolSet {
            tools: tools
                .iter()
                .map(|t| Arc::new(CompiledTool::new(t)))
                .collect(),
        }
    }

    /// Like [`ToolSet::new`], but reuses validators from the process-wide cache.
    pub fn cached(tools: &[ToolDef]) -> Self {
        let mut cache = global_cache()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let tools = tools
            .iter()
            .map(|t| {
                let key = (t.name.clone(), t.parameters.to_string());
                Arc::clone(
                    cache
                        .entry(key)
                        .or_insert_with(|| Arc::new(CompiledTool::new(t))),
                )
            })
            .collect();
        ToolSet { tools }
    }

    /// Tools whose parameter schema could not be compiled: `(name, error)`.
    pub fn schema_errors(&self) -> Vec<(String, String)> {
        self.tools
            .iter()
            .filter_map(|t| {
                t.validator
                    .as_ref()
                    .err()
                    .map(|e| (t.name.clone(), e.clone()))
            })
            .collect()
    }

    /// Whether a tool of exactly this name is in the set.
    pub fn has(&self, name: &str) -> bool {
        self.tools.iter().any(|t| t.name == name)
    }

    fn tool(&self, called: &str) -> Option<&CompiledTool> {
        self.tools
            .iter()
            .find(|t| t.name == called)
            .or_else(|| self.tools.iter().find(|t| names_match(&t.name, called)))
            .map(|t| t.as_ref())
    }

    /// Checks the model's calls for one item in strict mode; see [`check`].
    pub fn check(&self, expected: &[ExpectedCall], actual: &[ToolCall]) -> CallVerdict {
        strict::check(self, expected, actual)
    }

    /// Checks the model's calls for one item under `compat`. `category` (BFCL's,
    /// usually [`Category::from_id`] of the item id) matters to `bfcl` only: it
    /// decides which calls BFCL looks at and its error types; `None` = from the
    /// shape of `expected` ([`Category::from_shape`]).
    pub fn check_compat(
        &self,
        expected: &[ExpectedCall],
        actual: &[ToolCall],
        compat: Compat,
        category: Option<Category>,
    ) -> CallVerdict {
        match compat {
            Compat::Strict => strict::check(self, expected, actual),
            Compat::Bfcl => bfcl::check(self, expected, actual, category),
        }
    }
}

/// Checks the model's calls `actual` for one item against `expected` (empty =
/// irrelevance item, the model must not call anything), with the tool
/// definitions `tools` offered to the model, in strict mode. Validators come from
/// a process-wide cache; use [`ToolSet`] to manage the compilation yourself.
pub fn check(expected: &[ExpectedCall], actual: &[ToolCall], tools: &[ToolDef]) -> CallVerdict {
    ToolSet::cached(tools).check(expected, actual)
}

/// [`check`] under `compat` (see [`ToolSet::check_compat`]).
pub fn check_compat(
    expected: &[ExpectedCall],
    actual: &[ToolCall],
    tools: &[ToolDef],
    compat: Compat,
    category: Option<Category>,
) -> CallVerdict {
    ToolSet::cached(tools).check_compat(expected, actual, compat, category)
}

fn verdict(
    error: Option<CallError>,
    detail: String,
    name_correct: bool,
    args_correct: bool,
    irrelevance: bool,
    per_function: Vec<(String, bool)>,
) -> CallVerdict {
    CallVerdict {
        correct: error.is_none(),
        name_correct,
        args_correct,
        error,
        bfcl_error: None,
        detail,
        irrelevance,
        per_function,
    }
}

/// `true` if `actual` names the `expected` function (dots may appear as `_`).
fn names_match(expected: &str, actual: &str) -> bool {
    expected == actual || (expected.contains('.') && expected.replace('.', "_") == actual)
}

/// The argument object of a call: an object as is; a string holding a JSON
/// object is parsed; `null` and blank strings mean no arguments.
fn parse_args(v: &Value) -> Result<Map<String, Value>, String> {
    match v {
        Value::Object(m) => Ok(m.clone()),
        Value::Null => Ok(Map::new()),
        Value::String(s) if s.trim().is_empty() => Ok(Map::new()),
        Value::String(s) => match exact::parse(s) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(other) => Err(format!(
                "arguments are a JSON {} string, not an object",
                json_type(&other)
            )),
            Err(e) => Err(format!("arguments are not valid JSON: {e}")),
        },
        other => Err(format!(
            "arguments are a JSON {}, not an object",
            json_type(other)
        )),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) if exact::is_big_int(v) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
