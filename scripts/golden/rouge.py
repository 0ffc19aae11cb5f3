#!/usr/bin/env python3
"""Golden vectors for evalh's ROUGE implementation (src/metrics/rouge.rs).

Reference: PyPI rouge-score 0.1.2 (google-research `rouge/`) with nltk 3.10.4's
PorterStemmer (default NLTK_EXTENSIONS mode), CPython 3.11.

Writes three files to tests/data/golden/ (paths relative to the repo root):

* rouge.json         -- hand-written trap cases (metrics.md section 1) and
                        multi-reference cases, with rouge1/2/3/L/Lsum scores for
                        use_stemmer=False ("nostem") and True ("stem").
* rouge_random.jsonl -- >= 300 seeded random "realistic" summary pairs (one JSON
                        object per line), scored the same way.
* rouge_stems.json   -- >= 500 words: nltk PorterStemmer().stem(word) and the
                        rouge-score tokenizer output with stemming on.

Every float is written as its Python repr() string so that the Rust test can
parse it with `str::parse::<f64>()` (correctly rounded) and compare with `==`.
rouge-score returns Python ints (0) for some empty cases; those are converted
with float() first, which is numerically identical.

Usage (from the repo root):  python3 scripts/golden/rouge.py
Also usable as a module: `python3 scripts/golden/rouge.py --pairs N OUT.jsonl`
writes N deterministic benchmark pairs (see bench/rouge_vs_python.sh).
The output is deterministic: the random generator is seeded and no set/dict
iteration order leaks into the data.
"""

import json
import os
import random
import sys

import nltk
import rouge_score
from nltk.stem import porter
from rouge_score import rouge_scorer, tokenize

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(ROOT, "tests", "data", "golden")

TYPES = ["rouge1", "rouge2", "rouge3", "rougeL", "rougeLsum"]
SCORERS = {
    "nostem": rouge_scorer.RougeScorer(TYPES, use_stemmer=False),
    "stem": rouge_scorer.RougeScorer(TYPES, use_stemmer=True),
}


def f(x):
    """Float as its shortest round-trip repr (ints such as 0 become 0.0)."""
    return repr(float(x))


def score_pair(reference, prediction):
    """rouge-score results for both stemmer settings, reference FIRST."""
    out = {}
    for mode, scorer in SCORERS.items():
        s = scorer.score(reference, prediction)
        out[mode] = {t: [f(s[t].precision), f(s[t].recall), f(s[t].fmeasure)] for t in TYPES}
    return out


def score_multi(references, prediction):
    out = {}
    for mode, scorer in SCORERS.items():
        s = scorer.score_multi(references, prediction)
        out[mode] = {t: [f(s[t].precision), f(s[t].recall), f(s[t].fmeasure)] for t in TYPES}
    return out


