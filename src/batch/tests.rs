//! The batch wire shapes against the examples in tests/fixtures/wire/batch/ (copied from shared/wire/batch/; its
//! INDEX.md says which are verbatim from the providers' docs or reports and which reconstructed).

use super::wire::*;
use crate::chat::ErrorClass;
use serde_json::{json, Value};

fn fixture(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wire/batch")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn lines(d: Dialect, name: &str) -> Vec<(String, Outcome)> {
    fixture(name)
        .lines()
        .map(|l| parse_result_line(d, l.as_bytes()).expect(name))
        .collect()
}

fn text(o: &Outcome) -> &str {
    match o {
        Outcome::Answer(c) => &c.text,
        other => panic!("not an answer: {other:?}"),
    }
}

#[test]
fn openai_results_come_in_any_order_and_are_matched_by_custom_id() {
    let r = lines(Dialect::OpenAi, "openai-batch-output.jsonl");
    assert_eq!(r[0].0, "request-2");
    assert_eq!(text(&r[0].1), "Hello.");
    assert_eq!(r[1].0, "request-1");
    assert_eq!(text(&r[1].1), "Hello! How can I assist you today?");
    let Outcome::Answer(c) = &r[1].1 else {
        unreachable!()
    };
    let u = c.usage.expect("usage");
    assert_eq!((u.input_tokens, u.output_tokens), (20, 9));
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
}

#[test]
fn openai_error_lines_http_failures_are_classified_expired_ones_unsettled() {
    let r = lines(Dialect::OpenAi, "openai-batch-errors.jsonl");
    let Outcome::Error(e) = &r[0].1 else {
        panic!("{:?}", r[0].1)
    };
    assert_eq!((e.class, e.status), (ErrorClass::BadRequest, Some(400)));
    assert_eq!(e.code.as_deref(), Some("unsupported_parameter"));
    assert_eq!(
        r[1],
        (
            "request-3".to_string(),
            Outcome::Unsettled("batch_expired".into())
        )
    );
}

#[test]
fn azure_output_lines_without_id_and_with_content_filters_parse() {
    let r = lines(Dialect::Azure, "azure-batch-output-chat.jsonl");
    assert_eq!(r[0].0, "task-0");
    assert!(text(&r[0].1).starts_with("Microsoft was founded on April 4, 1975"));
}

#[test]
fn anthropic_results_succeeded_errored_expired() {
    let r = lines(Dialect::Anthropic, "anthropic-batch-results.jsonl");
    assert_eq!(r[0].0, "my-second-request");
    assert!(text(&r[0].1).starts_with("Hello again!"));
    assert!(text(&r[1].1).starts_with("Hello! How can I assist"));
    let Outcome::Error(e) = &r[2].1 else {
        panic!("{:?}", r[2].1)
    };
    assert_eq!((e.class, e.status), (ErrorClass::BadRequest, Some(400)));
    assert_eq!(e.error_type.as_deref(), Some("invalid_request_error"));
    assert_eq!(r[3].1, Outcome::Unsettled("expired".into()));
    let canceled = parse_result_line(
        Dialect::Anthropic,
        br#"{"custom_id":"x","result":{"type":"canceled"}}"#,
    );
    assert_eq!(canceled.unwrap().1, Outcome::Unsettled("canceled".into()));
    assert!(parse_result_line(
        Dialect::Anthropic,
        br#"{"custom_id":"x","result":{"type":"new"}}"#
    )
    .is_err());
}

#[test]
fn gemini_file_and_inline_results_with_http_and_grpc_error_codes() {
    let r = lines(Dialect::Gemini, "gemini-batch-results.jsonl");
    assert_eq!(r[0].0, "request-1");
    assert!(text(&r[0].1).starts_with("Photosynthesis is"));
    assert_eq!(r[1].1.class(), Some(ErrorClass::BadRequest));
    let op: Value =
        serde_json::from_str(&fixture("gemini-batch-operation-succeeded.json")).unwrap();
    let inline = parse_gemini_inline(&op).unwrap();
    assert_eq!(inline[0].0, "request-1");
    assert!(text(&inline[0].1).starts_with("Why don't scientists"));
    // gRPC 13 INTERNAL: a server error, retryable, as a 500 would be interactively.
    assert_eq!(inline[1].0, "request-2");
    assert_eq!(inline[1].1.class(), Some(ErrorClass::ServerError));
    assert_eq!(state(Dialect::Gemini, &op), Ok(BatchState::Ended));
}

