//! Checking a model's tool calls against expected calls, BFCL style.
//!
//! Why: a provider migration often moves agents that call tools, and "does the
//! cheaper model still call the right function with the right arguments" is a
//! question with a well-known reference: the AST checker of the Berkeley Function
//! Calling Leaderboard (`ShishirPatil/gorilla`, `bfcl_eval/eval_checker/ast_eval/
//! ast_checker.py`). This module reimplements its semantics on JSON tool calls
//! (native `tool_calls`, not Python-syntax parsing) and fixes its known flaws:
//!
//! * data format: each expected argument lists **all acceptable values**; `""`
//!   among them (or the argument missing from the expected call) means it may be
//!   omitted. BFCL schema dialect types (`dict`, `float`, `tuple`, `any`) are
//!   mapped to JSON Schema (`object`, `number`, `array`, no constraint);
//! * per call, in this order: function name (a `.` in the expected name may appear
//!   as `_`, as OpenAI-style names cannot contain dots) → no argument outside the
//!   tool schema and the expected call ([`CallError::UnexpectedArg`]) → required
//!   arguments (schema `required`, plus expected arguments without `""`) present
//!   ([`CallError::MissingRequiredArg`]) → types from the schema
//!   ([`CallError::WrongType`]; an integer is accepted for `number`, and a float
//!   with zero fraction for `integer`, as JSON Schema does; booleans are strict) →
//!   values ([`CallError::WrongValue`]) → JSON Schema validation of the whole
//!   argument object with the `jsonschema` crate ([`CallError::SchemaInvalid`],
//!   catches `enum`, `minimum`, `pattern`, ...);
//! * values: strings are compared after BFCL's `standardize_string` (lowercase,
//!   remove ` ,./-_*^`, `'` → `"`); numbers by value (`1 == 1.0`); lists element by
//!   element in order; dicts recursively, where each expected field again lists
//!   acceptable values (`""` = may be omitted); lists of dicts likewise;
//! * **fix 1**: parallel calls are paired by a *maximum* bipartite matching
//!   (augmenting paths), not BFCL's greedy first match, so a correct answer is
//!   never rejected because of call order;
//! * **fix 2**: an argument payload that is not a JSON object (or a string holding
//!   one) is [`CallError::UnparseableArguments`] and never correct; on an
//!   irrelevance item (no call expected) *any* attempted call, parseable or not,
//!   is [`CallError::WrongCallOnIrrelevance`] (BFCL counts a decode failure as a
//!   correct abstention, gorilla issue #1362);
//! * not calling at all when a call was expected is [`CallError::Abstained`],
//!   kept apart from wrong calls.
//!
//! Deliberate differences from BFCL besides the fixes: an argument the model
//! passes that is in the tool schema but not in the expected call is accepted
//! (any type-correct value), since the expected call does not constrain it.
//!
//! Compiled schema validators are cached: [`ToolSet`] compiles a tool list once;
//! the free function [`check`] uses a process-wide cache keyed by tool name and
//! schema text, so each distinct tool schema is compiled once per process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

/// A tool call produced by the model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToolCall {
    /// Function name.
    pub name: String,
    /// Arguments; normally an object. A string holding a JSON object (the
    /// OpenAI wire format) is parsed; `null` or an empty string means no arguments.
    pub arguments: Value,
}

/// One expected call (BFCL `possible_answer` format).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExpectedCall {
    /// Function name.
    pub name: String,
    /// Argument name → array of acceptable values. `""` among them marks an
    /// optional argument; an argument not listed here may be omitted too.
    pub arguments: Map<String, Value>,
}

/// A tool offered to the model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToolDef {
    /// Function name.
    pub name: String,
    /// Description shown to the model.
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the argument object (BFCL's `"type": "dict"` dialect is accepted).
    pub parameters: Value,
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
    /// The arguments are not a JSON object (or a string holding one).
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
    /// Human-readable explanation.
    pub detail: String,
    /// The item expects no call (irrelevance detection).
    pub irrelevance: bool,
    /// Each expected call's function name and whether it was matched, in the
    /// order of the expected calls.
    pub per_function: Vec<(String, bool)>,
}

// ---------------------------------------------------------------------------
// Compiled tools

#[derive(Debug)]
struct CompiledTool {
    name: String,
    /// Parameters schema with BFCL types mapped to JSON Schema.
    schema: Value,
    validator: Result<jsonschema::Validator, String>,
}

