//! The routes as a LiteLLM proxy config (`litellm_config.yaml`): a model group per feature and per fallback hop,
//! `router_settings.fallbacks` for the chain, and per-deployment cooldowns standing in for the migration guide's
//! circuit breaker. Shapes follow `reference/litellm.md` (LiteLLM 1.108.7); the config is checked here against what
//! that proxy rejects or silently drops at load, and `tests/route_litellm.rs` boots the real proxy on it.
//!
//! No key value is ever written: keys are `os.environ/VAR` references to the variable the suite named.

use super::input::{RunInput, SimUrls};
use super::plan::{FeatureRoute, Hop, Routes};
use crate::suite::{AuthMode, ProviderKind, ProviderSpec};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The `api_key` written for an endpoint that takes no credential (the sim, `auth: none`): a placeholder, not a key.
pub const NO_KEY: &str = "no-key-needed";
/// The proxy's master key variable (LiteLLM 1.108.7 refuses to boot without one).
pub(super) const MASTER_KEY_ENV: &str = "LITELLM_MASTER_KEY";
/// Router retries within the last hop's group (LiteLLM's default, written out).
pub(super) const LAST_HOP_RETRIES: u32 = 2;

/// The generated config: YAML text plus what the reader must know.
#[derive(Debug, Clone)]
pub struct LitellmConfig {
    /// The YAML document, comments included.
    pub yaml: String,
    /// The same document as data (for checks and tests).
    pub value: Value,
    /// Environment variables the proxy reads (key variables, placeholders, the master key).
    pub env_vars: Vec<String>,
    /// Things evalh could not carry over (custom headers, header-based auth).
    pub warnings: Vec<String>,
}

/// The environment variable that stands in for a sim server's URL when `--sim-base-url` does not give one.
pub fn sim_url_env(suite: &str) -> String {
    let up: String = suite
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("EVALH_SIM_URL_{up}")
}

/// LiteLLM's name for the variable a provider kind reads when no key is given.
fn default_key_env(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Openai | ProviderKind::Sim => "OPENAI_API_KEY",
        ProviderKind::Azure => "AZURE_API_KEY",
        ProviderKind::Anthropic => "ANTHROPIC_API_KEY",
        ProviderKind::Gemini => "GEMINI_API_KEY",
    }
}

/// Gemini's base up to the API version, as evalh uses it (`.../v1beta`); LiteLLM appends `/models/{model}:...`.
fn gemini_versioned_base(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if ["/v1", "/v1beta", "/v1alpha"]
        .iter()
        .any(|v| base.ends_with(v))
    {
        base.to_string()
    } else {
        format!("{base}/v1beta")
    }
}

struct Ctx<'a> {
    run: &'a RunInput,
    sim: &'a SimUrls,
    env: BTreeSet<String>,
    warnings: Vec<String>,
}

/// `litellm_params` for one provider of a run.
fn params(cx: &mut Ctx<'_>, spec: &ProviderSpec) -> Map<String, Value> {
    let suite = &cx.run.suite.name;
    let mut p = Map::new();
    let prefix = match spec.kind {
        ProviderKind::Openai | ProviderKind::Sim => "openai",
        ProviderKind::Azure => "azure",
        ProviderKind::Anthropic => "anthropic",
        ProviderKind::Gemini => "gemini",
    };
    p.insert("model".into(), json!(format!("{prefix}/{}", spec.model)));
    let api_base = match (spec.kind, &spec.base_url) {
        (ProviderKind::Sim, _) => Some(match cx.sim.for_suite(suite) {
            Some(u) => u.to_string(),
            None => {
                let var = sim_url_env(suite);
                cx.env.insert(var.clone());
                format!("os.environ/{var}")
            }
        }),
        (_, None) => None,
        (ProviderKind::Anthropic, Some(b)) => Some(crate::provider::anthropic_endpoint(b)),
        (ProviderKind::Gemini, Some(b)) => Some(gemini_versioned_base(b)),
        (_, Some(b)) => Some(b.trim_end_matches('/').to_string()),
    };
    if let Some(b) = api_base {
        p.insert("api_base".into(), json!(b));
    }
    let key = if spec.kind == ProviderKind::Sim || spec.auth == Some(AuthMode::None) {
        NO_KEY.to_string()
    } else if let Some(var) = &spec.api_key_env {
        cx.env.insert(var.clone());
        format!("os.environ/{var}")
    } else {
        let var = default_key_env(spec.kind);
        cx.env.insert(var.to_string());
        cx.warnings.push(format!(
            "{suite}/{}: the suite authenticates with custom headers, not api_key_env; the config reads {var} — \
             set it, or edit the deployment's api_key",
            spec.id
        ));
        format!("os.environ/{var}")
    };
    p.insert("api_key".into(), json!(key));
    if spec.kind == ProviderKind::Azure {
        let v = spec
            .api_version
            .clone()
            .unwrap_or_else(|| crate::provider::AZURE_API_VERSION.to_string());
        p.insert("api_version".into(), json!(v));
    }
    if !spec.headers.is_empty() && spec.api_key_env.is_some() {
        let names: Vec<&str> = spec.headers.keys().map(String::as_str).collect();
        cx.warnings.push(format!(
            "{suite}/{}: custom headers ({}) are not carried over; add them as litellm_params.extra_headers if the \
             endpoint needs them",
            spec.id,
            names.join(", ")
        ));
    }
    let t = cx.run.suite.run.timeout_s;
    if t.is_finite() && t > 0.0 {
        p.insert("timeout".into(), json!(t));
    }
    p
}

