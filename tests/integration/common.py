"""Shared helpers for the engine's integration tests: they run the real
mlbench-engine binary on real plugins (the bundled ones and the test-only
plugins of tests/plugins) and check what it prints and writes."""
import atexit
import itertools
import json
import os
import signal
import shutil
import subprocess
import tempfile
import time
import unittest

ENGINE = os.environ["MLB_ENGINE"]
TEST_PLUGINS = os.environ["MLB_TEST_PLUGINS"]
SOURCE_ROOT = os.environ["MLB_SOURCE_ROOT"]
BUILD_ROOT = os.environ["MLB_BUILD_ROOT"]

# Under AddressSanitizer, let a plugin's SIGSEGV reach the runner as a signal
# instead of becoming ASan's own report and exit code.
_env = dict(os.environ)
_env["ASAN_OPTIONS"] = (_env.get("ASAN_OPTIONS", "") + ":handle_segv=0:handle_abort=0").lstrip(":")
# Every process a test starts carries MLB_TEST_RUN=<this pid>-<n> in its
# environment (inherited by whatever a plugin or peer starts), so that a
# process left behind is found even when it left the engine's tree.
_RUN_TAG = f"{os.getpid()}-"
_runs = itertools.count()
_env["MLB_TEST_RUN"] = _RUN_TAG + "x"
ENV = _env


def _tagged(prefix):
    """pid -> command of the live processes whose MLB_TEST_RUN starts with prefix."""
    found = {}
    needle = b"MLB_TEST_RUN=" + prefix.encode()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read()
            with open(f"/proc/{d}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rfind(b")") + 2:][:1] in (b"Z", b"X"):
            continue
        if any(e.startswith(needle) for e in env.split(b"\0")):
            found[int(d)] = stat[stat.find(b"(") + 1:stat.rfind(b")")].decode(errors="replace")
    return found


def leftovers(prefix=_RUN_TAG, wait_s=2.0):
    """The processes of this test run still alive after up to wait_s (a
    child killed with its parent may take a moment); kills them so that one
    failure does not spill into the next test."""
    end = time.monotonic() + wait_s
    while True:
        left = _tagged(prefix)
        if not left or time.monotonic() >= end:
            break
        time.sleep(0.02)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


def _check_at_exit():
    left = leftovers()
    if left:
        print(f"FAIL: processes of the test left running: {left}", flush=True)
        os._exit(1)


atexit.register(_check_at_exit)


def run(args, check=None, timeout=300, env=None, allow_leftovers=False, wrapper=()):
    """Runs the engine (under `wrapper`, e.g. valgrind and its options);
    returns CompletedProcess (text). Fails when a process the run started is
    still alive after it."""
    tag = _RUN_TAG + str(next(_runs))
    e = dict(env or ENV)
    e["MLB_TEST_RUN"] = tag
    p = subprocess.run(list(wrapper) + [ENGINE] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=e)
    left = leftovers(tag)
    if left and not allow_leftovers:
        raise AssertionError(f"processes left running after the engine: {left}\n"
                             f"args: {args}\nstderr:\n{p.stderr}")
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


def run_json(args, expect_rc=0, timeout=300, env=None):
    """Runs with --output to a temporary file and returns (process, document)."""
    d = tempfile.mkdtemp(prefix="mlb-out-")
    try:
        out = os.path.join(d, "r.json")
        p = run(list(args) + ["--output", out, "--quiet"], check=expect_rc, timeout=timeout,
                env=env)
        with open(out) as f:
            return p, json.load(f)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_by_variant(doc):
    return {r["variant"]: r for r in doc["runs"]}


main = unittest.main
