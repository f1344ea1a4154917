"""The template task copied, renamed and built out of tree against an
install in a temporary --destdir, as docs/plugin-guide.md tells a plugin
author to: pkg-config finds the headers and libmlbench through
PKG_CONFIG_PATH alone (mlbench.pc is relocatable), and the installed engine
runs without LD_LIBRARY_PATH (its RUNPATH is relative) and loads the new
task with --plugin-dir."""
import glob
import json
import os
import re
import shlex
import subprocess
import tempfile
import unittest

from common import BUILD_ROOT, ENV, SOURCE_ROOT, main

# The build command of the guide, with the warnings this tree builds under.
CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
          "-fvisibility=hidden"]


def copy_renamed(src_dir, dst_dir, old, new):
    """Steps 1 and 2 of template.c: copy the task and rename it."""
    for name in ("template.c", "template.h", "naive.c"):
        with open(os.path.join(src_dir, name)) as f:
            text = f.read().replace(old, new).replace(old.upper(), new.upper())
        with open(os.path.join(dst_dir, name.replace(old, new)), "w") as f:
            f.write(text)


class OutOfTree(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        dest = os.path.join(cls.tmp.name, "dest")
        subprocess.run(["meson", "install", "-C", BUILD_ROOT, "--destdir", dest,
                        "--no-rebuild", "--quiet"], check=True, capture_output=True)
        pcs = glob.glob(os.path.join(dest, "**", "mlbench.pc"), recursive=True)
        engines = glob.glob(os.path.join(dest, "**", "bin", "mlbench-engine"), recursive=True)
        assert len(pcs) == 1 and len(engines) == 1, (pcs, engines)
        cls.dest, cls.pc, cls.engine = dest, pcs[0], engines[0]
        # Nothing that would let the install lean on the build tree or the
        # environment of the test run.
        cls.env = {k: v for k, v in ENV.items()
                   if k not in ("LD_LIBRARY_PATH", "PKG_CONFIG_SYSROOT_DIR", "MLBENCH_PLUGIN_PATH",
                                "PKG_CONFIG_LIBDIR")}
        cls.env["PKG_CONFIG_PATH"] = os.path.dirname(cls.pc)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def pkg_config(self, *args):
        return subprocess.run(["pkg-config", *args, "mlbench"], env=self.env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def test_pc_is_relocatable(self):
        with open(self.pc) as f:
            self.assertRegex(f.read(), r"(?m)^prefix=\$\{pcfiledir\}(/\.\.)+$")
        prefix = os.path.realpath(self.pkg_config("--variable=prefix"))
        self.assertTrue(prefix.startswith(os.path.realpath(self.dest) + os.sep), prefix)
        plugindir = self.pkg_config("--variable=plugindir")
        self.assertTrue(glob.glob(os.path.join(plugindir, "template_naive.so")), plugindir)
        inc = [f[2:] for f in shlex.split(self.pkg_config("--cflags")) if f.startswith("-I")]
        self.assertTrue(any(os.path.exists(os.path.join(d, "mlbench", "variant.h")) for d in inc),
                        inc)

    def test_engine_runs_without_library_path(self):
        p = subprocess.run([self.engine, "--list"], env=self.env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"template\s+naive\s+yes\s+example:")  # bundled, installed

    def test_template_builds_out_of_tree_and_runs(self):
        src = os.path.join(self.tmp.name, "mydot")
        os.mkdir(src)
        copy_renamed(os.path.join(SOURCE_ROOT, "plugins", "template"), src, "template", "mydot")
        flags = shlex.split(self.pkg_config("--cflags", "--libs"))
        subprocess.run(["cc", *CFLAGS, "mydot.c", "naive.c", *flags, "-o", "mydot_naive.so"],
                       cwd=src, env=self.env, check=True)
        exported = subprocess.run(["nm", "-D", "--defined-only", "mydot_naive.so"], cwd=src,
                                  check=True, capture_output=True, text=True).stdout
        self.assertEqual(re.findall(r" T (\S+)", exported), ["mlbench_plugin_entry"])

        out = os.path.join(self.tmp.name, "r.json")
        p = subprocess.run([self.engine, "--plugin-dir", src, "--plugin", "mydot",
                            "--param", "data=ones", "--param", "n=1000", "--repetitions", "2",
                            "--warmup", "0", "--quiet", "--output", out],
                           env=self.env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            run = json.load(f)["runs"][0]
        self.assertEqual((run["task"], run["variant"], run["status"]), ("mydot", "naive", "ok"))
        self.assertEqual(run["repetitions"][0]["metrics"]["dot"]["value"], 1000.0)
        # Its rules came along: the installed engine enforces them.
        p = subprocess.run([self.engine, "--plugin-dir", src, "--plugin", "mydot",
                            "--param", "n=0"], env=self.env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)


if __name__ == "__main__":
    main()