/// The count-mode cooldown policy of a hop that has a successor: more than `allowed` failures of these classes in
/// `cooldown_time` cools the deployment down (reference/litellm.md §5).
fn breaker_policy(allowed: u32) -> Value {
    let mut m = Map::new();
    for class in [
        "InternalServerErrorAllowedFails",
        "ServiceUnavailableErrorAllowedFails",
        "BadGatewayErrorAllowedFails",
        "TimeoutErrorAllowedFails",
        "RateLimitErrorAllowedFails",
    ] {
        m.insert(class.into(), json!(allowed));
    }
    Value::Object(m)
}

/// One deployment: a chain hop in `group`, with evalh's facts in `model_info` (never sent upstream).
struct Deployment<'a> {
    hop: &'a Hop,
    group: &'a str,
    id: String,
    /// Has a successor in the chain: fail over at once, with the breaker's cooldown policy.
    fails_over: bool,
    /// `litellm_params.weight` during a staged rollout.
    weight: Option<u32>,
}

fn deployment(cx: &mut Ctx<'_>, f: &FeatureRoute, d: Deployment<'_>) -> Option<Value> {
    let h = d.hop;
    // load_run checked every provider of results.json is in suite.yaml.
    let spec = cx.run.suite.providers.iter().find(|p| p.id == h.provider)?;
    let mut lp = params(cx, spec);
    if d.fails_over {
        // Fail over at once: one failed request is one failure on this provider's breaker.
        lp.insert("num_retries".into(), json!(0));
    }
    if let Some(w) = d.weight {
        lp.insert("weight".into(), json!(w));
    }
    lp.insert("tags".into(), json!([format!("feature:{}", f.feature)]));
    let mut info = Map::new();
    info.insert("id".into(), json!(d.id));
    if d.fails_over {
        info.insert(
            "allowed_fails_policy".into(),
            breaker_policy(f.circuit_breaker.allowed_fails),
        );
    }
    info.insert("evalh_feature".into(), json!(f.feature));
    info.insert("evalh_suite".into(), json!(f.suite));
    info.insert("evalh_provider".into(), json!(h.provider));
    info.insert("evalh_role".into(), json!(h.role));
    if let Some(v) = &h.verdict {
        info.insert("evalh_verdict".into(), json!(v));
    }
    if let Some(c) = h.cost_usd_per_1k_items {
        info.insert("evalh_cost_usd_per_1k_items".into(), json!(c));
    }
    if let Some(p) = h.p99_ms {
        info.insert("evalh_p99_ms".into(), json!(p.round()));
    }
    Some(json!({
        "model_name": d.group,
        "litellm_params": Value::Object(lp),
        "model_info": Value::Object(info),
    }))
}

/// The deployments of one feature: each hop in its own group; below 100%, the feature's group also holds a copy of
/// the baseline, and `weight` splits the traffic between the two.
fn deployments(cx: &mut Ctx<'_>, f: &FeatureRoute, stage: u32) -> Vec<Value> {
    let last = f.chain.len() - 1;
    let split = stage < 100 && last > 0;
    let mut out = Vec::new();
    for (i, h) in f.chain.iter().enumerate() {
        let d = Deployment {
            hop: h,
            group: &h.litellm_group,
            id: h.litellm_id.clone(),
            fails_over: i < last,
            weight: (split && i == 0).then_some(stage),
        };
        out.extend(deployment(cx, f, d));
        if split && i == 0 {
            let base = &f.chain[last];
            let d = Deployment {
                hop: base,
                group: &h.litellm_group,
                id: format!("{}.stage", base.litellm_id),
                fails_over: false,
                weight: Some(100 - stage),
            };
            out.extend(deployment(cx, f, d));
        }
    }
    out
}