# --------------------------------------------------------------------------
# Trap cases (metrics.md 1.1-1.7). (name, reference, prediction)
# --------------------------------------------------------------------------
TRAPS = [
    # clipped n-gram counts: P = 4/8, R = 4/4 for rouge1
    ("clipped_counts", "the the the cat", "the the the the the the cat cat"),
    # ASCII-only tokenizer rule
    ("dont_apostrophe", "I don't know.", "i do not know"),
    ("decimal_4_5", "The rate rose to 4.5 percent.", "rate 4 5 percent rose"),
    ("hyphen", "a test-case for the test case", "test case"),
    ("cafe_accent", "Café au lait in the café", "caf au lait"),
    ("naive_zurich", "A naïve trip to Zürich", "na ve trip to z rich"),
    ("non_ascii_only", "Привет мир 東京", "Привет мир 東京"),
    ("non_ascii_vs_ascii", "Привет мир 東京", "privet mir"),
    ("emoji_cjk_mixed", "Tokyo 東京 🙂 is big", "tokyo is big 🙂"),
    ("dotted_capital_i", "İstanbul İS big", "i stanbul i s big"),
    ("dotted_capital_i_inside", "AİB xİy", "ai b xi y"),
    ("kelvin_sign", "300 \u212a and \u212aelvin", "300 k and kelvin"),
    ("underscore_dollar_percent", "snake_case $100 50% rise", "snake case 100 50 rise"),
    # stemming: only tokens with len > 3 are stemmed
    ("short_no_stem", "its this was has", "it thi wa ha"),
    ("short_vs_long_stem", "its running dogs ran fast", "it runs dog running fastest"),
    ("digits_stemmed", "the 1990s and 2000s", "the 1990 and 2000"),
    ("porter_pool", "skies dying lying tying news innings outings cannings",
     "sky die lie tie news inning outing canning"),
    ("porter_rules", "generously generalization communism formative fairly abruptly",
     "gener general commun form fair abrupt"),
    # ROUGE-Lsum backtracking tie-break (F = 0.4; 0.8 with the wrong tie-break)
    ("lsum_lcs_tiebreak", "alpha beta", "beta alpha\nalpha"),
    ("lsum_lcs_tiebreak_swapped", "beta alpha\nalpha", "alpha beta"),
    ("lsum_tiebreak_longer", "a b c d e f", "f e d\nc b a\nb d f"),
    ("multi_line", "The cat sat on the mat.\nIt was happy.\nThe dog barked.",
     "The dog barked loudly.\nThe cat was on the mat.\nIt sat happily."),
    ("multi_line_repeats", "the the cat\nthe cat the\ncat cat", "cat the\nthe the the\ncat"),
    ("crlf_lines", "first line here\r\nsecond line there\r\n", "second line here\r\nfirst line there"),
    ("cr_only", "one two\rthree four", "one two three four"),
    ("blank_lines", "\n\nalpha beta\n\n\ngamma\n", "gamma\n\n alpha\n"),
    ("punct_only_line", "alpha\n...\nbeta", "beta\n!!!\nalpha"),
    ("single_line_equal_l", "the quick brown fox jumps over the lazy dog",
     "the quick brown dog jumps on the log"),
    # empty and degenerate inputs -> all zero, no NaN
    ("empty_prediction", "some reference text", ""),
    ("empty_reference", "", "some prediction text"),
    ("both_empty", "", ""),
    ("punct_only_both", "!!! ... ???", "!!! ... ???"),
    ("whitespace_only", "   \n\t  ", "   \n\t  "),
    ("newlines_only_vs_text", "\n\n\n", "alpha beta"),
    # F operation order: rouge1 P=0.75, R=0.6 -> (2*0.75)*0.6/1.35 = 0.6666666666666665
    ("f_operation_order", "w1 w2 w3 w4 w5", "w1 w2 w3 x9"),
    ("identical", "An identical sentence, with punctuation!", "an identical sentence with punctuation"),
    ("no_overlap", "alpha beta gamma", "delta epsilon zeta"),
    ("single_token", "word", "word"),
    ("bigram_repeats", "a b a b a b", "a b a b"),
    ("long_repeat", " ".join(["x y"] * 40), " ".join(["y x"] * 30)),
    ("numbers_commas", "1,000 people paid $4.50 on 2024-01-01", "1000 people paid 4 50 on 2024 01 01"),
    ("mixed_case", "NASA Launched The ROCKET", "nasa launched the rocket"),
    ("tabs_and_nbsp", "alpha\tbeta\u00a0gamma\u2003delta", "alpha beta gamma delta"),
    ("vertical_tab_ff", "alpha\x0bbeta\x0cgamma\x1cdelta", "alpha\nbeta gamma delta"),
    ("greek_sigma", "ΟΔΟΣ road ΣΑΣ", "road"),
]

# Multi-reference: per type, the whole Score of the reference with max F
# (np.argmax: the first wins ties).
MULTI = [
    ("multi_basic", ["the cat sat on the mat", "a dog ran in the park", "the cat ran"], "the cat ran in the park"),
    ("multi_tie_first_wins", ["alpha beta", "beta alpha", "alpha beta"], "alpha beta gamma"),
    # equal F (0.6666666666666666) from different P/R: the first reference's Score is returned
    ("multi_tie_different_pr", ["a b c x y z", "a b q"], "a b c"),
    ("multi_tie_different_pr_swapped", ["a b q", "a b c x y z"], "a b c"),
    ("multi_not_tie", ["a b c d", "a b"], "a b c"),
    ("multi_per_type_differs", ["x y z w", "z w x y q"], "x y q z w"),
    ("multi_all_empty", ["", "!!!"], "something"),
    ("multi_one_empty", ["", "alpha beta"], "alpha"),
    ("multi_single", ["the only reference"], "the only prediction"),
    ("multi_lines", ["line one here\nline two here", "line two here\nline one here"], "line two\nline one"),
    ("multi_stem_matters", ["running dogs", "runs dog"], "run dogs"),
]

