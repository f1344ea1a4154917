#!/usr/bin/python3
"""Fetches one npm package's tarball from the npm registry (no npm needed),
checks its SHA-256, and unpacks it into DIR (its files under DIR/package).

usage: tools/data/fetch_npm.py @scope/name VERSION SHA256 DIR
       ($NPM_CONFIG_REGISTRY, else https://registry.npmjs.org)"""
import hashlib
import io
import os
import sys
import tarfile
import urllib.request


def main():
    name, version, sha, dest = sys.argv[1:5]
    registry = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")
    base = name.split("/")[-1]
    url = f"{registry}/{name}/-/{base}-{version}.tgz"
    with urllib.request.urlopen(url, timeout=120) as r:
        data = r.read()
    got = hashlib.sha256(data).hexdigest()
    if got != sha:
        sys.exit(f"fetch_npm: {url}: SHA-256 {got}, expected {sha}")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        for m in t.getmembers():  # only plain files and directories inside DIR
            if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in m.name.split("/"):
                sys.exit(f"fetch_npm: {url}: unexpected member {m.name}")
        t.extractall(dest)


if __name__ == "__main__":
    main()
