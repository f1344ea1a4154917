"""A test peer whose words are not valid UTF-8 (issue 12): its hello, a
metric name and an error message carry raw bytes, and in mode `die` its
stderr is two-byte characters from an odd offset, so that the engine's
byte-limited tail of it starts inside one. Standard library only; it speaks
the JSON-lines protocol by hand to write bytes no JSON library would."""
import json
import os
import sys

out = sys.stdout.buffer
mode = "ok"
for line in sys.stdin:
    req = json.loads(line)
    op = req.get("op")
    if op == "hello":
        msg = b'{"ok": true, "protocol": 1, "name": "bad \xff\xfe hello \xc3(", "v\xe9": 1}'
    elif op == "setup":
        mode = (req.get("params") or {}).get("mode", "ok")
        msg = b'{"ok": true}'
    elif op == "train" and mode == "fail":
        msg = b'{"ok": false, "error": "bad \xff error \xe2\x82"}'
    elif op == "train" and mode == "die":
        os.write(2, b"x" + "\u00e9".encode() * 40000)
        os._exit(3)
    elif op == "train":
        msg = (b'{"ok": true, "work": {"items": 1}, "metrics": '
               b'{"acc\xffuracy": {"value": 0.5, "better": "higher"}}}')
    else:
        msg = b'{"ok": true}'
    out.write(msg + b"\n")
    out.flush()
    if op == "teardown":
        break
