#!/usr/bin/env bash
# Installs iproute2 (`ip`, `tc`), which the benchmark's shaped link needs
# (bench/shaped.py: a network namespace, veth pairs, tbf). No-op when present.
#
# PROGRAMS declares command=package (tests/packaging/test_external_programs.py
# holds every program a test or a bench runs to such a declaration).
set -euo pipefail

PROGRAMS=(
  ip=iproute2
  tc=iproute2
)

missing=()
for pair in "${PROGRAMS[@]}"; do
  command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing iproute2 (ip, tc) for the benchmark's shaped link" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends iproute2 >/dev/null