impl CompiledTool {
    fn new(def: &ToolDef) -> Self {
        let schema = to_json_schema(&def.parameters);
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| format!("tool {:?}: invalid parameters schema: {e}", def.name));
        CompiledTool {
            name: def.name.clone(),
            schema,
            validator,
        }
    }

    fn properties(&self) -> Option<&Map<String, Value>> {
        self.schema.get("properties").and_then(Value::as_object)
    }

    fn property(&self, arg: &str) -> Option<&Value> {
        self.properties().and_then(|p| p.get(arg))
    }

    fn required(&self) -> impl Iterator<Item = &str> {
        self.schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }
}

/// Maps the BFCL schema dialect to JSON Schema: `dict` → `object`, `float` →
/// `number`, `tuple` → `array`; `any` and non-JSON-Schema type names (e.g. Java
/// `String`) drop the `type` constraint.
fn to_json_schema(v: &Value) -> Value {
    fn map_type(t: &str) -> Option<&'static str> {
        Some(match t {
            "dict" | "object" => "object",
            "float" | "number" => "number",
            "tuple" | "array" => "array",
            "integer" => "integer",
            "string" => "string",
            "boolean" => "boolean",
            "null" => "null",
            _ => return None,
        })
    }
    match v {
        Value::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, val) in m {
                if k == "type" {
                    match val {
                        Value::String(t) => {
                            if let Some(t) = map_type(t) {
                                out.insert(k.clone(), Value::String(t.to_string()));
                            }
                        }
                        Value::Array(ts) => {
                            let mapped: Option<Vec<Value>> = ts
                                .iter()
                                .map(|t| t.as_str().and_then(map_type).map(Value::from))
                                .collect();
                            if let Some(mapped) = mapped {
                                out.insert(k.clone(), Value::Array(mapped));
                            }
                        }
                        other => {
                            out.insert(k.clone(), other.clone());
                        }
                    }
                } else {
                    out.insert(k.clone(), to_json_schema(val));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
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

    fn tool(&self, called: &str) -> Option<&CompiledTool> {
        self.tools
            .iter()
            .find(|t| t.name == called)
            .or_else(|| self.tools.iter().find(|t| names_match(&t.name, called)))
            .map(|t| t.as_ref())
    }

    /// Checks the model's calls for one item; see [`check`].
    pub fn check(&self, expected: &[ExpectedCall], actual: &[ToolCall]) -> CallVerdict {
        check_with(self, expected, actual)
    }
}

/// Checks the model's calls `actual` for one item against `expected` (empty =
/// irrelevance item, the model must not call anything), with the tool
/// definitions `tools` offered to the model. Validators come from a process-wide
/// cache; use [`ToolSet`] to manage the compilation yourself.
pub fn check(expected: &[ExpectedCall], actual: &[ToolCall], tools: &[ToolDef]) -> CallVerdict {
    ToolSet::cached(tools).check(expected, actual)
}

// ---------------------------------------------------------------------------
// Item-level checking

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
        detail,
        irrelevance,
        per_function,
    }
}

