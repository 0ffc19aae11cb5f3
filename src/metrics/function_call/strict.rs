//! evalh's own checker (`compat: strict`, the default): BFCL's rules with its known flaws fixed, and no value the
//! answer key lists ever scored wrong.

use serde_json::{Map, Value};

use super::exact;
use super::matching::max_matching;
use super::schema::CompiledTool;
use super::values::{acceptable, is_optional_marker, standardize, values_match};
use super::{
    names_match, parse_args, verdict, CallError, CallVerdict, ExpectedCall, ToolCall, ToolSet,
};

fn names(calls: &[ToolCall]) -> String {
    calls
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An irrelevance item: any attempted call is wrong, parseable or not.
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
    let unparseable = actual
        .iter()
        .filter(|c| parse_args(&c.arguments).is_err())
        .count();
    let note = if unparseable > 0 {
        format!(" ({unparseable} with unparseable arguments, still counted as a call)")
    } else {
        String::new()
    };
    verdict(
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
    )
}

/// Checks one item in strict mode.
pub(super) fn check(
    tools: &ToolSet,
    expected: &[ExpectedCall],
    actual: &[ToolCall],
) -> CallVerdict {
    if expected.is_empty() {
        return irrelevance(actual);
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

    let (err, detail) = explain(&full_match, &name_ok, n_a, |i, j| {
        outcome(i, j)
            .err()
            .map(|(e, m)| (e, format!("call {j} ({}): {m}", actual[j].name)))
    });
    verdict(Some(err), detail, true, false, false, per_function)
}

/// Explains the first unmatched expected call with a same-name actual call's
/// error, preferring calls left unmatched by the optimal assignment.
fn explain(
    full_match: &[Option<usize>],
    name_ok: &[Vec<bool>],
    n_a: usize,
    error: impl Fn(usize, usize) -> Option<(CallError, String)>,
) -> (CallError, String) {
    let used: Vec<bool> = (0..n_a).map(|j| full_match.contains(&Some(j))).collect();
    for i in (0..full_match.len()).filter(|&i| full_match[i].is_none()) {
        for prefer_unused in [true, false] {
            for j in 0..n_a {
                if name_ok[i][j] && (!prefer_unused || !used[j]) {
                    if let Some(e) = error(i, j) {
                        return e;
                    }
                }
            }
        }
    }
    (
        CallError::WrongValue,
        "the calls cannot be paired one-to-one with the expected calls".into(),
    )
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

    // An argument whose value the answer key lists is right whatever the schema says. `""` is first of all the
    // "may be omitted" marker: given as a value it counts as listed only where the schema allows a string.
    let listed = |key: &str, value: &Value| {
        expected.arguments.get(key).is_some_and(|alts| {
            acceptable(alts).iter().any(|a| {
                values_match(value, a)
                    && (!is_optional_marker(a)
                        || tool
                            .and_then(|t| t.property(key))
                            .is_none_or(|s| type_check(value, s).is_ok()))
            })
        })
    };

    if let Some(tool) = tool {
        for (key, value) in args {
            if let Some(schema) = tool.property(key) {
                if !listed(key, value) {
                    type_check(value, schema).map_err(|msg| {
                        (CallError::WrongType, format!("argument {key:?}: {msg}"))
                    })?;
                }
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
                        "argument {key:?} = {} is not among the acceptable values {}",
                        exact::to_text(value),
                        exact::to_text(&Value::Array(alts.to_vec()))
                    ),
                ));
            }
        }
    }

    if let Some(Ok(validator)) = tool.map(|t| &t.validator) {
        // The validator reads plain JSON: an integer kept exact is checked as the double nearest to it.
        let instance = exact::plain(&Value::Object(args.clone()));
        let is_listed = |key: &str| args.get(key).is_some_and(|v| listed(key, v));
        let first = validator
            .iter_errors(&instance)
            .find(|e| !excused(e, &is_listed));
        if let Some(e) = first {
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

/// A schema violation that strict mode excuses: one inside an argument whose value
/// the answer key lists, an `additionalProperties` error about such arguments only,
/// and an `enum` error on a string that equals a member after [`standardize`].
fn excused(e: &jsonschema::ValidationError<'_>, is_listed: &dyn Fn(&str) -> bool) -> bool {
    use jsonschema::error::ValidationErrorKind as K;
    use jsonschema::paths::LocationSegment;
    if let Some(LocationSegment::Property(arg)) = e.instance_path().iter().next() {
        if is_listed(&arg) {
            return true;
        }
    }
    match e.kind() {
        K::AdditionalProperties { unexpected } => unexpected.iter().all(|k| is_listed(k)),
        K::Enum { options } => match e.instance().as_ref() {
            Value::String(s) => {
                let s = standardize(s);
                options.as_array().is_some_and(|o| {
                    o.iter()
                        .any(|m| m.as_str().is_some_and(|m| standardize(m) == s))
                })
            }
            _ => false,
        },
        _ => false,
    }
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
            "string" => value.is_string() && !exact::is_big_int(value),
            "integer" => {
                exact::is_big_int(value)
                    || value.is_i64()
                    || value.is_u64()
                    || value
                        .as_f64()
                        .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
            }
            "number" => value.is_number() || exact::is_big_int(value),
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
            other => format!("{} {other}", super::json_type(other)),
        };
        format!("expected {}, got {got}", types.join(" or "))
    }))
}
