"""Regenerate the golden fixtures of the COCO caption metrics from pycocoevalcap 1.2.

Not part of chronolens and not run by the tests. It documents how ``fixtures/*.json`` were made::

    python3 -m venv /tmp/cocoref && /tmp/cocoref/bin/pip install pycocoevalcap==1.2
    /tmp/cocoref/bin/python tests/metrics/captioning/make_fixtures.py   # needs java on PATH

pycocoevalcap ships the Stanford CoreNLP 3.4.1 jar (PTBTokenizer) and the METEOR 1.5 jar; both
run under Java (OpenJDK 17 was used). Outputs:

- ``fixtures/ptb_tokens.json``: raw caption -> PTBTokenizer output after pycocoevalcap's
  punctuation removal (``PTBTokenizer().tokenize``), for hand-picked and seeded random lines.
- ``fixtures/coco_scores.json``: for each case, the raw inputs, the tokenised inputs, and the
  corpus and per-id Bleu_1..4, ROUGE_L, CIDEr (CIDEr-D) and METEOR.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

HERE = Path(__file__).resolve().parent / "fixtures"
SEED = 20261123

HAND_LINES = [
    "A man riding a wave on top of a surfboard.",
    "A man (in a hat) [rides] {a} horse.",
    "He doesn't can't won't I'm you're they'll we've she'd.",
    "\"Quoted\" text 'single' `back`",
    "The colour of the theatre... is grey -- really - yes; ok: fine!?",
    "Numbers 3.14 1,000 $5 50% 1/2 a/b 3-4 well-known e-mail U.S. Mr. Dr. etc.",
    "Café naïve résumé — en–dash … ellipsis “curly” ‘single’ ",
    " A  lot   of   spaces\ttab",
    "TWO DOGS & cats @ home #tag * star http://example.com a@b.com ",
    "gonna wanna gimme cannot gotta lemme",
    "o'clock rock'n'roll ma'am y'all '90s 'tis",
    "A DOG'S bone; the dogs' bones. Isn't it? Ain't.",
    "two people are playing frisbee in the park .",
    "A cat sits on a couch... next to a remote",
    "A red double-decker bus drives down the street!",
    "Three kids, 2 adults and 1 dog at 5:30 p.m. on Jan. 5",
    "an 18-wheeler truck parked near a 7-eleven store",
    "St. Louis, Mo. is near the river; Washington D.C. isn't.",
    "It's 100 % sure -- or 99.9%?",
    "A <b>bold</b> sign reads 'STOP' & go",
    "The kitchen has a stove/oven combo * and a fridge",
    "",
    ".",
    "...",
    "?!",
    "- - -",
    "(   )",
    "Smiley :) and :-( faces ;)",
    "A 1970's car at the U.K. border",
    "Über straße Ελληνικά Русский 中文 日本語 한국어",
    "emoji 🐶 and 😀 are here",
    "A MAN IN A SUIT 'N' TIE",
    "He said, \"Look!\" and she said 'no'.",
    "a dog's dog'll dogs'",
    "A tennis player swings her racquet at the ball .",
    "cost is £5 or €10 or ¥100 or 5¢",
    "fractions ½ ¼ and 3/4 and 1 1/2",
    "temperature 20°C and 5×5 grid",
    "The U.S. Army. The U.S. army",
    "Mr. Smith and Mrs. Jones and Dr. Who",
    "A sign that says no-parking-zone",
    "re-enter co-operate e.g. i.e. vs. etc",
    "It was the '80s and 'twas good; c'mon!",
    "Let's go, y'know? I'd've gone.",
    "A picture of a man 's face",
    "Dogs -- cats --- birds ---- fish",
    "A [RED] {BLUE} <green> sign",
    "A-ha! Oh-oh? Uh huh.",
    "x = y + z ^ 2 ~ 3 | 4 \\ 5",
    "Last sentence with trailing period .",
]

VOCAB = [
    "a",
    "an",
    "the",
    "man",
    "woman",
    "dog",
    "cat",
    "two",
    "three",
    "people",
    "sitting",
    "standing",
    "on",
    "in",
    "of",
    "with",
    "at",
    "near",
    "red",
    "blue",
    "green",
    "large",
    "small",
    "table",
    "street",
    "bus",
    "train",
    "pizza",
    "plate",
    "field",
    "grass",
    "water",
]
PIECES = [
    "a",
    "dog",
    "Dog",
    "U.S.",
    "Mr.",
    "don't",
    "can't",
    "it's",
    "'s",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    '"',
    "'",
    "`",
    "``",
    "''",
    ",",
    ".",
    "...",
    "!",
    "?",
    ";",
    ":",
    "-",
    "--",
    "&",
    "%",
    "$",
    "#",
    "@",
    "*",
    "/",
    "3.5",
    "1,000",
    "10",
    "well-known",
    "e-mail",
    "ok.",
    "etc.",
    "é",
    "naïve",
    "—",
    "–",
    "…",
    "“",
    "”",
    "‘",
    "’",
    "o'clock",
    "gonna",
    "cannot",
    "1/2",
    "5:30",
    "p.m.",
    "x",
    "I",
    "A.",
    "Inc.",
    "Co.",
    "vs.",
    "St.",
    "B.C.",
    "'90s",
    "y'all",
    "rock'n'roll",
    "<",
    ">",
    "=",
    "+",
]


def random_lines(rng: random.Random, count: int) -> list[str]:
    """Seeded random strings mixing tricky pieces, with and without spaces between them."""
    lines = []
    for _ in range(count):
        parts = [rng.choice(PIECES) for _ in range(rng.randint(1, 9))]
        line = ""
        for part in parts:
            line += part + rng.choice([" ", " ", " ", "", "  "])
        lines.append(line.rstrip() if rng.random() < 0.7 else line)
    return lines


def ptb(lines: list[str]) -> list[str]:
    """Tokenise each line as its own image with pycocoevalcap's PTBTokenizer."""
    captions = {str(i): [{"caption": line}] for i, line in enumerate(lines)}
    out = PTBTokenizer().tokenize(captions)
    return [out[str(i)][0] for i in range(len(lines))]


