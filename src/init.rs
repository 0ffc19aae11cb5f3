//! `evalh init`: a starter suite for one task type — a commented `suite.yaml`, a 5-row `data.jsonl` and a
//! `providers.yaml` — that runs offline as written.
//!
//! Why this module exists: the fastest way to one's own workload is a working example of the right shape to edit,
//! not the schema reference. Every file written here runs with no edit and no key (the providers are evalh's
//! simulator), and says in comments what to change: the items, the prompt, the labels or expected answers, and the
//! real endpoints (commented entries in `providers.yaml`, keys by environment variable or `.env`). Existing files are
//! never overwritten. A test runs `init`, `validate` and `run` for every task type.

use crate::cli::{InitArgs, InitTask};
use crate::error::{Error, InputError, Result};
use std::path::Path;

/// The files `init` writes, in order.
pub const FILES: [&str; 3] = ["suite.yaml", "data.jsonl", "providers.yaml"];

/// Write the starter files for `a.task` into `a.dir`; prints what was written and what to do next.
pub fn init(a: &InitArgs) -> Result<i32> {
    let dir = &a.dir;
    if dir.exists() && !dir.is_dir() {
        return Err(InputError::new(dir, "--dir names a file, not a folder")
            .hint("name a folder (it is created when missing), e.g. --dir my-eval")
            .into());
    }
    let existing: Vec<String> = FILES
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(InputError::new(
            &a.dir,
            format!(
                "would overwrite {}; evalh init never replaces a file",
                existing.join(", ")
            ),
        )
        .hint("pick another folder with --dir (e.g. --dir my-eval), or move those files away first")
        .into());
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let t = template(a.task);
    let contents = [t.suite(), t.data.to_string(), t.providers_file()];
    for (name, text) in FILES.iter().zip(&contents) {
        write_new(&dir.join(name), text)?;
    }
    let suite = dir.join(FILES[0]);
    let providers = dir.join(FILES[2]);
    println!(
        "wrote {} ({} task), {} (5 items) and {}",
        suite.display(),
        t.task,
        dir.join(FILES[1]).display(),
        providers.display()
    );
    println!("next:");
    println!(
        "  evalh run {}          # offline: simulated providers, no key needed",
        suite.display()
    );
    println!(
        "  edit {} and {} for your own items and prompt",
        dir.join(FILES[1]).display(),
        suite.display()
    );
    println!(
        "  edit {} (real endpoints), then: evalh run {} --providers {}",
        providers.display(),
        suite.display(),
        providers.display()
    );
    Ok(0)
}

/// Create `path` (failing, not overwriting, if it appeared meanwhile).
fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// What differs between task types.
struct Template {
    task: &'static str,
    /// The suite from `name:` to just before `providers:`.
    head: &'static str,
    /// `max_tokens` of every provider.
    max_tokens: u32,
    /// The `gate:` section's metric.
    metric: &'static str,
    /// The dataset.
    data: &'static str,
}

fn template(task: InitTask) -> Template {
    match task {
        InitTask::Classification => Template {
            task: "classification",
            head: CLASSIFICATION,
            max_tokens: 10,
            metric: "macro_f1",
            data: CLASSIFICATION_DATA,
        },
        InitTask::Summarization => Template {
            task: "summarization",
            head: SUMMARIZATION,
            max_tokens: 200,
            metric: "rougeLsum_f",
            data: SUMMARIZATION_DATA,
        },
        InitTask::Extraction => Template {
            task: "extraction",
            head: EXTRACTION,
            max_tokens: 300,
            metric: "field_f1",
            data: EXTRACTION_DATA,
        },
        InitTask::FunctionCalling => Template {
            task: "function_calling",
            head: FUNCTION_CALLING,
            max_tokens: 200,
            metric: "full_call_accuracy",
            data: FUNCTION_CALLING_DATA,
        },
    }
}

