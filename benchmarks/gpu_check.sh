#!/usr/bin/env bash
# The GPU path in one go (issue 17 §8): the vLLM backend on a small model, agentscaler eval through it,
# one FSDP2 stage through Ray Train, a Qwen3-4B-shaped model's training steps (tokens/s, MFU, peak
# memory) and the Qwen3-30B-A3B preset's MoE forward and backward. Random weights and the tiny model's
# tokenizer: nothing is downloaded. Each part runs in its own process (see gpu_check.py); the summary
# at the end says which passed. Stops at once, saying why, on a machine without a usable GPU.
#
#   bash benchmarks/gpu_check.sh [PART ...] [-- gpu_check.py options]
#   PART: vllm eval trainer dense moe (default: all, in that order); e.g.
#   bash benchmarks/gpu_check.sh dense moe -- --seq-len 4096 --steps 3
#
# Needs: pip install -e '.[gpu]' (vLLM, a CUDA build of torch). On one GPU, dense at --seq-len 8192 needs
# about 100 GB (fp32 weights, gradients and AdamW moments of 4e9 parameters are 64 GB): on an 80 GB
# GPU give --seq-len 2048.
set -uo pipefail

fail() { echo "gpu_check: $*" >&2; exit 2; }

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
parts=()
while [[ $# -gt 0 && $1 != "--" ]]; do parts+=("$1"); shift; done
[[ ${1:-} == "--" ]] && shift
[[ ${#parts[@]} -eq 0 ]] && parts=(vllm eval trainer dense moe)
for part in "${parts[@]}"; do
    [[ " vllm eval trainer dense moe " == *" $part "* ]] || fail "unknown part '$part' (vllm eval trainer dense moe)"
done

# Fail fast: a driver and a GPU, then a torch that sees it.
command -v nvidia-smi >/dev/null 2>&1 || fail "no GPU here: nvidia-smi not found (no NVIDIA driver). Run this on a machine with an NVIDIA GPU."
gpus=$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1) || fail "no GPU here: nvidia-smi failed: $gpus"
[[ -n $gpus ]] || fail "no GPU here: nvidia-smi lists none"
"$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null \
    || fail "torch cannot use the GPU ($("$PYTHON" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda)' 2>&1)): install a CUDA build of torch (pip install -e '.[gpu]')"
if [[ " ${parts[*]} " == *" vllm "* || " ${parts[*]} " == *" eval "* ]]; then
    "$PYTHON" -c 'import vllm' 2>/dev/null || fail "vllm is not installed: pip install -e '.[gpu]' (or run: $0 trainer dense moe)"
fi
echo "gpu_check: $gpus"

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0
log=${GPU_CHECK_LOG:-/tmp/agentscaler-gpu-check.log}
: > "$log"
declare -A status
for part in "${parts[@]}"; do
    echo "== $part" | tee -a "$log"
    started=$SECONDS
    if "$PYTHON" benchmarks/gpu_check.py "$part" "$@" 2>&1 | tee -a "$log" | grep '^{"part"'; then
        status[$part]="ok ($((SECONDS - started)) s)"
    else
        status[$part]="FAILED ($((SECONDS - started)) s; see $log)"
    fi
done
failed=0
echo "== summary"
for part in "${parts[@]}"; do
    echo "$part: ${status[$part]}"
    [[ ${status[$part]} == ok* ]] || failed=1
done
exit $failed
