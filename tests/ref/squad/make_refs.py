#!/usr/bin/python3
"""Reference exact match and F1 for plugins/common/squad_metrics.c: the
scoring of SQuAD v1.1's official evaluate-v1.1.py (normalize_answer,
exact_match_score, f1_score, the best over the ground truths), transcribed
in Python. Writes refs.json next to this script: a list of
{"pred", "truths", "em", "f1"}."""
import collections
import json
import os
import re
import string


def normalize_answer(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1_score(pred, truth):
    p, g = normalize_answer(pred).split(), normalize_answer(truth).split()
    same = sum((collections.Counter(p) & collections.Counter(g)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def exact_match(pred, truth):
    return float(normalize_answer(pred) == normalize_answer(truth))


CASES = [
    ("Denver Broncos", ["Denver Broncos", "The Denver Broncos"]),
    ("the Denver Broncos!", ["Denver Broncos"]),
    ("Broncos", ["Denver Broncos"]),
    ("Carolina Panthers", ["Denver Broncos"]),
    ("in 1066, the Normans", ["1066", "the Normans in 1066"]),
    ("a cat and a dog", ["the dog and an owl", "cat"]),
    ("New York  City", ["new york city"]),
    ("U.S.A.", ["USA"]),
    ("rock'n'roll", ["rock n roll", "rocknroll"]),
    ("the the the", ["the"]),
    ("", ["something"]),
    ("", [""]),
    ("an apple an apple", ["apple apple apple"]),
    ("Anthem", ["an them"]),
    ("theatre", ["the atre"]),
    ("x_y-z", ["xyz"]),
    ("  spaced\tout\nanswer ", ["spaced out answer"]),
    ("1,000,000 dollars", ["1000000 dollars", "one million"]),
    ("Paris is the capital of France", ["Paris", "capital of France"]),
    ("42", ["forty-two", "42 "]),
]


def main():
    refs = [{"pred": p, "truths": t, "em": max(exact_match(p, g) for g in t),
             "f1": max(f1_score(p, g) for g in t)} for p, t in CASES]
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "refs.json"), "w") as f:
        json.dump(refs, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
