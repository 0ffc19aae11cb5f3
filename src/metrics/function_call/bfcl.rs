//! `compat: bfcl`: the verdict of BFCL's AST checker (`bfcl_eval/eval_checker/ast_eval/ast_checker.py` behind
//! `eval_runner`, for a function-calling model whose tool names carry `_` for `.`), rule for rule, with BFCL's
//! error type. The one BFCL behaviour not reproduced is its greedy pairing of parallel calls: calls are paired by a
//! maximum matching, so an answer BFCL rejects only because of call order is accepted.
//!
//! Inputs are what BFCL's FC decoder produces from the wire: an argument string is decoded as JSON (an object
//! given directly counts as already decoded; anything else fails to decode, as `json.loads` does), and values
//! keep their JSON types (`5` an int, `5.0` a float). Where BFCL's Python would raise (a tool missing from the
//! list, a type name outside its dialect, an answer of an impossible shape) this checker gives a verdict
//! instead: a missing tool has no parameters, JSON Schema's `object`/`number` count as `dict`/`float`, other
//! unknown types are not type-checked, and malformed answers match nothing.

use serde_json::{Map, Value};

use super::exact;
use super::matching::max_matching;
use super::schema::CompiledTool;
use super::values::{acceptable, py_eq, py_in, py_type, standardize, PyType};
use super::{
    json_type, verdict, CallError, CallVerdict, Category, ExpectedCall, ToolCall, ToolSet,
};

/// A failed check: BFCL's error type and an explanation.
#[derive(Debug, Clone)]
struct Fail {
    kind: String,
    msg: String,
}

fn fail(kind: &str, msg: String) -> Fail {
    Fail {
        kind: kind.to_string(),
        msg,
    }
}

/// evalh's error for a BFCL error type.
fn map_error(kind: &str) -> CallError {
    match kind.rsplit(':').next().unwrap_or(kind) {
        "decoder_failed" | "decoder_wrong_output_format" => CallError::UnparseableArguments,
        "wrong_count" => CallError::WrongCount,
        "wrong_func_name" => CallError::WrongName,
        "missing_required" | "missing_optional" => CallError::MissingRequiredArg,
        "unexpected_param" => CallError::UnexpectedArg,
        "decoder_success" => CallError::WrongCallOnIrrelevance,
        _ if kind.starts_with("type_error") => CallError::WrongType,
        _ => CallError::WrongValue,
    }
}

/// BFCL's FC decoder (`json.loads` of each call's argument string, then the
/// "list of {name: dict}" format check). `Err` is (error type, explanation).
fn decode(actual: &[ToolCall]) -> Result<Vec<Map<String, Value>>, Fail> {
    let mut decoded = Vec::with_capacity(actual.len());
    for (j, c) in actual.iter().enumerate() {
        let v = match &c.arguments {
            Value::String(s) => exact::parse(s).map_err(|e| {
                fail(
                    "ast_decoder:decoder_failed",
                    format!("call {j} ({}): arguments are not valid JSON: {e}", c.name),
                )
            })?,
            Value::Object(m) => Value::Object(m.clone()),
            other => {
                return Err(fail(
                    "ast_decoder:decoder_failed",
                    format!(
                        "call {j} ({}): arguments are a JSON {}, not a JSON text",
                        c.name,
                        json_type(other)
                    ),
                ))
            }
        };
        decoded.push(v);
    }
    decoded
        .into_iter()
        .enumerate()
        .map(|(j, v)| match v {
            Value::Object(m) => Ok(m),
            other => Err(fail(
                "ast_decoder:decoder_wrong_output_format",
                format!(
                    "call {j} ({}): arguments decode to a JSON {}, not an object",
                    actual[j].name,
                    json_type(&other)
                ),
            )),
        })
        .collect()
}

