//! `evalh sim serve`: the simulator as a standalone OpenAI-compatible server that any client can call.

use crate::common;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};

fn post(addr: &str, body: &str) -> (u16, serde_json::Value) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status: u16 = resp.split_whitespace().nth(1).unwrap().parse().unwrap();
    let json = resp.split("\r\n\r\n").nth(1).unwrap();
    (status, serde_json::from_str(json).unwrap())
}

#[test]
fn sim_serve_answers_openai_requests_deterministically() {
    let d = fixture(&[
        ("s.yaml", &sim_suite("run: {seed: 3}\n")),
        ("data.jsonl", TICKETS),
    ]);
    let mut child = std::process::Command::new(bin())
        .args(["sim", "serve", "s.yaml", "--port", "0"])
        .current_dir(d.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/v1"),
        "{url}"
    );
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .to_string();

    // A client that knows nothing of evalh: the item is found from the rendered prompt.
    let body = serde_json::json!({"model": "m-base", "messages": [
        {"role": "system", "content": "Classify into billing, bug, feature."},
        {"role": "user", "content": "I was charged twice this month"}]})
    .to_string();
    let (status, v) = post(&addr, &body);
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .trim_end_matches('.')
            .replace("Category: ", ""),
        "billing"
    );
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert_eq!(post(&addr, &body).1, v, "same request, same answer");
    let (status, v) = post(
        &addr,
        &serde_json::json!({"model": "nope", "messages": []}).to_string(),
    );
    assert_eq!(status, 404);
    assert!(v["error"]["message"].as_str().unwrap().contains("nope"));
    child.kill().unwrap();
    let _ = child.wait();
}
