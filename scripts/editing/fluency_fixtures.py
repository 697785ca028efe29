#!/usr/bin/python3
"""Fixture for nanscope's fluency metric (io.nanscope.editing.eval.WordTokenizer / NgramEntropy),
computed with NLTK (Debian's python3-nltk 3.8: `apt-get install python3-nltk`, run with /usr/bin/python3).

EasyEdit: compute_n_gram_entropy(text) = mean([2/3 * H2, 4/3 * H3]), H_n = -sum f log2 f over
nltk.FreqDist(nltk.ngrams(nltk.word_tokenize(text), n)). nltk.word_tokenize needs the pretrained 'punkt'
model, which cannot be downloaded here; this script splits sentences with NLTK's *untrained*
PunktSentenceTokenizer instead, then applies nltk's NLTKWordTokenizer (what word_tokenize applies per
sentence). The texts avoid abbreviations, where the two Punkt variants could differ.

Usage: /usr/bin/python3 scripts/editing/fluency_fixtures.py  -> editing/src/test/resources/eval/fluency-nltk.json
"""
import json
import math
from pathlib import Path

import nltk
from nltk.tokenize import NLTKWordTokenizer
from nltk.tokenize.punkt import PunktSentenceTokenizer

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "editing/src/test/resources/eval/fluency-nltk.json"

EXTRA = [
    'Lily said, "Can\'t we play?" She didn\'t know... Tom\'s ball (red) was big.',
    "I'm gonna go. You'll see, won't you? 'Tis the end -- really!",
    "the the the the the the",
    "",
    "Hello",
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.",
    '"Yes," said Mom. "Let\'s go to the park!"',
    "It cost $3.88 at 5:30, cannot wait; wanna go? #fun @home 50% & more* [ok] {x} <y>",
    "Tim and Sue ran.Then they sat. They're happy, aren't they? We'd like it, I'd say.",
    "“Look!” said Ben. ‘Wow,’ said Sue… They laughed!!",
]


def word_tokenize(text):
    sentences = PunktSentenceTokenizer().tokenize(text)
    return sentences, [t for s in sentences for t in NLTKWordTokenizer().tokenize(s)]


def entropy(tokens, n):
    fdist = nltk.FreqDist(nltk.ngrams(tokens, n))
    total = sum(fdist.values())
    return sum(-(c / total) * math.log(c / total) / math.log(2) for c in fdist.values())


def main():
    stories = (ROOT / "configs/corpus/tinystories-corpus.txt").read_text().split("\n\n")[:15]
    cases = []
    for text in [s.strip() for s in stories] + EXTRA:
        sentences, tokens = word_tokenize(text)
        h2, h3 = entropy(tokens, 2), entropy(tokens, 3)
        cases.append({"text": text, "sentences": sentences, "tokens": tokens, "h2": h2, "h3": h3,
                      "fluency": (2 / 3 * h2 + 4 / 3 * h3) / 2})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"nltk": nltk.__version__, "cases": cases}, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(cases)} cases to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
