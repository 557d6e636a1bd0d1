"""Choosing the flair scorer's decision settings on dev, and reporting its dev figures (the model card).

The per-class decision bias (best macro-F1 on the SemEval dev union whose negative recall reaches the
minimum on each of the three dev files), the intensity thresholds (best five-level macro-F1 on SST-5
dev) and the ensemble's lexicon weight. Nothing here looks at a test split.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from scoring.base import LABELS
from scoring.training.data import DEV_FILES, EXTRA_DEV_FILES, FULL, FULL_FINETUNE_LR, QUICK, SOURCES


def raw_f1(classifier, texts: list[str], labels: list[str]) -> float:
    """Three-class macro-F1 of the classifier's argmax on (texts, labels), for choosing the epoch."""
    import numpy as np
    import torch

    from scoring.flair_scorer import _logits

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    columns = [classifier.label_dictionary.get_idx_for_item(label) for label in LABELS]
    predicted = np.zeros(len(texts), dtype=int)
    with torch.inference_mode():
        for start in range(0, len(order), 64):
            indexes = order[start:start + 64]
            predicted[indexes] = _logits(classifier, [texts[i] for i in indexes])[:, columns].argmax(1).numpy()
    return _fast_scores(_gold_index(labels), predicted)[0]


def _gold_index(labels: list[str]):
    """Gold labels as indexes into LABELS."""
    import numpy as np

    return np.array([LABELS.index(label) for label in labels])


def _fast_scores(gold, predicted) -> tuple[float, float]:
    """(macro-F1 over the gold classes, negative recall) from index arrays, for grid searches."""
    f1s = []
    for k in sorted(set(gold.tolist())):
        tp = int(((predicted == k) & (gold == k)).sum())
        p_count, g_count = int((predicted == k).sum()), int((gold == k).sum())
        f1s.append(2 * tp / (p_count + g_count) if p_count + g_count else 0.0)
    negatives = gold == 0
    return sum(f1s) / len(f1s), float((predicted[negatives] == 0).mean()) if negatives.any() else 0.0


def choose_bias(probs, labels: list[str], min_recall: float, extra=None,
                parts: Sequence[int] = ()) -> tuple[list[float], float, float]:
    """(bias, macro-F1, negative recall): the best macro-F1 whose negative recall reaches `min_recall`.

    `parts`: sizes of the consecutive data sets `probs` is made of; the recall must then reach
    `min_recall` on each of them (the returned recall is the lowest), not just on the whole.
    """
    import numpy as np

    from scoring.flair_scorer import decide

    gold, best = _gold_index(labels), None
    bounds = np.cumsum([0, *parts]) if parts else np.array([0, len(labels)])
    for b_neg in np.arange(-1.0, 3.001, 0.05):
        for b_pos in np.arange(-1.0, 1.001, 0.1):
            bias = [round(float(b_neg), 2), 0.0, round(float(b_pos), 2)]
            predicted = decide(probs, bias, extra).argmax(1)
            f1 = _fast_scores(gold, predicted)[0]
            recall = min(_fast_scores(gold[a:b], predicted[a:b])[1] for a, b in zip(bounds, bounds[1:]))
            key = (recall >= min_recall, f1 if recall >= min_recall else recall, f1)
            if best is None or key > best[0]:
                best = (key, bias, f1, recall)
    return best[1], round(best[2], 4), round(best[3], 4)


def choose_strong(adjusted, levels: list[str]) -> dict:
    """Thresholds on |score| for very_negative/very_positive with the best five-level macro-F1 (SST-5 dev)."""
    import numpy as np

    from scoring.base import INTENSITIES

    gold = np.array([INTENSITIES.index(level) for level in levels])
    label, value = adjusted.argmax(1), adjusted[:, 2] - adjusted[:, 0]
    best = None
    for t_neg in np.arange(0.05, 1.0, 0.025):
        for t_pos in np.arange(0.05, 1.0, 0.025):
            predicted = np.where(label == 1, 2, np.where(label == 0, np.where(value <= -t_neg, 0, 1),
                                                         np.where(value >= t_pos, 4, 3)))
            f1 = _fast_scores(gold, predicted)[0]
            if best is None or f1 > best[0]:
                best = (f1, {"negative": round(float(t_neg), 3), "positive": round(float(t_pos), 3)})
    return best[1]


