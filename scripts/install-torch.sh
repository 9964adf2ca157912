#!/usr/bin/env bash
# Installs PyTorch for the bench's anchor column (scripts/torch-training.py): Debian's python3-torch, and
# libopenblas0-pthread, without which Debian's torch falls back to the reference BLAS and runs far slower.
# Optional: CI does not need it; `npm run bench` says "torch not available" without it. Debian packages only.
set -euo pipefail

if /usr/bin/python3 -c 'import torch' 2>/dev/null && dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q 'install ok installed'; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-torch: needs root to apt-get install python3-torch libopenblas0-pthread" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3-torch libopenblas0-pthread
/usr/bin/python3 -c 'import torch; print("install-torch: torch", torch.__version__)'
