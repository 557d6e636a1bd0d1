"""Extract the public dev sets (`scoring/training/public_dev.py`) from local mirrors of their GitHub repositories
into OUT (default var/public_dev/), for `undertone evaluate --public-dev var/public_dev`.

Usage: python bench/public_dev.py [--mirror /work/.mirror] [--out var/public_dev]

Each set is read with `git --git-dir MIRROR/<owner>+<name>/repo show COMMIT:PATH` at its pinned commit and checked
against the pinned SHA-256; a set whose mirror is missing is reported and skipped (exit code 1 if any was).
Without a mirror, any clone of the repository works: `git clone https://github.com/<owner>/<name>` into
MIRROR/<owner>+<name>/repo. The extracted files are third-party data: never commit them.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scoring.training.public_dev import SETS, PublicSet, write_set  # noqa: E402


def git_dir(mirror: Path, spec: PublicSet) -> Path | None:
    """The git directory of a set's repository under `mirror` (a bare mirror or a clone), or None."""
    base = mirror / spec.repo.replace("/", "+")
    for candidate in (base / "repo", base / "repo" / ".git", base / ".git", base):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def read_source(mirror: Path, spec: PublicSet) -> bytes | None:
    """The pinned file's bytes, or None (with a message on stderr) when the mirror or the commit is missing."""
    found = git_dir(mirror, spec)
    if found is None:
        print(f"{spec.name}: no mirror of {spec.repo} under {mirror}; skipped", file=sys.stderr)
        return None
    shown = subprocess.run(["git", "--git-dir", str(found), "show", f"{spec.commit}:{spec.path}"],
                           capture_output=True, check=False)
    if shown.returncode != 0:
        print(f"{spec.name}: {spec.commit[:12]}:{spec.path} not in {found}: {shown.stderr.decode().strip()}",
              file=sys.stderr)
        return None
    return shown.stdout


def main(argv: list[str] | None = None, sets: tuple[PublicSet, ...] = SETS) -> int:
    """Extract every set; 0 when all were written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mirror", default="/work/.mirror", type=Path)
    parser.add_argument("--out", default=REPO / "var" / "public_dev", type=Path)
    args = parser.parse_args(argv)
    failed = 0
    for spec in sets:
        data = read_source(args.mirror, spec)
        if data is None:
            failed += 1
            continue
        folder = write_set(spec, data, args.out)
        print(f"{spec.name}: {folder / 'dev.jsonl'}; " + (folder / "SOURCE.txt").read_text().splitlines()[-2])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
