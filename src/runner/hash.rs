//! The request hash: the canonical identity of one request (what the journal records with each answer, what the
//! response cache keys entries by, and what a resume or a re-score checks a run directory's records against).

use crate::chat::Message;
use crate::provider::{self, ChatRequest};
use crate::suite::{ProviderKind, ProviderSpec};
use serde_json::Value;

/// The version of the canonical request form below. Version 2 added what the client sends besides the body: the full
/// endpoint URL (Azure's deployment and `api-version`), request headers and the client's own defaults.
pub const REQUEST_HASH_VERSION: u32 = 2;

/// Canonical request hash, journaled with every record: provider kind, endpoint identity (URL, headers, client
/// defaults — see [`hash_endpoint`]), model, messages, params, streaming, tools, repeat — and for the simulator its
/// behaviour profile. It holds no secret: a header whose value comes from the environment enters as written in the
/// suite (`${VAR}`), a credential header by its name only. The response cache keys entries by this hash, mixed with
/// the values of such `${VAR}` headers under a local key (see [`crate::cache::Cache::key`]).
pub fn request_hash(spec: &ProviderSpec, endpoint: &str, req: &ChatRequest, repeat: u32) -> String {
    /// The canonical form, serialised straight into the hasher (no JSON tree, no copies of the messages). Field
    /// order and shapes are part of the cache key: changing them invalidates every cache entry.
    #[derive(serde::Serialize)]
    struct Canon<'a> {
        v: u32,
        kind: &'a str,
        endpoint: &'a str,
        model: &'a str,
        messages: &'a [Message],
        params: &'a serde_json::Map<String, Value>,
        stream: bool,
        tools: &'a [crate::chat::ToolDef],
        repeat: u32,
        /// The simulator's answers are a function of its profile and the run seed (the seed is in the endpoint).
        #[serde(skip_serializing_if = "Option::is_none")]
        sim: Option<std::borrow::Cow<'a, crate::suite::SimSpec>>,
    }
    let sim = (spec.kind == ProviderKind::Sim).then(|| match &spec.sim {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(Default::default()),
    });
    let canon = Canon {
        v: REQUEST_HASH_VERSION,
        kind: spec.kind.as_str(),
        endpoint,
        model: &spec.model,
        messages: &req.messages,
        params: &spec.params,
        stream: spec.stream,
        tools: &req.tools,
        repeat,
        sim,
    };
    let mut hasher = blake3::Hasher::new();
    {
        // serde_json writes token by token; batching them spares the hasher hundreds of tiny updates per request.
        // Writing into a hasher cannot fail, and these types always serialise.
        let mut w = std::io::BufWriter::with_capacity(2048, &mut hasher);
        let _ = serde_json::to_writer(&mut w, &canon);
        let _ = std::io::Write::flush(&mut w);
    }
    hasher.finalize().to_hex().to_string()
}

