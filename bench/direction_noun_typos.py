"""Every one-letter typo of "caller(s)" / "callee(s)": is the call direction kept?

The nouns of the call edge carry the direction alone in "callers of X" and "callees of X",
and one letter decides between them. For each of the four words, every typo the training
noise can draw (swap of neighbours, dropped letter but the first, keyboard neighbour, doubled
letter) goes into four request frames, and each model folder is scored through the runtime,
one query at a time, at its own temperature:

- a typo that is one typo of the word only ("calkers", "callesr") must keep its direction;
- a typo that is one typo of both words ("callres", "calles": "callers" or "callees"?)
  cannot, and should be asked (below 0.85), not executed.

Typos that are words of the direction lexicon ("callers" -> "callees" with e for r) are
left out: they are other requests, not typos.

    python bench/direction_noun_typos.py out_before/release out/release
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from hf_pipeline.contract import EXECUTE_THRESHOLD
from hf_pipeline.generate.augment import DIRECTION_WORDS, KEYBOARD_NEIGHBOURS

NOUNS = {"callers": "FindCallers", "callees": "FindCallees", "caller": "FindCallers",
         "callee": "FindCallees"}
MIRROR = {"callers": "callees", "callees": "callers", "caller": "callee", "callee": "caller"}
FRAMES = ("{w} of init_db", "show me the {w} of Session::close", "list {w} for parse_args",
          "{w} of the render function")


def letter_typos(word: str) -> set[str]:
    """The one-letter typos of ``word`` that augment.typo_direction can draw."""
    out = set()
    for i in range(len(word)):
        out.add(word[:i] + word[i] + word[i:])
        out.update(word[:i] + c + word[i + 1:] for c in KEYBOARD_NEIGHBOURS.get(word[i], ""))
        if i >= 1:
            out.add(word[:i] + word[i + 1:])
        if i < len(word) - 1:
            out.add(word[:i] + word[i + 1] + word[i] + word[i + 2:])
    return out - {word} - DIRECTION_WORDS


def requests() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(texts, the noun each typo came from, labels, whether the typo reads both ways)."""
    from hf_pipeline.intents import LABEL2ID

    texts, nouns, labels, two_way = [], [], [], []
    for noun, intent in NOUNS.items():
        both = letter_typos(MIRROR[noun])
        for typo in sorted(letter_typos(noun)):
            for frame in FRAMES:
                texts.append(frame.format(w=typo))
                nouns.append(noun)
                labels.append(LABEL2ID[intent])
                two_way.append(typo in both)
    return texts, np.array(nouns), np.array(labels), np.array(two_way)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", type=Path, help="model folders (release or final/)")
    args = p.parse_args(argv)
    from hf_pipeline.runtime.classifier import load_classifier, softmax
    from hf_pipeline.train.inference import load_trained_classifier

    texts, nouns, labels, two_way = requests()
    one_way = ~two_way
    print(f"{len(texts)} requests: {int(one_way.sum())} with a typo of one word, "
          f"{int(two_way.sum())} with a typo of both")
    for folder in args.models:
        model = load_classifier(folder, batch_size=1, load_trained=load_trained_classifier)
        probs = softmax(model.logits(texts), model.temperature)
        right = probs.argmax(axis=1) == labels
        executed = probs.max(axis=1) >= EXECUTE_THRESHOLD
        by_noun = ", ".join(
            f"{noun} {right[one_way & (nouns == noun)].mean():.1%}" for noun in NOUNS)
        print(f"{folder}: one-word typos {right[one_way].mean():.1%} keep the direction "
              f"({by_noun}); wrong at >= {EXECUTE_THRESHOLD}: "
              f"{int((~right & executed & one_way).sum())}; two-way typos executed: "
              f"{int(executed[two_way].sum())} of {int(two_way.sum())} "
              f"(mean confidence {probs.max(axis=1)[two_way].mean():.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
