//! Errors keep their cause (issue 12, item 8), against the real binary over loopback: a refused connection says
//! "Connection refused", a body cut off mid-way says how it ended, and a gateway's own error `type` and `code` (a
//! LiteLLM proxy's envelope) are journaled next to the message.

use crate::common;
use crate::durability_util;
use crate::loopback;
use common::*;
use durability_util::*;
use serde_json::{json, Value};
use std::io::{Read, Write};

fn suite(url: &str, stream: bool) -> String {
    format!(
        r#"name: causes
task: classification
dataset: {{path: data.jsonl, id: id, expected: label}}
labels: [billing, bug, feature]
prompt:
  user: "{{{{ text }}}}"
gate: {{decision: point}}
run: {{concurrency: 1, max_retries: 0, timeout_s: 10}}
providers:
  - {{id: base, role: baseline, kind: openai, model: m, base_url: '{url}/v1', api_key_env: EVALH_TEST_CAUSE_KEY,
      stream: {stream}, price: {{input_per_mtok: 1, output_per_mtok: 2}}}}
"#
    )
}

/// Run the suite once and return the journal's error objects.
fn errors(url: &str, stream: bool) -> Vec<Value> {
    let d = fixture(&[("s.yaml", &suite(url, stream)), ("data.jsonl", &dataset(2))]);
    let o = loopback::evalh_env(
        d.path(),
        &[
            "run",
            "s.yaml",
            "--out",
            "reports",
            "--no-cache",
            "--no-progress",
        ],
        &[("EVALH_TEST_CAUSE_KEY", "sk-cause-test-000000")],
    );
    assert!(matches!(o.status.code(), Some(0 | 1 | 3)), "{}", text(&o));
    let run = only_subdir(&d.path().join("reports"));
    let errs: Vec<Value> = std::fs::read_to_string(run.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["error"].clone())
        .collect();
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs.iter().all(|e| e.is_object()), "{errs:?}");
    errs
}

/// A raw TCP server that answers every request with `head` + `body_part` and then closes the connection before
/// the body is complete (the declared length, or the chunked stream's end, never arrives).
fn cutting_server(head: &'static str, body_part: String) -> (String, std::thread::JoinHandle<()>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let t = std::thread::spawn(move || {
        // Two requests (two items, no retries); the accept loop ends after them.
        for _ in 0..2 {
            let (mut s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            // Read the request: headers, then Content-Length bytes of body.
            let mut buf = Vec::new();
            let mut b = [0u8; 4096];
            let body_at = loop {
                let n = s.read(&mut b).unwrap();
                assert!(n > 0, "request cut");
                buf.extend_from_slice(&b[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let head_text = String::from_utf8_lossy(&buf[..body_at]).to_ascii_lowercase();
            let len: usize = head_text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            while buf.len() < body_at + len {
                let n = s.read(&mut b).unwrap();
                assert!(n > 0);
                buf.extend_from_slice(&b[..n]);
            }
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(body_part.as_bytes()).unwrap();
            s.flush().unwrap();
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    });
    (url, t)
}

#[test]
fn a_refused_connection_says_connection_refused() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for e in errors(&format!("http://127.0.0.1:{port}"), false) {
        assert_eq!(e["class"], "connection", "{e}");
        let m = e["message"].as_str().unwrap();
        assert!(m.contains("Connection refused"), "{m}");
        assert!(m.contains(&format!("127.0.0.1:{port}")), "{m}");
    }
}

#[test]
fn a_body_cut_mid_way_says_how_it_ended() {
    // A JSON body shorter than its Content-Length.
    let (url, t) = cutting_server(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n",
        r#"{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"#.to_string(),
    );
    for e in errors(&url, false) {
        assert_eq!(e["class"], "truncated_stream", "{e}");
        let m = e["message"].as_str().unwrap();
        assert!(m.starts_with("error decoding response body: "), "{m}");
        assert!(m.to_ascii_lowercase().contains("end of file"), "{m}");
    }
    t.join().unwrap();
    // An event stream whose chunked encoding stops after one event, without its last chunk.
    let event = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"bil\"}}]}\n\n";
    let (url, t) = cutting_server(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
        format!("{:x}\r\n{event}\r\n", event.len()),
    );
    for e in errors(&url, true) {
        assert_eq!(e["class"], "truncated_stream", "{e}");
        let m = e["message"].as_str().unwrap();
        assert!(m.to_ascii_lowercase().contains("eof"), "{m}");
    }
    t.join().unwrap();
}

#[test]
fn a_gateways_error_type_and_code_are_journaled() {
    // LiteLLM proxy envelopes: OpenAI-shaped, `code` as a string.
    let server = loopback::Server::start(|s| {
        if s.last_user().contains("ticket 0") {
            loopback::error(
                429,
                json!({"error": {"message": "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached",
                    "type": "throttling_error", "param": null, "code": "429"}}),
            )
        } else {
            loopback::error(
                400,
                json!({"error": {"message": "No connected db.", "type": "no_db_connection", "param": null, "code": "400"}}),
            )
        }
    });
    let mut errs = errors(&server.url, false);
    errs.sort_by_key(|e| e["status"].as_u64());
    assert_eq!(
        (&errs[0]["class"], &errs[0]["type"], &errs[0]["code"]),
        (
            &json!("bad_request"),
            &json!("no_db_connection"),
            &json!("400")
        ),
        "{errs:?}"
    );
    assert_eq!(errs[0]["message"], "No connected db.");
    assert_eq!(
        (&errs[1]["class"], &errs[1]["type"], &errs[1]["code"]),
        (
            &json!("rate_limit"),
            &json!("throttling_error"),
            &json!("429")
        ),
        "{errs:?}"
    );
}
