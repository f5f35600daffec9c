#!/usr/bin/env bash
# Installs the Debian programs the tests run to write real audio with tools independent
# of our own reader. Idempotent: only the packages of missing commands are installed,
# and nothing at all (not even `apt-get update`) when every command is present.
#
#   scripts/install-audio-tools.sh             install the packages of missing commands
#   scripts/install-audio-tools.sh --dry-run   print those packages, one a line; install nothing
#
# PROGRAMS declares command=package, one pair a line: every program a test or a bench
# runs must be declared by some scripts/install-*.sh this way, or come from the
# Makefile's venvs, or be a prerequisite (tests/packaging/test_external_programs.py).
set -euo pipefail

PROGRAMS=(
  ffmpeg=ffmpeg
  lame=lame
  flac=flac
  metaflac=flac
  vorbiscomment=vorbis-tools
  kid3-cli=kid3-cli
  exempi=exempi
  exiftool=libimage-exiftool-perl
)

missing=()
for pair in "${PROGRAMS[@]}"; do
  command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)

if [ "${1:-}" = "--dry-run" ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "$0: apt-get not found; install these Debian packages: ${packages[*]}" >&2
  exit 1
fi
echo "installing audio tools: ${packages[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

for pair in "${PROGRAMS[@]}"; do
  if ! command -v "${pair%%=*}" >/dev/null 2>&1; then
    echo "$0: ${pair%%=*} is still missing after installing ${pair#*=}" >&2
    exit 1
  fi
done
