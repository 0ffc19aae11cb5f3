#!/usr/bin/env python3
"""Regenerate docs/metrics.md from the scorers' module documentation (the single source of truth).

Run from the repository root: python3 scripts/gen_metrics_doc.py
"""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
SECTIONS = [
    ("The metric table", "src/metrics/table.rs"),
    ("Classification: accuracy, precision, recall, F1 (scikit-learn)", "src/metrics/classification.rs"),
    ("Classification: from an answer to a label", "src/metrics/labels.rs"),
    ("Summarization: ROUGE (rouge-score 0.1.2)", "src/metrics/rouge.rs"),
    ("Free-text answers: SQuAD v1.1 exact match and F1", "src/metrics/squad.rs"),
    ("Extraction: finding the JSON in an answer", "src/metrics/jsonparse.rs"),
    ("Extraction: field-level scores", "src/metrics/extraction.rs"),
    ("Function calling: BFCL-style call matching", "src/metrics/function_call/mod.rs"),
    ("Agreement with the baseline (`scoring.reference`)", "src/summary/agreement.rs"),
    ("Statistics behind the gate", "src/stats/mod.rs"),
]

HEAD = """# Metrics

Every metric evalh reports is defined here, with the reference implementation it equals. The text is generated from
each scorer's module documentation (`python3 scripts/gen_metrics_doc.py`), so it cannot drift from the code.
Golden vectors made by running the references are committed under `tests/data/golden/` with their generators in
`scripts/golden/`; the tests compare evalh's numbers with them (exactly where the reference is deterministic).

Each task's metrics, the default gate metric first, are in [the metric table](#the-metric-table): the gate accepts
exactly those names. Next to them each task reports details: per-class P/R/F1, the confusion matrix and unparseable
answers (classification); mean P/R of each ROUGE type (summarization); micro field P/R, per-field accuracy and schema
validity (extraction); per-function accuracy, error types, irrelevance and per-BFCL-category accuracy (`compat:
strict` or `bfcl`) (function calling).

In a provider's reported metrics, failed requests score 0 on every metric (they are wrong answers) and are counted
separately; the gate's quality comparison uses only items both sides answered (docs/gate.md, the evidence contract). Mean metrics are plain
means of per-item scores (not rouge-score's bootstrap "mid"); corpus metrics are computed from counts summed over
items. Intervals are computed by `stats`.
"""


def module_doc(path):
    lines = []
    for line in (ROOT / path).read_text().splitlines():
        if line.startswith("//!"):
            lines.append(line[4:] if line.startswith("//! ") else line[3:])
        elif lines:
            break
    text = "\n".join(lines)
    # Module docs use '#' headings; nest them under the section heading.
    return "\n".join(("###" + l[1:]) if l.startswith("# ") else ("####" + l[2:]) if l.startswith("## ") else l for l in text.splitlines())


out = [HEAD]
for title, path in SECTIONS:
    out.append(f"## {title}\n\n_Source: `{path}`_\n\n{module_doc(path)}\n")
(ROOT / "docs/metrics.md").write_text("\n".join(out))
print("wrote docs/metrics.md")