fn check_with(tools: &ToolSet, expected: &[ExpectedCall], actual: &[ToolCall]) -> CallVerdict {
    let names = |calls: &[ToolCall]| {
        calls
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if expected.is_empty() {
        if actual.is_empty() {
            return verdict(
                None,
                "no call expected and none made".into(),
                true,
                true,
                true,
                Vec::new(),
            );
        }
        let unparseable = actual
            .iter()
            .filter(|c| parse_args(&c.arguments).is_err())
            .count();
        let note = if unparseable > 0 {
            format!(" ({unparseable} with unparseable arguments, still counted as a call)")
        } else {
            String::new()
        };
        return verdict(
            Some(CallError::WrongCallOnIrrelevance),
            format!(
                "no call expected, got {} call(s): {}{note}",
                actual.len(),
                names(actual)
            ),
            false,
            false,
            true,
            Vec::new(),
        );
    }

    let unmatched_all = || expected.iter().map(|e| (e.name.clone(), false)).collect();
    if actual.is_empty() {
        return verdict(
            Some(CallError::Abstained),
            format!("expected {} call(s), the model made none", expected.len()),
            false,
            false,
            false,
            unmatched_all(),
        );
    }

    let parsed: Vec<Result<Map<String, Value>, String>> =
        actual.iter().map(|c| parse_args(&c.arguments)).collect();

    // Compatibility matrices: name only, and full check.
    let n_e = expected.len();
    let n_a = actual.len();
    let name_ok: Vec<Vec<bool>> = expected
        .iter()
        .map(|e| {
            actual
                .iter()
                .map(|a| names_match(&e.name, &a.name))
                .collect()
        })
        .collect();
    let outcome = |i: usize, j: usize| -> Result<(), (CallError, String)> {
        match &parsed[j] {
            Err(msg) => Err((CallError::UnparseableArguments, msg.clone())),
            Ok(args) => check_call(
                &expected[i],
                &actual[j].name,
                args,
                tools.tool(&actual[j].name),
            ),
        }
    };
    let full_ok: Vec<Vec<bool>> = (0..n_e)
        .map(|i| {
            (0..n_a)
                .map(|j| name_ok[i][j] && outcome(i, j).is_ok())
                .collect()
        })
        .collect();

    let name_match = max_matching(&name_ok, n_a);
    let full_match = max_matching(&full_ok, n_a);
    let name_cover = name_match.iter().all(Option::is_some);
    let args_correct = full_match.iter().all(Option::is_some);
    let name_correct = name_cover && n_a == n_e;
    let per_function: Vec<(String, bool)> = expected
        .iter()
        .zip(&full_match)
        .map(|(e, m)| (e.name.clone(), m.is_some()))
        .collect();

    if let Some((j, msg)) = parsed
        .iter()
        .enumerate()
        .find_map(|(j, p)| p.as_ref().err().map(|m| (j, m)))
    {
        return verdict(
            Some(CallError::UnparseableArguments),
            format!("call {j} ({}): {msg}", actual[j].name),
            name_correct,
            args_correct,
            false,
            per_function,
        );
    }
    if n_a != n_e {
        return verdict(
            Some(CallError::WrongCount),
            format!(
                "expected {n_e} call(s) [{}], got {n_a} [{}]",
                expected
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                names(actual)
            ),
            name_correct,
            args_correct,
            false,
            per_function,
        );
    }
    if !name_correct {
        let missing: Vec<&str> = expected
            .iter()
            .zip(&name_match)
            .filter(|(_, m)| m.is_none())
            .map(|(e, _)| e.name.as_str())
            .collect();
        return verdict(
            Some(CallError::WrongName),
            format!(
                "no call to {} (calls made: {})",
                missing.join(", "),
                names(actual)
            ),
            false,
            args_correct,
            false,
            per_function,
        );
    }
    if args_correct {
        return verdict(
            None,
            format!("all {n_e} call(s) match"),
            true,
            true,
            false,
            per_function,
        );
    }

    // Explain the first unmatched expected call with a same-name actual call,
    // preferring calls left unmatched by the optimal assignment.
    let used: Vec<bool> = (0..n_a).map(|j| full_match.contains(&Some(j))).collect();
    let mut explanation = None;
    'outer: for i in (0..n_e).filter(|&i| full_match[i].is_none()) {
        for prefer_unused in [true, false] {
            for j in 0..n_a {
                if name_ok[i][j] && (!prefer_unused || !used[j]) {
                    if let Err((err, msg)) = outcome(i, j) {
                        explanation = Some((err, format!("call {j} ({}): {msg}", actual[j].name)));
                        break 'outer;
                    }
                }
            }
        }
    }
    let (err, detail) = explanation.unwrap_or((
        CallError::WrongValue,
        "the calls cannot be paired one-to-one with the expected calls".into(),
    ));
    verdict(Some(err), detail, true, false, false, per_function)
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
        Value::String(s) => match serde_json::from_str::<Value>(s) {
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
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Maximum bipartite matching (Kuhn's augmenting paths): for each left vertex
/// (expected call) the index of its right vertex (actual call), if any. Optimal,
/// unlike BFCL's greedy first match.
fn max_matching(ok: &[Vec<bool>], n_right: usize) -> Vec<Option<usize>> {
    fn augment(
        i: usize,
        ok: &[Vec<bool>],
        seen: &mut [bool],
        right_of: &mut [Option<usize>],
    ) -> bool {
        for j in 0..seen.len() {
            if ok[i][j] && !seen[j] {
                seen[j] = true;
                let free = match right_of[j] {
                    None => true,
                    Some(other) => augment(other, ok, seen, right_of),
                };
                if free {
                    right_of[j] = Some(i);
                    return true;
                }
            }
        }
        false
    }
    let mut right_of: Vec<Option<usize>> = vec![None; n_right];
    for i in 0..ok.len() {
        let mut seen = vec![false; n_right];
        augment(i, ok, &mut seen, &mut right_of);
    }
    let mut left = vec![None; ok.len()];
    for (j, i) in right_of.iter().enumerate() {
        if let Some(i) = i {
            left[*i] = Some(j);
        }
    }
    left
}

// ---------------------------------------------------------------------------
// Call-level checking

fn acceptable(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a.as_slice(),
        other => std::slice::from_ref(other),
    }
}

fn is_optional_marker(v: &Value) -> bool {
    v.as_str() == Some("")
}

/// Checks one actual call (name + parsed arguments) against one expected call.
fn check_call(
    expected: &ExpectedCall,
    name: &str,
    args: &Map<String, Value>,
    tool: Option<&CompiledTool>,
) -> Result<(), (CallError, String)> {
    if !names_match(&expected.name, name) {
        return Err((
            CallError::WrongName,
            format!("expected function {:?}, got {name:?}", expected.name),
        ));
    }
    let props = tool.and_then(CompiledTool::properties);

    for key in args.keys() {
        let in_schema = props.is_some_and(|p| p.contains_key(key));
        if !in_schema && !expected.arguments.contains_key(key) {
            return Err((
                CallError::UnexpectedArg,
                format!("unexpected argument {key:?}"),
            ));
        }
    }

    for req in tool.into_iter().flat_map(CompiledTool::required) {
        if !args.contains_key(req) {
            return Err((
                CallError::MissingRequiredArg,
                format!("missing required argument {req:?} (tool schema)"),
            ));
        }
    }
    for (key, alts) in &expected.arguments {
        if !args.contains_key(key) && !acceptable(alts).iter().any(is_optional_marker) {
            return Err((
                CallError::MissingRequiredArg,
                format!("missing argument {key:?} (the expected call has no \"\" alternative)"),
            ));
        }
    }

    if let Some(tool) = tool {
        for (key, value) in args {
            if let Some(schema) = tool.property(key) {
                type_check(value, schema)
                    .map_err(|msg| (CallError::WrongType, format!("argument {key:?}: {msg}")))?;
            }
        }
    }

    for (key, value) in args {
        if let Some(alts) = expected.arguments.get(key) {
            let alts = acceptable(alts);
            if !alts.iter().any(|a| values_match(value, a)) {
                return Err((
                    CallError::WrongValue,
                    format!(
                        "argument {key:?} = {value} is not among the acceptable values {}",
                        Value::Array(alts.to_vec())
                    ),
                ));
            }
        }
    }

    if let Some(Ok(validator)) = tool.map(|t| &t.validator) {
        let instance = Value::Object(args.clone());
        if let Err(e) = validator.validate(&instance) {
            let path = e.instance_path().to_string();
            let at = if path.is_empty() {
                String::new()
            } else {
                format!(" at {path}")
            };
            return Err((
                CallError::SchemaInvalid,
                format!("arguments violate the tool schema{at}: {e}"),
            ));
        }
    }
    Ok(())
}

/// Type check of `value` against a (mapped) JSON Schema `schema`: its `type`
/// (string or list), recursing into `items` and `properties`.
fn type_check(value: &Value, schema: &Value) -> Result<(), String> {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.is_empty() {
        return Ok(());
    }
    let mut last_err = None;
    for t in &types {
        let shallow = match *t {
            "string" => value.is_string(),
            "integer" => {
                value.is_i64()
                    || value.is_u64()
                    || value
                        .as_f64()
                        .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
            }
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        };
        if !shallow {
            continue;
        }
        let deep = match (*t, value) {
            ("array", Value::Array(items)) => match schema.get("items") {
                Some(item_schema) if item_schema.is_object() => {
                    items.iter().enumerate().try_for_each(|(k, v)| {
                        type_check(v, item_schema).map_err(|m| format!("[{k}]: {m}"))
                    })
                }
                _ => Ok(()),
            },
            ("object", Value::Object(fields)) => {
                match schema.get("properties").and_then(Value::as_object) {
                    Some(props) => fields.iter().try_for_each(|(k, v)| match props.get(k) {
                        Some(s) => type_check(v, s).map_err(|m| format!(".{k}: {m}")),
                        None => Ok(()),
                    }),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        };
        match deep {
            Ok(()) => return Ok(()),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        let got = match value {
            Value::Null => "null".to_string(),
            other => format!("{} {other}", json_type(other)),
        };
        format!("expected {}, got {got}", types.join(" or "))
    }))
}

/// BFCL `standardize_string`: drop ` ,./-_*^`, lowercase, `'` → `"`.
fn standardize(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | ',' | '.' | '/' | '-' | '_' | '*' | '^'))
        .collect::<String>()
        .to_lowercase()
        .replace('\'', "\"")
}

fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Does the model's `value` equal the acceptable value `want`?
fn values_match(value: &Value, want: &Value) -> bool {
    match (value, want) {
        (Value::String(a), Value::String(b)) => standardize(a) == standardize(b),
        (Value::Number(a), Value::Number(b)) => numbers_equal(a, b),
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Null, Value::Null) => true,
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_match(x, y))
        }
        (Value::Object(a), Value::Object(b)) => dict_match(a, b),
        _ => false,
    }
}