/// The endpoint identity hashed into [`request_hash`], computed once per provider: everything the client sends
/// besides the body, as one string.
///
/// - the URL the client posts to (default base URL filled in, Azure's deployment path and `api-version`, Gemini's
///   method); for the simulator, whose loopback port changes every run, `sim:seed=<run seed>` instead (its answers
///   depend on the seed, not on the port);
/// - the request headers: the client's built-in ones that are not credentials (`anthropic-version`) and the suite's
///   `headers:`, names lower-cased and sorted; a value as written in the suite, so `${VAR}` stays a name and a
///   secret never enters the hash; a credential header (see [`crate::suite::is_credential_header`]) by its name
///   only, so rotating a token neither misses the cache nor fails a resume's check;
/// - the client's defaults for what the suite leaves out (Anthropic's `max_tokens`).
pub fn hash_endpoint(spec: &ProviderSpec, seed: u64) -> String {
    let base = |default: &str| spec.base_url.clone().unwrap_or_else(|| default.to_string());
    let (url, builtin, defaults) = match spec.kind {
        ProviderKind::Sim => (format!("sim:seed={seed}"), None, None),
        ProviderKind::Openai | ProviderKind::Azure => (
            provider::openai_endpoint(spec, &base(provider::openai_default_base_url(spec.kind))),
            None,
            None,
        ),
        ProviderKind::Anthropic => (
            provider::anthropic_endpoint(&base(provider::ANTHROPIC_BASE_URL)),
            Some(("anthropic-version", provider::ANTHROPIC_API_VERSION)),
            Some(serde_json::json!({"max_tokens": provider::ANTHROPIC_DEFAULT_MAX_TOKENS})),
        ),
        ProviderKind::Gemini => (
            provider::gemini_endpoint(&base(provider::GEMINI_BASE_URL), &spec.model, spec.stream),
            None,
            None,
        ),
    };
    let mut headers: std::collections::BTreeMap<String, &str> = builtin
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect();
    for (name, value) in &spec.headers {
        let name = name.to_ascii_lowercase();
        let value = if crate::suite::is_credential_header(&name) {
            "(credential)"
        } else {
            value.as_str()
        };
        headers.insert(name, value);
    }
    let mut id = serde_json::json!({"url": url, "headers": headers});
    if let Some(d) = defaults {
        id["defaults"] = d;
    }
    id.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::RequestMeta;
    use serde_json::json;
    use std::sync::Arc;

    /// The cache key is persistent: the streaming serialisation must hash exactly what the original JSON-tree form
    /// did, or every existing cache entry would silently miss.
    #[test]
    fn request_hash_is_the_json_tree_hash() {
        fn tree_hash(
            spec: &ProviderSpec,
            endpoint: &str,
            req: &ChatRequest,
            repeat: u32,
        ) -> String {
            let mut canon = json!({
                "v": 2,
                "kind": spec.kind.as_str(),
                "endpoint": endpoint,
                "model": spec.model,
                "messages": req.messages,
                "params": spec.params,
                "stream": spec.stream,
                "tools": *req.tools,
                "repeat": repeat,
            });
            if spec.kind == ProviderKind::Sim {
                canon["sim"] = json!(spec.sim.clone().unwrap_or_default());
            }
            blake3::hash(canon.to_string().as_bytes())
                .to_hex()
                .to_string()
        }
        let yaml = r#"
id: p
kind: openai
model: gpt-4o-mini
base_url: http://127.0.0.1:1/v1
params: {temperature: 0.25, max_tokens: 10, top_p: 1.0e-3, stop: ["\n", "é"]}
"#;
        let mut spec: ProviderSpec = serde_yaml::from_str(yaml).expect("spec");
        let tools = Arc::new(vec![crate::chat::ToolDef {
            name: "get_weather".into(),
            description: "Weather \"now\"".into(),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        }]);
        let req = ChatRequest {
            messages: vec![
                crate::chat::Message {
                    role: crate::chat::Role::System,
                    content: "Classify.\nLabels: a, b".into(),
                },
                crate::chat::Message {
                    role: crate::chat::Role::User,
                    content: "Ticket \u{1F600} \"quoted\" \\ tab\t".into(),
                },
            ],
            tools,
            meta: RequestMeta::default(),
        };
        for repeat in [0, 3] {
            assert_eq!(
                request_hash(&spec, "e", &req, repeat),
                tree_hash(&spec, "e", &req, repeat)
            );
        }
        spec.stream = true;
        assert_eq!(
            request_hash(&spec, "e", &req, 0),
            tree_hash(&spec, "e", &req, 0)
        );
        spec.kind = ProviderKind::Sim;
        assert_eq!(
            request_hash(&spec, "sim:seed=1", &req, 0),
            tree_hash(&spec, "sim:seed=1", &req, 0)
        );
        spec.sim = Some(crate::suite::SimSpec {
            quality: 0.5,
            ..Default::default()
        });
        assert_eq!(
            request_hash(&spec, "sim:seed=1", &req, 1),
            tree_hash(&spec, "sim:seed=1", &req, 1)
        );
    }

    /// Everything the client sends that can change the answer is in the hash; secrets are not.
    #[test]
    fn the_endpoint_identity_covers_headers_and_api_versions_but_no_secret() {
        let spec_of = |kind: &str, url: &str, extra: &str| -> ProviderSpec {
            serde_yaml::from_str(&format!(
                "{{id: p, kind: {kind}, model: m, base_url: '{url}'{extra}}}"
            ))
            .expect("spec")
        };
        let spec = |extra: &str| spec_of("openai", "http://gw/v1", extra);
        let id = |extra: &str| hash_endpoint(&spec(extra), 7);
        let plain = id("");
        // A routing header, by value and by name (case-insensitively).
        assert_ne!(
            id(", headers: {X-Route: cheap}"),
            id(", headers: {X-Route: premium}")
        );
        assert_ne!(id(", headers: {X-Route: cheap}"), plain);
        assert_eq!(
            id(", headers: {X-Route: cheap}"),
            id(", headers: {x-route: cheap}")
        );
        // A `${VAR}` value enters as written: the environment's value is not in the hash.
        let var = "EVALH_UNIT_HASH_ROUTE";
        std::env::set_var(var, "secret-route-value-1");
        let a = id(", headers: {X-Route: '${EVALH_UNIT_HASH_ROUTE}'}");
        assert!(
            a.contains("${EVALH_UNIT_HASH_ROUTE}") && !a.contains("secret-route"),
            "{a}"
        );
        std::env::set_var(var, "secret-route-value-2");
        assert_eq!(a, id(", headers: {X-Route: '${EVALH_UNIT_HASH_ROUTE}'}"));
        // A credential header: its name only.
        assert_eq!(
            id(", headers: {Authorization: 'Bearer a'}"),
            id(", headers: {authorization: 'Bearer b'}")
        );
        assert_ne!(id(", headers: {Authorization: 'Bearer a'}"), plain);
        // Azure: the deployment URL carries the api-version.
        let az = |v: &str| hash_endpoint(&spec_of("azure", "https://r.openai.azure.com", v), 7);
        assert_ne!(az(""), az(", api_version: '2024-10-21'"));
        assert!(az("").contains(crate::provider::AZURE_API_VERSION));
        // Anthropic: its version header and default max_tokens; a suite header overrides the version.
        let an = |h: &str| hash_endpoint(&spec_of("anthropic", "http://gw", h), 7);
        assert!(an("").contains(crate::provider::ANTHROPIC_API_VERSION));
        assert_ne!(an(""), an(", headers: {anthropic-version: '2099-01-01'}"));
        // A trailing slash is the same endpoint; the seed matters only to the simulator.
        assert_eq!(
            plain,
            hash_endpoint(&spec_of("openai", "http://gw/v1/", ""), 7)
        );
        assert_eq!(plain, hash_endpoint(&spec(""), 8));
        let sim = spec_of("sim", "", "");
        assert_ne!(hash_endpoint(&sim, 7), hash_endpoint(&sim, 8));
    }
}