# --------------------------------------------------------------------------
# Random realistic pairs
# --------------------------------------------------------------------------
# A small English vocabulary with inflected forms so that stemming matters.
WORDS = """
the a an of to in and for on with at by from as is was were be been are has have had
will would could should may might can do does did not no yes it its this that these those
he she they we you his her their our your them him us who which what when where why how
government governments governed governing governance policy policies political politician
company companies companys market markets marketing marketed price prices pricing priced
report reports reported reporting reporter reporters study studies studied studying student
students research researcher researchers researched science scientific scientist scientists
city cities national nationally nation nations international internationally global globally
economy economic economical economically growth grow grows growing grew grown increase
increased increases increasing decrease decreased decreasing rise rises rising rose fall
falls falling fell drop dropped dropping record records recorded recording million billion
percent year years month months week weeks day days today yesterday tomorrow early later
people person persons population populations official officials officially spokesman
said says saying told tell tells telling announce announced announcement announcements
plan plans planned planning project projects projected develop developed developing
development developments relation relational relations relationship generous generously
general generalization generalize generalized happy happily happiness happier hope hopeful
hopefully hopefulness care careful carefully carelessness run runs running runner ran
walk walks walked walking talk talks talked talking make makes making made take takes taking
took build builds building built buildings house houses housing school schools schooling
hospital hospitals doctor doctors patient patients treatment treatments treat treated
water river rivers flood floods flooded flooding storm storms weather rain rainfall heavy
police arrest arrested arresting crime crimes criminal court courts judge judges ruling
rulings rule rules ruled election elections elect elected voter voters voting vote votes
president presidential minister ministers ministry leader leaders leadership party parties
team teams player players play plays played playing game games win wins winning won lose
loses losing lost season seasons match matches final finals coach coaches championship
technology technologies technological computer computers software network networks online
internet data database information informational system systems systematic systematically
energy oil gas electricity power powerful powerfully nuclear solar wind climate change
changes changed changing environment environmental environmentally pollution emission
emissions carbon agreement agreements agree agreed agreeing disagree sky skies dying lying
tying news innings outings cannings proceed exceed succeed howe conditional rational
operational operation operations operate operated operator operators effective effectively
effectiveness sensitivity sensitive activity active actively activate activated formality
formal formally formalize hopeful electrical electricity adjustable adjustment dependent
dependence communism communist generate generation generations generator fairly abruptly
""".split()

PUNCT_AFTER = [",", ",", ".", ";", ":", "!", "?", "", "", "", "", "", "", ""]
EXTRAS = ["don't", "it's", "4.5", "1,000", "1990s", "2024", "U.S.", "e-mail", "co-operate",
          "café", "Zürich", "naïve", "東京", "Москва", "$100", "50%", "snake_case", "(see", "above)",
          "\"quoted\"", "O'Neill", "3rd", "COVID-19", "İzmir", "—", "…"]


def random_sentence(rng, min_len=4, max_len=18):
    n = rng.randint(min_len, max_len)
    toks = []
    for _ in range(n):
        if rng.random() < 0.08:
            w = rng.choice(EXTRAS)
        else:
            w = rng.choice(WORDS)
        if rng.random() < 0.1:
            w = w.capitalize()
        elif rng.random() < 0.02:
            w = w.upper()
        toks.append(w + (rng.choice(PUNCT_AFTER) if rng.random() < 0.15 else ""))
    toks[0] = toks[0][:1].upper() + toks[0][1:]
    return " ".join(toks) + rng.choice([".", ".", ".", "!", "?", ""])


