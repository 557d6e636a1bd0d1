"""Click commands for the scorers: `train`, `calibrate`, `score` and `evaluate` (registered on the `undertone` group).

`score` reads JSON Lines (`{"id": ..., "text": ...}`) and writes one JSON line per input line
(`{"id", "label", "score", "intensity", "confidence"}`), scoring in batches as it streams, so any
number of lines works in bounded memory. Blank lines are skipped. A bad line (not JSON, not an
object, no `id`, or a `text` that is not a string) stops the run by default: every line before it is
scored and written, the error naming the line goes to stderr and the exit code is 1. With
`--skip-bad` each bad line is reported on stderr and skipped, the rest is scored, and the exit code
is still 1 if any line was skipped, so a pipeline notices.

Nothing heavy is imported here at import time: the scorers (and torch) load when a command runs.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Iterator

import click

from scoring.factory import DEFAULT_SCORER, SCORERS, make_scorer


class BadLine(ValueError):
    """An input line that cannot be scored, with its line number."""

    def __init__(self, number: int, reason: str) -> None:
        """Remember the line number and say why."""
        super().__init__(f"line {number}: {reason}")
        self.number = number


@click.command()
@click.option("--data-dir", default="../shared/data", show_default=True,
              type=click.Path(exists=True, file_okay=False), help="The shared labelled data.")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Artifact directory [default: the package's scoring/model; with --corrections: "
                   "SCORER_MODEL_DIR, else VAR_DIR/model].")
@click.option("--corrections", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Adapt the model's product head to these label corrections (`undertone corrections export` "
                   "TSV/JSONL, or label<TAB>text) instead of training; see scoring/training/corrections.py.")
@click.option("--base-model", default=None, type=click.Path(exists=True, file_okay=False),
              help="With --corrections: the model to adapt [default: the package's scoring/model].")
@click.option("--correction-weight", default=None, type=click.FloatRange(0, min_open=True),
              help="With --corrections: each correction's weight [default: chosen by cross-validation on them].")
@click.option("--seed", default=13, show_default=True, type=int)
@click.option("--epochs", default=None, type=int, help="Epochs [default: 2, or 1 with --quick].")
@click.option("--quick", is_flag=True, help="A tiny run (48 tweets, small dev samples) for tests.")
@click.option("--lr", default=None, type=float, help="Learning rate [default: 1e-3, or 2e-3 with --quick].")
@click.option("--lora-r", default=None, type=click.IntRange(1),
              help="LoRA rank (alpha is twice it) [default: 16, or 4 with --quick].")
@click.option("--full-finetune", is_flag=True,
              help="Train every encoder weight and the head (no LoRA adapters; about 45 MB of fp16 weights) "
                   "[default lr: 5e-5, or 1e-4 with --quick; not tuned on dev; the head keeps the LoRA lr].")
@click.option("--train-sample", default=None, type=click.IntRange(1),
              help="Train on a seeded sample of this many training texts (comparisons on a busy machine).")
@click.option("--dev-sample", default=None, type=click.IntRange(1),
              help="Choose and report on a fixed sample (seed 0) of at most this many texts per dev set.")
@click.option("--normalise/--no-normalise", default=None,
              help="Train and score on normalised text (links, handles, HTML entities) [default: yes].")
@click.option("--sources", default="semeval,sst5,custrev", show_default=True,
              help="Training sets, comma-separated (semeval is required).")
@click.option("--min-negative-recall", default=0.85, show_default=True, type=float,
              help="Negative recall the decision bias must reach on SemEval dev.")
@click.option("--quantize/--no-quantize", default=False, show_default=True,
              help="Score with the encoder quantised to int8 (recorded in the artifact; about 2x faster, "
                   "but a text's score then depends slightly on the other texts in its batch).")
def train(data_dir: str, out: str | None, corrections: str | None, base_model: str | None,
          correction_weight: float | None, seed: int, epochs: int | None, quick: bool, lr: float | None,
          lora_r: int | None, full_finetune: bool, train_sample: int | None, dev_sample: int | None,
          normalise: bool | None, sources: str, min_negative_recall: float, quantize: bool) -> None:
    """Train the flair scorer from the shared data, choose its settings on dev, print the dev figures;
    or, with --corrections, adapt the shipped model's product head to a business's label corrections."""
    if corrections:
        _adapt(corrections, out, base_model, correction_weight, data_dir)
        return
    if base_model or correction_weight is not None:
        raise click.UsageError("--base-model and --correction-weight go with --corrections FILE")
    if full_finetune and lora_r:
        raise click.UsageError("--lora-r does not go with --full-finetune")
    from scoring.flair_scorer import MODEL_DIR
    from scoring.training.train import run

    names = tuple(name.strip() for name in sources.split(",") if name.strip())
    run(data_dir, out or MODEL_DIR, seed=seed, epochs=epochs, quick=quick, lr=lr, lora_r=lora_r,
        normalise_text=normalise, sources=names, min_negative_recall=min_negative_recall, quantize=quantize,
        full_finetune=full_finetune, train_sample=train_sample, dev_sample=dev_sample,
        log=lambda line: click.echo(line, err=True))


def _adapt(corrections: str, out: str | None, base_model: str | None, weight: float | None, data_dir: str) -> None:
    """`train --corrections`: write the adapted model to --out, SCORER_MODEL_DIR or VAR_DIR/model (the worker
    loads the first of SCORER_MODEL_DIR and VAR_DIR/model that holds a model); features cached in VAR_DIR/cache."""
    import os

    from scoring.training.corrections import CorrectionsError, adapt

    var_dir = Path(os.environ.get("VAR_DIR") or "var")
    try:
        adapt(corrections, out or os.environ.get("SCORER_MODEL_DIR") or var_dir / "model", base=base_model,
              data_dir=data_dir, weight=weight, cache_dir=var_dir / "cache",
              log=lambda line: click.echo(line, err=True))
    except CorrectionsError as error:
        raise click.ClickException(str(error)) from None


@click.command()
@click.option("--data-dir", default="../shared/data", show_default=True,
              type=click.Path(exists=True, file_okay=False), help="The shared labelled data.")
@click.option("--model-dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Artifact directory [default: the package's scoring/model].")
@click.option("--min-negative-recall", default=0.85, show_default=True, type=float,
              help="Negative recall the decision bias must reach on each SemEval dev file.")
def calibrate(data_dir: str, model_dir: str | None, min_negative_recall: float) -> None:
    """Choose a trained model's decision bias and intensity thresholds on dev again; print the dev figures."""
    from scoring.flair_scorer import MODEL_DIR
    from scoring.training.train import recalibrate

    recalibrate(data_dir, model_dir or MODEL_DIR, min_negative_recall=min_negative_recall,
                log=lambda line: click.echo(line, err=True))


