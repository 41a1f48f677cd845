#!/bin/bash
# The decoding table of docs/benchmarks.md: memwall bench on stories110M-shape
# (and stories15M) synthetic weights, one summary line per run, runs of the
# configurations interleaved. make build first.
B="$(cd "$(dirname "$0")/.." && pwd)/bin/memwall"
[ -x "$B" ] || { echo "bench-table.sh: $B is missing (run make build)" >&2; exit 1; }
sum() { python3 -c '
import json,sys
r=json.load(sys.stdin)
print(sys.argv[1], "tok/s=%.1f"%r["tok_per_s"], "roof=%.2fGB/s [%.2f-%.2f]"%(r["read_bandwidth_gb_per_s"],r.get("read_bandwidth_gb_per_s_min",0),r.get("read_bandwidth_gb_per_s_max",0)), "frac=%.1f%%"%(100*r["roofline_fraction"]), "ttft_b=%s"%r.get("ttft_batched_ms"), "kv=%s"%r.get("kv_cache"), "mm=%s"%r.get("kernels",{}).get("matvec"))
' "$1"; }
for i in 1 2 3; do
  $B bench --shape stories110M -n 64 --json | sum "fp32-1t"
  $B bench --shape stories110M --format v2 -n 64 --json | sum "int8-1t"
  $B bench --shape stories110M --weights bf16 -n 64 --json | sum "bf16-1t"
  $B bench --shape stories110M --weights q4_0 -n 64 --json | sum "q4_0-1t"
done
for i in 1 2 3 4 5; do
  $B bench --shape stories110M --threads 2 -n 64 --json | sum "fp32-2t"
done
for i in 1 2 3; do
  $B bench --shape stories110M --format v2 --threads 2 -n 64 --json | sum "int8-2t"
  $B bench --shape stories15M -n 128 --json | sum "s15M-fp32"
  $B bench --shape stories15M --format v2 -n 128 --json | sum "s15M-int8"
done
for t in 1 2; do
  $B bench --shape stories110M -n 8 --prompt-tokens 64 --threads $t --json | sum "prefill-fp32-${t}t"
  $B bench --shape stories110M --format v2 -n 8 --prompt-tokens 64 --threads $t --json | sum "prefill-int8-${t}t"
done
for kv in fp32 f16; do
  $B bench --shape stories110M --context 700 -n 32 --kv $kv --json | sum "ctx700-fp32w-kv$kv"
  $B bench --shape stories110M --format v2 --context 700 -n 32 --kv $kv --json | sum "ctx700-int8w-kv$kv"
done
echo DONE
