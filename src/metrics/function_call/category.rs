//! BFCL test categories, read from item ids (or, failing that, from the shape of the expected calls), and the
//! per-category accuracy summary that lets evalh's numbers stand next to the leaderboard's.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use super::ExpectedCall;

/// A BFCL test category (the AST and irrelevance ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// `simple_python` (`simple` in BFCL v3 ids): one tool, one call.
    SimplePython,
    /// `simple_java` (scored with the Python rules here).
    SimpleJava,
    /// `simple_javascript` (scored with the Python rules here).
    SimpleJavascript,
    /// `multiple`: several tools, one call.
    Multiple,
    /// `parallel`: one tool, several calls.
    Parallel,
    /// `parallel_multiple`: several tools, several calls.
    ParallelMultiple,
    /// `irrelevance`: no tool fits, no call expected.
    Irrelevance,
    /// `live_simple`.
    LiveSimple,
    /// `live_multiple`.
    LiveMultiple,
    /// `live_parallel`.
    LiveParallel,
    /// `live_parallel_multiple`.
    LiveParallelMultiple,
    /// `live_irrelevance`.
    LiveIrrelevance,
}

const ALL: [Category; 12] = [
    Category::SimplePython,
    Category::SimpleJava,
    Category::SimpleJavascript,
    Category::Multiple,
    Category::Parallel,
    Category::ParallelMultiple,
    Category::Irrelevance,
    Category::LiveSimple,
    Category::LiveMultiple,
    Category::LiveParallel,
    Category::LiveParallelMultiple,
    Category::LiveIrrelevance,
];

impl Category {
    /// BFCL's name of the category.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::SimplePython => "simple_python",
            Category::SimpleJava => "simple_java",
            Category::SimpleJavascript => "simple_javascript",
            Category::Multiple => "multiple",
            Category::Parallel => "parallel",
            Category::ParallelMultiple => "parallel_multiple",
            Category::Irrelevance => "irrelevance",
            Category::LiveSimple => "live_simple",
            Category::LiveMultiple => "live_multiple",
            Category::LiveParallel => "live_parallel",
            Category::LiveParallelMultiple => "live_parallel_multiple",
            Category::LiveIrrelevance => "live_irrelevance",
        }
    }

    /// The category of a BFCL item id, as BFCL reads it (the id without its last
    /// `_<number>` part, e.g. `live_multiple_0-0-0` → `live_multiple`); `simple_<n>`
    /// (BFCL v3) is `simple_python`. `None` for ids of other shapes.
    pub fn from_id(id: &str) -> Option<Category> {
        let id = id.split(':').next().unwrap_or(id);
        let (prefix, _) = id.rsplit_once('_')?;
        if prefix == "simple" {
            return Some(Category::SimplePython);
        }
        ALL.into_iter().find(|c| c.as_str() == prefix)
    }

    /// The category an item's shape implies when its id says nothing: no expected
    /// call → irrelevance; one → simple (one tool offered) or multiple; several →
    /// parallel (all the same function) or parallel_multiple. Never live.
    pub fn from_shape(expected: &[ExpectedCall], n_tools: usize) -> Category {
        match expected {
            [] => Category::Irrelevance,
            [_] if n_tools <= 1 => Category::SimplePython,
            [_] => Category::Multiple,
            [first, rest @ ..] if rest.iter().all(|e| e.name == first.name) => Category::Parallel,
            _ => Category::ParallelMultiple,
        }
    }

    /// An irrelevance category (the model must not call anything).
    pub fn is_irrelevance(self) -> bool {
        matches!(self, Category::Irrelevance | Category::LiveIrrelevance)
    }

    /// BFCL checks the calls without order (`parallel` in the name).
    pub fn is_parallel(self) -> bool {
        matches!(
            self,
            Category::Parallel
                | Category::ParallelMultiple
                | Category::LiveParallel
                | Category::LiveParallelMultiple
        )
    }

    /// BFCL looks the tool up by name (`multiple` in the name, not parallel).
    pub fn is_multiple(self) -> bool {
        matches!(self, Category::Multiple | Category::LiveMultiple)
    }

    /// A live_ category (user-contributed data).
    pub fn is_live(self) -> bool {
        self.as_str().starts_with("live_")
    }
}