/// Build the proxy config for `routes` (whose features come from `runs`, in the same order).
pub fn config(
    routes: &Routes,
    runs: &[RunInput],
    sim: &SimUrls,
) -> crate::error::Result<LitellmConfig> {
    let mut env = BTreeSet::new();
    let mut warnings = Vec::new();
    let mut model_list = Vec::new();
    let mut fallbacks = Vec::new();
    for (f, run) in routes.features.iter().zip(runs) {
        let mut cx = Ctx {
            run,
            sim,
            env: std::mem::take(&mut env),
            warnings: std::mem::take(&mut warnings),
        };
        model_list.extend(deployments(&mut cx, f, routes.stage_percent));
        env = cx.env;
        warnings = cx.warnings;
        if f.chain.len() > 1 {
            let rest: Vec<&str> = f.chain[1..]
                .iter()
                .map(|h| h.litellm_group.as_str())
                .collect();
            fallbacks.push(json!({ f.chain[0].litellm_group.clone(): rest }));
        }
    }
    env.insert(MASTER_KEY_ENV.to_string());
    let value = json!({
        "model_list": model_list,
        "router_settings": {
            "routing_strategy": "simple-shuffle",
            "num_retries": LAST_HOP_RETRIES,
            "cooldown_time": super::plan::BREAKER_WINDOW_S,
            "fallbacks": fallbacks,
        },
        "litellm_settings": {
            "disable_add_user_agent_to_request_tags": true,
        },
        "general_settings": {
            "master_key": format!("os.environ/{MASTER_KEY_ENV}"),
        },
    });
    check(&value)
        .map_err(|e| crate::error::Error::Internal(format!("generated LiteLLM config: {e}")))?;
    let body = serde_yaml::to_string(&value).map_err(|e| {
        crate::error::Error::Internal(format!("serializing the LiteLLM config: {e}"))
    })?;
    let env_vars: Vec<String> = env.into_iter().collect();
    let yaml = format!("{}{}", header(routes, &env_vars), annotate(&body));
    Ok(LitellmConfig {
        yaml,
        value,
        env_vars,
        warnings,
    })
}

fn header(routes: &Routes, env: &[String]) -> String {
    let mut h = String::new();
    h.push_str(&format!(
        "# LiteLLM proxy config written by evalh {} (evalh route); see docs/decision.md, \"Routes\".\n",
        routes.evalh_version
    ));
    h.push_str("# Clients send `model: <feature>`; each feature's chain of fallback groups follows the gate's verdicts:\n");
    for f in &routes.features {
        let chain: Vec<&str> = f.chain.iter().map(|c| c.provider.as_str()).collect();
        h.push_str(&format!("#   {}: {}\n", f.feature, chain.join(" -> ")));
    }
    if routes.stage_percent < 100 {
        h.push_str(&format!(
            "# Rollout stage {}%: each routed feature's group splits its traffic by `weight` between the primary ({}%)\n\
             # and a copy of the baseline ({}%); the fallback chain is unchanged.\n",
            routes.stage_percent,
            routes.stage_percent,
            100 - routes.stage_percent
        ));
    }
    h.push_str(&format!(
        "# Environment it reads (never stored here): {}.\n",
        env.join(", ")
    ));
    h.push_str(&format!(
        "# `api_key: {NO_KEY}` marks an endpoint that takes no credential (the evalh simulator, auth: none).\n"
    ));
    h.push_str(
        "# Circuit breaker: a candidate with more than `allowed_fails_policy` failures within `cooldown_time` seconds\n\
         # of its first failure is skipped for `cooldown_time` seconds (its traffic goes down the fallback chain).\n\
         # Start: litellm --config litellm_config.yaml --host 127.0.0.1 --port 4000\n",
    );
    h
}