def parse_line(number: int, line: str) -> tuple[object, str]:
    """(id, text) from one JSON line; BadLine says why not."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise BadLine(number, f"not JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(row, dict):
        raise BadLine(number, "not a JSON object")
    if "id" not in row:
        raise BadLine(number, "no 'id'")
    if not isinstance(row.get("text"), str):
        raise BadLine(number, "'text' missing or not a string")
    return row["id"], row["text"]


def read_batches(stream: IO[str], size: int, skip_bad: bool, errors: list[BadLine]) -> Iterator[list]:
    """Batches of (id, text) from a JSONL stream; bad lines stop it (raised) or are skipped (recorded)."""
    batch: list[tuple[object, str]] = []
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            batch.append(parse_line(number, line))
        except BadLine as error:
            if not skip_bad:
                if batch:
                    yield batch
                raise
            errors.append(error)
            click.echo(f"skipped {error}", err=True)
            continue
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@click.command()
@click.option("--scorer", "scorer_name", type=click.Choice(SCORERS), default=DEFAULT_SCORER, show_default=True)
@click.option("--model-dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="A flair artifact [default: the shipped model].")
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1),
              help="Lines read and scored together.")
@click.option("--skip-bad", is_flag=True, help="Report and skip bad lines instead of stopping (exit code stays 1).")
@click.option("--with-flags", is_flag=True,
              help="Add `flags` (rule, reason, evidence) and `themes` to each line: the escalation rules and, with "
                   "the AI scorer, the learned detector and theme embeddings, each line judged as one customer message.")
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
def score(scorer_name: str, model_dir: str | None, batch_size: int, skip_bad: bool, with_flags: bool,
          source: IO[str]) -> None:
    """Score JSON Lines {"id", "text"} from FILE (or stdin) to JSON Lines on stdout."""
    scorer = make_scorer(scorer_name, model_dir)
    judge = _flagger(scorer_name) if with_flags else None
    errors: list[BadLine] = []
    out = sys.stdout
    try:
        for batch in read_batches(source, batch_size, skip_bad, errors):
            for (row_id, text), result in zip(batch, scorer.score([text for _, text in batch])):
                line = {"id": row_id, "label": result.label, "score": result.score,
                        "intensity": result.intensity, "confidence": result.confidence}
                if judge is not None:
                    line.update(judge(text, result))
                out.write(json.dumps(line) + "\n")
            out.flush()
    except BadLine as error:
        click.echo(f"error: {error}; stopped (lines before it were scored)", err=True)
        sys.exit(1)
    if errors:
        click.echo(f"error: skipped {len(errors)} bad line(s)", err=True)
        sys.exit(1)


def _flagger(scorer_name: str):
    """text, Score -> {"flags": [...], "themes": [...]}: the packaged rules and taxonomy, and with the AI scorer
    the learned escalation detector and theme embeddings, as a worker judges one customer message."""
    from scoring.analysis import learned_flags
    from scoring.escalation import EscalationRules
    from scoring.themes import ThemeMatcher

    rules, embed, detector = EscalationRules.load(), None, None
    if scorer_name != "lexicon":
        from scoring.embeddings import encode as embed
        from scoring.escalation_detector import load_default

        detector = load_default(embed)
    themes = ThemeMatcher.load(embed=embed)

    def judge(text: str, result) -> dict:
        if not text.strip():
            return {"flags": [], "themes": []}
        flags = rules.evaluate([text], result)
        if detector is not None:
            flags += learned_flags(detector, [text], result, flags)
        return {"flags": [f.as_dict() for f in flags], "themes": [t.as_dict() for t in themes.match([text])]}

    return judge


@click.command("train-escalations")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Detector file [default: scoring/model/escalation_detector.json].")
@click.option("--written", default=None, multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Labelled messages (header: label, channel, business, escalation, text); repeat for several "
                   "[default: written/messages.tsv, escalations.tsv and escalations_more.tsv].")
@click.option("--seed", default=13, show_default=True, type=int)
@click.option("--dev", "dev_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Choose each kind's threshold on business_messages dev in this data directory (e.g. ../shared/data).")
@click.option("--precision-floor", default=0.85, show_default=True, type=click.FloatRange(0, 1),
              help="With --dev: each kind's precision (rules + detector) must reach this; recall is maximised.")
@click.option("--threshold", default=None, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="One decision threshold for every kind [default: per kind, on dev with --dev, else cross-validated].")
@click.option("--competitors", default="", show_default=True,
              help="With --dev: comma-separated competitor names, as a business's COMPETITORS setting [default: none, "
                   "as the workers run unless COMPETITORS is set].")
def train_escalations(out: str | None, written: tuple[str, ...], seed: int, dev_dir: str | None,
                      precision_floor: float, threshold: float | None, competitors: str) -> None:
    """Train the learned escalation detector on the written messages (MiniLM embeddings, one model per kind)."""
    from scoring.training.escalations import dev_rows, train_detector

    names = [n.strip() for n in competitors.split(",") if n.strip()]
    dev = dev_rows(Path(dev_dir, BUSINESS_DEV), make_scorer(DEFAULT_SCORER), names) if dev_dir else None
    train_detector(out, list(written) or None, seed=seed, threshold=threshold, dev=dev, precision=precision_floor,
                   log=lambda line: click.echo(line, err=True))


@click.command("train-head")
@click.option("--data-dir", default="../shared/data", show_default=True,
              type=click.Path(exists=True, file_okay=False), help="The shared labelled data.")
@click.option("--model-dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Artifact directory [default: the package's scoring/model].")
@click.option("--seed", default=13, show_default=True, type=int)
@click.option("--tweets", default=4000, show_default=True, type=click.IntRange(0), help="SemEval train tweets sampled.")
@click.option("--reviews", default=2400, show_default=True, type=click.IntRange(0), help="Review train texts sampled.")
@click.option("--c", "c_values", default="1.0", show_default=True,
              help="L2 inverse strength; several comma-separated: the best cross-validated on business dev is kept.")
@click.option("--tweet-weight", "weights", default="0.1", show_default=True,
              help="Weight of the sampled tweets and reviews; comma-separated values are tried as --c's are.")
@click.option("--semeval-dev-per-file", default=None, type=click.IntRange(1),
              help="Choose on a seeded sample of each SemEval dev file (faster) [default: all of it].")
def train_head(data_dir: str, model_dir: str | None, seed: int, tweets: int, reviews: int, c_values: str,
               weights: str, semeval_dev_per_file: int | None) -> None:
    """Fit the product head on the written messages, choose its bias and temperature on dev, save it."""
    from scoring.flair_scorer import MODEL_DIR
    from scoring.training.product_head import train_head as run

    run(model_dir or MODEL_DIR, data_dir, seed=seed, tweets=tweets, reviews=reviews,
        c=[float(v) for v in c_values.split(",")], tweet_weight=[float(v) for v in weights.split(",")],
        semeval_dev_per_file=semeval_dev_per_file, log=lambda line: click.echo(line, err=True))


def _report(name: str, scorer: str, result: dict) -> str:
    """Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix as text."""
    shown = list(result["confusion"])
    lines = [(f"== {name} | {scorer} | n={result['n']} accuracy={result['accuracy']:.4f} "
              f"macro-F1={result['macro_f1']:.4f} (averaged over {', '.join(result['labels'])})"),
             f"{'class':>14s} {'precision':>9s} {'recall':>9s} {'F1':>9s} {'support':>8s}"]
    for label in shown:
        c = result["per_class"][label]
        lines.append(f"{label:>14s} {c['precision']:9.4f} {c['recall']:9.4f} {c['f1']:9.4f} {c['support']:8d}")
    lines.append("confusion (rows gold, columns predicted): " + " ".join(f"{p[:8]:>8s}" for p in shown))
    for gold in shown:
        lines.append(f"{gold:>14s} " + " ".join(f"{result['confusion'][gold][p]:8d}" for p in shown))
    return "\n".join(lines)


BUSINESS_DEV = "business_messages/business_messages_dev.tsv"


def dev_sets(data_dir: str | Path) -> dict[str, str | tuple[list[str], list[str]]]:
    """The dev sets the product is chosen on, by name: the business messages (a path: it has escalations),
    the SemEval dev union and its three files, the held-out reviews and SST-5 dev in three classes."""
    from scoring.training.data import DEV_FILES, load_data, with_unions

    _, dev, _ = load_data(data_dir, 13)
    dev = with_unions(dev)
    names = [*(f"semeval {n}" for n in DEV_FILES), "custrev held-out 20%", "sst5 dev, 3 classes"]
    return {"business_messages dev": str(Path(data_dir, BUSINESS_DEV)), **{name: dev[name] for name in names},
            "semeval dev (3 files)": UNION}


UNION = "union of the SemEval dev files"  # scored as the concatenation of its parts' scores, not scored twice


@click.command()
@click.option("--scorer", "scorer_names", type=click.Choice(SCORERS), multiple=True,
              help=f"Repeat to compare [default: {DEFAULT_SCORER}].")
@click.option("--model-dir", default=None, type=click.Path(exists=True, file_okay=False))
@click.option("--levels", type=click.Choice(["3", "5"]), default="3", show_default=True,
              help="3: compare labels; 5: compare intensities (SST-5 or five-level named labels).")
@click.option("--json", "as_json", is_flag=True, help="Print the full results as JSON.")
@click.option("--dev", "dev_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Also evaluate the product's dev sets from this data directory (e.g. ../shared/data).")
@click.option("--reliability", is_flag=True, help="Print a reliability table and the ECE of `confidence` per file.")
@click.option("--escalations", is_flag=True,
              help="For files with an `escalation` column: recall and precision of the escalation flags per kind.")
@click.option("--public-dev", "public_dir", default=None, envvar="UNDERTONE_PUBLIC_DEV", show_envvar=True,
              type=click.Path(file_okay=False),
              help="Also evaluate the public dev sets in this directory (one subfolder per set with dev.jsonl; "
                   "written by bench/public_dev.py, e.g. var/public_dev); skipped with a note when absent.")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def evaluate(scorer_names: tuple[str, ...], model_dir: str | None, levels: str, as_json: bool, dev_dir: str | None,
             reliability: bool, escalations: bool, public_dir: str | None, files: tuple[str, ...]) -> None:
    """Accuracy, macro-F1, per-class precision/recall and confusion matrix for labelled TSV/JSONL FILES.

    The product table adds negative precision and the share of neutral messages labelled negative.
    """
    from scoring.training.evaluation import read_labelled, read_table

    public = _public_sets(public_dir) if public_dir else {}
    if public and levels == "5":
        click.echo("public dev sets: three classes only; skipped with --levels 5", err=True)
        public = {}
    if not files and not dev_dir and not public:
        raise click.UsageError("give labelled FILES, --dev DATA_DIR or --public-dev DIR (with sets in it)")
    field = "label" if levels == "3" else "intensity"
    sources: dict = {Path(f).name: f for f in files}
    if dev_dir:
        sources.update(dev_sets(dev_dir))
    sources.update(public)
    unions = [name for name, src in sources.items() if src is UNION]
    try:
        data = {name: read_labelled(src, levels=int(levels)) if isinstance(src, str) else src
                for name, src in sources.items() if src is not UNION}
        tables = {name: read_table(src) for name, src in sources.items()
                  if escalations and isinstance(src, str) and src is not UNION and _has_escalations(src)}
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if len(files) > 1:
        data[f"all {len(files)} files"] = ([t for n in map(lambda f: Path(f).name, files) for t in data[n][0]],
                                           [g for n in map(lambda f: Path(f).name, files) for g in data[n][1]])
    results: dict = {}
    extras: list[str] = []
    for scorer_name in scorer_names or (DEFAULT_SCORER,):
        scorer = make_scorer(scorer_name, model_dir)
        scored = {}
        for name, (texts, gold) in data.items():
            scored[name] = (scorer.score(list(texts)), gold)
        for name in unions:
            parts = [n for n in scored if n.startswith("semeval ") and "(" not in n]
            scored[name] = ([s for n in parts for s in scored[n][0]], [g for n in parts for g in scored[n][1]])
        for name, (scores, gold) in scored.items():
            results.setdefault(name, {})[scorer_name] = _measure(gold, scores, field)
            if reliability:
                extras.append(_reliability(f"{name} | {scorer_name}", gold, scores, field))
        for name, rows in tables.items():
            extras.append(_escalations(f"{name} | {scorer_name}", rows, scorer, model_dir))
    if as_json:
        click.echo(json.dumps(results, indent=2))
        return
    for name, by_scorer in results.items():
        for scorer_name, result in by_scorer.items():
            click.echo(_report(name, scorer_name, result) + "\n")
    click.echo(summary(results, "very_negative" if levels == "5" else "negative"))
    if field == "label":
        click.echo("\n" + product_summary(results))
    for text in extras:
        click.echo("\n" + text)


def _public_sets(directory: str) -> dict[str, str]:
    """The public dev sets in `directory` by name; a note on stderr, and none, when it has no sets (CI has no copy)."""
    from scoring.training.public_dev import find_sets

    found = find_sets(directory)
    if not found:
        click.echo(f"public dev sets: none in {directory} (bench/public_dev.py writes them); skipped", err=True)
    return found


def _has_escalations(path: str) -> bool:
    """Whether a file is a headed TSV with an `escalation` column."""
    first = Path(path).read_text(encoding="utf-8").split("\n", 1)[0]
    return "\t" in first and "escalation" in [c.strip() for c in first.split("\t")] and "text" in first.split("\t")


def _measure(gold: list[str], scores: list, field: str) -> dict:
    """`metrics` of one Score field against gold, plus the product figures for labels."""
    from scoring.training.evaluation import metrics
    from scoring.training.product_metrics import sentiment_summary

    predicted = [getattr(s, field) for s in scores]
    result = metrics(list(gold), predicted)
    if field == "label":
        result["product"] = sentiment_summary(list(gold), predicted)
    return result


def _reliability(name: str, gold: list[str], scores: list, field: str) -> str:
    """The reliability table of one scorer on one file: is a label given with confidence c right c of the time?"""
    from scoring.training.product_metrics import reliability, reliability_text

    rows, ece = reliability([getattr(s, field) == g for s, g in zip(scores, gold)], [s.confidence for s in scores])
    return reliability_text(name, rows, ece)


def _escalations(name: str, rows: list[dict], scorer, model_dir: str | None) -> str:
    """Escalation flags (rules on each message, with the scorer's score) against the `escalation` column."""
    from scoring.escalation import EscalationRules, kind_of
    from scoring.training.product_metrics import escalation_table, escalation_text

    rules = EscalationRules.load()
    texts = [row["text"] for row in rows]
    gold = [row.get("escalation", "") for row in rows]
    scores = scorer.score(texts)
    by_rules = [{kind_of(f.rule) for f in rules.evaluate([text], s)} - {None} for text, s in zip(texts, scores)]
    out = [escalation_text(f"{name} (escalation rules)", escalation_table(gold, by_rules))]
    if getattr(scorer, "name", "lexicon") != "lexicon":
        from scoring.embeddings import encode
        from scoring.escalation_detector import load_default

        detector = load_default(encode)
        if detector is not None:
            learned = [{kind_of(f.rule) for f in detector.detect([text], s)} for text, s in zip(texts, scores)]
            out.append(escalation_text(f"{name} (learned detector alone)", escalation_table(gold, learned)))
            both = [a | b for a, b in zip(by_rules, learned)]
            out.append(escalation_text(f"{name} (rules + learned detector, as the workers run)", escalation_table(gold, both)))
    return "\n\n".join(out)


def product_summary(results: dict) -> str:
    """Per file and scorer: macro-F1, negative precision and recall, neutral messages labelled negative."""
    from scoring.training.product_metrics import SUMMARY_HEADER, summary_line

    lines = [SUMMARY_HEADER.replace("| dev set |", "| file / scorer |")]
    for name, by_scorer in results.items():
        for scorer_name, result in by_scorer.items():
            lines.append(summary_line(f"{name} / {scorer_name}", result["product"]))
    return "\n".join(lines)


def summary(results: dict, negative: str) -> str:
    """One row per file: macro-F1 / accuracy / negative recall for each scorer."""
    scorers = list(next(iter(results.values())))
    lines = ["| file | n | " + " | ".join(f"{s} F1 / acc / neg-R" for s in scorers) + " |",
             "|---|---:|" + "---|" * len(scorers)]
    for name, by_scorer in results.items():
        cells = []
        for s in scorers:
            r = by_scorer[s]
            recall = r["per_class"].get(negative, {}).get("recall", 0.0)
            cells.append(f"{r['macro_f1']:.3f} / {r['accuracy']:.3f} / {recall:.3f}")
        lines.append(f"| {name} | {by_scorer[scorers[0]]['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
