#!/usr/bin/env bash
# The main job on built-in sample data: tuned compression with the trace on
# stderr and a summary on stdout. Extra arguments go to `btune demo`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
exec "$repo/target/release/btune" demo "$@"