/// The checker prefix BFCL uses for a category's count errors.
fn prefix(cat: Category) -> &'static str {
    if cat.is_parallel() {
        "parallel_function_checker_no_order"
    } else if cat.is_multiple() {
        "multiple_function_checker"
    } else {
        "simple_function_checker"
    }
}

fn with_bfcl(mut v: CallVerdict, kind: Option<String>) -> CallVerdict {
    v.bfcl_error = kind;
    v
}

/// Checks one item as BFCL does for `category` (from the shape when `None`).
pub(super) fn check(
    tools: &ToolSet,
    expected: &[ExpectedCall],
    actual: &[ToolCall],
    category: Option<Category>,
) -> CallVerdict {
    let cat = category.unwrap_or_else(|| Category::from_shape(expected, tools.tools.len()));
    if expected.is_empty() {
        return irrelevance(actual);
    }
    let unmatched = || expected.iter().map(|e| (e.name.clone(), false)).collect();
    if actual.is_empty() {
        let v = verdict(
            Some(CallError::Abstained),
            format!("expected {} call(s), the model made none", expected.len()),
            false,
            false,
            false,
            unmatched(),
        );
        return with_bfcl(v, Some(format!("{}:wrong_count", prefix(cat))));
    }
    let decoded = match decode(actual) {
        Ok(d) => d,
        Err(f) => {
            let v = verdict(
                Some(map_error(&f.kind)),
                f.msg,
                false,
                false,
                false,
                unmatched(),
            );
            return with_bfcl(v, Some(f.kind));
        }
    };

    // Every expected call against every actual call, by BFCL's per-call checker.
    let desc = |i: usize| -> Option<&CompiledTool> {
        if cat.is_parallel() || cat.is_multiple() {
            tools
                .tools
                .iter()
                .find(|t| t.name == expected[i].name)
                .map(|t| t.as_ref())
        } else {
            tools.tools.first().map(|t| t.as_ref())
        }
    };
    let outcome =
        |i: usize, j: usize| call_check(desc(i), &expected[i], &actual[j].name, &decoded[j]);
    let (n_e, n_a) = (expected.len(), actual.len());
    let results: Vec<Vec<Result<(), Fail>>> = (0..n_e)
        .map(|i| (0..n_a).map(|j| outcome(i, j)).collect())
        .collect();
    let full_ok: Vec<Vec<bool>> = results
        .iter()
        .map(|row| row.iter().map(Result::is_ok).collect())
        .collect();
    let name_ok: Vec<Vec<bool>> = results
        .iter()
        .map(|row| {
            row.iter()
                .map(|r| !matches!(r, Err(f) if f.kind.ends_with(":wrong_func_name")))
                .collect()
        })
        .collect();
    let full_match = max_matching(&full_ok, n_a);
    let args_correct = full_match.iter().all(Option::is_some);
    let name_correct = n_a == n_e && max_matching(&name_ok, n_a).iter().all(Option::is_some);
    let per_function: Vec<(String, bool)> = expected
        .iter()
        .zip(&full_match)
        .map(|(e, m)| (e.name.clone(), m.is_some()))
        .collect();
    let done = |res: Result<(), Fail>| match res {
        Ok(()) => verdict(
            None,
            format!("all {n_e} call(s) match (BFCL rules)"),
            name_correct,
            args_correct,
            false,
            per_function.clone(),
        ),
        Err(f) => with_bfcl(
            verdict(
                Some(map_error(&f.kind)),
                f.msg,
                name_correct,
                args_correct,
                false,
                per_function.clone(),
            ),
            Some(f.kind),
        ),
    };

    let count_error = || {
        Err(fail(
            &format!("{}:wrong_count", prefix(cat)),
            format!("expected {n_e} call(s), got {n_a}"),
        ))
    };
    if cat.is_parallel() {
        if n_a != n_e {
            return done(count_error());
        }
        if args_correct {
            return done(Ok(()));
        }
        // Explain the first unpaired expected call by a same-name candidate's error.
        let i = full_match.iter().position(Option::is_none).unwrap_or(0);
        let sub = (0..n_a)
            .filter(|&j| name_ok[i][j])
            .chain(0..n_a)
            .find_map(|j| results[i][j].as_ref().err().map(|f| (j, f)));
        let mut v = done(Err(fail(
            "parallel_function_checker_no_order:cannot_find_match",
            String::new(),
        )));
        if let Some((j, f)) = sub {
            v.error = Some(map_error(&f.kind));
            v.detail = format!(
                "no call matches expected call {i} ({}); call {j} ({}): {}",
                expected[i].name, actual[j].name, f.msg
            );
        }
        return v;
    }
    if cat.is_multiple() {
        if n_a != n_e {
            return done(count_error());
        }
    } else if n_a != 1 {
        return done(count_error());
    }
    done(results[0][0].clone())
}

