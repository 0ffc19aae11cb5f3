//! The gate: a metric the task reports, thresholds and confidence in range, the guard rules, `require`.

use super::*;

impl Checks<'_> {
    pub(super) fn gate(&mut self) {
        let s = self.suite();
        let g = &s.gate;
        let metric = s.gate_metric();
        if let Some(e) = super::super::judge::gate_metric_problem(s) {
            let e = self.at(&["gate", "metric"], e.0).hint(e.1);
            self.errs.push(e);
        } else if crate::metrics::metric(s.task, &metric).is_none() {
            let known: Vec<&str> = crate::metrics::metrics(s.task)
                .iter()
                .map(|d| d.name)
                .collect();
            let valid = format!("{} gate metrics: {}", s.task.as_str(), known.join(", "));
            let hint = match did_you_mean(&metric, known.iter().copied()) {
                Some(m) => format!("did you mean `{m}`? {valid} (docs/metrics.md)"),
                None => format!("{valid} (docs/metrics.md)"),
            };
            let msg = format!(
                "unknown gate metric `{metric}` for task {}",
                s.task.as_str()
            );
            let e = self.at(&["gate", "metric"], msg).hint(hint);
            self.errs.push(e);
        }
        let number_checks = [
            (
                "min_quality_ratio",
                g.min_quality_ratio,
                within(g.min_quality_ratio, f64::MIN_POSITIVE, 1e6),
                "a finite ratio > 0, e.g. 0.95",
            ),
            (
                "max_cost_ratio",
                g.max_cost_ratio,
                within(g.max_cost_ratio, f64::MIN_POSITIVE, 1e6),
                "a finite ratio > 0, e.g. 0.4",
            ),
            (
                "max_error_rate_increase",
                g.max_error_rate_increase,
                within(g.max_error_rate_increase, 0.0, 1.0),
                "a share within [0, 1], e.g. 0.005",
            ),
            (
                "max_p99_latency_increase_ms",
                g.max_p99_latency_increase_ms,
                within(g.max_p99_latency_increase_ms, 0.0, 1e9),
                "a finite number of ms >= 0, e.g. 200",
            ),
            (
                "min_format_validity",
                g.min_format_validity.unwrap_or(1.0),
                within(g.min_format_validity.unwrap_or(1.0), 0.0, 1.0),
                "a share within [0, 1], e.g. 0.98",
            ),
            (
                "max_baseline_error_rate",
                g.max_baseline_error_rate,
                within(g.max_baseline_error_rate, 0.0, 1.0),
                "a share within [0, 1], e.g. 0.05",
            ),
            (
                "confidence",
                g.confidence,
                g.confidence > 0.5 && g.confidence < 1.0,
                "a level within (0.5, 1), e.g. 0.95",
            ),
        ];
        if let Some(h) = g.human {
            let v = h.min_acceptable_rate;
            self.require(v > 0.0 && v <= 1.0, |c| {
                c.at(
                    &["gate", "human", "min_acceptable_rate"],
                    format!("gate.human.min_acceptable_rate is {}; it must be a share within (0, 1], e.g. 0.95", num(v)),
                )
                .hint("set gate.human.min_acceptable_rate to a share within (0, 1], e.g. 0.95")
            });
        }
        for (key, v, ok, what) in number_checks {
            self.require(ok, |c| {
                c.at(
                    &["gate", key],
                    format!("gate.{key} is {}; it must be {what}", num(v)),
                )
                .hint(format!("set gate.{key} to {what}"))
            });
        }
        let iters = g.bootstrap_iters;
        self.require(BOOTSTRAP_ITERS.contains(&iters), |c| {
            c.at(
                &["gate", "bootstrap_iters"],
                format!(
                    "gate.bootstrap_iters is {iters}; it must be between {} and {}",
                    BOOTSTRAP_ITERS.start(),
                    BOOTSTRAP_ITERS.end()
                ),
            )
            .hint("fewer resamples give no usable interval, more only take longer; 2000 is the default")
        });
        self.require(g.min_items >= 1, |c| {
            c.at(
                &["gate", "min_items"],
                "gate.min_items is 0; it must be at least 1",
            )
            .hint("the fewest items a verdict may rest on; 30 is the default")
        });
        self.require(g.monthly_volume != Some(0), |c| {
            c.at(
                &["gate", "monthly_volume"],
                "gate.monthly_volume is 0; it must be at least 1 item a month",
            )
            .hint("the items this workload sends a month, e.g. 2000000, or remove the key")
        });
        if let Some(cands) = &g.candidates {
            for id in cands {
                let ok = s
                    .providers
                    .iter()
                    .any(|p| &p.id == id && p.role == ProviderRole::Candidate);
                self.require(ok, |c| {
                    c.at(
                        &["gate", "candidates"],
                        format!("gate.candidates names `{id}`, which is not a candidate provider"),
                    )
                    .hint("list ids of providers with role: candidate")
                });
            }
        }
    }
}
