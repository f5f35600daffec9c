#!/usr/bin/env bash
# Installs the Debian encoders/taggers the tests use to write real audio with
# tools independent of our own reader. No-op when they are all present.
set -euo pipefail
tools=(ffmpeg lame flac kid3-cli exempi vorbiscomment)
missing=()
for t in "${tools[@]}"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing audio tools (missing: ${missing[*]})" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends ffmpeg lame flac kid3-cli exempi vorbis-tools >/dev/null
