#!/usr/bin/env bash
# `make build`: release bootstraps for Lambda with cargo-lambda (arm64 unless
# ARCH=x86_64), each zipped as Lambda takes it, with their sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv .venv requirements-test.txt
export PATH="$PWD/.venv/bin:$PATH"

case "${ARCH:-arm64}" in
    arm64) target_flag=--arm64 ;;
    x86_64) target_flag=--x86-64 ;;
    *) echo "ARCH must be arm64 or x86_64" >&2; exit 2 ;;
esac
# The workspace's default members, the functions, as `sam build` builds
# each of them (`cargo lambda build --release --arm64 --bin <function>` at
# the root): one feature resolution, so these are the bootstraps that
# deploy, byte for byte.
rm -rf "$bin/lambda"
cargo lambda build --release --locked "$target_flag"

BIN_DIR="$bin" python - << 'PY'
import os, pathlib, zipfile
rows = []
for bootstrap in sorted(pathlib.Path(os.environ["BIN_DIR"], "lambda").glob("*/bootstrap")):
    archive = bootstrap.with_name("bootstrap.zip")
    # Deflate at zlib's default level, as `sam deploy` zips what it uploads
    # (samcli/lib/package/utils.py): the size that deploys.
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(bootstrap, "bootstrap")
    rows.append((bootstrap.parent.name, bootstrap.stat().st_size, archive.stat().st_size))
print(f"{'function':<16} {'bootstrap':>12} {'zip':>12}")
for name, size, zipped in rows:
    print(f"{name:<16} {size / 2**20:>9.2f} MiB {zipped / 2**20:>9.2f} MiB")
PY
