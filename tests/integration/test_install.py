"""A third-party plugin builds out of tree against an installed mlbench
(meson install --destdir) with pkg-config, and the installed engine runs it
and finds its bundled plugins without any flag."""
import glob
import os
import shutil
import subprocess
import tempfile
import textwrap
import unittest

from common import BUILD_ROOT, ENV, main

PLUGIN_C = textwrap.dedent(r"""
    #include <mlbench/plugin.h>
    #include <stdlib.h>

    typedef struct { double acc; } my_state;

    static const mlb_param_def params[] = {
        {"steps", MLB_PARAM_INT, "1000", "loop length"},
    };

    static int my_setup(mlb_ctx *ctx, void **state)
    {
        my_state *s = calloc(1, sizeof *s);
        if (!s)
            return mlb_error(ctx, "out of memory");
        *state = s;
        return 0;
    }

    static int my_train(mlb_ctx *ctx, void *state)
    {
        my_state *s = state;
        long n = (long)mlb_param_int(ctx, "steps");
        for (long i = 0; i < n; i++)
            s->acc += 1.0 / (double)(i + 1);
        mlb_report_work(ctx, MLB_WORK_ITEMS, (double)n);
        mlb_report_metric(ctx, "harmonic", s->acc, MLB_HIGHER_IS_BETTER);
        return 0;
    }

    static int my_teardown(mlb_ctx *ctx, void *state)
    {
        (void)ctx;
        free(state);
        return 0;
    }

    static const mlb_plugin desc = {
        MLB_PLUGIN_HEADER,
        .task = "thirdparty",
        .variant = "c",
        .description = "built out of tree with pkg-config",
        .params = params,
        .n_params = 1,
        .setup = my_setup,
        .train = my_train,
        .teardown = my_teardown,
    };

    MLB_EXPORT const mlb_plugin *mlbench_plugin_entry(void) { return &desc; }
""")


class OutOfTree(unittest.TestCase):
    def test_install_and_build_plugin_with_pkg_config(self):
        with tempfile.TemporaryDirectory() as tmp:
            dest = os.path.join(tmp, "dest")
            subprocess.run(["meson", "install", "-C", BUILD_ROOT, "--destdir", dest,
                            "--no-rebuild", "--quiet"], check=True, capture_output=True)
            pcs = glob.glob(os.path.join(dest, "**", "mlbench.pc"), recursive=True)
            self.assertEqual(len(pcs), 1, pcs)
            engines = glob.glob(os.path.join(dest, "**", "bin", "mlbench-engine"), recursive=True)
            self.assertEqual(len(engines), 1)
            libdir = os.path.dirname(os.path.dirname(pcs[0]))
            env = dict(ENV, PKG_CONFIG_PATH=os.path.dirname(pcs[0]),
                       PKG_CONFIG_SYSROOT_DIR=dest)
            flags = subprocess.run(["pkg-config", "--cflags", "--libs", "mlbench"], env=env,
                                   check=True, capture_output=True, text=True).stdout.split()
            src_dir = os.path.join(tmp, "src")
            os.mkdir(src_dir)
            with open(os.path.join(src_dir, "my.c"), "w") as f:
                f.write(PLUGIN_C)
            subprocess.run(["cc", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "my.c"]
                           + flags + ["-o", "my.so"], cwd=src_dir, env=env, check=True)
            run_env = dict(ENV, LD_LIBRARY_PATH=libdir)
            run_env.pop("MLBENCH_PLUGIN_PATH", None)
            p = subprocess.run([engines[0], "--list"], env=run_env, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stdout, r"gemm\s+openblas")   # bundled, found from the prefix
            out = os.path.join(tmp, "r.json")
            p = subprocess.run([engines[0], "--plugin-dir", src_dir, "--plugin", "thirdparty",
                                "--repetitions", "2", "--param", "steps=5000", "--output", out],
                               env=run_env, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            import json
            with open(out) as f:
                doc = json.load(f)
            run = doc["runs"][0]
            self.assertEqual((run["task"], run["variant"], run["status"]),
                             ("thirdparty", "c", "ok"))
            self.assertAlmostEqual(run["repetitions"][0]["metrics"]["harmonic"]["value"],
                                   sum(1.0 / i for i in range(1, 5001)), places=9)


if __name__ == "__main__":
    main()
