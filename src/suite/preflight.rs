//! Preflight: what a suite needs from the environment before anything is sent.
//!
//! Why this module exists: a missing API key used to surface one variable at a time, after a run directory had been
//! created, and a hosted provider without any credential sent unauthenticated requests. `validate`, `plan` and `run`
//! call [`preflight`] before they create or send anything, so every unset variable (API keys and `${VAR}` references
//! in `headers:`) is reported at once, and a hosted kind without a credential is an error unless the entry says
//! `auth: none`. It is kept apart from [`super::validate`] because it reads the environment: `score` and `report`
//! re-read a run's suite offline and need no keys.

use super::headers::env_refs;
use super::load::{locate, locate_provider, LoadedSuite};
use super::model::{AuthMode, ProviderKind, ProviderSpec};
use crate::error::{Error, InputError, Result};
use std::collections::BTreeMap;

/// Header names that carry a credential, so a provider sending one of them needs no `api_key_env`.
const AUTH_HEADERS: [&str; 4] = ["authorization", "api-key", "x-api-key", "x-goog-api-key"];

/// Whether the kind talks to a hosted API that needs a credential.
fn needs_key(kind: ProviderKind) -> bool {
    matches!(
        kind,
        ProviderKind::Openai | ProviderKind::Azure | ProviderKind::Anthropic | ProviderKind::Gemini
    )
}

fn set(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty())
}

/// Check that the environment provides everything the suite's providers reference, and that every hosted provider
/// has a credential (or says `auth: none`). All problems are reported together.
pub fn preflight(ls: &LoadedSuite) -> Result<()> {
    let at = |p: &ProviderSpec, key: &[&str], msg: String| {
        let e = InputError::new(&ls.providers_path, msg);
        match locate_provider(&ls.providers_src, &p.id, key)
            .or_else(|| locate(&ls.providers_src, "providers", None, 0))
        {
            Some((l, c)) => e.at(l, c),
            None => e.at_line(1),
        }
    };
    // Unset variable -> (where it is first referenced, who references it).
    let mut unset: BTreeMap<String, (InputError, Vec<String>)> = BTreeMap::new();
    let mut note_unset = |var: &str, p: &ProviderSpec, key: &[&str], how: &str| {
        let entry = unset
            .entry(var.to_string())
            .or_insert_with(|| (at(p, key, String::new()), Vec::new()));
        entry.1.push(format!("{}.{how}", p.id));
    };
    let mut errs = Vec::new();
    // The judge is a provider entry too: its key is checked before anything is paid.
    let judge = ls.suite.judge.as_ref().map(|j| &j.provider);
    for p in ls.suite.providers.iter().chain(judge) {
        if let Some(env) = &p.api_key_env {
            if !set(env) {
                note_unset(env, p, &["api_key_env"], "api_key_env");
            }
        }
        for (name, value) in &p.headers {
            let Ok(vars) = env_refs(value) else { continue }; // reported by validation
            let missing: Vec<&String> = vars.iter().filter(|v| !set(v)).collect();
            for v in &missing {
                note_unset(
                    v,
                    p,
                    &["headers", name.as_str()],
                    &format!("headers.{name}"),
                );
            }
            if missing.is_empty() && !vars.is_empty() {
                let expanded = super::headers::expand_env(value);
                if reqwest::header::HeaderValue::from_str(&expanded).is_err() {
                    errs.push(
                        at(
                            p,
                            &["headers", name.as_str()],
                            format!(
                                "provider `{}`: header `{name}`: the environment variables it references ({}) hold \
                                 a line break or control character, which a header cannot carry",
                                p.id,
                                vars.join(", ")
                            ),
                        )
                        .hint("set the variables to one line of text (no trailing newline)"),
                    );
                }
            }
        }
        let auth_header = p
            .headers
            .keys()
            .any(|k| AUTH_HEADERS.contains(&k.to_ascii_lowercase().as_str()));
        if needs_key(p.kind)
            && p.api_key_env.is_none()
            && !auth_header
            && p.auth != Some(AuthMode::None)
        {
            errs.push(
                at(
                    p,
                    &[],
                    format!(
                        "provider `{}` (kind {}) has no credential: no `api_key_env` and no auth header",
                        p.id,
                        p.kind.as_str()
                    ),
                )
                .hint(
                    "add `api_key_env: NAME_OF_THE_KEY_VARIABLE`, or `auth: none` for an endpoint that takes no key \
                     (a local vLLM, llama.cpp or Ollama server)",
                ),
            );
        }
    }
    if !unset.is_empty() {
        let mut first = None;
        let list: Vec<String> = unset
            .into_iter()
            .map(|(var, (e, users))| {
                if first.is_none() {
                    first = Some(e);
                }
                format!("{var} ({})", users.join(", "))
            })
            .collect();
        let names: Vec<&str> = list
            .iter()
            .map(|l| l.split(' ').next().unwrap_or(""))
            .collect();
        let mut e = first.unwrap_or_else(|| InputError::new(&ls.providers_path, ""));
        e.message = format!(
            "{} environment variable{} not set: {}",
            list.len(),
            if list.len() == 1 { " is" } else { "s are" },
            list.join("; ")
        );
        let e = e.hint(format!(
            "export {} (nothing has been sent), or use --providers with sim providers for a dry run",
            names
                .iter()
                .map(|n| format!("{n}=..."))
                .collect::<Vec<_>>()
                .join(" ")
        ));
        errs.insert(0, e);
    }
    match errs.len() {
        0 => Ok(()),
        1 => Err(Error::Input(errs.remove(0))),
        _ => Err(Error::Inputs(errs)),
    }
}
