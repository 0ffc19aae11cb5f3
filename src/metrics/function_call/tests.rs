//! Tests of the function-call checker: hand-written cases, BFCL's own verdicts (golden vectors made by running
//! `bfcl-eval`), and the strict mode's promise that no value the answer key lists is scored wrong.

use super::matching::max_matching;
use super::schema::to_json_schema;
use super::*;
use serde_json::json;
use std::collections::BTreeMap;

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

// ---------------------------------------------------------------------------
// BFCL's own verdicts (tests/data/golden/bfcl_agreement.json.gz, scripts/golden/bfcl_agreement.py)

#[derive(serde::Deserialize)]
struct Golden {
    tools: Vec<Vec<ToolDef>>,
    entries: Vec<GoldenEntry>,
    cases: Vec<GoldenCase>,
}

#[derive(serde::Deserialize)]
struct GoldenEntry {
    id: String,
    category: String,
    tools: usize,
    expected: Vec<ExpectedCall>,
}

#[derive(serde::Deserialize)]
struct GoldenCase {
    e: usize,
    class: String,
    /// The calls, or a text answer without any call.
    actual: Value,
    valid: bool,
    error_type: Option<String>,
    #[serde(default)]
    greedy_trap: bool,
}

fn golden() -> Golden {
    // EVALH_BFCL_GOLDEN: another sample made by the same script (e.g. all generated cases).
    let path = std::env::var("EVALH_BFCL_GOLDEN").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/golden/bfcl_agreement.json.gz"
        )
        .to_string()
    });
    let bytes = std::fs::read(&path).expect("golden vectors");
    let text = if path.ends_with(".gz") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut s)
            .expect("golden vectors gunzip");
        s
    } else {
        String::from_utf8(bytes).expect("golden vectors utf-8")
    };
    serde_json::from_str(&text).expect("golden vectors parse")
}

fn category_named(name: &str) -> Category {
    Category::from_id(&format!("{name}_0")).unwrap_or_else(|| panic!("category {name}"))
}

fn calls_of(actual: &Value) -> Vec<ToolCall> {
    match actual {
        Value::String(_) => Vec::new(),
        other => serde_json::from_value(other.clone()).expect("calls"),
    }
}

