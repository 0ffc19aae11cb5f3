//! Integers of any size in call arguments and answer keys, compared exactly as Python compares them.
//!
//! Why this module exists: serde_json (built without `arbitrary_precision`, which would make every journal read
//! slower) decodes an integer beyond 64 bits as a double, so `123456789012345678901` and `123456789012345678900`
//! would compare equal; Python's `json.loads`, which BFCL's checker runs on, keeps both exact. [`parse`] decodes a
//! JSON text like serde_json but keeps each such integer's digits in a marker string that only this module's
//! readers ([`big_int`], [`is_big_int`]) understand, and [`plain`] turns the markers back into doubles for code that
//! needs ordinary JSON (the JSON Schema validator). A marker is U+0000, `int:` and the digits of an integer beyond
//! 64 bits. U+0000 can only be spelled in JSON text as the escape `\u0000`, and a text holding that escape is
//! decoded without markers; only a string that spells a whole marker (NUL, `int:`, twenty digits) would be read as
//! the number it spells.

use serde_json::{Map, Number, Value};

/// The prefix of a marker string: U+0000, then `int:`, then the integer's digits (with its sign).
const MARK: &str = "\u{0}int:";

/// Decode `text` as JSON, keeping integers that do not fit 64 bits exact (see the module doc).
pub fn parse(text: &str) -> serde_json::Result<Value> {
    if !has_long_digit_run(text) || text.contains("\\u0000") {
        return serde_json::from_str(text);
    }
    serde_json::from_str(&mark_big_ints(text))
}

/// The digits (with a leading `-` when negative) of a marked integer.
pub(super) fn big_int(v: &Value) -> Option<&str> {
    v.as_str()?
        .strip_prefix(MARK)
        .filter(|d| is_big_integer_token(d))
}

/// Is `v` a marked integer?
pub(super) fn is_big_int(v: &Value) -> bool {
    big_int(v).is_some()
}

