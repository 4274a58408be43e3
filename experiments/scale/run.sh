#!/usr/bin/env bash
# Wall time and peak memory of training at scale, and encoding throughput: the knn variant with
# and without the neighbourhood filter on ROWS synthetic clustered rows of 768 dimensions
# (experiments/scale/clustered.py), with the settings of experiments/neighbourhood.toml.
#   experiments/scale/run.sh [ROWS]        (default 100000; about 15 minutes on 2 cores)
# Writes target/scale/run-ROWS/{summary.csv,metrics.csv,config.json}, the layout of a
# `hagcn experiment` run, for `cargo xtask publish target/scale/run-ROWS scale-ROWS`.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-100000}
epochs=2      # 100,000 rows / 128 per batch = 782 steps per epoch: 1,563 steps, more than
              # the ~1,200 of the 10k-row runs
bits=32
cargo build --release -p hagcn-cli
bin=target/release/hagcn
data=target/scale/clustered-$rows
out=target/scale/run-$rows
[ -e "$data/features.npy" ] || python3 experiments/scale/clustered.py --rows "$rows" --dim 768 --out "$data"
rm -rf "$out" && mkdir -p "$out"
common=(--objective knn --filter gcn --bits $bits --epochs $epochs --batch-size 128 --hidden 768
        --lr 1e-3 --gamma 1 --knn 5 --regularization 0.1 --seed 42)
declare -A flags=(
  [gcn-knn]=""
  [gcn-knn-nbr-cp-itq]="--anchors 300 --nearest-anchors 3 --hops 3 --code-hops 5 --readout itq"
)
# /usr/bin/time -v: "Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.03", "Maximum resident set size (kbytes): 123"
seconds() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$1"; }
peak_mib() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$1"; }
echo "method,bits,k,fold,metric,at,value" > "$out/metrics.csv.tmp"
for method in gcn-knn gcn-knn-nbr-cp-itq; do
  # shellcheck disable=SC2086
  /usr/bin/time -v "$bin" train --dataset "$data" --out "$out/$method.npz" "${common[@]}" ${flags[$method]} \
    2> "$out/$method.train.log"
  /usr/bin/time -v "$bin" encode --checkpoint "$out/$method.npz" --input "$data/features.npy" \
    --out "$out/$method.codes.npy" 2> "$out/$method.encode.log"
  train_s=$(seconds "$out/$method.train.log"); encode_s=$(seconds "$out/$method.encode.log")
  {
    echo "$method,$bits,,1,train_seconds,,$train_s"
    echo "$method,$bits,,1,train_peak_mib,,$(peak_mib "$out/$method.train.log")"
    echo "$method,$bits,,1,encode_seconds,,$encode_s"
    echo "$method,$bits,,1,encode_rows_per_second,,$(awk -v n="$rows" -v s="$encode_s" 'BEGIN{printf "%.0f", n/s}')"
    echo "$method,$bits,,1,encode_peak_mib,,$(peak_mib "$out/$method.encode.log")"
  } >> "$out/metrics.csv.tmp"
  rm -f "$out/$method.codes.npy"
done
mv "$out/metrics.csv.tmp" "$out/metrics.csv"
{ echo "method,bits,k,metric,at,mean,std,folds"
  tail -n +2 "$out/metrics.csv" | awk -F, '{print $1","$2",,"$5",,"$7",,1"}'; } > "$out/summary.csv"
threads=$(nproc)
rev=$(git describe --always --dirty --abbrev=40)
cat > "$out/config.json" <<JSON
{
  "git_revision": "$rev",
  "blas": {"threads": ${OPENBLAS_NUM_THREADS:-$threads}},
  "config": {"dataset": "$data", "rows": $rows, "dim": 768, "epochs": $epochs, "bits": $bits,
             "seed": 42, "folds": 1, "validation": false},
  "command": "experiments/scale/run.sh $rows",
  "machine": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $threads cores"
}
JSON
cat "$out/summary.csv"
