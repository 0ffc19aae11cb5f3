//! Masking secrets and obvious personal data in logged prompts and answers before they become a dataset.
//!
//! What is masked, in this order (each placeholder holds no digit or `@`, so a later pattern never re-matches it):
//!
//! | kind | recognised as | placeholder |
//! |---|---|---|
//! | `bearer_token` | `Bearer <token>` (8+ token characters) and JSON Web Tokens (`eyJ….….…`) | `Bearer [TOKEN]`, `[TOKEN]` |
//! | `api_key` | `sk-…` (OpenAI, Anthropic `sk-ant-…`), `AKIA…`/`ASIA…` (AWS), `AIza…` (Google), `ghp_…`/`github_pat_…` (GitHub), `xox?-…` (Slack), `sk_live_…`/`rk_test_…` (Stripe) | `[API_KEY]` |
//! | `email` | `name@domain.tld` | `[EMAIL]` |
//! | `card` | 13–19 digits, optionally grouped by spaces or dashes, that pass the Luhn check | `[CARD]` |
//! | `phone` | `+` and 8–15 digits, or 10–11 digits (grouped by spaces, dots, dashes, a parenthesised area code, or not at all); not a date | `[PHONE]` |
//!
//! Known limits: a phone number of fewer than 10 digits written without `+` (a local number) is kept; any 10- or
//! 11-digit number is masked as a possible phone number (an id of that length too); names and postal addresses
//! are not recognised.

use regex::Regex;
use serde::Serialize;
use serde_json::Value;
use std::sync::OnceLock;

/// How many strings of each kind were masked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MaskCounts {
    /// Bearer tokens and JWTs.
    pub bearer_token: u64,
    /// API keys.
    pub api_key: u64,
    /// E-mail addresses.
    pub email: u64,
    /// Card numbers (Luhn-valid).
    pub card: u64,
    /// Phone numbers.
    pub phone: u64,
}

impl MaskCounts {
    /// All kinds together.
    pub fn total(&self) -> u64 {
        self.bearer_token + self.api_key + self.email + self.card + self.phone
    }

    /// Add another count.
    pub fn add(&mut self, o: &MaskCounts) {
        self.bearer_token += o.bearer_token;
        self.api_key += o.api_key;
        self.email += o.email;
        self.card += o.card;
        self.phone += o.phone;
    }
}