/// Put a comment on every placeholder line, so the file says what to fill in where it has to be filled in.
fn annotate(body: &str) -> String {
    body.lines()
        .map(|l| {
            if l.contains("os.environ/EVALH_SIM_URL_") {
                format!("{l}  # placeholder: set it to the URL `evalh sim serve <run dir>/suite.yaml` prints")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

const PREFIXES: [&str; 4] = ["openai/", "azure/", "anthropic/", "gemini/"];

/// Check a config against what LiteLLM rejects at load or silently drops (reference/litellm.md §3): every deployment
/// has a name and a known provider prefix, ids are unique, keys are variable references, tags are lists, fallbacks
/// are one-key mappings to lists of defined groups, and no setting is one the proxy ignores.
pub fn check(v: &Value) -> Result<(), String> {
    let list = v
        .get("model_list")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or("model_list must be a non-empty list")?;
    let mut groups = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for (i, d) in list.iter().enumerate() {
        let name = d
            .get("model_name")
            .and_then(Value::as_str)
            .ok_or(format!("model_list[{i}] has no model_name"))?;
        let lp = d
            .get("litellm_params")
            .and_then(Value::as_object)
            .ok_or(format!("{name}: no litellm_params mapping"))?;
        let model = lp
            .get("model")
            .and_then(Value::as_str)
            .ok_or(format!("{name}: litellm_params.model missing"))?;
        if !PREFIXES
            .iter()
            .any(|p| model.starts_with(p) && model.len() > p.len())
        {
            return Err(format!(
                "{name}: `{model}` has no provider prefix LiteLLM knows"
            ));
        }
        match lp.get("api_key").and_then(Value::as_str) {
            Some(k) if k == NO_KEY || (k.starts_with("os.environ/") && k.len() > 11) => {}
            other => {
                return Err(format!(
                    "{name}: api_key {other:?} is not a variable reference"
                ))
            }
        }
        if let Some(t) = lp.get("tags") {
            if !t.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
                return Err(format!("{name}: tags must be a list of strings"));
            }
        }
        for k in ["timeout", "num_retries"] {
            if lp.get(k).is_some_and(|x| !x.is_number()) {
                return Err(format!("{name}: {k} must be a number"));
            }
        }
        if lp
            .get("weight")
            .is_some_and(|w| w.as_u64().is_none_or(|w| w < 1))
        {
            return Err(format!("{name}: weight must be a positive integer"));
        }
        let id = d
            .pointer("/model_info/id")
            .and_then(Value::as_str)
            .ok_or(format!("{name}: model_info.id missing"))?;
        if !ids.insert(id.to_string()) {
            return Err(format!("deployment id `{id}` is used twice"));
        }
        if let Some(p) = d.pointer("/model_info/allowed_fails_policy") {
            check_policy(name, p)?;
        }
        groups.insert(name.to_string());
    }
    let rs = v
        .get("router_settings")
        .and_then(Value::as_object)
        .ok_or("router_settings must be a mapping")?;
    const STRATEGIES: [&str; 6] = [
        "simple-shuffle",
        "least-busy",
        "usage-based-routing",
        "usage-based-routing-v2",
        "latency-based-routing",
        "cost-based-routing",
    ];
    if let Some(s) = rs.get("routing_strategy") {
        if !s.as_str().is_some_and(|s| STRATEGIES.contains(&s)) {
            return Err(format!("routing_strategy {s} is not one LiteLLM accepts"));
        }
    }
    if rs.get("allowed_fails").and_then(Value::as_u64) == Some(3) {
        return Err("allowed_fails: 3 is LiteLLM's 'unset' value and does nothing".into());
    }
    check_fallbacks(rs.get("fallbacks"), &groups)?;
    match v
        .pointer("/general_settings/master_key")
        .and_then(Value::as_str)
    {
        Some(k) if k.starts_with("os.environ/") => Ok(()),
        _ => Err("general_settings.master_key must be an os.environ/ reference".into()),
    }
}

fn check_policy(name: &str, p: &Value) -> Result<(), String> {
    let m = p
        .as_object()
        .ok_or(format!("{name}: allowed_fails_policy must be a mapping"))?;
    for (k, v) in m {
        if !k.ends_with("ErrorAllowedFails") {
            return Err(format!(
                "{name}: `{k}` is not an allowed_fails_policy field (LiteLLM drops it)"
            ));
        }
        match v.as_u64() {
            Some(n) if n >= 1 => {}
            _ => return Err(format!("{name}: {k} must be a positive integer")),
        }
    }
    Ok(())
}

fn check_fallbacks(fb: Option<&Value>, groups: &BTreeSet<String>) -> Result<(), String> {
    let Some(fb) = fb else { return Ok(()) };
    let list = fb.as_array().ok_or("fallbacks must be a list")?;
    let mut from_seen: BTreeMap<&str, ()> = BTreeMap::new();
    for item in list {
        let m = item.as_object().filter(|m| m.len() == 1).ok_or(format!(
            "fallbacks entry {item} must be a mapping with exactly one key"
        ))?;
        for (from, to) in m {
            if !groups.contains(from) {
                return Err(format!(
                    "fallbacks name group `{from}`, which no deployment has"
                ));
            }
            if from_seen.insert(from, ()).is_some() {
                return Err(format!("fallbacks list group `{from}` twice"));
            }
            let to = to
                .as_array()
                .ok_or(format!("fallbacks for `{from}` must be a list of groups"))?;
            for t in to {
                match t.as_str() {
                    Some(t) if groups.contains(t) && t != from => {}
                    _ => {
                        return Err(format!(
                            "fallback target {t} of `{from}` is not another defined group"
                        ))
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_config() -> Value {
        json!({
            "model_list": [
                {"model_name": "a", "litellm_params": {"model": "openai/m", "api_key": "os.environ/K", "tags": ["feature:a"]},
                 "model_info": {"id": "a.x", "allowed_fails_policy": {"InternalServerErrorAllowedFails": 2}}},
                {"model_name": "a-fallback-1", "litellm_params": {"model": "anthropic/c", "api_key": "os.environ/K2"},
                 "model_info": {"id": "a.y"}},
            ],
            "router_settings": {"routing_strategy": "simple-shuffle", "fallbacks": [{"a": ["a-fallback-1"]}]},
            "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
        })
    }

    fn broken(f: impl FnOnce(&mut Value)) -> String {
        let mut v = ok_config();
        f(&mut v);
        check(&v).unwrap_err()
    }

    #[test]
    fn check_accepts_the_documented_shape_and_rejects_what_litellm_rejects_or_drops() {
        check(&ok_config()).unwrap();
        assert!(
            broken(|v| v["model_list"][0]["litellm_params"]["model"] = json!("m"))
                .contains("prefix")
        );
        assert!(
            broken(|v| v["model_list"][0]["litellm_params"]["api_key"] = json!("sk-live-123"))
                .contains("api_key")
        );
        assert!(
            broken(|v| v["model_list"][1]["model_info"]["id"] = json!("a.x")).contains("twice")
        );
        assert!(
            broken(|v| v["model_list"][0]["litellm_params"]["tags"] = json!("x")).contains("tags")
        );
        assert!(
            broken(|v| v["router_settings"]["fallbacks"] = json!([{"a": "a-fallback-1"}]))
                .contains("list")
        );
        assert!(
            broken(|v| v["router_settings"]["fallbacks"] = json!([{"a": ["nope"]}]))
                .contains("nope")
        );
        assert!(
            broken(|v| v["router_settings"]["fallbacks"] = json!({"a": ["a-fallback-1"]}))
                .contains("list")
        );
        assert!(broken(|v| v["router_settings"]["fallbacks"] =
            json!([{"a": ["a-fallback-1"], "a-fallback-1": ["a"]}]))
        .contains("exactly one key"));
        assert!(
            broken(|v| v["router_settings"]["routing_strategy"] = json!("round-robin"))
                .contains("round-robin")
        );
        assert!(broken(|v| v["router_settings"]["allowed_fails"] = json!(3)).contains("unset"));
        assert!(broken(
            |v| v["model_list"][0]["model_info"]["allowed_fails_policy"] =
                json!({"FooErrorRetries": 1})
        )
        .contains("Foo"));
        assert!(
            broken(|v| v["general_settings"]["master_key"] = json!("sk-1234"))
                .contains("master_key")
        );
        assert!(broken(|v| v["model_list"] = json!([])).contains("non-empty"));
    }

    #[test]
    fn bases_follow_what_each_litellm_adapter_appends() {
        assert_eq!(
            gemini_versioned_base("https://g.example/"),
            "https://g.example/v1beta"
        );
        assert_eq!(
            gemini_versioned_base("https://g.example/v1"),
            "https://g.example/v1"
        );
        assert_eq!(
            sim_url_env("support-intents"),
            "EVALH_SIM_URL_SUPPORT_INTENTS"
        );
        assert_eq!(
            crate::provider::anthropic_endpoint("http://127.0.0.1:9/v1"),
            "http://127.0.0.1:9/v1/messages",
            "LiteLLM appends /v1/messages unless the base already ends with it"
        );
    }
}
