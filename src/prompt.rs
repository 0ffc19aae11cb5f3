//! Prompt rendering: the suite's minijinja templates applied to one item give the chat messages.
//!
//! Why this module exists: every provider must see the same prompt for the same item, or the comparison is unfair.
//! Templates are compiled once, rendering is strict (an undefined variable is an error naming the template and the
//! item, never an empty string silently sent to a paid API), and per-provider system overrides are explicit. The
//! template context of an item is built once per [`Prompter::messages`] call, straight from the row's JSON text.
//! Templates are programs, so each render has a budget: [`FUEL`] minijinja instructions and [`MAX_RENDERED_BYTES`] of
//! output; a template that exceeds either is bad input naming the item, found by `validate` before anything is paid.

use crate::chat::{Message, Role};
use crate::dataset::Item;
use crate::error::{InputError, Result};
use crate::suite::LoadedSuite;
use minijinja::{Environment, UndefinedBehavior};

/// Compiled templates of one suite.
pub struct Prompter {
    env: Environment<'static>,
    has_system: bool,
    n_few_shot: usize,
    overrides: Vec<String>,
    suite_path: std::path::PathBuf,
    dataset_path: std::path::PathBuf,
    /// Where `prompt.system` / `prompt.user` are written in the suite, for render errors.
    template_pos: Vec<(&'static str, (usize, usize))>,
    /// The suite's labels as a template value (`labels`), None when the suite lists none.
    labels: Option<minijinja::Value>,
    /// Templates that use no item data (at most `labels`), rendered once: a system prompt is usually one of them,
    /// and rendering it again for every request was measurable at zero latency.
    constant: std::collections::HashMap<String, String>,
}

const SYSTEM: &str = "prompt.system";

/// Instructions one render may execute. A real prompt template uses tens to thousands (a loop over a list field of
/// a few thousand entries included); nested `range()` loops would otherwise run for hours.
pub const FUEL: u64 = 5_000_000;

/// Largest rendered template, in bytes (8 MiB, about two million tokens: more than any model's context window).
pub const MAX_RENDERED_BYTES: usize = 8 << 20;

/// Render `tmpl` within the output cap (the fuel is set on the environment).
fn render_capped(
    tmpl: &minijinja::Template<'_, '_>,
    ctx: &minijinja::Value,
) -> std::result::Result<String, minijinja::Error> {
    /// Collects the output and refuses to grow past [`MAX_RENDERED_BYTES`].
    struct Capped(Vec<u8>);
    impl std::io::Write for Capped {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.0.len() + b.len() > MAX_RENDERED_BYTES {
                return Err(std::io::Error::other("rendered text too large"));
            }
            self.0.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut out = Capped(Vec::new());
    tmpl.render_captured_to(ctx, &mut out)?;
    // minijinja writes whole `str`s, so the bytes are UTF-8; a lossy conversion only guards the invariant.
    Ok(String::from_utf8(out.0)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}
const USER: &str = "prompt.user";

/// The variable a template uses that `ctx` does not define, with the closest name that is defined: a top-level
/// name (`{{ txt }}` -> `text`) or a field of `item` (`{{ item.txt }}` -> `item.text`).
fn undefined_name(
    tmpl: &minijinja::Template<'_, '_>,
    ctx: &minijinja::Value,
    fields: &[String],
) -> Option<(String, Option<String>)> {
    let defined = |v: minijinja::Value, key: &str| v.get_attr(key).is_ok_and(|x| !x.is_undefined());
    let mut names: Vec<String> = tmpl.undeclared_variables(true).into_iter().collect();
    names.sort();
    let mut top: Vec<&str> = fields.iter().map(String::as_str).collect();
    top.extend(["id", "item", "labels"]);
    for name in &names {
        let mut parts = name.split('.');
        let head = parts.next().unwrap_or_default();
        if !defined(ctx.clone(), head) {
            let near = crate::error::did_you_mean(head, top.iter().copied()).map(str::to_string);
            return Some((head.to_string(), near));
        }
        if head == "item" {
            if let Some(field) = parts.next() {
                let item = ctx.get_attr("item").unwrap_or_default();
                if !defined(item, field) {
                    let near = crate::error::did_you_mean(field, fields.iter().map(String::as_str))
                        .map(|f| format!("item.{f}"));
                    return Some((format!("item.{field}"), near));
                }
            }
        }
    }
    None
}

impl Prompter {
    /// Compile every template of the suite (syntax errors are reported here, before any item is rendered).
    pub fn new(ls: &LoadedSuite) -> Result<Self> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(false);
        env.set_fuel(Some(FUEL));
        let p = &ls.suite.prompt;
        let add = |env: &mut Environment<'static>, name: String, src: String| -> Result<()> {
            env.add_template_owned(name.clone(), src).map_err(|e| {
                let mut ie = InputError::new(&ls.path, format!("template `{name}` does not compile: {}", e.detail().unwrap_or("syntax error")));
                if let Some((l, c)) = crate::suite::locate(&ls.src, name.rsplit('.').next().unwrap_or("user"), None, 0) {
                    ie = ie.at(l, c);
                }
                ie.hint("templates use minijinja (Jinja2) syntax: {{ field }}, {% for x in list %}...{% endfor %}").into()
            })
        };
        if let Some(s) = &p.system {
            add(&mut env, SYSTEM.into(), s.clone())?;
        }
        add(&mut env, USER.into(), p.user.clone())?;
        for (i, fs) in p.few_shot.iter().enumerate() {
            add(
                &mut env,
                format!("prompt.few_shot[{i}].user"),
                fs.user.clone(),
            )?;
            add(
                &mut env,
                format!("prompt.few_shot[{i}].assistant"),
                fs.assistant.clone(),
            )?;
        }
        let mut overrides = Vec::new();
        for pr in &ls.suite.providers {
            if let Some(s) = &pr.system {
                add(&mut env, format!("providers.{}.system", pr.id), s.clone())?;
                overrides.push(pr.id.clone());
            }
        }
        let template_pos = [(SYSTEM, "system"), (USER, "user")]
            .into_iter()
            .filter_map(|(name, key)| {
                crate::suite::locate(&ls.src, key, None, 0).map(|pos| (name, pos))
            })
            .collect();
        let labels =
            (!ls.suite.labels.is_empty()).then(|| minijinja::Value::from(ls.suite.labels.clone()));
        let mut constant = std::collections::HashMap::new();
        for (name, tmpl) in env.templates() {
            let free = tmpl.undeclared_variables(true);
            if free.iter().all(|v| v == "labels") {
                let ctx = minijinja::Value::from_iter(labels.iter().map(|l| ("labels", l.clone())));
                // A template that fails here (e.g. `labels` used but none listed) is rendered per item instead, so
                // the error names the item as before.
                if let Ok(text) = render_capped(&tmpl, &ctx) {
                    constant.insert(name.to_string(), text);
                }
            }
        }
        Ok(Prompter {
            env,
            has_system: p.system.is_some(),
            n_few_shot: p.few_shot.len(),
            overrides,
            suite_path: ls.path.clone(),
            dataset_path: ls.dataset_path.clone(),
            template_pos,
            labels,
            constant,
        })
    }

    /// The template context of `item`: its fields, `id` (the row's own `id` field if it has one, else the item id),
    /// `item` (all fields) and `labels` (when the suite lists labels); `item` and `labels` win over fields so named.
    fn context(&self, item: &Item) -> Result<minijinja::Value> {
        let fields: minijinja::Value = serde_json::from_str(item.fields_json()).map_err(|e| {
            crate::error::Error::Internal(format!("item `{}` fields do not parse: {e}", item.id))
        })?;
        let mut first = vec![("item", fields.clone())];
        if let Some(l) = &self.labels {
            first.push(("labels", l.clone()));
        }
        let id = minijinja::Value::from_iter([("id", minijinja::Value::from(item.id.as_str()))]);
        Ok(minijinja::value::merge_maps([
            minijinja::Value::from_iter(first),
            fields,
            id,
        ]))
    }

    fn render(&self, name: &str, item: &Item, ctx: &minijinja::Value) -> Result<String> {
        if let Some(text) = self.constant.get(name) {
            return Ok(text.clone());
        }
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| crate::error::Error::Internal(format!("template {name} missing: {e}")))?;
        render_capped(&tmpl, ctx).map_err(|e| {
            let detail = match e.kind() {
                minijinja::ErrorKind::OutOfFuel => {
                    format!("it ran out of its execution budget ({FUEL} template instructions)")
                }
                minijinja::ErrorKind::WriteFailure => {
                    format!("its rendered text exceeds {} MiB", MAX_RENDERED_BYTES >> 20)
                }
                _ => e.detail().unwrap_or(&e.to_string()).to_string(),
            };
            let budget = matches!(
                e.kind(),
                minijinja::ErrorKind::OutOfFuel | minijinja::ErrorKind::WriteFailure
            );
            let msg = format!(
                "template `{name}` failed for item `{}` (dataset line {}): {detail}",
                item.id, item.line,
            );
            // Located at the template in the suite when we know where it is, else at the item's row.
            let located = match self.template_pos.iter().find(|(n, _)| *n == name) {
                Some((_, (l, c))) => InputError::new(&self.suite_path, msg).at(*l, *c),
                None => InputError::new(&self.dataset_path, msg).at_line(item.line),
            };
            if budget {
                return located
                    .hint(
                        "a prompt must stay a prompt: remove nested or long `range()` loops and huge repetitions \
                         from the template, or shorten this item's fields",
                    )
                    .into();
            }
            let fields: Vec<String> = item.fields().keys().cloned().collect();
            let usable = format!(
                "templates may use the item's fields ({}), `id`, `item` and `labels`",
                fields.join(", ")
            );
            let hint = match undefined_name(&tmpl, ctx, &fields) {
                Some((name, Some(near))) => format!("`{name}` is not defined: did you mean `{near}`? {usable}"),
                Some((name, None)) => format!("`{name}` is not defined; {usable}"),
                None => usable,
            };
            located.hint(hint).into()
        })
    }

