"""Plain VADER vs LexiconScorer on the shared dev data, plus throughput; prints a table.

Usage: python bench/lexicon_eval.py [DATA_DIR] [--n 10000] [--repeats 3]

DATA_DIR defaults to ../shared/data relative to the repository root. Only dev files (and
custrev.all, which has no split and serves as extra dev) are scored; nothing is written.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scoring.base import Score, intensity_for, label_for  # noqa: E402
from scoring.lexicon import LexiconScorer  # noqa: E402
from scoring.lexicon_rules import normalise  # noqa: E402
from scoring.training.evaluation import evaluate, read_labelled  # noqa: E402

SEMEVAL = "semeval2017_task4A"
# (row name, files, levels, field compared)
DEV_SETS = [
    ("semeval 2013dev", [f"{SEMEVAL}/twitter-2013dev-A.txt"], 3, "label"),
    ("semeval 2016dev", [f"{SEMEVAL}/twitter-2016dev-A.txt"], 3, "label"),
    ("semeval 2016devtest", [f"{SEMEVAL}/twitter-2016devtest-A.txt"], 3, "label"),
    ("semeval 3 dev files", [f"{SEMEVAL}/twitter-{n}-A.txt" for n in ("2013dev", "2016dev", "2016devtest")], 3,
     "label"),
    ("custrev.all (binary)", ["customer_reviews/custrev.all"], 3, "label"),
    ("sst2 dev (binary)", ["sst2/stsa.binary.dev"], 3, "label"),
    ("sst5 dev, 3 classes", ["sst5/stsa.fine.dev"], 3, "label"),
    ("sst5 dev, 5 bands", ["sst5/stsa.fine.dev"], 5, "intensity"),
]
# Rows restricted to texts that mention customer-service matters (a rough, fixed keyword filter).
SERVICE_WORDS = re.compile(
    r"customer service|customer support|support|refund|cancel|on hold|waiting|charged|bill|account|delivery"
    r"|order|technician|engineer|outage|no service|internet|wifi|reply|response|called|complain|manager",
    re.IGNORECASE,
)
SERVICE_SUBSETS = {"semeval 3 dev files", "custrev.all (binary)"}
# Unlabelled use only: the texts to time (dev files, then the earlier official tests).
THROUGHPUT_FILES = [
    f"{SEMEVAL}/twitter-{n}-A.txt" for n in ("2013dev", "2016dev", "2016devtest", "2013test", "2014test", "2015test")
]
CS_PHRASES = [
    "nobody has gotten back to me and I've been waiting three weeks",
    "this is the third time I'm calling, I want to speak to a manager",
    "I was charged twice, I want a refund",
    "thank you for calling, how can I help you today?",
    "no problem, can you help me reset my password please",
    "the technician never showed up and the internet is still down",
    "great, it works now, thanks for sorting it so quickly!",
    "I'd like to check my balance",
]


class PlainVader:
    """VADER's compound with base.py's bands and nothing else: the baseline."""

    name = "vader"

    def __init__(self) -> None:
        """Build VADER's analyzer now (the baseline has no lazy loading to measure)."""
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.analyzer = SentimentIntensityAnalyzer()

    def score(self, texts: Sequence[str]) -> list[Score]:
        """One Score per text from VADER's compound alone."""
        out = []
        for text in texts:
            value = self.analyzer.polarity_scores(text)["compound"]
            out.append(Score(label_for(value), value, intensity_for(value), abs(value)))
        return out


def load(data_dir: Path, files: Sequence[str], levels: int) -> tuple[list[str], list[str]]:
    """Texts and labels of several files, concatenated."""
    texts, labels = [], []
    for name in files:
        more_texts, more_labels = read_labelled(data_dir / name, levels=levels)
        texts += more_texts
        labels += more_labels
    return texts, labels


def quality_rows(data_dir: Path, vader: PlainVader, lexicon: LexiconScorer) -> list[tuple]:
    """(name, n, VADER macro-F1, lexicon macro-F1, VADER acc, lexicon acc, % texts with a signal)."""
    rows = []
    for name, files, levels, field in DEV_SETS:
        texts, gold = load(data_dir, files, levels)
        rows.append(compare(name, texts, gold, field, vader, lexicon))
        if name in SERVICE_SUBSETS:
            pairs = [(text, label) for text, label in zip(texts, gold) if SERVICE_WORDS.search(text)]
            sub_texts, sub_gold = [text for text, _ in pairs], [label for _, label in pairs]
            rows.append(compare("  service-word subset", sub_texts, sub_gold, field, vader, lexicon))
    return rows