/// BFCL's irrelevance rule: correct when no call decodes (no call at all, or an
/// argument string that is not JSON, or arguments that are not an object).
fn irrelevance(actual: &[ToolCall]) -> CallVerdict {
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
    match decode(actual) {
        Err(f) => verdict(
            None,
            format!(
                "no call expected; the calls do not decode, which BFCL counts as no call ({})",
                f.msg
            ),
            true,
            true,
            true,
            Vec::new(),
        ),
        Ok(_) => with_bfcl(
            verdict(
                Some(CallError::WrongCallOnIrrelevance),
                format!("no call expected, got {} call(s)", actual.len()),
                false,
                false,
                true,
                Vec::new(),
            ),
            Some("irrelevance_error:decoder_success".into()),
        ),
    }
}

/// BFCL's Python type for a schema type name (its `PYTHON_TYPE_MAPPING`, plus
/// JSON Schema's `object` and `number`).
fn schema_type(t: &str) -> Option<PyType> {
    Some(match t {
        "string" | "any" => PyType::Str,
        "integer" => PyType::Int,
        "float" | "number" => PyType::Float,
        "boolean" => PyType::Bool,
        "array" | "tuple" => PyType::List,
        "dict" | "object" => PyType::Dict,
        _ => return None,
    })
}

/// BFCL's `simple_function_checker`: one decoded call against one expected call.
fn call_check(
    tool: Option<&CompiledTool>,
    expected: &ExpectedCall,
    name: &str,
    params: &Map<String, Value>,
) -> Result<(), Fail> {
    let raw = tool.map(|t| &t.raw);
    let props = raw
        .and_then(|r| r.get("properties"))
        .and_then(Value::as_object);
    let want_name = tool
        .map_or(expected.name.as_str(), |t| t.name.as_str())
        .replace('.', "_");
    if name != want_name {
        return Err(fail(
            "simple_function_checker:wrong_func_name",
            format!("expected function {want_name:?}, got {name:?}"),
        ));
    }
    let required = raw
        .and_then(|r| r.get("required"))
        .and_then(Value::as_array);
    for req in required.into_iter().flatten() {
        if !req.as_str().is_some_and(|r| params.contains_key(r)) {
            return Err(fail(
                "simple_function_checker:missing_required",
                format!("missing required parameter {req}"),
            ));
        }
    }
    for (param, value) in params {
        let (Some(prop), Some(alts)) = (
            props.and_then(|p| p.get(param)),
            expected.arguments.get(param),
        ) else {
            return Err(fail(
                "simple_function_checker:unexpected_param",
                format!("unexpected parameter {param:?} (BFCL needs it in both the schema and the answer)"),
            ));
        };
        param_check(param, value, acceptable(alts), prop)?;
    }
    for (param, alts) in &expected.arguments {
        if !params.contains_key(param) && !py_in(&Value::String(String::new()), acceptable(alts)) {
            return Err(fail(
                "simple_function_checker:missing_optional",
                format!(
                    "parameter {param:?} not given and not marked optional (\"\") in the answer"
                ),
            ));
        }
    }
    Ok(())
}