def perturb_sentence(rng, sent, rate):
    """Edit a sentence: drop, substitute, insert and locally swap tokens."""
    toks = sent.split()
    out = []
    for t in toks:
        r = rng.random()
        if r < rate * 0.4:
            continue  # drop
        if r < rate * 0.8:
            out.append(rng.choice(WORDS))  # substitute
            continue
        out.append(t)
        if r > 1 - rate * 0.3:
            out.append(rng.choice(WORDS))  # insert
    for _ in range(int(len(out) * rate * 0.3)):
        if len(out) > 1:
            i = rng.randrange(len(out) - 1)
            out[i], out[i + 1] = out[i + 1], out[i]
    if rng.random() < 0.3:
        out = [t.lower() for t in out]
    return " ".join(out)


def join_lines(rng, sents):
    sep = rng.choice(["\n", "\n", "\n", "\r\n", " ", "\n\n"])
    text = sep.join(sents)
    if rng.random() < 0.1:
        text += "\n"
    return text


def random_pair(rng):
    kind = rng.random()
    ref_sents = [random_sentence(rng) for _ in range(rng.randint(1, 6))]
    if kind < 0.08:
        # unrelated prediction
        pred_sents = [random_sentence(rng) for _ in range(rng.randint(1, 5))]
    elif kind < 0.12:
        # long single-line texts
        ref_sents = [" ".join(random_sentence(rng, 10, 25) for _ in range(6))]
        pred_sents = [perturb_sentence(rng, ref_sents[0], rng.uniform(0.1, 0.5))]
    else:
        rate = rng.uniform(0.0, 0.7)
        pred_sents = [perturb_sentence(rng, s, rate) for s in ref_sents]
        if rng.random() < 0.5:
            rng.shuffle(pred_sents)  # reorder sentences: Lsum differs from L
        if rng.random() < 0.3 and len(pred_sents) > 1:
            pred_sents = pred_sents[: rng.randint(1, len(pred_sents))]
        if rng.random() < 0.2:
            pred_sents.append(random_sentence(rng))
        pred_sents = [s for s in pred_sents if s] or [random_sentence(rng)]
    return join_lines(rng, ref_sents), join_lines(rng, pred_sents)


def random_pairs(n, seed):
    rng = random.Random(seed)
    return [random_pair(rng) for _ in range(n)]


# --------------------------------------------------------------------------
# Stemmer table
# --------------------------------------------------------------------------
STEM_BASES = """
connect generous general relate condition rational valid hope care use agree sense
nation operate digit conform radical formal electric sensitive adjust depend happy
abrupt fair commun generat form play run walk stop hop fit plan control roll fall
fill size cap tap hiss fizz fail file probate rate cease motor sing conflat troubl
""".split()
STEM_SUFFIXES = ["", "s", "es", "ed", "ing", "ly", "er", "ers", "ness", "ful", "fully",
                 "ation", "ational", "ations", "ize", "ization", "izer", "ive", "ively",
                 "iveness", "ity", "ities", "ism", "ist", "ment", "ments", "able", "ably",
                 "ability", "ence", "ance", "ent", "ant", "al", "ally", "alism", "alli",
                 "ousli", "ousness", "ical", "icate", "iciti", "logi", "bli", "fulli"]
STEM_SPECIAL = """
caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled
sized hopping tanned falling hissing fizzed failing filing happy sky relational conditional
rational valenci hesitanci digitizer conformabli radicalli differentli vileli analogousli
vietnamization predication operator feudalism decisiveness hopefulness callousness formaliti
sensitiviti sensibiliti triplicate formative formalize electriciti electrical hopeful goodness
revival allowance inference airliner gyroscopic adjustable defensible irritant replacement
adjustment dependent adoption homologou communism activate angulariti homologous effective
bowdlerize probate rate cease controll roll skies dying lying tying news innings inning
outings outing cannings canning howe proceed exceed succeed dies died lied tied spied cried
fries fried pies pied generously generalization fairly abruptly this its any was has his
1990s 2000s 4th 100th abc1234 covid19 mp3s x11 y2k aaaa bbbb eeee yyyy ssss sses ieses iess
enjoy enjoys enjoyed employ betray toy toys toying say says saying lay layer player players
analogi archaeologi biologi geologi theologi apologi trilogi eulogi logi ology
abli ably fulli alli anci enci izer bli eli entli ousli ization ation ator alism iveness
fulness ousness aliti iviti biliti icate ative alize iciti ical ful ness
agreement agreements communication communications international internationalization
responsibilities responsibility responsible irresponsible misunderstanding understanding
electricity electrification hopelessness meaninglessness carelessly thoughtfully
yesterday tomorrow studies studying studied student ladies lady happiness happier happiest
""".split()


