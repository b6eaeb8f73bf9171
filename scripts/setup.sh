#!/usr/bin/env bash
# Installs the Debian packages HoloHisto builds and links against, when any is
# missing. Runs `apt-get update` once, and only when something must be
# installed, so a machine that already has everything pays nothing.
set -euo pipefail

packages=(
  pkg-config
  libopenslide-dev
  libtiff-dev
  libturbojpeg0-dev
  libjpeg62-turbo-dev
  libpng-dev
  zlib1g-dev
  libopenblas-dev
  libdnnl-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