/// One parameter: type check, then the value check for its type.
fn param_check(param: &str, value: &Value, alts: &[Value], prop: &Value) -> Result<(), Fail> {
    let type_name = prop.get("type").and_then(Value::as_str).unwrap_or("");
    let Some(expected) = schema_type(type_name) else {
        return in_check(param, value, alts);
    };
    let nested = if expected == PyType::List {
        prop.get("items")
            .and_then(|i| i.get("type"))
            .and_then(Value::as_str)
            .and_then(schema_type)
    } else {
        None
    };
    // Python's int → float conversion for float parameters.
    let converted;
    let value = match value {
        Value::Number(n) if expected == PyType::Float && !n.is_f64() => {
            let f = n
                .as_i64()
                .map(|i| i as f64)
                .or_else(|| n.as_u64().map(|u| u as f64));
            converted = f
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number);
            &converted
        }
        v if expected == PyType::Float && exact::is_big_int(v) => {
            converted = exact::plain(v);
            &converted
        }
        v => v,
    };
    let tc = type_checker(value, alts, expected, nested);
    if !tc.valid {
        return Err(fail(
            tc.error,
            format!(
                "parameter {param:?}: incorrect type for {type_name}: {}",
                exact::to_text(value)
            ),
        ));
    }
    if !tc.is_variable {
        let special = match (expected, nested, value) {
            (PyType::Dict, _, Value::Object(m)) => Some(dict_checker(m, alts)),
            (PyType::List, Some(PyType::Dict), Value::Array(xs)) => {
                Some(list_dict_checker(xs, alts))
            }
            (PyType::Str, _, Value::String(s)) => Some(string_checker(s, alts)),
            (PyType::List, _, Value::Array(xs)) => Some(list_checker(xs, alts)),
            _ => None,
        };
        if let Some(r) = special {
            return r.map_err(|kind| {
                fail(
                    kind,
                    format!(
                        "parameter {param:?} = {} is not among the acceptable values {}",
                        exact::to_text(value),
                        exact::to_text(&Value::Array(alts.to_vec()))
                    ),
                )
            });
        }
    }
    in_check(param, value, alts)
}

fn in_check(param: &str, value: &Value, alts: &[Value]) -> Result<(), Fail> {
    if py_in(value, alts) {
        Ok(())
    } else {
        Err(fail(
            "value_error:others",
            format!(
                "parameter {param:?} = {} is not among {} (compared exactly)",
                exact::to_text(value),
                exact::to_text(&Value::Array(alts.to_vec()))
            ),
        ))
    }
}

struct TypeCheck {
    valid: bool,
    is_variable: bool,
    error: &'static str,
}

/// BFCL's `type_checker`: the value has the schema's type, or the type of the
/// answer's first non-`""` value (then it is a "variable", compared exactly);
/// list items are checked one level deep against each listed list.
fn type_checker(
    value: &Value,
    alts: &[Value],
    expected: PyType,
    nested: Option<PyType>,
) -> TypeCheck {
    let answer_type = alts.iter().find(|a| a.as_str() != Some("")).map(py_type);
    let is_variable = answer_type.is_some_and(|t| t != expected);
    let mut nested_failed = false;
    if py_type(value) == expected {
        let Some(inner) = nested else {
            return TypeCheck {
                valid: true,
                is_variable,
                error: "",
            };
        };
        let items = value.as_array().map(Vec::as_slice).unwrap_or(&[]);
        let fits = |alt: &Value| match alt {
            Value::Array(item_alts) => items
                .iter()
                .all(|v| type_checker(v, item_alts, inner, None).valid),
            _ => true,
        };
        if alts.iter().any(fits) {
            return TypeCheck {
                valid: true,
                is_variable,
                error: "",
            };
        }
        nested_failed = true;
    }
    if answer_type.is_some_and(|t| py_type(value) == t) {
        return TypeCheck {
            valid: !nested_failed,
            is_variable: true,
            error: if nested_failed {
                "type_error:nested"
            } else {
                ""
            },
        };
    }
    TypeCheck {
        valid: false,
        is_variable: false,
        error: "type_error:simple",
    }
}

