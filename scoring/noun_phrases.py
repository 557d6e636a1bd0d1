"""Noun phrases of a customer message, in the customer's words ("late fee", "new water heater").

TextBlob's English parser (the Pattern tagger and chunker, with their lexicon files inside the
package) tags and chunks the text offline: no NLTK corpus is downloaded. Each noun chunk is split at
determiners, pronouns and stop words (and words that name no topic: "nobody", "thing", "today"); each
part is trimmed to end with its last noun, and a part without a noun is dropped.
Phrases are lower-cased and a plural head is made singular ("late fees" -> "late fee").
TextBlob is imported on the first call, not at import time.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

MAX_WORDS = 4
_NOUN = ("NN", "NNS", "NNP", "NNPS")
_KEEP = _NOUN + ("JJ", "JJR", "JJS", "VBG", "VBN", "CD")  # words a noun phrase may be built from
_WORD = re.compile(r"^[a-z][a-z0-9'&-]*$")
# Nouns that name no topic: indefinite pronouns, chat filler and time words the tagger calls nouns.
VAGUE = frozenset("""
nobody somebody someone anyone anybody everyone everybody noone nothing something anything everything
thing things stuff one ones lot lots bit kind sort way guy guys folks people person man lady
u ur pls plz thx ty lol ok okay yes yeah yep hello hi hey thanks thank sir maam ma'am dear
today tomorrow yesterday tonight morning afternoon evening night week weekend month year day days time times
minute minutes hour hours moment while now min mins sec wk wks yr yrs hr hrs
monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec
end worry rush deal question ll ve re
""".split())


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return frozenset(Path(__file__).with_name("stopwords.txt").read_text().split()) | VAGUE


def noun_phrases(text: str, max_words: int = MAX_WORDS) -> list[str]:
    """The noun phrases of `text`, in order of appearance, each once (lower-cased, plural head singular)."""
    from textblob.en import parse

    found: list[str] = []
    tagged = parse(text or "", tokenize=True, tags=True, chunks=True, relations=False, lemmata=False)
    for sentence in tagged.split():
        for chunk in _noun_chunks(sentence):
            found.extend(p for p in _clean(chunk, max_words) if p not in found)
    return found


def _noun_chunks(sentence: list[list[str]]) -> list[list[tuple[str, str]]]:
    """The (word, tag) runs the chunker marked as noun phrases (B-NP starts one, I-NP continues it)."""
    chunks: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] | None = None
    for word, tag, chunk, *_ in sentence:
        if chunk == "B-NP" or (chunk == "I-NP" and current is None):
            current = [(word, tag)]
            chunks.append(current)
        elif chunk == "I-NP" and current is not None:
            current.append((word, tag))
        else:
            current = None
    return chunks


def _clean(chunk: list[tuple[str, str]], max_words: int) -> list[str]:
    """The runs of content words in a chunk, each trimmed to end with its last noun (a stop word splits runs)."""
    stop = _stopwords()
    runs: list[list[tuple[str, str]]] = [[]]
    for word, tag in ((w.lower(), t) for w, t in chunk):
        if tag in _KEEP and len(word) > 1 and _WORD.match(word) and word not in stop and _singular(word) not in stop:
            runs[-1].append((word, tag))
        elif runs[-1]:
            runs.append([])
    return [p for p in (_phrase(run, max_words) for run in runs) if p]


def _phrase(run: list[tuple[str, str]], max_words: int) -> str | None:
    while run and run[-1][1] not in _NOUN:
        run = run[:-1]
    while run and run[0][1] in ("VBG", "VBN", "CD"):
        run = run[1:]
    if not run:
        return None
    *head, (last, tag) = run[-max_words:]
    if tag in ("NNS", "NNPS"):
        last = _singular(last)
    phrase = [w for w, _ in head] + [last]
    if len(phrase) == 1 and len(phrase[0]) < 3:
        return None
    return " ".join(phrase)


def _singular(word: str) -> str:
    from textblob.en.inflect import singularize

    single = singularize(word)
    return single if single and len(single) >= 2 else word
