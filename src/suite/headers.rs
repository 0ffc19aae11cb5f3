//! What a provider's `headers:` mean: `${NAME}` references to environment variables, and which header names carry
//! a credential.
//!
//! Why this module exists: the same rules are read where the suite is checked (preflight), where requests are sent
//! (the clients), where the response cache keys an entry and where secrets are redacted; they belong to the suite's
//! syntax, so none of those places has to reach into an HTTP client for them.

/// The environment variables a header value references as `${NAME}`, in order; an error for a `${` that is never
/// closed or a name that is not one.
pub fn env_refs(value: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("`${{` is never closed in {value:?}"));
        };
        let name = &after[..end];
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "`${{{name}}}` is not an environment variable reference (letters, digits and _)"
            ));
        }
        out.push(name.to_string());
        rest = &after[end + 1..];
    }
    Ok(out)
}

/// Replace `${NAME}` with the environment variable's value (used for extra headers).
pub fn expand_env(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push_str(&std::env::var(&after[..end]).unwrap_or_default());
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Headers that carry a credential: the API-key headers the clients send (`Authorization`, `api-key`, `x-api-key`,
/// `x-goog-api-key`) and `Proxy-Authorization`. Their values say who is asking, not what is asked, so the request
/// hash takes only their names; every value is a secret to redact.
pub fn is_credential_header(name: &str) -> bool {
    const CREDENTIAL: [&str; 5] = [
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
    ];
    CREDENTIAL.iter().any(|c| c.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_refs_parse_names_and_reject_broken_references() {
        assert_eq!(env_refs("plain").unwrap(), Vec::<String>::new());
        assert_eq!(
            env_refs("Bearer ${TOKEN_A}-${B_2}").unwrap(),
            vec!["TOKEN_A".to_string(), "B_2".to_string()]
        );
        assert!(env_refs("Bearer ${TOKEN")
            .unwrap_err()
            .contains("never closed"));
        assert!(env_refs("${}").is_err());
        assert!(env_refs("${A B}").is_err());
        assert!(env_refs("${1A}").is_err());
    }
}
