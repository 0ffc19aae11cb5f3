//! The providers: one baseline, unique ids, kinds and their URLs, prices, limits, headers, and the simulator's
//! profiles.

use super::*;

impl Checks<'_> {
    pub(super) fn providers(&mut self) {
        let s = self.suite();
        if s.providers.is_empty() {
            let e = self
                .prov_err("providers", None, 0, "no providers".into())
                .hint(
                    "add `providers:` with one `role: baseline` entry and at least one candidate",
                );
            self.errs.push(e);
        }
        let baselines: Vec<_> = s
            .providers
            .iter()
            .filter(|p| p.role == ProviderRole::Baseline)
            .collect();
        if baselines.is_empty() && !s.providers.is_empty() {
            let e = self
                .prov_err(
                    "providers",
                    None,
                    0,
                    "no provider has `role: baseline`".into(),
                )
                .hint("mark the provider you use today with `role: baseline`");
            self.errs.push(e);
        }
        if baselines.len() > 1 {
            let e = self
                .prov_err(
                    "role",
                    Some("baseline"),
                    1,
                    format!(
                        "{} providers have `role: baseline` ({}); exactly one is allowed",
                        baselines.len(),
                        baselines
                            .iter()
                            .map(|p| p.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .hint("make all but one `role: candidate`");
            self.errs.push(e);
        }
        let mut ids = HashSet::new();
        for p in &s.providers {
            if !ids.insert(p.id.as_str()) {
                let e = self
                    .prov_err(
                        "id",
                        Some(&p.id),
                        1,
                        format!("duplicate provider id `{}`", p.id),
                    )
                    .hint("provider ids must be unique; rename one");
                self.errs.push(e);
            }
            self.provider(p);
        }
    }

    pub(super) fn provider(&mut self, p: &ProviderSpec) {
        let id = p.id.as_str();
        if p.id.is_empty()
            || !p
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            let e = self
                .prov_err(
                    "id",
                    Some(&p.id),
                    0,
                    format!(
                        "provider id `{}` must be non-empty and use only letters, digits, - _ .",
                        p.id
                    ),
                )
                .hint("ids name files and report columns");
            self.errs.push(e);
        }
        if p.kind != ProviderKind::Sim && p.sim.is_some() {
            let e = self
                .at_provider(
                    id,
                    &["sim"],
                    format!(
                        "provider `{id}` has a `sim:` block but kind `{}`",
                        p.kind.as_str()
                    ),
                )
                .hint("`sim:` only applies to `kind: sim`");
            self.errs.push(e);
        }
        if let Some(sim) = &p.sim {
            self.sim(id, sim);
        }
        if p.kind == ProviderKind::Azure && p.base_url.is_none() {
            let e = self
                .at_provider(id, &[], format!("provider `{id}` (azure) needs `base_url`"))
                .hint("e.g. base_url: https://<resource>.openai.azure.com");
            self.errs.push(e);
        }
        if let Some(url) = &p.base_url {
            let ok = reqwest::Url::parse(url)
                .map(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                .unwrap_or(false);
            self.require(ok, |c| {
                c.at_provider(
                    id,
                    &["base_url"],
                    format!("provider `{id}`: base_url `{url}` is not an absolute http(s) URL"),
                )
                .hint("e.g. base_url: https://api.openai.com/v1 or http://127.0.0.1:8000/v1")
            });
        }
        if p.price.is_none() && p.table_entry().is_none() {
            let e = self
                .prov_err(
                    "model",
                    Some(&p.model),
                    0,
                    format!("no price known for model `{}` (provider `{id}`)", p.model),
                )
                .hint(
                    "add `price: {input_per_mtok: .., output_per_mtok: ..}` (USD per million tokens)",
                );
            self.errs.push(e);
        }
        if let Some(price) = &p.price {
            let fields = [
                ("input_per_mtok", Some(price.input_per_mtok)),
                ("output_per_mtok", Some(price.output_per_mtok)),
                ("cached_input_per_mtok", price.cached_input_per_mtok),
                ("cache_write_per_mtok", price.cache_write_per_mtok),
            ];
            for (key, v) in fields {
                let Some(v) = v else { continue };
                self.require(within(v, 0.0, MAX_PRICE_PER_MTOK), |c| {
                    c.at_provider(
                        id,
                        &["price", key],
                        format!(
                            "provider `{id}`: price.{key} is {}; a price must be a finite number of USD per \
                             million tokens, >= 0 and at most {MAX_PRICE_PER_MTOK}",
                            num(v)
                        ),
                    )
                    .hint("e.g. price: {input_per_mtok: 2.5, output_per_mtok: 10}")
                });
            }
        }
        if let Some(env) = &p.api_key_env {
            if env.is_empty() || env.contains(char::is_whitespace) || env.starts_with("sk-") {
                let e = self
                    .at_provider(
                        id,
                        &["api_key_env"],
                        format!(
                            "provider `{id}`: api_key_env must be the NAME of an environment variable"
                        ),
                    )
                    .hint("never put the key itself in a suite; e.g. api_key_env: OPENAI_API_KEY");
                self.errs.push(e);
            }
        }
        if p.auth.is_some() && p.api_key_env.is_some() {
            let e = self
                .at_provider(
                    id,
                    &["auth"],
                    format!("provider `{id}` says `auth: none` but also names `api_key_env`"),
                )
                .hint("remove `auth: none` to send the key, or `api_key_env` for an endpoint without one");
            self.errs.push(e);
        }
        self.provider_limits(p);
        self.headers(p);
    }

    pub(super) fn provider_limits(&mut self, p: &ProviderSpec) {
        let id = p.id.as_str();
        if let Some(n) = p.concurrency {
            self.require((1..=MAX_CONCURRENCY).contains(&n), |c| {
                c.at_provider(
                    id,
                    &["concurrency"],
                    format!("provider `{id}`: concurrency must be between 1 and {MAX_CONCURRENCY}, not {n}"),
                )
                .hint("the most requests in flight at once, e.g. 8")
            });
        }
        for (key, v) in [("rpm", p.rpm), ("tpm", p.tpm)] {
            self.require(v != Some(0), |c| {
                c.at_provider(
                    id,
                    &[key],
                    format!("provider `{id}`: {key} is 0, so nothing could ever be sent"),
                )
                .hint(format!("give a positive limit, or remove `{key}` for none"))
            });
        }
        self.require(p.context_window != Some(0), |c| {
            c.at_provider(
                id,
                &["context_window"],
                format!("provider `{id}`: context_window is 0 tokens, so no prompt would fit"),
            )
            .hint(
                "give the model's context window in tokens, or remove it to use the built-in table",
            )
        });
    }

    /// Header names and the literal parts of header values (the `${VAR}` parts are checked by the preflight, once
    /// the environment is known).
    pub(super) fn headers(&mut self, p: &ProviderSpec) {
        let id = p.id.as_str();
        for (name, value) in &p.headers {
            self.require(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok(),
                |c| {
                    c.at_provider(
                        id,
                        &["headers", name.as_str()],
                        format!("provider `{id}`: `{name}` is not a valid HTTP header name"),
                    )
                    .hint("header names are letters, digits and - (no spaces, colons or quotes)")
                },
            );
            let refs = super::super::headers::env_refs(value);
            let literal_ok = match &refs {
                Ok(vars) => {
                    let mut lit = value.clone();
                    for v in vars {
                        lit = lit.replace(&format!("${{{v}}}"), "x");
                    }
                    reqwest::header::HeaderValue::from_str(&lit).is_ok()
                }
                Err(_) => false,
            };
            self.require(literal_ok, |c| {
                let why = match &refs {
                    Err(e) => e.clone(),
                    Ok(_) => "contains a character a header value cannot carry (a line break or control character)".into(),
                };
                c.at_provider(
                    id,
                    &["headers", name.as_str()],
                    format!("provider `{id}`: header `{name}`: {why}"),
                )
                .hint("a header value is one line of text; reference secrets as \"${NAME}\"")
            });
        }
    }

    /// The simulator's batch options (`sim.batch`): a delay in seconds, two probabilities.
    fn sim_batch(&mut self, id: &str, sim: &SimSpec) {
        let Some(b) = &sim.batch else { return };
        for (key, v, hi, what) in [
            (
                "completion_delay_s",
                b.completion_delay_s,
                86_400.0,
                "a number of seconds between 0 and 86400",
            ),
            (
                "failure_rate",
                b.failure_rate,
                1.0,
                "a probability within [0, 1]",
            ),
            (
                "expire_rate",
                b.expire_rate,
                1.0,
                "a probability within [0, 1]",
            ),
        ] {
            self.require(within(v, 0.0, hi), |c| {
                c.at_provider(
                    id,
                    &["sim", "batch", key],
                    format!(
                        "provider `{id}`: sim.batch.{key} is {}; it must be {what}",
                        num(v)
                    ),
                )
                .hint(format!("set sim.batch.{key} to {what}"))
            });
        }
    }

    pub(super) fn sim(&mut self, id: &str, sim: &SimSpec) {
        let prob = |key: &'static str, v: f64| (key, v, 0.0, 1.0, "a probability within [0, 1]");
        let mut checks = vec![
            prob("quality", sim.quality),
            prob("correlation", sim.correlation),
            (
                "token_factor",
                sim.token_factor,
                1e-3,
                100.0,
                "a factor between 0.001 and 100",
            ),
        ];
        let f = &sim.faults;
        for (key, v) in [
            ("rate_limit", f.rate_limit),
            ("server_error", f.server_error),
            ("overloaded", f.overloaded),
            ("malformed", f.malformed),
            ("truncated_stream", f.truncated_stream),
            ("stream_error", f.stream_error),
            ("slow_first_byte", f.slow_first_byte),
        ] {
            checks.push(prob(key, v));
        }
        if let Some(v) = f.retry_after_s {
            checks.push((
                "retry_after_s",
                v,
                0.0,
                MAX_BACKOFF_S,
                "a number of seconds between 0 and 3600",
            ));
        }
        if let Some(v) = f.slow_first_byte_ms {
            checks.push((
                "slow_first_byte_ms",
                v,
                0.0,
                MAX_SIM_MS,
                "a number of milliseconds between 0 and 600000",
            ));
        }
        for (key, v, lo, hi, what) in checks {
            let (top, fault) = (["sim", key], ["sim", "faults", key]);
            let path: &[&str] = match key {
                "quality" | "correlation" | "token_factor" => &top,
                _ => &fault,
            };
            self.require(within(v, lo, hi), |c| {
                c.at_provider(
                    id,
                    path,
                    format!(
                        "provider `{id}`: sim.{key} is {}; it must be {what}",
                        num(v)
                    ),
                )
                .hint(format!("set sim.{key} to {what}"))
            });
        }
        if let Some(rl) = &sim.rate_limit {
            for (key, v) in [("rpm", rl.rpm), ("tpm", rl.tpm)] {
                self.require(v != Some(0), |c| {
                    c.at_provider(
                        id,
                        &["sim", "rate_limit", key],
                        format!("provider `{id}`: sim.rate_limit.{key} is 0, so the simulator would refuse every request"),
                    )
                    .hint(format!("give a positive limit per minute (e.g. {key}: {}), or remove `{key}` for none", if key == "rpm" { "3000" } else { "1000000" }))
                });
            }
        }
        self.sim_batch(id, sim);
        let l = sim.latency_ms;
        // The latency is log-normal through p50 and p99; its far tail grows like (p99/p50)^3.7, so the spread is
        // bounded too (a p50 near 0 with a large p99 would draw delays of years).
        let ok = within(l.p50, 0.0, MAX_SIM_MS)
            && within(l.p99, l.p50, MAX_SIM_MS)
            && (l.p50 == 0.0 || l.p99 <= 1000.0 * l.p50);
        self.require(ok, |c| {
            c.at_provider(
                id,
                &["sim", "latency_ms"],
                format!(
                    "provider `{id}`: sim.latency_ms {{p50: {}, p99: {}}} needs 0 <= p50 <= p99 <= {MAX_SIM_MS} ms \
                     and p99 at most 1000 x p50",
                    num(l.p50),
                    num(l.p99)
                ),
            )
            .hint("e.g. latency_ms: {p50: 600, p99: 1800}; p50: 0 answers at once")
        });
    }
}
