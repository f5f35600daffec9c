#!/usr/bin/env bash
# Installs the real music the content-identification tests and benchmark use as
# reference recordings: Debian's warzone2100-music (30 Opus tracks, two composers)
# and asc-music (3 MP3 tracks). Never committed: installed on demand, idempotent.
# Prints the directories holding the tracks, one a line.
set -euo pipefail
# PROGRAMS declares command=package for tests/packaging/test_external_programs.py:
# bench/music.py lists the tracks with dpkg-query (dpkg is Essential on Debian).
PROGRAMS=(
  dpkg-query=dpkg
)
packages=(warzone2100-music asc-music)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing music (missing: ${missing[*]})" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for p in "${packages[@]}"; do
    dpkg-query -L "$p" | grep -E '\.(opus|ogg|mp3|flac)$' | xargs -r -n1 dirname
done | sort -u
