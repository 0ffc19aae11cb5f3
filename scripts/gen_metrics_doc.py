#!/usr/bin/env python3
"""Regenerate docs/metrics.md from the scorers' module documentation (the single source of truth).

Run from the repository root: python3 scripts/gen_metrics_doc.py
"""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
SECTIONS = [
    ("Classification: accuracy, precision, recall, F1 (scikit-learn)", "src/score/classification.rs"),
    ("Classification: from an answer to a label", "src/score/labels.rs"),
    ("Summarization: ROUGE (rouge-score 0.1.2)", "src/score/rouge.rs"),
    ("Free-text answers: SQuAD v1.1 exact match and F1", "src/score/squad.rs"),
    ("Extraction: finding the JSON in an answer", "src/score/jsonparse.rs"),
    ("Extraction: field-level scores", "src/score/extraction.rs"),
    ("Function calling: BFCL-style call matching", "src/score/function_call/mod.rs"),
    ("Statistics behind the gate", "src/stats/mod.rs"),
]

HEAD = """# Metrics

Every metric evalh reports is defined here, with the reference implementation it equals. The text is generated from
each scorer's module documentation (`python3 scripts/gen_metrics_doc.py`), so it cannot drift from the code.
Golden vectors made by running the references are committed under `tests/data/golden/` with their generators in
`scripts/golden/`; the tests compare evalh's numbers with them (exactly where the reference is deterministic).

Per task, the gate's default metric and what is reported:

| task | default gate metric | also reported |
|---|---|---|
| classification | `macro_f1` (scikit-learn, zero_division=0) | accuracy, micro/weighted F1, macro P/R, per-class P/R/F1, confusion matrix, unparseable answers |
| summarization | `rougeLsum_f` (rouge-score, Porter stemmer on) | rouge1/rouge2/rougeL F, mean P/R of each |
| extraction | `field_f1` (mean per-item field F1) | field accuracy, record exact match, parse rate, micro field P/R/F1, per-field accuracy, schema validity |
| function_calling | `full_call_accuracy` | name accuracy, argument accuracy, per-function accuracy, error types, irrelevance, per-BFCL-category accuracy (`compat: strict` or `bfcl`) |

Failed requests score 0 on every metric (they are wrong answers) and are counted separately; corpus values are plain
means of per-item scores (not rouge-score's bootstrap "mid"), with intervals computed by `stats`.
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