/// Per-category accuracy of items scored `(category, category read from the id, correct)`:
/// `{"per_category": {name: {"n", "correct", "accuracy"}}, "category_source": "item_id" |
/// "call_shape" | "mixed", "bfcl_summary": {...}}`. `bfcl_summary` follows BFCL's
/// leaderboard: `non_live_ast` is the unweighted mean of simple (itself the unweighted
/// mean of simple_python/java/javascript), multiple, parallel and parallel_multiple;
/// `live_ast` the mean over all live AST items (BFCL weighs the live categories by
/// size); `irrelevance` the unweighted mean of irrelevance and live_irrelevance. Each
/// is over the categories present (BFCL shows N/A when one is missing).
pub fn category_summary(items: impl IntoIterator<Item = (Category, bool, bool)>) -> Value {
    let mut counts: BTreeMap<Category, (u64, u64)> = BTreeMap::new();
    let (mut from_id, mut from_shape) = (0u64, 0u64);
    for (cat, by_id, correct) in items {
        let e = counts.entry(cat).or_default();
        e.0 += 1;
        e.1 += u64::from(correct);
        if by_id {
            from_id += 1;
        } else {
            from_shape += 1;
        }
    }
    let acc = |c: Category| {
        counts
            .get(&c)
            .map(|(n, ok)| *ok as f64 / (*n).max(1) as f64)
    };
    let mean = |xs: &[Option<f64>]| {
        let present: Vec<f64> = xs.iter().flatten().copied().collect();
        (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
    };
    let simple = mean(&[
        acc(Category::SimplePython),
        acc(Category::SimpleJava),
        acc(Category::SimpleJavascript),
    ]);
    let non_live_ast = mean(&[
        simple,
        acc(Category::Multiple),
        acc(Category::Parallel),
        acc(Category::ParallelMultiple),
    ]);
    let live = [
        Category::LiveSimple,
        Category::LiveMultiple,
        Category::LiveParallel,
        Category::LiveParallelMultiple,
    ];
    let (live_n, live_ok) = live
        .iter()
        .filter_map(|c| counts.get(c))
        .fold((0u64, 0u64), |(n, ok), (a, b)| (n + a, ok + b));
    let live_ast = (live_n > 0).then(|| live_ok as f64 / live_n as f64);
    let irrelevance = mean(&[acc(Category::Irrelevance), acc(Category::LiveIrrelevance)]);
    let per_category: Map<String, Value> = counts
        .iter()
        .map(|(c, (n, ok))| {
            (
                c.as_str().to_string(),
                json!({"n": n, "correct": ok, "accuracy": *ok as f64 / (*n).max(1) as f64}),
            )
        })
        .collect();
    json!({
        "per_category": per_category,
        "category_source": match (from_id, from_shape) {
            (_, 0) => "item_id",
            (0, _) => "call_shape",
            _ => "mixed",
        },
        "bfcl_summary": {"non_live_ast": non_live_ast, "live_ast": live_ast, "irrelevance": irrelevance},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn categories_from_ids() {
        let c = |s| Category::from_id(s);
        assert_eq!(c("simple_python_12"), Some(Category::SimplePython));
        assert_eq!(c("simple_7"), Some(Category::SimplePython));
        assert_eq!(c("live_multiple_0-0-0"), Some(Category::LiveMultiple));
        assert_eq!(c("parallel_multiple_3"), Some(Category::ParallelMultiple));
        assert_eq!(
            c("live_parallel_multiple_1-1-0"),
            Some(Category::LiveParallelMultiple)
        );
        assert_eq!(c("irrelevance_0"), Some(Category::Irrelevance));
        assert_eq!(c("live_irrelevance_5-0-0"), Some(Category::LiveIrrelevance));
        assert_eq!(c("parallel_2"), Some(Category::Parallel));
        assert_eq!(c("ticket-17"), None);
        assert_eq!(c("web_search_3"), None);
        assert_eq!(c("42"), None);
    }

    #[test]
    fn categories_from_shape() {
        let e = |n: &str| ExpectedCall {
            name: n.into(),
            arguments: Map::new(),
        };
        assert_eq!(Category::from_shape(&[], 3), Category::Irrelevance);
        assert_eq!(Category::from_shape(&[e("f")], 1), Category::SimplePython);
        assert_eq!(Category::from_shape(&[e("f")], 2), Category::Multiple);
        assert_eq!(
            Category::from_shape(&[e("f"), e("f")], 1),
            Category::Parallel
        );
        assert_eq!(
            Category::from_shape(&[e("f"), e("g")], 2),
            Category::ParallelMultiple
        );
    }

    #[test]
    fn summary_follows_bfcl() {
        let items = [
            (Category::SimplePython, true, true),
            (Category::SimplePython, true, false),
            (Category::Multiple, true, true),
            (Category::LiveSimple, true, true),
            (Category::LiveMultiple, true, false),
            (Category::LiveMultiple, true, false),
            (Category::LiveMultiple, true, true),
            (Category::Irrelevance, false, true),
        ];
        let s = category_summary(items);
        assert_eq!(s["per_category"]["simple_python"]["accuracy"], 0.5);
        assert_eq!(s["per_category"]["live_multiple"]["n"], 3);
        // unweighted over simple (0.5) and multiple (1.0)
        assert_eq!(s["bfcl_summary"]["non_live_ast"], 0.75);
        // weighted over live items: 2 of 4
        assert_eq!(s["bfcl_summary"]["live_ast"], 0.5);
        assert_eq!(s["bfcl_summary"]["irrelevance"], 1.0);
        assert_eq!(s["category_source"], "mixed");
        assert!(category_summary([])["bfcl_summary"]["live_ast"].is_null());
    }
}