/// `v` with every marked integer replaced by the nearest double (what serde_json alone would have decoded).
pub(super) fn plain(v: &Value) -> Value {
    match v {
        Value::String(_) => match big_int(v) {
            Some(d) => d
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map_or(Value::Null, Value::Number),
            None => v.clone(),
        },
        Value::Array(xs) => Value::Array(xs.iter().map(plain).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), plain(x)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

/// `v` as JSON text, each marked integer written as its digits (for messages).
pub(super) fn to_text(v: &Value) -> String {
    let s = v.to_string();
    if !s.contains("\"\\u0000int:") {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find("\"\\u0000int:") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 11..];
        let end = after.find('"').unwrap_or(after.len());
        out.push_str(&after[..end]);
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// A run of 19 or more ASCII digits: the shortest integer that may not fit an `i64` (a cheap pre-check; without
/// such a run [`parse`] decodes exactly as serde_json does).
pub fn has_long_digit_run(text: &str) -> bool {
    let mut run = 0;
    for b in text.bytes() {
        if b.is_ascii_digit() {
            run += 1;
            if run >= 19 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// Rewrite each integer token outside strings that fits neither `i64` nor `u64` as a marker string; everything else,
/// invalid tokens included (so serde_json reports them as before), is copied unchanged.
fn mark_big_ints(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
            out.push(c);
            continue;
        }
        if c != '-' && !c.is_ascii_digit() {
            out.push(c);
            continue;
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = chars.peek() {
            if d.is_ascii_digit() || matches!(d, '-' | '+' | '.' | 'e' | 'E') {
                end = j + d.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let token = &text[i..end];
        if is_big_integer_token(token) {
            out.push_str("\"\\u0000int:");
            out.push_str(token);
            out.push('"');
        } else {
            out.push_str(token);
        }
    }
    out
}

/// A valid JSON integer (`-?(0|[1-9][0-9]*)`) that fits neither `i64` nor `u64`.
fn is_big_integer_token(t: &str) -> bool {
    let digits = t.strip_prefix('-').unwrap_or(t);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !(digits.len() > 1 && digits.starts_with('0'))
        && t.parse::<i64>().is_err()
        && t.parse::<u64>().is_err()
}

/// The exact integer value of a double, as decimal digits with a leading `-` when negative; `None` unless the double
/// is finite and integral.
pub(super) fn integral_double_digits(f: f64) -> Option<String> {
    if !f.is_finite() || f.fract() != 0.0 {
        return None;
    }
    if f.abs() < 1.7e38 {
        return Some(format!("{}", f as i128));
    }
    // f = mantissa * 2^exp with exp > 0 here: multiply out in base 10^9 limbs (little-endian).
    let bits = f.abs().to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32 - 1075;
    let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let mut limbs: Vec<u64> = vec![
        mantissa % 1_000_000_000,
        mantissa / 1_000_000_000 % 1_000_000_000,
    ];
    limbs.push(mantissa / 1_000_000_000_000_000_000);
    for _ in 0..exp {
        let mut carry = 0u64;
        for l in &mut limbs {
            let x = *l * 2 + carry;
            *l = x % 1_000_000_000;
            carry = x / 1_000_000_000;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut s = String::new();
    if f < 0.0 {
        s.push('-');
    }
    let mut it = limbs.iter().rev();
    if let Some(top) = it.next() {
        s.push_str(&top.to_string());
    }
    for l in it {
        s.push_str(&format!("{l:09}"));
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn big_integers_keep_their_digits_and_everything_else_decodes_as_serde_json_does() {
        let v = parse(r#"{"a": 123456789012345678901, "b": -99999999999999999999999, "c": 18446744073709551615, "d": -9223372036854775808, "e": "123456789012345678901", "f": [1.5e300, 12345678901234567890123.0]}"#).unwrap();
        assert_eq!(big_int(&v["a"]), Some("123456789012345678901"));
        assert_eq!(big_int(&v["b"]), Some("-99999999999999999999999"));
        assert_eq!(v["c"], json!(18446744073709551615u64));
        assert_eq!(v["d"], json!(i64::MIN));
        assert_eq!(v["e"], json!("123456789012345678901"));
        assert!(v["f"][1].is_f64() && v["f"][0].is_f64());
        let plain_text =
            r#"{"x": [1, 2.5, "9999999999999999999999 in a string \" still"], "y": null}"#;
        assert_eq!(
            parse(plain_text).unwrap(),
            serde_json::from_str::<Value>(plain_text).unwrap()
        );
        assert!(plain(&v)["a"].is_f64());
        assert_eq!(
            to_text(&json!({"a": v["a"].clone(), "b": [v["b"].clone(), "x"]})),
            r#"{"a":123456789012345678901,"b":[-99999999999999999999999,"x"]}"#
        );
    }

    #[test]
    fn a_text_that_could_spell_a_marker_is_decoded_without_markers() {
        let v = parse(r#"{"s": "\u0000int:5", "n": 123456789012345678901}"#).unwrap();
        assert!(!is_big_int(&v["s"]));
        assert!(v["n"].is_f64());
    }

    #[test]
    fn invalid_numbers_stay_invalid() {
        for t in [
            r#"{"a": 0123456789012345678901}"#,
            r#"{"a": 123456789012345678901-}"#,
            "[1234567890123456789012",
        ] {
            assert!(parse(t).is_err(), "{t}");
        }
    }

    #[test]
    fn integral_doubles_as_exact_digits() {
        assert_eq!(integral_double_digits(5.0).as_deref(), Some("5"));
        assert_eq!(integral_double_digits(-0.0).as_deref(), Some("0"));
        assert_eq!(integral_double_digits(0.5), None);
        assert_eq!(integral_double_digits(f64::INFINITY), None);
        assert_eq!(
            integral_double_digits(1e22).as_deref(),
            Some("10000000000000000000000")
        );
        // 2^130 and -1e40 (whose nearest double is 10000000000000000303786028427003666890752).
        assert_eq!(
            integral_double_digits(2f64.powi(130)).as_deref(),
            Some("1361129467683753853853498429727072845824")
        );
        assert_eq!(
            integral_double_digits(-1e40).as_deref(),
            Some("-10000000000000000303786028427003666890752")
        );
    }
}