def random_caption(rng: random.Random) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(rng.randint(1, 14)))


def cases(rng: random.Random) -> dict[str, dict[str, dict[str, list[str]]]]:
    """Raw ``gts`` / ``res`` per case."""
    out: dict[str, dict[str, dict[str, list[str]]]] = {}
    out["basic"] = {
        "gts": {
            "391895": [
                "A man with a red helmet on a small moped on a dirt road.",
                "Man riding a motor bike on a dirt road on the countryside.",
                "A man riding on the back of a motorcycle.",
                "A dirt path with a young person on a motor bike rests to the foreground.",
                "A man in a red shirt and a red hat is on a motorcycle on a hill side.",
            ],
            "522418": [
                "A woman wearing a net on her head cutting a cake.",
                "A woman cutting a large white sheet cake.",
                "A woman wearing a hair net cutting a large sheet cake.",
                "there is a woman that is cutting a white cake",
                "A woman marking a cake with the back of a chef's knife.",
            ],
            "184613": [
                "A child holding a flowered umbrella and petting a yak.",
                "A young man holding an umbrella next to a herd of cattle.",
                "a young boy barefoot holding an umbrella touching the horn of a cow",
                "A young boy with an umbrella who is touching the horn of a cow.",
                "A boy holding an umbrella while standing next to livestock.",
            ],
        },
        "res": {
            "391895": ["A man riding a motorcycle on a dirt road."],
            "522418": ["A woman is cutting a cake with a knife."],
            "184613": ["A boy holding an umbrella next to a cow."],
        },
    }
    out["tricky_text"] = {
        "gts": {
            "u1": ["Café naïve — a “curly” quote (in brackets) [here].", "He doesn't know; it's 3.5-4 km!"],
            "u2": ["The U.S. team won't go to St. Louis.", "A well-known e-mail: a@b.com & more..."],
            "u3": ["Two dogs' bones, 1,000 of them -- really?", "'90s rock'n'roll y'all o'clock"],
        },
        "res": {
            "u1": ["A café with “curly” quotes (here)."],
            "u2": ["The U.S. team doesn't go to St. Louis!"],
            "u3": ["dogs' bones -- 1,000 ..."],
        },
    }
    out["single_image"] = {
        "gts": {"1": ["a cat on a mat", "the cat sat on the mat", "a cat is sitting on a mat"]},
        "res": {"1": ["the cat is on the mat"]},
    }
    out["ties_closest_length"] = {
        # Hypothesis of 4 words; references of 3 and 5 words (a tie: the shorter wins).
        "gts": {"t1": ["a b c", "a b c d e"], "t2": ["x y", "x y z w v u"], "t3": ["p q r s", "p q r s"]},
        "res": {"t1": ["a b c d"], "t2": ["x y z w"], "t3": ["p q r s"]},
    }
    out["empty_ish"] = {
        "gts": {"e1": ["a dog runs", "a dog is running"], "e2": ["a b", "c d"], "e3": ["one", "two words"]},
        "res": {"e1": ["."], "e2": ["a"], "e3": ["!?"]},
    }
    out["repeated_words"] = {
        "gts": {"r1": ["a dog and a dog and a dog", "the the the cat"], "r2": ["go go go", "stop"]},
        "res": {"r1": ["a a a a a a a a"], "r2": ["go go go go go go"]},
    }
    long_ref = " ".join(rng.choice(VOCAB) for _ in range(60))
    out["long_sentences"] = {
        "gts": {"l1": [long_ref, " ".join(long_ref.split()[::-1])], "l2": [random_caption(rng) * 3]},
        "res": {"l1": [" ".join(long_ref.split()[5:55])], "l2": [random_caption(rng)]},
    }
    gts: dict[str, list[str]] = {}
    res: dict[str, list[str]] = {}
    for i in range(60):
        key = f"img{rng.randint(0, 10**6)}_{i}"
        gts[key] = [random_caption(rng) for _ in range(rng.randint(1, 6))]
        res[key] = [rng.choice([random_caption(rng), rng.choice(gts[key])])]
    out["random_corpus"] = {"gts": gts, "res": res}
    return out


