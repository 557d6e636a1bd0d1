"""Learning from corrections, simulated: half of business_messages dev plays a business's corrections.

Per seed, a stratified half of business_messages dev (300 messages) is given to `train --corrections`'s code
(`scoring.training.corrections`: the product head refitted on its training data plus the corrections, the
correction weight chosen by cross-validation on the corrections only); the other half is held out. Reported
before (the shipped head) and after (the adapted head), in the same run:
- the held-out half: macro-F1, negative precision and recall;
- agreement with the corrections themselves (the share of corrected texts the model now labels as corrected);
- forgetting: macro-F1 on the SemEval dev union, the held-out reviews and SST-5 dev in three classes;
- the held-out macro-F1 and the forgetting at each fixed correction weight too, so the cross-validated choice
  can be judged;
- CPU seconds of `undertone train --corrections` run as a command, first with an empty feature cache, then cached.

    nice -n 10 python bench/corrections_sim.py --seeds 5 [--data-dir ../shared/data] [--cache-dir var/cache]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FORGETTING = ("semeval dev (3 files)", "custrev held-out 20%", "sst5 dev, 3 classes")


def figures(gold, predicted) -> dict:
    from scoring.training.evaluation import metrics

    m = metrics(list(gold), list(predicted))
    negative = m["per_class"].get("negative", {"precision": 0.0, "recall": 0.0})
    return {"f1": m["macro_f1"], "neg_p": negative["precision"], "neg_r": negative["recall"]}


def command_cpu(corrections: Path, var_dir: Path, data_dir: str) -> float:
    """CPU seconds (user + system) of one `undertone train --corrections` run in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "VAR_DIR": str(var_dir), "PYTHONPATH": str(ROOT)}
    env.pop("SCORER_MODEL_DIR", None)
    done = subprocess.run([sys.executable, "-c", "from integration.cli import main; main()", "train",
                           "--corrections", str(corrections), "--data-dir", data_dir],
                          env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"train --corrections failed:\n{done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cached_encode(flair, texts, cache_dir: Path):
    """`encode`, kept in cache_dir keyed by the model's weights and the texts (re-runs skip the encoder)."""
    import hashlib

    import numpy as np

    from scoring.training.corrections import encode

    key = hashlib.sha256(Path(flair.model_dir, "adapter.safetensors").read_bytes())
    for text in texts:
        key.update(text.encode("utf-8") + b"\0")
    path = cache_dir / f"bench-features-{key.hexdigest()[:20]}.npy"
    if path.is_file():
        return np.load(path)
    features = encode(flair, texts)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, features)
    return features


