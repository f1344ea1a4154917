#!/usr/bin/python3
"""An independent reference for plugins/bert/wordpiece.c: BERT's uncased
tokenisation as Google's tokenization.py (BasicTokenizer with
do_lower_case=True, then WordpieceTokenizer) describes it, transcribed
here in plain Python on unicodedata, without the C code's tables.

usage: wordpiece_ref.py VOCAB.txt[.gz] TEXT_FILE > ids.txt
   one id per line: every word-piece id of the text, no [CLS]/[SEP]."""
import gzip
import sys
import unicodedata


def load_vocab(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return {tok.rstrip("\n"): i for i, tok in enumerate(f)}


def is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_control(c):
    if c in "\t\n\r":
        return False
    return unicodedata.category(c) in ("Cc", "Cf")


def is_punctuation(c):
    cp = ord(c)
    # ASCII symbols count as punctuation even where Unicode says otherwise ("$", "^", "`").
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or
            0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or
            0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokens(text):
    # 1. drop NUL, U+FFFD and control characters; whitespace becomes a space
    clean = []
    for c in text:
        cp = ord(c)
        if cp == 0 or cp == 0xFFFD or is_control(c):
            continue
        clean.append(" " if is_whitespace(c) else c)
    # 2. every CJK ideograph is a word of its own
    spaced = []
    for c in clean:
        if is_cjk(ord(c)):
            spaced += [" ", c, " "]
        else:
            spaced.append(c)
    out = []
    for tok in "".join(spaced).split():
        # 3. lower-case, then strip accents: NFD and drop non-spacing marks
        tok = tok.lower()
        tok = "".join(c for c in unicodedata.normalize("NFD", tok)
                      if unicodedata.category(c) != "Mn")
        # 4. every punctuation character is a word of its own
        word = ""
        for c in tok:
            if is_punctuation(c):
                if word:
                    out.append(word)
                    word = ""
                out.append(c)
            else:
                word += c
        if word:
            out.append(word)
    return " ".join(out).split()


def wordpiece(word, vocab, unk="[UNK]", max_chars=100):
    if len(word) > max_chars:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            sub = word[start:end]
            if start > 0:
                sub = "##" + sub
            if sub in vocab:
                found = sub
                break
            end -= 1
        if found is None:
            return [unk]  # one unmatched piece: the whole word is unknown
        pieces.append(found)
        start = end
    return pieces


def main():
    vocab = load_vocab(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        text = f.read()
    for word in basic_tokens(text):
        for p in wordpiece(word, vocab):
            print(vocab[p])


if __name__ == "__main__":
    main()
