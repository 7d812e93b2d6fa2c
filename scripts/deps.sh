#!/usr/bin/env bash
# Installs the Debian packages iris builds with, only those missing. Quick when all are there.
# Non-interactive; with no root and something missing it says which command to run instead.
set -euo pipefail

PACKAGES=(g++ make cmake libeigen3-dev libstb-dev libsentencepiece-dev sentencepiece doctest-dev zlib1g-dev
          dataset-fashion-mnist)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps: all ${#PACKAGES[@]} Debian packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO=sudo
  else
    echo "deps: missing packages and not root; run:  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/iris-apt.log 2>&1; then
  $SUDO apt-get update -qq >/tmp/iris-apt-update.log 2>&1 || true
  if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/iris-apt.log 2>&1; then
    echo "deps: apt-get could not install ${missing[*]}; see /tmp/iris-apt.log" >&2
    tail -n 5 /tmp/iris-apt.log >&2
    exit 1
  fi
fi
echo "deps: installed ${missing[*]}"