/// Dict comparison: each expected field lists acceptable values (`""` = may be
/// omitted); the model's dict may not have fields the expected dict lacks.
fn dict_match(got: &Map<String, Value>, want: &Map<String, Value>) -> bool {
    got.iter().all(|(k, v)| {
        want.get(k)
            .is_some_and(|alts| acceptable(alts).iter().any(|a| values_match(v, a)))
    }) && want
        .iter()
        .all(|(k, alts)| got.contains_key(k) || acceptable(alts).iter().any(is_optional_marker))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CASES: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/golden/function_call_cases.json"
    ));

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        rule: String,
        tools: Vec<ToolDef>,
        expected: Vec<ExpectedCall>,
        actual: Vec<ToolCall>,
        want: Want,
    }

    #[derive(serde::Deserialize)]
    struct Want {
        correct: bool,
        error: Option<String>,
        #[serde(default)]
        name_correct: Option<bool>,
        #[serde(default)]
        args_correct: Option<bool>,
        #[serde(default)]
        per_function: Option<Vec<(String, bool)>>,
    }

    fn err_name(e: Option<CallError>) -> Option<String> {
        e.map(|e| {
            serde_json::to_value(e)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        })
    }

    #[test]
    fn bfcl_cases_file() {
        let doc: Value = serde_json::from_str(CASES).unwrap();
        let cases: Vec<Case> = serde_json::from_value(doc["cases"].clone()).unwrap();
        assert!(cases.len() >= 40, "only {} cases", cases.len());
        let mut failures = Vec::new();
        for c in &cases {
            let v = check(&c.expected, &c.actual, &c.tools);
            // The explicit ToolSet path must agree with the cached one.
            assert_eq!(
                v,
                ToolSet::new(&c.tools).check(&c.expected, &c.actual),
                "{}",
                c.name
            );
            let mut bad = Vec::new();
            if v.correct != c.want.correct {
                bad.push(format!("correct={} want {}", v.correct, c.want.correct));
            }
            if err_name(v.error) != c.want.error {
                bad.push(format!(
                    "error={:?} want {:?}",
                    err_name(v.error),
                    c.want.error
                ));
            }
            if c.want.name_correct.is_some_and(|w| w != v.name_correct) {
                bad.push(format!("name_correct={}", v.name_correct));
            }
            if c.want.args_correct.is_some_and(|w| w != v.args_correct) {
                bad.push(format!("args_correct={}", v.args_correct));
            }
            if let Some(pf) = &c.want.per_function {
                if pf != &v.per_function {
                    bad.push(format!("per_function={:?}", v.per_function));
                }
            }
            assert_eq!(v.correct, v.error.is_none(), "{}", c.name);
            assert_eq!(v.irrelevance, c.expected.is_empty(), "{}", c.name);
            if !bad.is_empty() {
                failures.push(format!(
                    "{} [{}]: {} -- {}",
                    c.name,
                    c.rule,
                    bad.join("; "),
                    v.detail
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} failing case(s):\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    fn weather() -> Vec<ToolDef> {
        vec![ToolDef {
            name: "get_weather".into(),
            description: "Weather for a city".into(),
            parameters: json!({"type": "dict", "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"}},
                "required": ["city"]}),
        }]
    }

    fn exp(name: &str, args: Value) -> ExpectedCall {
        ExpectedCall {
            name: name.into(),
            arguments: args.as_object().cloned().unwrap_or_default(),
        }
    }

    fn call(name: &str, args: Value) -> ToolCall {
        ToolCall {
            name: name.into(),
            arguments: args,
        }
    }

    #[test]
    fn simple_correct_and_string_standardisation() {
        let e = [exp(
            "get_weather",
            json!({"city": ["San Francisco, CA"], "unit": ["celsius", ""]}),
        )];
        let v = check(
            &e,
            &[call("get_weather", json!({"city": "san francisco CA"}))],
            &weather(),
        );
        assert!(v.correct, "{}", v.detail);
        assert_eq!(v.per_function, vec![("get_weather".to_string(), true)]);
        let v = check(
            &e,
            &[call("get_weather", json!({"city": "Paris"}))],
            &weather(),
        );
        assert_eq!(v.error, Some(CallError::WrongValue));
        assert!(v.name_correct && !v.args_correct);
    }

    #[test]
    fn greedy_fails_optimal_succeeds() {
        let tools = vec![ToolDef {
            name: "f".into(),
            description: String::new(),
            parameters: json!({"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}),
        }];
        let e = [exp("f", json!({"x": [1, 2]})), exp("f", json!({"x": [1]}))];
        let a = [call("f", json!({"x": 1})), call("f", json!({"x": 2}))];
        // Greedy (BFCL): expected 0 takes actual 0, expected 1 then has nothing.
        let ok: Vec<Vec<bool>> = vec![vec![true, true], vec![true, false]];
        let mut taken = [false; 2];
        let greedy: usize = ok
            .iter()
            .filter(|row| {
                row.iter().enumerate().any(|(j, &m)| {
                    if m && !taken[j] {
                        taken[j] = true;
                        true
                    } else {
                        false
                    }
                })
            })
            .count();
        assert_eq!(greedy, 1);
        let v = check(&e, &a, &tools);
        assert!(v.correct, "{}", v.detail);
        assert_eq!(max_matching(&ok, 2), vec![Some(1), Some(0)]);
    }

    #[test]
    fn schema_dialect_mapping() {
        let s = to_json_schema(&json!({"type": "dict", "properties": {
            "a": {"type": "float"}, "b": {"type": "tuple", "items": {"type": "any"}},
            "c": {"type": "String"}, "d": {"type": ["integer", "null"]}}}));
        assert_eq!(s["type"], "object");
        assert_eq!(s["properties"]["a"]["type"], "number");
        assert_eq!(s["properties"]["b"]["type"], "array");
        assert!(s["properties"]["b"]["items"].get("type").is_none());
        assert!(s["properties"]["c"].get("type").is_none());
        assert_eq!(s["properties"]["d"]["type"], json!(["integer", "null"]));
    }

    #[test]
    fn schema_errors_are_reported_not_fatal() {
        let tools = vec![ToolDef {
            name: "bad".into(),
            description: String::new(),
            parameters: json!({"type": "object", "properties": {"x": {"minimum": "zero"}}}),
        }];
        let set = ToolSet::new(&tools);
        assert_eq!(set.schema_errors().len(), 1);
        // A remote $ref cannot be resolved (no network features): reported, not a panic.
        let remote = vec![ToolDef {
            name: "remote".into(),
            description: String::new(),
            parameters: json!({"$ref": "https://example.invalid/schema.json"}),
        }];
        assert_eq!(ToolSet::new(&remote).schema_errors().len(), 1);
        let v = set.check(
            &[exp("bad", json!({"x": [1]}))],
            &[call("bad", json!({"x": 1}))],
        );
        assert!(v.correct, "{}", v.detail);
    }

    #[test]
    fn cache_reuses_compiled_tools() {
        let tools = weather();
        let a = ToolSet::cached(&tools);
        let b = ToolSet::cached(&tools);
        assert!(Arc::ptr_eq(&a.tools[0], &b.tools[0]));
        // same name, different schema -> different entry
        let mut other = weather();
        other[0].parameters = json!({"type": "object", "properties": {}});
        let c = ToolSet::cached(&other);
        assert!(!Arc::ptr_eq(&a.tools[0], &c.tools[0]));
    }

    #[test]
    fn verdict_serializes() {
        let v = check(&[], &[call("get_weather", json!("{oops"))], &weather());
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(j["error"], "wrong_call_on_irrelevance");
        assert_eq!(j["irrelevance"], true);
        assert!(v.detail.contains("unparseable"));
    }
}
