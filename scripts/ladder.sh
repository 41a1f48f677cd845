#!/usr/bin/env bash
# The kernel ladder on stories110M-shape synthetic weights (written to the
# user's cache on first use), as one markdown table with the machine and
# the command.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shape="${SHAPE:-stories110M}"
exec "$root/bin/memwall" bench --shape "$shape" --ladder -n "${TOKENS:-64}" --warmup 8 --prompt-tokens 64