def stem_words():
    words = []
    seen = set()
    for w in STEM_SPECIAL:
        if w not in seen:
            seen.add(w)
            words.append(w)
    for b in STEM_BASES:
        for s in STEM_SUFFIXES:
            w = b + s
            if w not in seen:
                seen.add(w)
                words.append(w)
    for w in WORDS:
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def write_pairs_jsonl(n, path, seed=4242):
    """Benchmark input: n deterministic pairs as {"reference","prediction"} JSONL."""
    with open(path, "w", encoding="utf-8") as fh:
        for ref, pred in random_pairs(n, seed):
            fh.write(json.dumps({"reference": ref, "prediction": pred}, ensure_ascii=False) + "\n")


def main():
    assert rouge_score.__name__ == "rouge_score"
    assert nltk.__version__ == "3.10.4", nltk.__version__
    os.makedirs(OUT_DIR, exist_ok=True)

    cases = []
    for name, ref, pred in TRAPS:
        cases.append({"name": name, "reference": ref, "prediction": pred, **score_pair(ref, pred)})
    multi = []
    for name, refs, pred in MULTI:
        multi.append({"name": name, "references": refs, "prediction": pred, **score_multi(refs, pred)})

    # sanity checks of the documented trap values (metrics.md 1.3 / 1.5)
    by_name = {c["name"]: c for c in cases}
    assert by_name["lsum_lcs_tiebreak"]["nostem"]["rougeLsum"][2] == "0.4"
    assert by_name["lsum_lcs_tiebreak_swapped"]["nostem"]["rougeLsum"][2] == "0.8"
    assert by_name["f_operation_order"]["nostem"]["rouge1"][2] == "0.6666666666666665"
    multi_by_name = {c["name"]: c for c in multi}
    assert multi_by_name["multi_tie_different_pr"]["nostem"]["rouge1"][:2] == ["1.0", "0.5"]
    assert multi_by_name["multi_tie_different_pr_swapped"]["nostem"]["rouge1"][1] == "0.6666666666666666"
    assert by_name["clipped_counts"]["nostem"]["rouge1"][:2] == ["0.5", "1.0"]

    with open(os.path.join(OUT_DIR, "rouge.json"), "w", encoding="utf-8") as fh:
        json.dump({
            "generator": "scripts/golden/rouge.py",
            "reference": "rouge-score 0.1.2 + nltk %s PorterStemmer (NLTK_EXTENSIONS)" % nltk.__version__,
            "types": TYPES,
            "cases": cases,
            "multi": multi,
        }, fh, ensure_ascii=False, indent=1)
        fh.write("\n")

    with open(os.path.join(OUT_DIR, "rouge_random.jsonl"), "w", encoding="utf-8") as fh:
        for i, (ref, pred) in enumerate(random_pairs(320, 20240601)):
            row = {"name": "random_%d" % i, "reference": ref, "prediction": pred, **score_pair(ref, pred)}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    stemmer = porter.PorterStemmer()  # default mode NLTK_EXTENSIONS, as rouge-score uses
    assert stemmer.mode == porter.PorterStemmer.NLTK_EXTENSIONS
    words = stem_words()
    assert len(words) >= 500, len(words)
    table = [[w, stemmer.stem(w), " ".join(tokenize.tokenize(w, stemmer))] for w in words]
    with open(os.path.join(OUT_DIR, "rouge_stems.json"), "w", encoding="utf-8") as fh:
        json.dump({
            "generator": "scripts/golden/rouge.py",
            "columns": ["word", "nltk_porter_stem", "rouge_tokenize_with_stemmer"],
            "words": table,
        }, fh, ensure_ascii=False, indent=0)
        fh.write("\n")
    print("cases=%d multi=%d random=320 stems=%d" % (len(cases), len(multi), len(table)))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--pairs":
        write_pairs_jsonl(int(sys.argv[2]), sys.argv[3])
    else:
        main()
