#!/usr/bin/env bash
# Installs Mesa's software Vulkan driver (lavapipe) so the `webgpu` package (Dawn) finds an adapter on machines
# without a GPU; the WebGPU backend's correctness tests then run everywhere. Debian 12's own mesa-vulkan-drivers
# (22.x) is rejected by Dawn, so the driver comes from bookworm-backports (25.x). Idempotent: when a new enough
# driver is already installed it returns at once without touching apt. Debian packages only, through apt-get.
set -euo pipefail

ICD_DIR=/usr/share/vulkan/icd.d
MIN_MAJOR=23

installed_major() {
  local v
  v=$(dpkg-query -W -f='${Status} ${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  case "$v" in
    "install ok installed "*) v=${v##* }; v=${v#*:}; echo "${v%%.*}" ;;
    *) echo 0 ;;
  esac
}

have_driver() {
  [ "$(installed_major)" -ge "$MIN_MAJOR" ] && ls "$ICD_DIR"/lvp_icd*.json >/dev/null 2>&1 &&
    dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q 'install ok installed'
}

if have_driver; then exit 0; fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-lavapipe: needs root to apt-get install mesa-vulkan-drivers (the WebGPU tests need it)" >&2
  exit 1
fi

. /etc/os-release
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
  # Other releases: their own mesa-vulkan-drivers may already be new enough (trixie ships 25.x).
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq libvulkan1 mesa-vulkan-drivers >/dev/null 2>&1
  exit 0
fi

# Add bookworm-backports from the mirror this machine already uses.
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  mirror=$(grep -rhs -m1 -oE 'https?://[^ ]+/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 || true)
  [ -n "$mirror" ] || mirror=$(grep -hs -m1 -oE 'https?://[^ ]+/debian/? ' /etc/apt/sources.list | head -n1 | tr -d ' ' || true)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
  cat >/etc/apt/sources.list.d/bookworm-backports.sources <<EOF
Types: deb
URIs: ${mirror%/}
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# apt's chatter goes to a log that is shown only when a step fails.
quietly() { "$@" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }; }
quietly apt-get update -qq
quietly apt-get install -y -qq libvulkan1
quietly apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers
have_driver || { echo "install-lavapipe: mesa-vulkan-drivers >= $MIN_MAJOR did not install" >&2; exit 1; }
echo "install-lavapipe: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