impl Template {
    fn suite(&self) -> String {
        format!(
            "# A starter suite written by `evalh init --task {task}`; the schema is in docs/suite.md.\n\
             # It runs offline as it is:   evalh run suite.yaml\n\
             # Make it yours: put your items in data.jsonl, write the prompt below, then compare real endpoints:\n\
             #   evalh run suite.yaml --providers providers.yaml   (after editing providers.yaml)\n\
             # Fast loop while editing: --limit 20 (first items only), --only ID (one candidate; the baseline always\n\
             # runs); `evalh validate suite.yaml` checks everything without sending a request.\n\
             version: 1\n\
             {head}\n\n\
             # The providers this suite runs with as written: evalh's simulator (`kind: sim`), priced like real tiers, so\n\
             # the suite runs with no key and no network. `quality` is the share of items a simulated model gets right.\n\
             # providers.yaml lists the real endpoints to compare instead (--providers replaces this list).\n\
             providers:\n\
             {providers}\n\n\
             gate:\n\
             \x20 metric: {metric:<22}# the quality metric compared (docs/metrics.md)\n\
             \x20 min_quality_ratio: 0.95       # a candidate passes at >= 95% of the baseline's quality ...\n\
             \x20 max_cost_ratio: 0.40          # ... for <= 40% of its cost per item\n\
             \x20 confidence: 0.95              # judged on a one-sided 95% confidence bound (docs/gate.md)\n\
             \x20 # Five items cannot settle a verdict (30 at least): until data.jsonl is larger, each candidate is\n\
             \x20 # INCONCLUSIVE with the number of items that would settle it. `warn` keeps the exit code 0 meanwhile;\n\
             \x20 # use `fail` (the default) once the suite gates a CI job.\n\
             \x20 on_inconclusive: warn\n\
             \n\
             run:\n\
             \x20 concurrency: 8                # requests in flight per provider\n\
             \x20 seed: 1                       # the simulator's and the bootstrap's seed\n\
             \x20 # max_cost_usd: 5.00          # stop before spending more than this (or pass --max-cost)\n",
            task = self.task,
            head = self.head.trim_end(),
            providers = sim_providers(self.max_tokens).trim_end(),
            metric = self.metric,
        )
    }

    fn providers_file(&self) -> String {
        let mt = self.max_tokens;
        format!(
            "# Providers for suite.yaml, used with:   evalh run suite.yaml --providers providers.yaml\n\
             # They replace the suite's own list. As written these are the same simulated providers, so the command\n\
             # runs offline. To compare real endpoints: uncomment one baseline and the candidates you want below, and\n\
             # delete the two `kind: sim` entries. Keys never go in this file: each entry names the environment\n\
             # variable that holds its key (`api_key_env`); set it in the shell or in a `.env` file (NAME=value lines)\n\
             # in the folder you run evalh from or next to the suite. Every kind, with its options: docs/providers.md.\n\
             # Check before spending anything:   evalh plan suite.yaml --providers providers.yaml\n\
             providers:\n\
             {sims}\n\
             \n\
             \x20 # - id: gpt-4o\n\
             \x20 #   role: baseline             # exactly one provider is the baseline\n\
             \x20 #   kind: openai\n\
             \x20 #   model: gpt-4o\n\
             \x20 #   api_key_env: OPENAI_API_KEY\n\
             \x20 #   params: {{temperature: 0, max_tokens: {mt}}}\n\
             \x20 # - id: gpt-4o-mini\n\
             \x20 #   kind: openai\n\
             \x20 #   model: gpt-4o-mini\n\
             \x20 #   api_key_env: OPENAI_API_KEY\n\
             \x20 #   params: {{temperature: 0, max_tokens: {mt}}}\n\
             \x20 # - id: claude-haiku\n\
             \x20 #   kind: anthropic\n\
             \x20 #   model: claude-haiku-4-5\n\
             \x20 #   api_key_env: ANTHROPIC_API_KEY\n\
             \x20 #   params: {{temperature: 0, max_tokens: {mt}}}\n\
             \x20 # - id: gemini-flash\n\
             \x20 #   kind: gemini\n\
             \x20 #   model: gemini-2.0-flash\n\
             \x20 #   api_key_env: GEMINI_API_KEY\n\
             \x20 #   params: {{temperature: 0, max_tokens: {mt}}}\n\
             \x20 # - id: local-llama              # any OpenAI-compatible server: vLLM, llama.cpp, Ollama, ...\n\
             \x20 #   kind: openai\n\
             \x20 #   model: llama3.1:8b\n\
             \x20 #   base_url: http://localhost:11434/v1\n\
             \x20 #   auth: none                 # the server takes no key\n\
             \x20 #   price: {{input_per_mtok: 0, output_per_mtok: 0}}   # a model outside the price table needs one\n\
             \x20 #   params: {{temperature: 0, max_tokens: {mt}}}\n",
            sims = sim_providers(mt).trim_end(),
        )
    }
}