def compare(name: str, texts: list[str], gold: list[str], field: str, vader, lexicon) -> tuple:
    """One table row: both scorers on the same texts."""
    base = evaluate(vader, texts, gold, field=field)
    ours = evaluate(lexicon, texts, gold, field=field)
    fired = sum(1 for score in lexicon.score(texts) if score.signals) / len(texts)
    return (name, len(texts), base["macro_f1"], ours["macro_f1"], base["accuracy"], ours["accuracy"], fired)


def rate(scorer, texts: Sequence[str], repeats: int) -> float:
    """Best-of-`repeats` texts per second for one batch call."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        scorer.score(texts)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def gate_misses(lexicon: LexiconScorer, texts: Sequence[str]) -> int:
    """Texts where the trigger-word gate skipped a rule that would have fired (should be 0)."""
    rules = lexicon.rules
    misses = 0
    for text in texts:
        lower = normalise(text).lower()
        gated = [hit.rule.signal for hit in rules.find(lower)]
        misses += gated != [hit.rule.signal for hit in rules.find(lower, gated=False)]
    return misses


def print_quality(rows: list[tuple]) -> None:
    """The evaluation table."""
    heads = ("n", "VADER F1", "lexicon F1", "delta", "VADER acc", "lex acc", "fired")
    print(f"{'data (dev)':24s} " + " ".join(f"{head:>10s}" for head in heads))
    for name, n, f_base, f_ours, a_base, a_ours, fired in rows:
        cells = (f"{n:d}", f"{f_base:.4f}", f"{f_ours:.4f}", f"{f_ours - f_base:+.4f}",
                 f"{a_base:.4f}", f"{a_ours:.4f}", f"{fired:.1%}")
        print(f"{name:24s} " + " ".join(f"{cell:>10s}" for cell in cells))
    print("macro-F1 averages the gold classes only (negative/positive on binary sets, where a neutral")
    print("prediction counts as a miss); 'sst5 dev, 5 bands' compares Score.intensity with the 5 levels;")
    print("'fired' is the share of texts where any customer-service rule fired; 'service-word subset' keeps")
    print("the texts matching SERVICE_WORDS (support, refund, order, internet, ...).")


def print_throughput(data_dir: Path, n: int, repeats: int, vader: PlainVader) -> None:
    """Texts/s on n short texts (tweets) and on n customer-service phrases, VADER alongside."""
    tweets = load(data_dir, THROUGHPUT_FILES, 3)[0][:n]
    service = (CS_PHRASES * (n // len(CS_PHRASES) + 1))[:n]
    start = time.perf_counter()
    lexicon = LexiconScorer().load()
    print(f"\nLexiconScorer cold start (rules + VADER lexicon): {time.perf_counter() - start:.3f}s")
    for label, texts in (("tweets", tweets), ("CS phrases", service)):
        mean_len = sum(map(len, texts)) / len(texts)
        base, ours = rate(vader, texts, repeats), rate(lexicon, texts, repeats)
        print(f"{len(texts)} {label} (mean {mean_len:.0f} chars): VADER {base:8.0f}/s  "
              f"lexicon {ours:8.0f}/s  lexicon/VADER {ours / base:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, print the quality table and the throughput figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=10_000, help="texts for the throughput runs")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many timing runs")
    args = parser.parse_args(argv)
    vader, lexicon = PlainVader(), LexiconScorer()
    print_quality(quality_rows(args.data_dir, vader, lexicon))
    dev_files = dict.fromkeys(f for _, files, levels, _ in DEV_SETS if levels == 3 for f in files)
    dev_texts = load(args.data_dir, list(dev_files), 3)[0]
    print(f"trigger-gate misses over {len(dev_texts)} dev texts: {gate_misses(lexicon, dev_texts)}")
    print_throughput(args.data_dir, args.n, args.repeats, vader)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