#[test]
fn states_of_every_dialect_including_gemini_batch_and_job_prefixes() {
    let j = |n: &str| serde_json::from_str::<Value>(&fixture(n)).unwrap();
    assert_eq!(
        state(Dialect::OpenAi, &j("openai-batch-object-completed.json")),
        Ok(BatchState::Ended)
    );
    assert_eq!(
        state(
            Dialect::Azure,
            &j("azure-batch-object-validating-legacy.json")
        ),
        Ok(BatchState::InProgress)
    );
    let failed = j("azure-batch-object-failed.json");
    assert_eq!(
        state(Dialect::Azure, &failed["value"][0]),
        Ok(BatchState::Failed)
    );
    assert_eq!(
        failure_reason(Dialect::Azure, &failed["value"][0]).as_deref(),
        Some("empty_file: The input file is empty. Please ensure that the batch contains at least one request.")
    );
    assert_eq!(
        failure_reason(Dialect::OpenAi, &j("openai-batch-object-completed.json")),
        None
    );
    let many = serde_json::json!({"errors": {"data": [
        {"code": "a", "message": "m1", "line": 3}, {"message": "m2"}, {"code": "c", "message": "m3"},
        {"code": "d", "message": "m4"}]}});
    assert_eq!(
        failure_reason(Dialect::OpenAi, &many).as_deref(),
        Some("line 3: a: m1; m2; c: m3; and 1 more")
    );
    let gemini = serde_json::json!({"done": true, "error": {"code": 3, "status": "INVALID_ARGUMENT", "message": "bad"}});
    assert_eq!(
        failure_reason(Dialect::Gemini, &gemini).as_deref(),
        Some("INVALID_ARGUMENT: bad")
    );
    assert_eq!(
        state(
            Dialect::Anthropic,
            &j("anthropic-batch-object-created.json")
        ),
        Ok(BatchState::InProgress)
    );
    assert_eq!(
        state(Dialect::Anthropic, &j("anthropic-batch-object-ended.json")),
        Ok(BatchState::Ended)
    );
    assert_eq!(
        state(Dialect::Gemini, &j("gemini-batch-operation-pending.json")),
        Ok(BatchState::InProgress)
    );
    for (s, want) in [
        ("BATCH_STATE_RUNNING", BatchState::InProgress),
        ("JOB_STATE_RUNNING", BatchState::InProgress),
        ("JOB_STATE_SUCCEEDED", BatchState::Ended),
        ("BATCH_STATE_EXPIRED", BatchState::Expired),
        ("JOB_STATE_CANCELLED", BatchState::Cancelled),
        ("BATCH_STATE_FAILED", BatchState::Failed),
    ] {
        assert_eq!(
            state(Dialect::Gemini, &json!({"metadata": {"state": s}})),
            Ok(want),
            "{s}"
        );
    }
    assert!(state(
        Dialect::Gemini,
        &json!({"metadata": {"state": "BATCH_STATE_NEW"}})
    )
    .is_err());
    for (s, want) in [
        ("expired", BatchState::Expired),
        ("cancelled", BatchState::Cancelled),
        ("finalizing", BatchState::InProgress),
    ] {
        assert_eq!(state(Dialect::OpenAi, &json!({"status": s})), Ok(want));
    }
    assert!(state(Dialect::OpenAi, &json!({"status": "weird"})).is_err());
}

#[test]
fn request_lines_wrap_the_interactive_body_without_streaming() {
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": true,
        "stream_options": {"include_usage": true}, "temperature": 0});
    let id = custom_id("base", "item-1", 0);
    let l = request_line(Dialect::OpenAi, &id, "gpt-4o", &body);
    assert_eq!(l["url"], "/v1/chat/completions");
    assert_eq!(l["method"], "POST");
    assert_eq!(l["custom_id"], id.as_str());
    assert!(l["body"].get("stream").is_none() && l["body"].get("stream_options").is_none());
    assert_eq!(l["body"]["temperature"], 0);
    let a = request_line(Dialect::Azure, &id, "my-deployment", &body);
    assert_eq!(
        (a["url"].as_str(), a["body"]["model"].as_str()),
        (Some("/chat/completions"), Some("my-deployment"))
    );
    let an = request_line(
        Dialect::Anthropic,
        &id,
        "",
        &json!({"model": "claude", "max_tokens": 5}),
    );
    assert_eq!(
        an,
        json!({"custom_id": id, "params": {"model": "claude", "max_tokens": 5}})
    );
    let g = request_line(Dialect::Gemini, &id, "", &json!({"contents": []}));
    assert_eq!(g, json!({"key": id, "request": {"contents": []}}));
}

#[test]
fn custom_ids_are_deterministic_distinct_and_within_anthropic_limits() {
    let a = custom_id("base", "x", 0);
    assert_eq!(a, custom_id("base", "x", 0));
    assert_ne!(a, custom_id("base", "x", 1));
    assert_ne!(a, custom_id("cand", "x", 0));
    // Length-prefixed parts: ("ab","c") and ("a","bc") differ.
    assert_ne!(custom_id("ab", "c", 0), custom_id("a", "bc", 0));
    assert!(
        a.len() <= 64
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    );
}