/// The two simulated providers (a list under `providers:`).
fn sim_providers(max_tokens: u32) -> String {
    format!(
        "  - id: premium\n\
         \x20   role: baseline               # the provider every candidate is compared with\n\
         \x20   kind: sim\n\
         \x20   model: sim-premium           # plays a gpt-4o-class model\n\
         \x20   price: {{input_per_mtok: 2.50, output_per_mtok: 10.00}}   # USD per million tokens\n\
         \x20   params: {{temperature: 0, max_tokens: {max_tokens}}}\n\
         \x20   sim: {{quality: 0.95, latency_ms: {{p50: 600, p99: 1500}}}}\n\
         \x20 - id: cheap\n\
         \x20   kind: sim\n\
         \x20   model: sim-cheap             # plays a flash/mini-class model\n\
         \x20   price: {{input_per_mtok: 0.10, output_per_mtok: 0.40}}\n\
         \x20   params: {{temperature: 0, max_tokens: {max_tokens}}}\n\
         \x20   sim: {{quality: 0.93, latency_ms: {{p50: 300, p99: 800}}}}\n"
    )
}

const CLASSIFICATION: &str = r#"name: my-classifier               # names the run directories: reports/my-classifier-<UTC timestamp>/
description: Route customer messages to one intent.
task: classification

dataset:
  path: data.jsonl               # relative to this file; JSONL (one object per line) or CSV with a header row
  id: id                         # the field holding each item's id
  expected: label                # the field holding the right answer
  # limit: 100                   # use only the first N items (or pass --limit N)

labels: [billing, bug, feature_request]   # every expected label must be listed

prompt:                          # minijinja templates; each field of an item is a variable ({{ text }})
  system: |
    Classify the customer's message into exactly one intent: {{ labels | join(", ") }}.
    Answer with the intent name only.
  user: "Message: {{ text }}"

scoring:
  label_extract: {mode: auto}    # exact label, else normalised, else the first listed label found in the answer
"#;

const CLASSIFICATION_DATA: &str = r#"{"id": "t1", "text": "I was charged twice for my subscription this month.", "label": "billing"}
{"id": "t2", "text": "The app crashes every time I open the settings page.", "label": "bug"}
{"id": "t3", "text": "Could you add a dark mode to the dashboard?", "label": "feature_request"}
{"id": "t4", "text": "My invoice shows the wrong VAT number.", "label": "billing"}
{"id": "t5", "text": "Exporting a report to PDF gives a blank page.", "label": "bug"}
"#;

const SUMMARIZATION: &str = r#"name: my-summaries                # names the run directories: reports/my-summaries-<UTC timestamp>/
description: One-to-two-sentence summaries of support conversations.
task: summarization

dataset:
  path: data.jsonl               # relative to this file; JSONL (one object per line) or CSV with a header row
  id: id                         # the field holding each item's id
  expected: summary              # the reference summary (a string, or a list of acceptable references)
  # limit: 100                   # use only the first N items (or pass --limit N)

prompt:                          # minijinja templates; each field of an item is a variable ({{ document }})
  system: Summarize the text in one or two sentences. Put each sentence on its own line.
  user: "{{ document }}"

scoring:
  rouge_stem: true               # ROUGE with the Porter stemmer, as rouge-score's use_stemmer=True
"#;

const SUMMARIZATION_DATA: &str = r#"{"id": "s1", "document": "Customer: My order 4471 arrived with a cracked screen. Agent: Sorry about that. I have issued a replacement that ships tomorrow and emailed you a prepaid return label.", "summary": "A replacement for the cracked order 4471 ships tomorrow.\nThe customer got a prepaid return label."}
{"id": "s2", "document": "Customer: I cannot log in since I changed my phone. Agent: Two-factor codes were tied to the old phone, so I reset two-factor on your account. You can log in now and set it up again.", "summary": "Two-factor authentication was reset after the customer changed phones.\nThe customer can log in and set it up again."}
{"id": "s3", "document": "Customer: Why was I charged 30 dollars more this month? Agent: Your plan renewed at the annual price after the promotion ended. I refunded the difference as a one-time courtesy.", "summary": "The plan renewed at full price after a promotion ended.\nThe 30 dollar difference was refunded once."}
{"id": "s4", "document": "Customer: Can I move my subscription to my company account? Agent: Yes. I merged your personal subscription into the company workspace, and the remaining months carry over.", "summary": "The personal subscription was merged into the company workspace.\nThe remaining months carry over."}
{"id": "s5", "document": "Customer: The mobile app shows an old balance. Agent: The balance is cached for up to an hour. Pull down on the home screen to refresh it, and the current balance appears.", "summary": "The app caches the balance for up to an hour.\nPulling down on the home screen refreshes it."}
"#;

const EXTRACTION: &str = r#"name: my-extraction               # names the run directories: reports/my-extraction-<UTC timestamp>/
description: Pull order details out of customer emails as JSON.
task: extraction