/// In `compat: bfcl`, evalh's verdict and BFCL's error type equal BFCL's on every
/// golden case, except the greedy-pairing traps, where evalh accepts what BFCL's
/// first-match pairing rejects.
#[test]
fn bfcl_mode_agrees_with_bfcl() {
    let g = golden();
    let sets: Vec<ToolSet> = g.tools.iter().map(|t| ToolSet::new(t)).collect();
    let mut per_category: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut traps, mut mismatches) = (Vec::new(), Vec::new());
    for (k, c) in g.cases.iter().enumerate() {
        let entry = &g.entries[c.e];
        let cat = category_named(&entry.category);
        if let Some(from_id) = Category::from_id(&entry.id) {
            assert_eq!(from_id, cat, "{}", entry.id);
        }
        let actual = calls_of(&c.actual);
        let v = sets[entry.tools].check_compat(&entry.expected, &actual, Compat::Bfcl, Some(cat));
        assert_eq!(v.correct, v.error.is_none());
        let n = per_category.entry(entry.category.clone()).or_default();
        n.0 += 1;
        if c.greedy_trap {
            assert!(!c.valid, "case {k}: a trap is a case BFCL rejects");
            if v.correct {
                traps.push(format!("{} ({})", entry.id, c.actual));
            } else {
                mismatches.push(format!(
                    "case {k} {} [{}]: greedy trap not accepted: {}",
                    entry.id, c.class, v.detail
                ));
            }
            continue;
        }
        let same_error = if actual.is_empty() && !c.valid {
            v.error == Some(CallError::Abstained)
                && (c.actual.is_string() || v.bfcl_error == c.error_type)
        } else {
            v.bfcl_error == c.error_type
        };
        if v.correct == c.valid && same_error {
            n.1 += 1;
        } else {
            mismatches.push(format!(
                "case {k} {} [{}] actual {}: evalh {} {:?} ({}), BFCL {} {:?}",
                entry.id,
                c.class,
                c.actual,
                v.correct,
                v.bfcl_error,
                v.detail,
                c.valid,
                c.error_type
            ));
        }
    }
    eprintln!("bfcl agreement per category (agree/total): {per_category:?}");
    eprintln!(
        "greedy-pairing traps (BFCL rejects, evalh accepts): {}",
        traps.len()
    );
    for t in &traps {
        eprintln!("  {t}");
    }
    assert!(g.cases.len() > 5000, "only {} cases", g.cases.len());
    assert!(per_category.len() >= 10, "{per_category:?}");
    assert!(traps.len() >= 3, "the hand-made traps must be among them");
    assert!(
        mismatches.is_empty(),
        "{} of {} cases disagree with BFCL:\n{}",
        mismatches.len(),
        g.cases.len(),
        mismatches
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A concrete model value for an answer value: dict patterns (field → acceptable
/// values) become dicts of their first alternatives, lists of patterns likewise.
fn concrete(v: &Value, schema: Option<&Value>) -> Value {
    let schema = schema.and_then(Value::as_object);
    match v {
        Value::Object(m) => {
            let props = schema.and_then(|s| s.get("properties"));
            Value::Object(
                m.iter()
                    .filter_map(|(k, alts)| {
                        first_alt(alts)
                            .map(|a| (k.clone(), concrete(a, props.and_then(|p| p.get(k)))))
                    })
                    .collect(),
            )
        }
        Value::Array(xs) => {
            let items = schema.and_then(|s| s.get("items"));
            let dict_items =
                items.and_then(|i| i.get("type")).and_then(Value::as_str) == Some("dict");
            Value::Array(
                xs.iter()
                    .map(|x| {
                        if dict_items && x.is_object() {
                            concrete(x, items)
                        } else {
                            x.clone()
                        }
                    })
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

fn first_alt(alts: &Value) -> Option<&Value> {
    match alts {
        Value::Array(xs) => xs.iter().find(|x| x.as_str() != Some("")),
        other => Some(other),
    }
}

/// A schema-valid value for a required parameter the answer does not mention.
fn filler(schema: &Value) -> Value {
    if let Some(d) = schema
        .get("default")
        .filter(|d| !d.is_null() && d.as_str() != Some(""))
    {
        return d.clone();
    }
    if let Some(e) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return e.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => json!(1),
        Some("float" | "number") => json!(1.5),
        Some("boolean") => json!(true),
        Some("array" | "tuple") => json!([]),
        Some("dict" | "object") => json!({}),
        _ => json!("x"),
    }
}

/// Strict mode never scores a value listed in a possible answer wrong: for every
/// golden entry, every expected call and every listed value of every argument
/// (the others at their first listed value, `""` also as an omission), the calls
/// built from the answer key are correct.
#[test]
fn strict_never_rejects_a_listed_value() {
    let g = golden();
    let mut checked = 0usize;
    let mut failures = Vec::new();
    let mut unanswerable = Vec::new();
    for entry in g.entries.iter().filter(|e| !e.expected.is_empty()) {
        // BFCL data bug: an argument listed with no acceptable value at all (`[]`) can never be right.
        if entry.expected.iter().any(|e| {
            e.arguments
                .values()
                .any(|a| a.as_array().is_some_and(Vec::is_empty))
        }) {
            unanswerable.push(entry.id.as_str());
            continue;
        }
        let tools = &g.tools[entry.tools];
        let set = ToolSet::cached(tools);
        let schema_of = |name: &str| tools.iter().find(|t| t.name == name).map(|t| &t.parameters);
        let base: Vec<Map<String, Value>> = entry
            .expected
            .iter()
            .map(|e| {
                let params = schema_of(&e.name);
                let props = params.and_then(|p| p.get("properties"));
                let mut args: Map<String, Value> = e
                    .arguments
                    .iter()
                    .filter_map(|(k, alts)| {
                        first_alt(alts)
                            .map(|a| (k.clone(), concrete(a, props.and_then(|p| p.get(k)))))
                    })
                    .collect();
                let required = params
                    .and_then(|p| p.get("required"))
                    .and_then(Value::as_array);
                for r in required.into_iter().flatten().filter_map(Value::as_str) {
                    if args.contains_key(r) {
                        continue;
                    }
                    match e.arguments.get(r) {
                        // listed as omittable only, but the schema requires it: pass the listed ""
                        Some(_) => args.insert(r.to_string(), json!("")),
                        None => {
                            let s = props.and_then(|p| p.get(r)).cloned().unwrap_or(Value::Null);
                            args.insert(r.to_string(), filler(&s))
                        }
                    };
                }
                args
            })
            .collect();
        for (i, e) in entry.expected.iter().enumerate() {
            let props = schema_of(&e.name).and_then(|p| p.get("properties"));
            for (param, alts) in &e.arguments {
                for alt in values::acceptable(alts) {
                    let schema = props.and_then(|p| p.get(param));
                    let mut variants = vec![Some(concrete(alt, schema))];
                    if alt.as_str() == Some("") {
                        // "" marks an omittable argument; as a value it is listed for string arguments only
                        let string_type = schema
                            .and_then(|s| s.get("type"))
                            .and_then(Value::as_str)
                            .is_none_or(|t| t == "string" || t == "any");
                        if !string_type {
                            variants.clear();
                        }
                        variants.push(None);
                    }
                    for value in variants {
                        let calls: Vec<ToolCall> = base
                            .iter()
                            .enumerate()
                            .map(|(k, args)| {
                                let mut args = args.clone();
                                if k == i {
                                    match &value {
                                        Some(v) => args.insert(param.clone(), v.clone()),
                                        None => args.remove(param),
                                    };
                                }
                                ToolCall {
                                    name: entry.expected[k].name.clone(),
                                    arguments: Value::Object(args),
                                }
                            })
                            .collect();
                        let v = set.check(&entry.expected, &calls);
                        checked += 1;
                        // An omission is only a listed value where the schema does not require the argument.
                        let required_omitted = value.is_none()
                            && schema_of(&e.name)
                                .and_then(|p| p.get("required"))
                                .and_then(Value::as_array)
                                .is_some_and(|r| r.iter().any(|x| x.as_str() == Some(param)));
                        if !v.correct && !required_omitted {
                            failures.push(format!(
                                "{} call {i} {param} = {}: {:?} {}",
                                entry.id,
                                value.map_or("(omitted)".to_string(), |v| v.to_string()),
                                v.error,
                                v.detail
                            ));
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "strict: {checked} calls built from listed values checked; {} unanswerable entries skipped: {unanswerable:?}",
        unanswerable.len()
    );
    assert!(unanswerable.len() < 10, "{unanswerable:?}");
    assert!(checked > 10_000, "only {checked}");
    assert!(
        failures.is_empty(),
        "{} listed value(s) scored wrong:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Where strict mode and BFCL disagree on the golden cases, class by class: each
/// class with disagreements must be one the module docs list as a deliberate
/// difference (or one of its consequences), and the plain classes agree.
#[test]
fn strict_differs_from_bfcl_only_where_documented() {
    let g = golden();
    let sets: Vec<ToolSet> = g.tools.iter().map(|t| ToolSet::new(t)).collect();
    let mut by_class: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for c in &g.cases {
        let entry = &g.entries[c.e];
        let v = sets[entry.tools].check(&entry.expected, &calls_of(&c.actual));
        let n = by_class.entry(c.class.as_str()).or_default();
        n.0 += 1;
        n.1 += usize::from(v.correct != c.valid);
        if v.correct != c.valid
            && std::env::var("EVALH_DEBUG_CLASS")
                .is_ok_and(|x| x == "*" || x.split(',').any(|x| x == c.class))
        {
            eprintln!(
                "{} [{}] {} strict {} ({}) bfcl {} {:?}",
                entry.id, c.class, c.actual, v.correct, v.detail, c.valid, c.error_type
            );
        }
    }
    eprintln!("strict vs BFCL (cases, disagreements) per class:");
    for (class, (n, d)) in &by_class {
        eprintln!("  {class}: {n}, {d}");
    }
    for class in [
        "wrong_name",
        "wrong_value",
        "missing_required",
        "abstained",
        "extra_call",
        "wrong_function",
        "call_on_irrelevance",
    ] {
        let (n, d) = by_class.get(class).copied().unwrap_or_default();
        assert!(n > 0 && d == 0, "{class}: {d} of {n} disagree");
    }
}

/// Odd inputs (schemas outside BFCL's dialect, answers of any shape, arguments of
/// any JSON type, a category that contradicts the shape) give a verdict in both
/// modes, never a panic.
#[test]
fn odd_inputs_never_panic() {
    let odd_values = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1.5),
        json!(18446744073709551615u64),
        json!(""),
        json!("x"),
        json!([]),
        json!([1, "a", null, [2], {"k": 1}]),
        json!({}),
        json!({"k": [1], "j": ""}),
    ];
    let schemas = [
        json!({"type": "dict", "properties": {"a": {"type": "array"}, "b": {"type": ["integer", "null"]},
            "c": {"type": "tuple", "items": {"type": "dict"}}, "d": {"type": "Widget"}, "e": {}}, "required": ["a", 7]}),
        json!({"type": "object"}),
        json!({"properties": "nope"}),
        json!([]),
    ];
    let categories = [
        None,
        Some(Category::SimplePython),
        Some(Category::Multiple),
        Some(Category::LiveParallel),
        Some(Category::Irrelevance),
    ];
    let mut n = 0;
    for schema in &schemas {
        let tools = vec![ToolDef {
            name: "f.g".into(),
            description: String::new(),
            parameters: schema.clone(),
        }];
        let set = ToolSet::new(&tools);
        for alt in &odd_values {
            let expected = [
                exp(
                    "f.g",
                    json!({"a": alt, "b": [alt, ""], "c": [alt], "d": [alt], "e": alt}),
                ),
                exp("h", json!({})),
            ];
            for arg in &odd_values {
                let args = json!({"a": arg, "b": arg, "c": arg, "d": arg, "e": arg, "z": arg});
                let calls = [
                    call("f_g", args.clone()),
                    call("f.g", arg.clone()),
                    call("h", json!(args.to_string())),
                ];
                for k in 0..=calls.len() {
                    for cat in categories {
                        for e in [&expected[..1], &expected[..], &[]] {
                            for compat in [Compat::Strict, Compat::Bfcl] {
                                let v = set.check_compat(e, &calls[..k], compat, cat);
                                assert_eq!(v.correct, v.error.is_none());
                                n += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(n > 10_000, "{n}");
}

/// Integers beyond 64 bits, in the answer key and in the model's argument string, compare exactly in both modes (as
/// Python's `json.loads` and `==` do); through serde_json alone both sides would round to the same double.
#[test]
fn integers_of_any_size_compare_exactly() {
    let tools = vec![ToolDef {
        name: "f".into(),
        description: String::new(),
        parameters: json!({"type": "object", "properties": {
            "n": {"type": "integer"}, "x": {"type": "number"}, "s": {"type": "string"}
        }}),
    }];
    let set = ToolSet::new(&tools);
    let row = parse_exact_json(
        r#"{"expected": [{"name": "f", "arguments": {"n": [123456789012345678901, -99999999999999999999999]}}]}"#,
    )
    .unwrap();
    let expected: Vec<ExpectedCall> = serde_json::from_value(row["expected"].clone()).unwrap();
    let args = |n: &str| call("f", json!(format!(r#"{{"n": {n}}}"#)));
    for compat in [Compat::Strict, Compat::Bfcl] {
        for n in ["123456789012345678901", "-99999999999999999999999"] {
            let v = set.check_compat(&expected, &[args(n)], compat, None);
            assert!(v.correct, "{compat:?} {n}: {}", v.detail);
        }
        // Each of these is the same double as an acceptable value, but a different integer.
        for n in [
            "123456789012345678900",
            "123456789012345678902",
            "-99999999999999999999998",
        ] {
            let v = set.check_compat(&expected, &[args(n)], compat, None);
            assert!(!v.correct, "{compat:?} {n}");
            assert!(
                v.detail.contains(n),
                "the message shows the digits: {}",
                v.detail
            );
            assert!(v.detail.contains("123456789012345678901"), "{}", v.detail);
        }
    }
    // Strict mode: an integral double equals the integer it is exactly (2^70 both ways), a big integer is an
    // integer and a number for the schema, not a string.
    let two70 = parse_exact_json(r#"{"n": [1180591620717411303424]}"#).unwrap();
    let e = [exp("f", two70)];
    let v = set.check(
        &e,
        &[call("f", json!(r#"{"n": 1.180591620717411303424e21}"#))],
    );
    assert!(v.correct, "{}", v.detail);
    let v = set.check(&e, &[call("f", json!(r#"{"n": 1180591620717411303424}"#))]);
    assert!(v.correct, "{}", v.detail);
    let e = [exp("f", json!({"s": ["x", "y"]}))];
    let v = set.check(&e, &[call("f", json!(r#"{"s": 123456789012345678901}"#))]);
    assert_eq!(v.error, Some(CallError::WrongType), "{}", v.detail);
    let e = [exp(
        "f",
        parse_exact_json(r#"{"x": [123456789012345678901]}"#).unwrap(),
    )];
    let v = set.check(&e, &[call("f", json!(r#"{"x": 123456789012345678901}"#))]);
    assert!(v.correct, "{}", v.detail);
}