def main(argv=None) -> int:
    import numpy as np
    from sklearn.model_selection import train_test_split

    from scoring.flair_scorer import MODEL_DIR, FlairScorer
    from scoring.product_head import ProductHead
    from scoring.training.commands import dev_sets
    from scoring.training.corrections import WEIGHTS, base_features, choose_weight, fit, head_settings, predict
    from scoring.training.evaluation import read_labelled

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--no-timing", action="store_true", help="Skip the two timed command runs.")
    parser.add_argument("--cache-dir", default=None,
                        help="Keep the encoder features here between runs [default: none, all encoded afresh].")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    settings = head_settings(MODEL_DIR)
    head = ProductHead.load(Path(MODEL_DIR, settings["file"]))
    bias, init = settings["bias"], (settings["weights"], settings["intercept"])
    flair = FlairScorer(MODEL_DIR).load()
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(args.cache_dir or scratch)
        base_x, base_y, base_w = base_features(flair, args.data_dir, settings, cache, log=print)
        sets = dev_sets(args.data_dir)
        texts, gold = read_labelled(sets["business_messages dev"])
        business = (cached_encode(flair, texts, cache), np.array(gold))
        parts = [n for n in sets if n.startswith("semeval ") and "(" not in n]
        union = ([t for n in parts for t in sets[n][0]], [g for n in parts for g in sets[n][1]])
        other = {name: (cached_encode(flair, list(data[0]), cache), list(data[1]))
                 for name, data in ((FORGETTING[0], union), *((n, sets[n]) for n in FORGETTING[1:]))}
    print(f"features of the base training data and dev sets in {time.perf_counter() - started:.0f}s")

    before_forgetting = {name: figures(g, predict(head.weights, head.intercept, bias, x))["f1"]
                         for name, (x, g) in other.items()}
    rows, fixed = [], {w: [] for w in WEIGHTS}
    for seed in range(1, args.seeds + 1):
        a, b = train_test_split(np.arange(len(gold)), test_size=0.5, stratify=business[1], random_state=seed)
        xa, ya, xb, yb = business[0][a], business[1][a].tolist(), business[0][b], business[1][b].tolist()
        weight, _ = choose_weight(base_x, base_y, base_w, xa, ya, settings["c"], bias, seed=seed, init=init,
                                  log=lambda _: None)
        w, i = fit(base_x, base_y, base_w, xa, ya, weight, settings["c"], init)
        row = {"seed": seed, "weight": weight,
               "held_before": figures(yb, predict(head.weights, head.intercept, bias, xb)),
               "held_after": figures(yb, predict(w, i, bias, xb)),
               "agree_before": float(np.mean(np.array(predict(head.weights, head.intercept, bias, xa)) == ya)),
               "agree_after": float(np.mean(np.array(predict(w, i, bias, xa)) == ya)),
               "forgetting": {name: figures(g, predict(w, i, bias, x))["f1"] for name, (x, g) in other.items()}}
        for fixed_weight in WEIGHTS:
            fw, fi = fit(base_x, base_y, base_w, xa, ya, fixed_weight, settings["c"], init)
            fixed[fixed_weight].append([figures(yb, predict(fw, fi, bias, xb))["f1"],
                                        float(np.mean(np.array(predict(fw, fi, bias, xa)) == ya))]
                                       + [figures(g, predict(fw, fi, bias, x))["f1"] for x, g in other.values()])
        rows.append(row)
        print(f"seed {seed}: weight {weight}; held-out macro-F1 {row['held_before']['f1']:.3f} -> "
              f"{row['held_after']['f1']:.3f}; agreement {row['agree_before']:.1%} -> {row['agree_after']:.1%}")

    def mean(values) -> float:
        return float(np.mean(list(values)))

    print(f"\n## Corrections simulation: {args.seeds} seeds, {len(a)} corrections / {len(b)} held out "
          "(business_messages dev halves, stratified)\n")
    print("| seed | weight (CV) | held-out macro-F1 | neg precision | neg recall | agreement with corrections |")
    print("|---|---:|---|---|---|---|")
    for r in rows:
        hb, ha = r["held_before"], r["held_after"]
        print(f"| {r['seed']} | {r['weight']:g} | {hb['f1']:.3f} -> {ha['f1']:.3f} | {hb['neg_p']:.3f} -> "
              f"{ha['neg_p']:.3f} | {hb['neg_r']:.3f} -> {ha['neg_r']:.3f} | {r['agree_before']:.1%} -> "
              f"{r['agree_after']:.1%} |")
    cells = [f"{mean(r['held_before'][k] for r in rows):.3f} -> {mean(r['held_after'][k] for r in rows):.3f}"
             for k in ("f1", "neg_p", "neg_r")]
    print(f"| mean | | {' | '.join(cells)} | {mean(r['agree_before'] for r in rows):.1%} -> "
          f"{mean(r['agree_after'] for r in rows):.1%} |")
    gains = [r["held_after"]["f1"] - r["held_before"]["f1"] for r in rows]
    print(f"\nheld-out macro-F1 change per seed: {', '.join(f'{g:+.3f}' for g in gains)} "
          f"(mean {mean(gains):+.3f}, {sum(g > 0 for g in gains)} of {len(gains)} seeds up)")
    print("\n| correction weight | held-out macro-F1 | agreement | " + " | ".join(other) + " |\n|---|---:|---:|"
          + "---:|" * len(other))
    print(f"| shipped head | {mean(r['held_before']['f1'] for r in rows):.3f} | "
          f"{mean(r['agree_before'] for r in rows):.3f} | "
          + " | ".join(f"{before_forgetting[name]:.3f}" for name in other) + " |")
    for weight, runs in fixed.items():
        cells = [f"{mean(run[k] for run in runs):.3f}" for k in range(len(other) + 2)]
        print(f"| {weight:g} (fixed) | " + " | ".join(cells) + " |")
    print(f"| chosen by CV | {mean(r['held_after']['f1'] for r in rows):.3f} | {mean(r['agree_after'] for r in rows):.3f} | "
          + " | ".join(f"{mean(r['forgetting'][name] for r in rows):.3f}" for name in other) + " |")
    print("\n| forgetting: dev set | n | macro-F1 before | after (mean over seeds) | change |\n|---|---:|---:|---:|---:|")
    for name, (_, g) in other.items():
        after = mean(r["forgetting"][name] for r in rows)
        print(f"| {name} | {len(g)} | {before_forgetting[name]:.3f} | {after:.3f} | {after - before_forgetting[name]:+.3f} |")

    if not args.no_timing:
        with tempfile.TemporaryDirectory() as scratch:
            corrections = Path(scratch, "corrections.tsv")
            corrections.write_text("".join(f"{label}\t{texts[k]}\n" for k, label in zip(a, business[1][a])),
                                   encoding="utf-8")
            first = command_cpu(corrections, Path(scratch, "var"), args.data_dir)
            cached = command_cpu(corrections, Path(scratch, "var"), args.data_dir)
        print(f"\n`undertone train --corrections` ({len(a)} corrections, weight by cross-validation), CPU seconds "
              f"(user + system, all threads): first run {first:.0f} s, cached run {cached:.0f} s "
              f"(ratio {cached / first:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
