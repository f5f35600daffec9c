#!/usr/bin/env bash
# Installs iproute2 (`ip`, `tc`), which the benchmark's shaped link needs
# (bench/shaped.py: a network namespace, veth pairs, tbf). No-op when present.
set -euo pipefail
command -v ip >/dev/null 2>&1 && command -v tc >/dev/null 2>&1 && exit 0
echo "installing iproute2 (ip, tc) for the benchmark's shaped link" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends iproute2 >/dev/null
