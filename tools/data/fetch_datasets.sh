#!/usr/bin/env bash
# Re-extracts the small datasets committed under data/ from their Debian
# packages (see data/README.md), byte for byte, and checks them against
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

if [ -f data/SHA256SUMS ]; then
  (cd data && sha256sum -c --quiet SHA256SUMS)
  echo "data/: extracted, all files match SHA256SUMS"
else
  (cd data && sha256sum iris.csv wine_data.csv breast_cancer.csv digits.csv.gz \
     diabetes_data_raw.csv.gz diabetes_target.csv.gz heart_scale > SHA256SUMS)
  echo "data/: extracted, wrote SHA256SUMS"
fi