    /// The messages for `item` as sent to `provider_id`.
    pub fn messages(&self, item: &Item, provider_id: &str) -> Result<Vec<Message>> {
        let mut out = Vec::with_capacity(2 + 2 * self.n_few_shot);
        let ctx = self.context(item)?;
        if self.overrides.iter().any(|p| p == provider_id) {
            out.push(Message {
                role: Role::System,
                content: self.render(&format!("providers.{provider_id}.system"), item, &ctx)?,
            });
        } else if self.has_system {
            out.push(Message {
                role: Role::System,
                content: self.render(SYSTEM, item, &ctx)?,
            });
        }
        for i in 0..self.n_few_shot {
            out.push(Message {
                role: Role::User,
                content: self.render(&format!("prompt.few_shot[{i}].user"), item, &ctx)?,
            });
            out.push(Message {
                role: Role::Assistant,
                content: self.render(&format!("prompt.few_shot[{i}].assistant"), item, &ctx)?,
            });
        }
        out.push(Message {
            role: Role::User,
            content: self.render(USER, item, &ctx)?,
        });
        Ok(out)
    }

    /// Render every item for every provider once, so template errors stop the run before the first request.
    ///
    /// Providers without a system override all get the same messages, so one of them stands for all. Items are
    /// rendered in parallel; the error reported is still the first in dataset order, as a serial check would give.
    pub fn check_all(&self, items: &[Item], provider_ids: &[&str]) -> Result<()> {
        use rayon::prelude::*;
        let mut distinct: Vec<&str> = provider_ids
            .iter()
            .copied()
            .filter(|p| self.overrides.iter().any(|o| o == p))
            .collect();
        if let Some(p) = provider_ids
            .iter()
            .find(|p| !self.overrides.iter().any(|o| o == *p))
        {
            distinct.insert(0, p);
        }
        // The serial order was item-major with providers in suite order; keep the suite order among the checked ones.
        distinct.sort_by_key(|d| provider_ids.iter().position(|p| p == d));
        match items
            .par_iter()
            .find_map_first(|it| distinct.iter().find_map(|p| self.messages(it, p).err()))
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(system: &str, labels: &str) -> (tempfile::TempDir, Prompter, Vec<Item>) {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("s.yaml"),
            format!(
                "name: t\ntask: extraction\ndataset: {{path: d.jsonl, id: id, expected: out}}\n{labels}\
                 prompt:\n  system: \"{system}\"\n  user: \"{{{{ text }}}}\"\n\
                 providers:\n  - id: a\n    role: baseline\n    kind: sim\n    model: m\n    \
                 price: {{input_per_mtok: 1, output_per_mtok: 1}}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            d.path().join("d.jsonl"),
            "{\"id\": \"x1\", \"text\": \"hello\", \"out\": {\"a\": 1}}\n{\"id\": \"x2\", \"text\": \"bye\", \"out\": {\"a\": 2}}\n",
        )
        .unwrap();
        let ls = crate::suite::load_suite(&d.path().join("s.yaml"), None).unwrap();
        let items = crate::dataset::load(&ls.dataset_path, &ls.suite.dataset).unwrap();
        let p = Prompter::new(&ls).unwrap();
        (d, p, items)
    }

    #[test]
    fn item_free_templates_are_rendered_once_and_item_templates_per_item() {
        let (_d, p, items) = prepared("Fields: {{ labels | join('/') }}.", "labels: [a, b]\n");
        assert_eq!(
            p.constant.get(SYSTEM).map(String::as_str),
            Some("Fields: a/b.")
        );
        assert!(!p.constant.contains_key(USER));
        let m: Vec<Vec<Message>> = items
            .iter()
            .map(|it| p.messages(it, "a").unwrap())
            .collect();
        assert_eq!(m[0][0].content, "Fields: a/b.");
        assert_eq!(
            (m[0][1].content.as_str(), m[1][1].content.as_str()),
            ("hello", "bye")
        );
    }

    #[test]
    fn an_undefined_variable_is_named_with_the_closest_field() {
        let (d, _, _) = prepared("Sys", "");
        let suite = std::fs::read_to_string(d.path().join("s.yaml")).unwrap();
        for (user, want) in [
            ("{{ txt }}", "`txt` is not defined: did you mean `text`?"),
            (
                "{{ item.txt }}",
                "`item.txt` is not defined: did you mean `item.text`?",
            ),
            (
                "{{ zzz_unrelated }}",
                "`zzz_unrelated` is not defined; templates may use",
            ),
        ] {
            std::fs::write(
                d.path().join("s.yaml"),
                suite.replace("user: \"{{ text }}\"", &format!("user: \"{user}\"")),
            )
            .unwrap();
            let ls = crate::suite::load_suite(&d.path().join("s.yaml"), None).unwrap();
            let items = crate::dataset::load(&ls.dataset_path, &ls.suite.dataset).unwrap();
            let e = Prompter::new(&ls)
                .unwrap()
                .check_all(&items, &["a"])
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{user}: {e}");
            assert!(e.contains("s.yaml:") && e.contains("prompt.user"), "{e}");
        }
    }

    #[test]
    fn a_template_that_cannot_render_without_an_item_still_fails_per_item() {
        // `labels` is used but the suite lists none: not cacheable, and rendering names the item.
        let (_d, p, items) = prepared("Pick one of {{ labels }}", "");
        assert!(!p.constant.contains_key(SYSTEM));
        let e = p.messages(&items[0], "a").unwrap_err().to_string();
        assert!(e.contains("prompt.system") && e.contains("x1"), "{e}");
    }
}
