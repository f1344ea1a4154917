"""Shared helpers for the engine's integration tests: they run the real
mlbench-engine binary on real plugins (the bundled ones and the test-only
plugins of tests/plugins) and check what it prints and writes."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

ENGINE = os.environ["MLB_ENGINE"]
TEST_PLUGINS = os.environ["MLB_TEST_PLUGINS"]
SOURCE_ROOT = os.environ["MLB_SOURCE_ROOT"]
BUILD_ROOT = os.environ["MLB_BUILD_ROOT"]

# Under AddressSanitizer, let a plugin's SIGSEGV reach the runner as a signal
# instead of becoming ASan's own report and exit code.
_env = dict(os.environ)
_env["ASAN_OPTIONS"] = (_env.get("ASAN_OPTIONS", "") + ":handle_segv=0:handle_abort=0").lstrip(":")
ENV = _env


def run(args, check=None, timeout=300, env=None):
    """Runs the engine; returns CompletedProcess (text)."""
    p = subprocess.run([ENGINE] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=env or ENV)
    if check is not None and p.returncode != check:
        raise AssertionError(f"exit {p.returncode}, expected {check}\n"
                             f"args: {args}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


class PluginDir:
    """A temporary plugin directory holding copies of chosen test plugins."""

    def __init__(self, *names):
        self.path = tempfile.mkdtemp(prefix="mlb-plugins-")
        for n in names:
            shutil.copy(os.path.join(TEST_PLUGINS, n + ".so"), self.path)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def run_json(args, expect_rc=0, timeout=300):
    """Runs with --output to a temporary file and returns (process, document)."""
    d = tempfile.mkdtemp(prefix="mlb-out-")
    try:
        out = os.path.join(d, "r.json")
        p = run(list(args) + ["--output", out, "--quiet"], check=expect_rc, timeout=timeout)
        with open(out) as f:
            return p, json.load(f)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_by_variant(doc):
    return {r["variant"]: r for r in doc["runs"]}


main = unittest.main