def calibrate(out: str | Path, dev: dict, min_recall: float, log: Callable) -> dict:
    """Biases, intensity thresholds and ensemble weight chosen on dev, with every scorer's dev figures."""
    from scoring.flair_scorer import FlairScorer, decide, lexicon_extra
    from scoring.lexicon import LexiconScorer

    flair_scorer, lexicon = FlairScorer(out).load(), LexiconScorer()
    names = [name for name in dev if "(3 files)" not in name and "5 levels" not in name]
    probs = {name: flair_scorer.probabilities(dev[name][0]) for name in names}
    lex = {name: [s.score for s in lexicon.score(dev[name][0])] for name in names}
    _add_unions(dev, probs, lex)
    union_probs, union_labels = probs["semeval dev (3 files)"], dev["semeval dev (3 files)"][1]
    parts = [len(dev[f"semeval {name}"][1]) for name in DEV_FILES]
    bias, f1, recall = choose_bias(union_probs, union_labels, min_recall, parts=parts)
    log(f"flair bias {bias}: semeval dev macro-F1 {f1}, lowest negative recall of the dev files {recall}")
    best = None
    for weight in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0):
        extra = lexicon_extra(lex["semeval dev (3 files)"], weight)
        e_bias, e_f1, e_recall = choose_bias(union_probs, union_labels, min_recall, extra, parts)
        if best is None or (e_recall >= min_recall, e_f1) > (best[3] >= min_recall, best[2]):
            best = (weight, e_bias, e_f1, e_recall)
    log(f"ensemble weight {best[0]} bias {best[1]}: semeval dev macro-F1 {best[2]}, lowest negative recall {best[3]}")
    sst = "sst5 dev, 3 classes"
    strong = choose_strong(decide(probs[sst], bias), dev["sst5 dev, 5 levels"][1])
    e_strong = choose_strong(decide(probs[sst], best[1], lexicon_extra(lex[sst], best[0])), dev["sst5 dev, 5 levels"][1])
    chosen = {"bias": bias, "strong": strong, "min_negative_recall": min_recall,
              "ensemble": {"weight": best[0], "bias": best[1], "strong": e_strong}}
    chosen["dev"] = dev_figures(dev, probs, lex, chosen)
    log(figures_table(chosen["dev"]))
    return chosen


def _add_unions(dev: dict, probs: dict, lex: dict) -> None:
    """Probabilities and lexicon values of the union sets, concatenated from their parts."""
    import numpy as np

    for union, files in (("semeval dev (3 files)", DEV_FILES), ("semeval extra dev (3 files)", EXTRA_DEV_FILES)):
        parts = [f"semeval {name}" for name in files]
        probs[union] = np.vstack([probs[p] for p in parts])
        lex[union] = [v for p in parts for v in lex[p]]
    probs["sst5 dev, 5 levels"], lex["sst5 dev, 5 levels"] = probs["sst5 dev, 3 classes"], lex["sst5 dev, 3 classes"]


def dev_figures(dev: dict, probs: dict, lex: dict, chosen: dict) -> dict:
    """Per dev set and scorer: n, macro-F1, accuracy, negative recall (intensity on the 5-level set)."""
    from scoring.flair_scorer import decide, lexicon_extra, to_score
    from scoring.lexicon import LexiconScorer
    from scoring.training.evaluation import metrics

    lexicon, ens = LexiconScorer(), chosen["ensemble"]
    figures = {}
    for name, (texts, gold) in dev.items():
        field = "intensity" if "5 levels" in name else "label"
        scores = {
            "lexicon": lexicon.score(texts),
            "flair argmax": [to_score(r, chosen["strong"]) for r in probs[name]],
            "flair": [to_score(r, chosen["strong"]) for r in decide(probs[name], chosen["bias"])],
            "ensemble": [to_score(r, ens["strong"]) for r in
                         decide(probs[name], ens["bias"], lexicon_extra(lex[name], ens["weight"]))],
        }
        figures[name] = {"n": len(texts)}
        for scorer, result in scores.items():
            m = metrics(gold, [getattr(s, field) for s in result])
            negative = m["per_class"].get("negative" if field == "label" else "very_negative", {}).get("recall", 0.0)
            figures[name][scorer] = [round(m["macro_f1"], 4), round(m["accuracy"], 4), round(negative, 4)]
    return figures


