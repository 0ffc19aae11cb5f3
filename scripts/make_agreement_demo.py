"""Derive datasets/agreement/tickets.jsonl (the `suites/agreement.yaml` demo) from datasets/classify/tickets.jsonl.

Plays a production log: every ticket keeps the answer the premium model gave in production as `logged_answer` (the
field `evalh dataset from-logs` writes); that answer is the true intent except on every ninth ticket, where production
got it wrong. Only the first 30 tickets keep their human `label` (a small labelled subset); the rest are unlabelled.
Deterministic: run `python3 scripts/make_agreement_demo.py` from the repository root to regenerate.
"""
import json

LABELS = ["billing", "technical_issue", "account_access", "shipping", "refund_request", "feature_request"]
LABELLED = 30

rows = [json.loads(line) for line in open("datasets/classify/tickets.jsonl")]
with open("datasets/agreement/tickets.jsonl", "w") as out:
    for i, r in enumerate(rows):
        label = r["label"]
        logged = label if i % 9 != 4 else LABELS[(LABELS.index(label) + 1) % len(LABELS)]
        row = {"id": r["id"], "text": r["text"], "logged_answer": logged}
        if i < LABELLED:
            row["label"] = label
        out.write(json.dumps(row) + "\n")
print(f"{len(rows)} rows, {LABELLED} labelled")