struct Patterns {
    bearer: Regex,
    jwt: Regex,
    api_key: Regex,
    email: Regex,
    card: Regex,
    phone: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("masking patterns are valid");
        Patterns {
            bearer: re(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{8,}=*"),
            jwt: re(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
            api_key: re(concat!(
                r"\bsk-[A-Za-z0-9_-]{16,}",
                r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
                r"|\bAIza[0-9A-Za-z_-]{35}",
                r"|\bgh[pousr]_[A-Za-z0-9]{36,}",
                r"|\bgithub_pat_[A-Za-z0-9_]{22,}",
                r"|\bxox[abprs]-[A-Za-z0-9-]{10,}",
                r"|\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",
            )),
            email: re(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
            card: re(r"\b(?:\d[ -]?){12,18}\d\b"),
            phone: re(r"(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?|\(\d{1,4}\)[ .-]?|\b)\d{2,5}(?:[ .-]?\d{2,5}){0,5}\b"),
        }
    })
}

/// The Luhn checksum holds for these digits.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(*d);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

fn digits(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect()
}

fn is_phone(m: &str) -> bool {
    let n = digits(m).len();
    let b = m.as_bytes();
    let date_like = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-';
    if date_like {
        return false;
    }
    if m.starts_with('+') {
        (8..=15).contains(&n)
    } else {
        (10..=11).contains(&n)
    }
}

/// Mask one text; returns the masked text and adds to `counts`.
pub fn mask_text(text: &str, counts: &mut MaskCounts) -> String {
    let p = patterns();
    let mut s = p
        .bearer
        .replace_all(text, |_: &regex::Captures| {
            counts.bearer_token += 1;
            "Bearer [TOKEN]"
        })
        .into_owned();
    s = p
        .jwt
        .replace_all(&s, |_: &regex::Captures| {
            counts.bearer_token += 1;
            "[TOKEN]"
        })
        .into_owned();
    s = p
        .api_key
        .replace_all(&s, |_: &regex::Captures| {
            counts.api_key += 1;
            "[API_KEY]"
        })
        .into_owned();
    s = p
        .email
        .replace_all(&s, |_: &regex::Captures| {
            counts.email += 1;
            "[EMAIL]"
        })
        .into_owned();
    s = p
        .card
        .replace_all(&s, |c: &regex::Captures| {
            let m = &c[0];
            if luhn(&digits(m)) {
                counts.card += 1;
                "[CARD]".to_string()
            } else {
                m.to_string()
            }
        })
        .into_owned();
    p.phone
        .replace_all(&s, |c: &regex::Captures| {
            let m = &c[0];
            if is_phone(m) {
                counts.phone += 1;
                "[PHONE]".to_string()
            } else {
                m.to_string()
            }
        })
        .into_owned()
}

/// Mask every string inside a JSON value (object keys are kept).
pub fn mask_value(v: &mut Value, counts: &mut MaskCounts) {
    match v {
        Value::String(s) => {
            let masked = mask_text(s, counts);
            if masked != *s {
                *s = masked;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| mask_value(x, counts)),
        Value::Object(m) => m.values_mut().for_each(|x| mask_value(x, counts)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(s: &str) -> (String, MaskCounts) {
        let mut c = MaskCounts::default();
        (mask_text(s, &mut c), c)
    }

    #[test]
    fn each_kind_is_masked_and_counted() {
        type Kind = fn(&MaskCounts) -> u64;
        let cases: [(&str, &str, Kind); 16] = [
            (
                "mail jane.doe+work@example.co.uk now",
                "mail [EMAIL] now",
                |c| c.email,
            ),
            (
                "key sk-proj-AbCdEf0123456789XyZ_abc ok",
                "key [API_KEY] ok",
                |c| c.api_key,
            ),
            ("sk-ant-api03-abcdefghijklmnop1234", "[API_KEY]", |c| {
                c.api_key
            }),
            ("aws AKIAIOSFODNN7EXAMPLE.", "aws [API_KEY].", |c| c.api_key),
            (
                "g AIzaSyA1234567890abcdefghijklmnopqrstuv",
                "g [API_KEY]",
                |c| c.api_key,
            ),
            (
                "gh ghp_0123456789abcdefghijklmnopqrstuvwxyz",
                "gh [API_KEY]",
                |c| c.api_key,
            ),
            (
                "Authorization: Bearer abc.def-ghi_jkl/mno+pq==",
                "Authorization: Bearer [TOKEN]",
                |c| c.bearer_token,
            ),
            (
                "t eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r",
                "t [TOKEN]",
                |c| c.bearer_token,
            ),
            ("card 4111 1111 1111 1111 exp", "card [CARD] exp", |c| {
                c.card
            }),
            ("card 5500-0000-0000-0004", "card [CARD]", |c| c.card),
            ("card 378282246310005.", "card [CARD].", |c| c.card),
            ("call +1 (415) 555-0132 today", "call [PHONE] today", |c| {
                c.phone
            }),
            ("call 415-555-0132", "call [PHONE]", |c| c.phone),
            ("ring +44 20 7946 0958", "ring [PHONE]", |c| c.phone),
            ("ring 020 7946 0958", "ring [PHONE]", |c| c.phone),
            ("ring 4155550132", "ring [PHONE]", |c| c.phone),
        ];
        for (input, want, kind) in cases {
            let (got, c) = masked(input);
            assert_eq!(got, want, "{input}");
            assert_eq!(kind(&c), 1, "{input}: {c:?}");
            assert_eq!(c.total(), 1, "{input}: {c:?}");
        }
    }

    #[test]
    fn ordinary_numbers_and_text_are_kept() {
        for keep in [
            "Invoice OLC-2024-0117 dated 2024-03-05, total $3,320.00",
            "meeting at 2026-12-07 06:55:16 UTC",
            "4111 1111 1111 1112 fails the Luhn check",
            "order 12345, room 101, 3.14159",
            "the sk- prefix alone, AKIA alone",
            "version 1.108.7 and 192.168.100.200",
            "[EMAIL] [PHONE] [CARD] [API_KEY] [TOKEN]",
        ] {
            let (got, c) = masked(keep);
            assert_eq!(got, keep);
            assert_eq!(c.total(), 0, "{keep}: {c:?}");
        }
    }

    #[test]
    fn json_values_are_masked_throughout() {
        let mut v = serde_json::json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "me@x.io"}]}], "n": 5});
        let mut c = MaskCounts::default();
        mask_value(&mut v, &mut c);
        assert_eq!(v["messages"][0]["content"][0]["text"], "[EMAIL]");
        assert_eq!(c.email, 1);
        assert!(luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
    }
}
