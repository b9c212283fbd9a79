#!/usr/bin/env bash
# The measurements the open GPU items of issues 4, 6 and 8 need, in one place, for whoever has a CUDA GPU:
#
#   make gpu-checks                          # every stage but the 100-epoch run, about 15 minutes on an H100
#   bench/gpu_checks.sh epoch vgg11          # named stages only
#
# Stages (benchmarks write their run files under bench/results/, recipe runs their results.json under RUNS;
# `python -m bench render` then puts the run files into bench/RESULTS.md):
#   tests     the GPU tests (`pytest -m gpu`): Triton neuron and fake-quant kernels on the device
#   neurons   `python -m bench neuron_speed`: issue 4's LIF fwd+bwd (2x SpikingJelly in fp32/bf16) and conv step
#   qat       `python -m bench qat_step`: issue 8's QAT VGG-11 step, kernels per step and milliseconds
#   epoch     BENCHMARKS.md's plain-script anchor (`python -m bench cifar10_anchor`), then 3 epochs of
#             recipes/nimbekar2024/cifar10_vgg11_t8 with COMPILE (default true): the ratio of the two epoch times
#             (issue 8: at most 1.5x; the anchor took 2.2 s on an H100) and whether the recipe learns
#   vgg11     the whole 100-epoch recipe with COMPILE (issue 8: quantized VGG-11 above 90.0 %)
#   activity  `python -m bench s1_activity` for the VGG, SNNQ_S1_VGG_EPOCHS (default 30) epochs on the GPU: S1's VGG's
#             activity for conf/hardware/zou2021_chip.yaml (issue 15 stored a 4-epoch CPU run)
#   ddp       issue 17's NCCL path: zou2021/mnist_lenet for one epoch on trainer=gpu_ddp (every GPU of the machine,
#             one process each, SyncBatchNorm): results.json must say how many processes trained it and that the
#             quantizer state was identical on every rank
#
# Environment: CIFAR10 (the CIFAR-10 folder, default ../shared/data/cifar10), MNIST (default ../shared/data/mnist), RUNS (where run directories go,
# default runs/gpu), COMPILE (false | true | reduce-overhead | max-autotune), PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
CIFAR10=${CIFAR10:-../shared/data/cifar10}
MNIST=${MNIST:-../shared/data/mnist}
RUNS=${RUNS:-runs/gpu}
COMPILE=${COMPILE:-true}
STAGES=("$@")
[ ${#STAGES[@]} -gt 0 ] || STAGES=(tests neurons qat epoch activity ddp)

"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_checks: no CUDA device visible to torch')"
"$PYTHON" -c "import torch; print('device:', torch.cuda.get_device_name(), '| torch', torch.__version__)"

train_vgg11() {  # $1: run directory name, then overrides
  local name=$1
  shift
  "$PYTHON" -m snnq train recipe=nimbekar2024/cifar10_vgg11_t8 trainer=gpu compile="$COMPILE" \
    data.data_dir="$CIFAR10" hydra.run.dir="$RUNS/$name" "$@"
  "$PYTHON" - "$RUNS/$name/results.json" <<'EOF'
import json, sys
metrics = json.load(open(sys.argv[1]))["metrics"]
print({key: metrics.get(key) for key in ("quantized_accuracy", "snn_accuracy", "train_epoch_seconds", "mismatches")})
EOF
}

for stage in "${STAGES[@]}"; do
  echo "== $stage"
  case $stage in
    tests) "$PYTHON" -m pytest -q -p no:cacheprovider -m gpu tests ;;
    neurons) "$PYTHON" -m bench neuron_speed ;;
    qat) "$PYTHON" -m bench qat_step ;;
    epoch)
      mkdir -p "$RUNS"
      SNNQ_DATA=$(dirname "$CIFAR10") "$PYTHON" -m bench cifar10_anchor
      train_vgg11 "vgg11_epoch_$COMPILE" trainer.max_epochs=3 float_baseline=false
      "$PYTHON" - "$RUNS/vgg11_epoch_$COMPILE/results.json" <<'EOF'
import json, sys
from bench.cifar10_anchor import typical_epoch
from bench.record import RESULTS, load_run
run = load_run(max((RESULTS / "cifar10_anchor").glob("*.json")))  # the newest: file names start with date and time
rows = next(table["rows"] for table in run["tables"] if table["title"].startswith("epoch seconds"))
anchor = typical_epoch([seconds for _, seconds in rows])
ours = json.load(open(sys.argv[1]))["metrics"]["train_epoch_seconds"]
print(f"epoch: recipe {ours:.2f} s, plain-script anchor {anchor:.2f} s, ratio {ours / anchor:.2f} (issue 8: <= 1.5)")
EOF
      ;;
    vgg11) train_vgg11 "vgg11_$COMPILE" float_baseline=false ;;
    activity) SNNQ_S1_NETWORKS=vgg SNNQ_S1_VGG_EPOCHS=${SNNQ_S1_VGG_EPOCHS:-30} \
                SNNQ_S1_OVERRIDES="trainer=gpu data.data_dir=$(realpath "$CIFAR10")" "$PYTHON" -m bench s1_activity ;;
    ddp)
      "$PYTHON" -m snnq train recipe=zou2021/mnist_lenet trainer=gpu_ddp trainer.max_epochs=1 data.data_dir="$MNIST" \
        hydra.run.dir="$RUNS/ddp_nccl"
      "$PYTHON" -c "import json, sys; r = json.load(open(sys.argv[1])); print(r['training'], r['metrics']['logit_mismatches'])" \
        "$RUNS/ddp_nccl/results.json"
      ;;
    *) echo "gpu_checks: unknown stage '$stage'; expected tests, neurons, qat, epoch, vgg11, activity or ddp" >&2; exit 2 ;;
  esac
done
