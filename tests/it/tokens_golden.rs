//! Why this exists: evalh's o200k counter (`src/tokens.rs`) is its own implementation, and the preflight, budget
//! and token-count discrepancy are only as right as its counts. This checks it, count for count, against Python
//! tiktoken on the varied strings of `tests/data/tokens_o200k.jsonl` (written by `scripts/gen_token_golden.py`).

use evalh::tokens::Tokenizer;

#[test]
fn counts_equal_python_tiktoken() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tokens_o200k.jsonl");
    let data = std::fs::read_to_string(path).expect("golden file");
    let tok = Tokenizer::o200k();
    let (mut total, mut wrong) = (0usize, Vec::new());
    for (line_no, line) in data.lines().enumerate() {
        let row: serde_json::Value = serde_json::from_str(line).expect("golden line is JSON");
        let text = row["text"].as_str().expect("text");
        let want = row["count"].as_u64().expect("count");
        let got = tok.count(text);
        total += 1;
        if got != want {
            wrong.push(format!("line {}: {text:?}: {got} != {want}", line_no + 1));
        }
        assert_eq!(tok.count_memo(text), got, "memoised count differs");
    }
    assert!(total >= 3000, "only {total} golden strings");
    assert!(
        wrong.is_empty(),
        "{} of {total} counts differ from tiktoken:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(20)].join("\n")
    );
}
