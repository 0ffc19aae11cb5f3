//! Comparing argument values: BFCL's string standardisation, exact number comparison, evalh's recursive matching
//! (strict mode) and Python's `==` on decoded JSON (BFCL mode).

use super::exact;
use serde_json::{Map, Number, Value};

/// The acceptable values of an expected argument: a list as is, anything else as a one-element list.
pub(super) fn acceptable(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a.as_slice(),
        other => std::slice::from_ref(other),
    }
}

/// `""` among the acceptable values marks an argument that may be omitted.
pub(super) fn is_optional_marker(v: &Value) -> bool {
    v.as_str() == Some("")
}

/// BFCL `standardize_string`: drop ` ,./-_*^`, lowercase, `'` → `"`.
pub(super) fn standardize(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | ',' | '.' | '/' | '-' | '_' | '*' | '^'))
        .collect::<String>()
        .to_lowercase()
        .replace('\'', "\"")
}

/// A JSON number as parsed: an integer (exact), a double, or an integer beyond `i128` kept as its digits
/// (see [`super::exact`]).
#[derive(Debug, Clone)]
enum Num {
    Int(i128),
    Float(f64),
    Big(String),
}

fn num(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::Int(i128::from(i))
    } else if let Some(u) = n.as_u64() {
        Num::Int(i128::from(u))
    } else {
        Num::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// The number a value holds: a JSON number or an integer kept exact by [`super::exact::parse`].
fn value_num(v: &Value) -> Option<Num> {
    match v {
        Value::Number(n) => Some(num(n)),
        Value::String(_) => exact::big_int(v).map(|d| match d.parse::<i128>() {
            Ok(i) => Num::Int(i),
            Err(_) => Num::Big(d.to_string()),
        }),
        _ => None,
    }
}

/// Exact equality of two numbers, as Python compares `int` and `float`: integers
/// exactly (never through a double: `9007199254740993 != 9007199254740992.0`),
/// a double against an integer by the double's exact value, doubles as doubles.
fn num_eq(a: &Num, b: &Num) -> bool {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x == y,
        (Num::Float(x), Num::Float(y)) => x == y,
        (Num::Big(x), Num::Big(y)) => x == y,
        // A `Big` is outside the i128 range, an `Int` inside it.
        (Num::Big(_), Num::Int(_)) | (Num::Int(_), Num::Big(_)) => false,
        (Num::Int(i), Num::Float(f)) | (Num::Float(f), Num::Int(i)) => {
            // |f| < 2^127: the cast is exact for an integral double.
            f.is_finite() && f.fract() == 0.0 && f.abs() < 1.7e38 && *f as i128 == *i
        }
        (Num::Big(d), Num::Float(f)) | (Num::Float(f), Num::Big(d)) => {
            exact::integral_double_digits(*f).is_some_and(|e| &e == d)
        }
    }
}

/// Exact equality of two JSON numbers (see [`num_eq`]).
pub(super) fn numbers_equal(a: &Number, b: &Number) -> bool {
    num_eq(&num(a), &num(b))
}

/// Strict mode: does the model's `value` equal the acceptable value `want`?
/// Strings after [`standardize`] at any depth, numbers exactly by value, lists in
/// order, dicts as patterns (see [`dict_match`]).
pub(super) fn values_match(value: &Value, want: &Value) -> bool {
    match (value, want) {
        _ if exact::is_big_int(value) || exact::is_big_int(want) => {
            matches!((value_num(value), value_num(want)), (Some(a), Some(b)) if num_eq(&a, &b))
        }
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

/// Python's type of a value decoded by `json.loads`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PyType {
    None,
    Bool,
    Int,
    Float,
    Str,
    List,
    Dict,
}

pub(super) fn py_type(v: &Value) -> PyType {
    match v {
        Value::Null => PyType::None,
        Value::Bool(_) => PyType::Bool,
        Value::Number(n) if n.is_f64() => PyType::Float,
        Value::Number(_) => PyType::Int,
        Value::String(_) if exact::is_big_int(v) => PyType::Int,
        Value::String(_) => PyType::Str,
        Value::Array(_) => PyType::List,
        Value::Object(_) => PyType::Dict,
    }
}

/// Python's `a == b` on values decoded by `json.loads`: `True == 1 == 1.0`,
/// integers and doubles exactly, lists in order, dicts by keys and values.
pub(super) fn py_eq(a: &Value, b: &Value) -> bool {
    let as_num = |v: &Value| match v {
        Value::Bool(x) => Some(Num::Int(i128::from(*x))),
        other => value_num(other),
    };
    match (a, b) {
        _ if exact::is_big_int(a) || exact::is_big_int(b) => {
            matches!((as_num(a), as_num(b)), (Some(x), Some(y)) if num_eq(&x, &y))
        }
        (Value::Null, Value::Null) => true,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => match (as_num(a), as_num(b)) {
            (Some(x), Some(y)) => num_eq(&x, &y),
            _ => false,
        },
    }
}

/// Python's `x in list` (equality, as [`py_eq`]).
pub(super) fn py_in(x: &Value, list: &[Value]) -> bool {
    list.iter().any(|y| py_eq(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_exactly() {
        let n = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert!(!values_match(
            &n("9007199254740993"),
            &n("9007199254740992.0")
        ));
        assert!(values_match(
            &n("9007199254740992"),
            &n("9007199254740992.0")
        ));
        assert!(values_match(&n("5"), &n("5.0")));
        assert!(!values_match(
            &n("18446744073709551615"),
            &n("18446744073709551614")
        ));
        assert!(values_match(
            &n("18446744073709551615"),
            &n("18446744073709551615")
        ));
        assert!(values_match(&n("-3"), &n("-3.0")));
        assert!(!values_match(&n("0.1"), &n("0.10000001")));
        assert!(values_match(&n("0.1"), &n("0.10")));
        assert!(values_match(&n("1e2"), &n("100")));
        assert!(!values_match(&n("1e300"), &n("1")));
    }

    #[test]
    fn python_equality() {
        assert!(py_eq(&json!(true), &json!(1)));
        assert!(py_eq(&json!(false), &json!(0.0)));
        assert!(!py_eq(&json!(true), &json!("true")));
        assert!(py_eq(&json!([1, {"a": 2.0}]), &json!([1.0, {"a": 2}])));
        assert!(!py_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!py_eq(&json!(null), &json!("")));
        assert_eq!(py_type(&json!(5.0)), PyType::Float);
        assert_eq!(py_type(&json!(5)), PyType::Int);
    }

    #[test]
    fn standardisation() {
        assert_eq!(standardize("San Francisco, CA"), "sanfranciscoca");
        assert_eq!(standardize("it's_A-b*c^d/e.f"), "it\"sabcdef");
    }
}