/// A string value standardised, anything else as is (BFCL standardises strings at the top level of a compared value only).
fn std_value(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(standardize(s)),
        other => other.clone(),
    }
}

/// Python's iteration over an answer value: a list's items, a string's characters;
/// `None` where Python would raise.
fn py_iter(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(xs) => Some(xs.clone()),
        Value::String(s) => Some(s.chars().map(|c| Value::String(c.to_string())).collect()),
        Value::Object(m) if m.is_empty() => Some(Vec::new()),
        _ => None,
    }
}

fn string_checker(value: &str, alts: &[Value]) -> Result<(), &'static str> {
    let v = standardize(value);
    if alts
        .iter()
        .any(|a| a.as_str().is_some_and(|a| standardize(a) == v))
    {
        Ok(())
    } else {
        Err("value_error:string")
    }
}

fn list_checker(value: &[Value], alts: &[Value]) -> Result<(), &'static str> {
    let model: Vec<Value> = value.iter().map(std_value).collect();
    let hit = alts.iter().any(|alt| {
        py_iter(alt).is_some_and(|items| {
            let items: Vec<Value> = items.iter().map(std_value).collect();
            py_eq(&Value::Array(model.clone()), &Value::Array(items))
        })
    });
    if hit {
        Ok(())
    } else {
        Err("value_error:list/tuple")
    }
}

/// Python's `"" in v` for an answer's field alternatives.
fn allows_omission(v: &Value) -> bool {
    match v {
        Value::Array(xs) => xs.iter().any(|x| x.as_str() == Some("")),
        Value::String(_) => true,
        Value::Object(m) => m.contains_key(""),
        _ => false,
    }
}

/// BFCL's `dict_checker`: the model's dict against each dict pattern of the answer.
fn dict_checker(value: &Map<String, Value>, alts: &[Value]) -> Result<(), &'static str> {
    let mut result = Err("dict_checker:unclear");
    for pa in alts {
        if pa.as_str() == Some("") {
            continue;
        }
        result = Err("dict_checker:unclear");
        let Some(pa) = pa.as_object() else { continue };
        let mut flag = true;
        for (k, v) in value {
            let Some(field_alts) = pa.get(k) else {
                result = Err("value_error:dict_key");
                flag = false;
                break;
            };
            let std_alts: Vec<Value> = py_iter(field_alts)
                .unwrap_or_default()
                .iter()
                .map(std_value)
                .collect();
            if !py_in(&std_value(v), &std_alts) {
                result = Err("value_error:dict_value");
                flag = false;
                break;
            }
        }
        for (k, v) in pa {
            if !value.contains_key(k) && !allows_omission(v) {
                result = Err("value_error:dict_key");
                flag = false;
                break;
            }
        }
        if flag {
            return Ok(());
        }
    }
    result
}

/// BFCL's `list_dict_checker`: a list of dicts against each listed list of dict patterns, in order.
fn list_dict_checker(value: &[Value], alts: &[Value]) -> Result<(), &'static str> {
    let mut result = Err("list_dict_checker:unclear");
    for pa in alts {
        let Some(items) = py_iter(pa) else { continue };
        if value.len() != items.len() {
            result = Err("value_error:list_dict_count");
            continue;
        }
        let mut flag = true;
        for (v, pattern) in value.iter().zip(&items) {
            result = match v.as_object() {
                Some(m) => dict_checker(m, std::slice::from_ref(pattern)),
                None => Err("dict_checker:unclear"),
            };
            if result.is_err() {
                flag = false;
                break;
            }
        }
        if flag {
            return Ok(());
        }
    }
    result
}