def figures_table(figures: dict) -> str:
    """Dev figures as a Markdown table: macro-F1 / accuracy / negative recall per scorer."""
    scorers = [key for key in next(iter(figures.values())) if key != "n"]
    lines = ["| dev set | n | " + " | ".join(f"{s} F1 / acc / neg-R" for s in scorers) + " |",
             "|---|---:|" + "---|" * len(scorers)]
    for name, row in figures.items():
        cells = [" / ".join(f"{v:.3f}" for v in row[s]) for s in scorers]
        lines.append(f"| {name} | {row['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def model_card(config: dict) -> str:
    """MODEL_CARD.md for an artifact, from its config."""
    t, e = config["training"], config["ensemble"]
    base = dict(QUICK if t["quick"] else FULL)
    full = config.get("finetune") == "full"
    if full:
        base["lr"] = FULL_FINETUNE_LR["quick" if t["quick"] else "full"]
    reproduce = (f"undertone train --data-dir ../shared/data --out scoring/model --seed {t['seed']}"
                 + " --quick" * t["quick"] + " --full-finetune" * full
                 + f" --train-sample {t.get('train_sample')}" * bool(t.get("train_sample"))
                 + f" --dev-sample {t.get('dev_sample')}" * bool(t.get("dev_sample"))
                 + f" --epochs {t['epochs']}" * (t["epochs"] != base["epochs"])
                 + f" --lr {t['lr']}" * (t["lr"] != base["lr"])
                 + f" --lora-r {t.get('r')}" * (not full and t.get("r") != base["r"])
                 + " --no-normalise" * (not config.get("normalise_text", False))
                 + f" --sources {','.join(t['sources'])}" * (tuple(t["sources"]) != SOURCES)
                 + f" --min-negative-recall {config['min_negative_recall']}" * (config["min_negative_recall"] != 0.85)
                 + " --quantize" * config["quantize"])
    if full:
        what = (f"Full fine-tuning (every encoder weight) of mean-pooled {config['base_model']} with a linear head,\n"
                f"trained with flair {t['versions']['flair']} / torch {t['versions']['torch']}. Weights: the whole "
                "encoder and the head,\nfp16, in `adapter.safetensors` (the file keeps the shipped name); the "
                "tokenizer and model config come from the installed package.")
    else:
        lora = config["lora"]
        what = (f"LoRA adapters (r={lora['r']}, alpha={lora['alpha']}, on {', '.join(lora['target_modules'])})\n"
                f"and a linear head over mean-pooled {config['base_model']}, trained with flair\n"
                f"{t['versions']['flair']} / torch {t['versions']['torch']} / peft {t['versions']['peft']}. Weights: "
                "fp16 in\n`adapter.safetensors`; the base model is not included (it comes from the installed package).")
    head_lr = f" (the head {t['head_lr']})" if t.get("head_lr") else ""
    sample = (f"\n- Compared on samples: {t.get('train_sample') or 'all'} training texts (seeded), at most "
              f"{t.get('dev_sample')} texts per dev set (seed 0)." if t.get("train_sample") or t.get("dev_sample") else "")
    return f"""# Undertone flair sentiment model

{what}

- Training data ({t['n_train']} texts, {t['counts']}): {', '.join(t['data_files'])}.
  SemEval tweets whose id or text occurs in a dev file were dropped.
- Seed {t['seed']}; {t['epochs']} epoch(s), best epoch on SemEval dev: {t['best_epoch']}; AdamW lr {t['lr']}{head_lr},
  weight decay 0.01, 6% warm-up then linear decay, batch {t['batch_size']}, bf16 autocast, max {config['max_tokens']} tokens.
- Text normalised (links to `http`, user handles to `@user`, HTML entities decoded; `scoring/model_text.py`)
  in training and scoring: {config.get('normalise_text', False)}.
- Training and calibration took {t.get('seconds', '?')} s on this machine ({t['versions']}).
- Chosen on dev: decision bias {config['bias']} (best macro-F1 on the union of SemEval 2013dev, 2016dev,
  2016devtest with negative recall >= {config['min_negative_recall']} on each of the three); intensity thresholds
  {config['strong']} (best five-level macro-F1 on SST-5 dev); ensemble lexicon weight {e['weight']}, bias {e['bias']},
  thresholds {e['strong']}. Encoder int8 quantised at load: {config['quantize']}.
- The SemEval 2013/2014/2015 test files are extra dev: nothing was chosen on them.{sample}

## Dev figures (macro-F1 / accuracy / negative recall; on "5 levels", intensity and very-negative recall)

"flair argmax" is the classifier without the decision bias.

{figures_table(config['dev'])}

{config.get('notes', '')}
## Reproduce

    {reproduce}
"""