dataset:
  path: data.jsonl               # relative to this file; JSONL (one object per line) or CSV with a header row
  id: id                         # the field holding each item's id
  expected: expected             # the right JSON record for the item
  # limit: 100                   # use only the first N items (or pass --limit N)

prompt:                          # minijinja templates; each field of an item is a variable ({{ email }})
  system: |
    Extract the order from the email as JSON with exactly these keys: order_id, customer (the sender's name),
    quantity (a number), product. Use null for anything the email does not state. Answer with the JSON only.
  user: "{{ email }}"

scoring:
  extraction:                    # field by field; rules per field in docs/metrics.md
    default_mode: normalized     # exact | normalized (case, spaces, number and date formats) | fuzzy
    fields:
      customer: {mode: fuzzy, threshold: 0.8}
"#;

const EXTRACTION_DATA: &str = r#"{"id": "e1", "email": "Hi, this is Ana Lopez. Please send 3 more boxes of A4 paper on order PO-1182. Thanks!", "expected": {"order_id": "PO-1182", "customer": "Ana Lopez", "quantity": 3, "product": "A4 paper"}}
{"id": "e2", "email": "Order PO-2045: we need 12 toner cartridges by Friday. Regards, Ben Okafor", "expected": {"order_id": "PO-2045", "customer": "Ben Okafor", "quantity": 12, "product": "toner cartridges"}}
{"id": "e3", "email": "Hello, Chen Wei here. Add one standing desk to PO-3310, please.", "expected": {"order_id": "PO-3310", "customer": "Chen Wei", "quantity": 1, "product": "standing desk"}}
{"id": "e4", "email": "Can you ship 40 notebooks (order PO-0917)? - Dana Smith", "expected": {"order_id": "PO-0917", "customer": "Dana Smith", "quantity": 40, "product": "notebooks"}}
{"id": "e5", "email": "Emil Berg writing: 5 office chairs for PO-4420, delivery to the second floor.", "expected": {"order_id": "PO-4420", "customer": "Emil Berg", "quantity": 5, "product": "office chairs"}}
"#;

const FUNCTION_CALLING: &str = r#"name: my-tools                    # names the run directories: reports/my-tools-<UTC timestamp>/
description: Does the model call the right tool with the right arguments?
task: function_calling

dataset:
  path: data.jsonl               # relative to this file; JSONL (one object per line) or CSV with a header row
  id: id                         # the field holding each item's id
  expected: expected_calls       # the calls the model should make: [{name, arguments: {arg: [acceptable values]}}]
                                 #   ("" among the values: the argument may be left out; [] : no tool fits)
  # limit: 100                   # use only the first N items (or pass --limit N)

tools:                           # declared once as JSON Schema; translated for each provider kind
  - name: get_weather
    description: Current weather for a city.
    parameters:
      type: object
      properties:
        city: {type: string, description: "City name, e.g. 'Lyon'"}
        unit: {type: string, enum: [celsius, fahrenheit], description: Defaults to celsius.}
      required: [city]
  - name: convert_currency
    description: Convert an amount from one currency to another.
    parameters:
      type: object
      properties:
        amount: {type: number}
        from: {type: string, description: ISO 4217 code, e.g. EUR}
        to: {type: string, description: ISO 4217 code, e.g. USD}
      required: [amount, from, to]

prompt:                          # minijinja templates; each field of an item is a variable ({{ request }})
  system: Call the tools needed to answer the request; if no tool fits, answer in text.
  user: "{{ request }}"
"#;

const FUNCTION_CALLING_DATA: &str = r#"{"id": "f1", "request": "What's the weather in Lyon?", "expected_calls": [{"name": "get_weather", "arguments": {"city": ["Lyon", "Lyon, France"], "unit": ["", "celsius"]}}]}
{"id": "f2", "request": "Convert 250 euros to US dollars.", "expected_calls": [{"name": "convert_currency", "arguments": {"amount": [250, 250.0], "from": ["EUR"], "to": ["USD"]}}]}
{"id": "f3", "request": "Is it warm in Oslo right now? Give me fahrenheit.", "expected_calls": [{"name": "get_weather", "arguments": {"city": ["Oslo", "Oslo, Norway"], "unit": ["fahrenheit"]}}]}
{"id": "f4", "request": "How many yen is 40 pounds, and what's the weather in Tokyo?", "expected_calls": [{"name": "convert_currency", "arguments": {"amount": [40, 40.0], "from": ["GBP"], "to": ["JPY"]}}, {"name": "get_weather", "arguments": {"city": ["Tokyo", "Tokyo, Japan"], "unit": ["", "celsius"]}}]}
{"id": "f5", "request": "Tell me a joke about cats.", "expected_calls": []}
"#;