def raw_cases() -> dict[str, dict[str, dict[str, list[str]]]]:
    """Cases scored WITHOUT tokenisation (the scorers' own whitespace handling)."""
    return {
        "raw_spacing": {
            "gts": {"s1": ["a  dog  runs", "a dog runs "], "s2": ["", "x y"], "s3": ["A Dog.", "a dog ."]},
            "res": {"s1": ["a dog  runs"], "s2": [""], "s3": ["A Dog."]},
        }
    }


def score(meteor: Meteor, gts: dict[str, list[str]], res: dict[str, list[str]]) -> dict[str, object]:
    out: dict[str, object] = {}
    corpus, per = Bleu(4).compute_score(gts, res, verbose=0)
    for k in range(4):
        out[f"Bleu_{k + 1}"] = {"corpus": corpus[k], "per_id": list(per[k])}
    corpus, per = Rouge().compute_score(gts, res)
    out["ROUGE_L"] = {"corpus": float(corpus), "per_id": [float(x) for x in per]}
    corpus, per = Cider().compute_score(gts, res)
    out["CIDEr"] = {"corpus": float(corpus), "per_id": [float(x) for x in per]}
    if all(r[0].strip() for r in res.values()):  # the METEOR jar hangs on an empty hypothesis line
        corpus, per = meteor.compute_score(gts, res)
        out["METEOR"] = {"corpus": corpus, "per_id": per}
    return out


def tokenize_case(gts: dict[str, list[str]], res: dict[str, list[str]]) -> tuple[dict, dict]:
    tok = PTBTokenizer()
    gts_t = tok.tokenize({k: [{"caption": c} for c in v] for k, v in gts.items()})
    res_t = tok.tokenize({k: [{"caption": c} for c in v] for k, v in res.items()})
    return gts_t, res_t


def main() -> int:
    rng = random.Random(SEED)
    HERE.mkdir(exist_ok=True)
    lines = HAND_LINES + random_lines(rng, 300)
    tokens = ptb(lines)
    payload = {
        "source": "pycocoevalcap 1.2 PTBTokenizer (stanford-corenlp 3.4.1, -preserveLines -lowerCase)",
        "pairs": [[raw, tok] for raw, tok in zip(lines, tokens, strict=True)],
    }
    (HERE / "ptb_tokens.json").write_text(json.dumps(payload, ensure_ascii=False, indent=0) + "\n")

    meteor = Meteor()
    result: dict[str, object] = {
        "source": "pycocoevalcap 1.2 (Bleu(4), Rouge(), Cider(), Meteor()), java 17",
        "cases": {},
    }
    for name, case in cases(rng).items():
        gts_t, res_t = tokenize_case(case["gts"], case["res"])
        result["cases"][name] = {
            "tokenizer": "ptb",
            "gts_raw": case["gts"],
            "res_raw": case["res"],
            "gts": gts_t,
            "res": res_t,
            "scores": score(meteor, gts_t, res_t),
        }
    for name, case in raw_cases().items():
        result["cases"][name] = {
            "tokenizer": "none",
            "gts_raw": case["gts"],
            "res_raw": case["res"],
            "gts": case["gts"],
            "res": case["res"],
            "scores": score(meteor, case["gts"], case["res"]),
        }
    (HERE / "coco_scores.json").write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
