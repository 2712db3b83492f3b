#!/usr/bin/env bash
# The GPU check (issue 15, item 6): one prepared run, under 8 minutes on one GPU, of
#   1. the CUDA tests: tests/nn/test_cuda.py, tests/learners/test_cuda_learners.py and the other
#      tests named "cuda" (MLP SGD, Hessian-Free and CNN training, prediction, features, learners,
#      checkpoints across devices, one-line refusals), with a JUnit XML and a log;
#   2. the training, Hessian-Free and CNN benchmarks on the device (benchmarks/bench_train.py,
#      bench_hf.py --section, bench_cnn.py with --device), each under `timeout`;
# and writes everything under $OUT: env.txt (nvidia-smi, torch, CUDA), pytest.xml/.log,
# bench/*.json + *.md, logs/*.log and summary.md.
#
#   OUT=/tmp/out bash benchmarks/device_check.sh            # on a machine with a GPU
#   OUT=/tmp/out DEVICE=cpu QUICK=1 bash benchmarks/device_check.sh   # its own check, no GPU, ~1 min
#
# Settings (environment): OUT (default benchmarks/results/device), DEVICE (cuda, cuda:N or cpu;
# cpu runs the CUDA tests' code on the CPU, MIRLEARN_CUDA_TESTS=cpu, and the benchmarks' device
# sections on the CPU), QUICK=1 (tiny benchmark sizes), BUDGET_S (whole run, default 420 s: each
# step's timeout is cut to what is left), PYTHON (the interpreter; else the first of .venv/bin/python,
# python3, python that imports torch, preferring one that sees CUDA).
#
# Needs no network: it uses an interpreter that already has torch (and numpy, scipy, scikit-learn,
# pytest); it runs the repository's code with PYTHONPATH=src, and tries `pip install --no-deps -e .`
# only when mirlearn is not importable that way (a failure there is recorded, not fatal).
# It only reads the GPU's state (nvidia-smi queries): it never resets or reconfigures the GPU.
# Exit status: 0 when every step passed, 1 when one failed or timed out, 2 when no usable
# interpreter or device was found.
set -euo pipefail

OUT="${OUT:-benchmarks/results/device}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
DEVICE="${DEVICE:-cuda}"
QUICK="${QUICK:-0}"
BUDGET_S="${BUDGET_S:-420}"
START=$(date +%s)
DEADLINE=$((START + BUDGET_S))
mkdir -p "$OUT/logs" "$OUT/bench"
STEPS="$OUT/logs/steps.tsv"
: > "$STEPS"
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONUNBUFFERED=1

# The CUDA tests that run everywhere else skip; these files hold them (-k cuda selects them).
TEST_FILES=(
    tests/nn/test_cuda.py
    tests/learners/test_cuda_learners.py
    tests/nn/pretrain/test_pretrain_cuda.py
    tests/nn/test_cuda_rnn.py
    tests/nn/test_batch_augment.py
    tests/nn/test_fastmath.py
    tests/nn/train/test_loop_log.py
    tests/nn/train/test_patches_runner.py
    tests/cli/test_checks.py
)

log() { printf '[device_check %3ds] %s\n' "$(($(date +%s) - START))" "$*" | tee -a "$OUT/logs/device_check.log" >&2; }

case "$DEVICE" in
    cpu) CPU_MODE=1 ;;
    cuda|cuda:[0-9]*) CPU_MODE=0 ;;
    *) log "DEVICE=$DEVICE: use cuda, cuda:N or cpu"; exit 2 ;;
esac

# -- the interpreter ------------------------------------------------------------------------------
has_torch() { "$1" -c 'import torch' >/dev/null 2>&1; }
sees_cuda() { "$1" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; }

PY=""
fallback=""
for c in ${PYTHON:-} .venv/bin/python python3 python; do
    if [ -x "$c" ] || command -v "$c" >/dev/null 2>&1; then
        has_torch "$c" || continue
        if [ "$CPU_MODE" = 1 ] || sees_cuda "$c"; then PY="$c"; break; fi
        [ -n "$fallback" ] || fallback="$c"
    fi
done
[ -n "$PY" ] || PY="$fallback"

write_summary_header() {
    {
        echo "# GPU check: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo
        echo "\`OUT=... DEVICE=$DEVICE QUICK=$QUICK bash benchmarks/device_check.sh\` (budget ${BUDGET_S} s)"
        echo
    } > "$OUT/summary.md"
}

if [ -z "$PY" ]; then
    write_summary_header
    echo "**Not run:** no Python here imports torch (tried: ${PYTHON:-} .venv/bin/python python3 python)." >> "$OUT/summary.md"
    log "no Python with torch found"
    exit 2
fi
case "$PY" in
    /*) ;;
    */*) PY="$ROOT/$PY" ;;                  # a relative path (.venv/bin/python): not resolved, a venv's link must stay
    *) PY="$(command -v "$PY")" ;;
esac
log "python: $PY"

# -- the machine ----------------------------------------------------------------------------------
{
    echo "## date"; date -u
    echo; echo "## host"; uname -a; nproc 2>/dev/null || true
    grep -m1 'model name' /proc/cpuinfo 2>/dev/null || true
    grep -m1 MemTotal /proc/meminfo 2>/dev/null || true
    echo; echo "## commit"
    git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo "(no git here)"
    echo; echo "## nvidia-smi (queries only)"
    if command -v nvidia-smi >/dev/null 2>&1; then
        timeout 30 nvidia-smi || true
        timeout 30 nvidia-smi --query-gpu=index,name,driver_version,memory.total,memory.used,utilization.gpu,temperature.gpu,power.draw,clocks.sm,clocks.max.sm,mig.mode.current --format=csv || true
    else
        echo "(nvidia-smi not found)"
    fi
    echo; echo "## python, torch, CUDA"
    timeout 120 "$PY" - <<'EOF' || echo "(the torch probe failed)"
import platform, sys
import torch
print("python", sys.version.split()[0], sys.executable, platform.platform())
print("torch", torch.__version__, "| built with CUDA", torch.version.cuda, "| cuDNN", torch.backends.cudnn.version())
print("cuda available", torch.cuda.is_available(), "| devices", torch.cuda.device_count() if torch.cuda.is_available() else 0)
for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
    p = torch.cuda.get_device_properties(i)
    print(f"  cuda:{i} {p.name}, {p.total_memory / 2**30:.1f} GiB, capability {p.major}.{p.minor}, {p.multi_processor_count} SMs")
conv = getattr(getattr(torch.backends.cudnn, "conv", None), "fp32_precision", "?")
print("float32 precision: cuda matmul", repr(torch.backends.cuda.matmul.fp32_precision), "| cudnn conv", repr(conv))
for mod in ("numpy", "scipy", "sklearn", "soundfile", "soxr", "tqdm", "matplotlib", "av", "pytest"):
    try:
        print(mod, __import__(mod).__version__)
    except Exception as exc:  # noqa: BLE001
        print(mod, "missing:", exc)
EOF
} > "$OUT/env.txt" 2>&1
log "environment written to env.txt"

if [ "$CPU_MODE" = 0 ] && ! sees_cuda "$PY"; then
    write_summary_header
    {
        echo "**Not run:** DEVICE=$DEVICE but torch in $PY sees no CUDA device (see env.txt)."
        echo "Use DEVICE=cpu QUICK=1 to check this script without a GPU."
    } >> "$OUT/summary.md"
    log "no CUDA device visible to $PY"
    exit 2
fi

# -- mirlearn importable? ------------------------------------------------------------------------
if ! "$PY" -c 'import mirlearn' > "$OUT/logs/import.log" 2>&1; then
    log "mirlearn not importable with PYTHONPATH=src; trying pip install --no-deps -e . (offline)"
    if timeout 120 "$PY" -m pip install --no-deps --no-build-isolation --no-input -e "$ROOT" \
            > "$OUT/logs/pip.log" 2>&1; then
        log "pip install done"
    else
        log "pip install failed (logs/pip.log); going on with PYTHONPATH=src"
    fi
    "$PY" -c 'import mirlearn' >> "$OUT/logs/import.log" 2>&1 || log "mirlearn still not importable: see logs/import.log"
fi

# -- steps ----------------------------------------------------------------------------------------
# step NAME CAP_SECONDS LOGFILE COMMAND...: run under timeout (the cap, cut to the budget left),
# record "name<TAB>status<TAB>seconds<TAB>log" in steps.tsv.
FAILED=0
step() {
    local name="$1" cap="$2" logfile="$3"
    shift 3
    local now left limit t0 rc status
    now=$(date +%s)
    left=$((DEADLINE - now))
    if [ "$left" -lt 20 ]; then
        printf '%s\tnot run (budget spent)\t0\t-\n' "$name" >> "$STEPS"
        log "$name: not run, ${left} s of the budget left"
        FAILED=1
        return 0
    fi
    limit=$((cap < left ? cap : left))
    log "$name: up to ${limit} s -> $logfile"
    t0=$(date +%s)
    if timeout -k 10 "$limit" "$@" > "$OUT/$logfile" 2>&1; then rc=0; else rc=$?; fi
    case "$rc" in
        0) status="passed" ;;
        124|137) status="timed out after ${limit} s"; FAILED=1 ;;
        *) status="failed (exit $rc)"; FAILED=1 ;;
    esac
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$(($(date +%s) - t0))" "$logfile" >> "$STEPS"
    log "$name: $status"
}

if [ "$CPU_MODE" = 1 ]; then
    export MIRLEARN_CUDA_TESTS=cpu
    DEV_FLAGS=(--device cpu --device-section)
else
    unset MIRLEARN_CUDA_TESTS || true
    DEV_FLAGS=(--device "$DEVICE")
fi
if [ "$QUICK" = 1 ]; then
    TRAIN_ARGS=(--frames 2048 --repeats 1)
    HF_ARGS=(--rows 2000 --reps 1 --threads 1)
    CNN_ARGS=(--quick --repeats 1 --tracks 8 --frames 200 --models mirex2015)
else
    TRAIN_ARGS=(--frames 32768 --repeats 5)
    HF_ARGS=(--rows 50000 --reps 3)
    CNN_ARGS=(--repeats 3)
fi

# 1. the CUDA tests
if "$PY" -c 'import pytest' >/dev/null 2>&1; then
    step "CUDA tests (pytest)" 150 pytest.log \
        "$PY" -m pytest -p no:cacheprovider -q -rfExXs --durations=10 -k cuda --continue-on-collection-errors \
        --junitxml="$OUT/pytest.xml" "${TEST_FILES[@]}"
else
    printf '%s\t%s\t0\t-\n' "CUDA tests (pytest)" "not run (pytest not importable)" >> "$STEPS"
    FAILED=1
fi

# 2. the benchmarks on the device (python -m from the repository root: the benchmarks package)
step "bench_train (MLP SGD)" 75 logs/bench_train.log \
    "$PY" -m benchmarks.bench_train "${DEV_FLAGS[@]}" "${TRAIN_ARGS[@]}" --out "$OUT/bench"
step "bench_hf --section (Hessian-Free)" 90 logs/bench_hf.log \
    "$PY" -m benchmarks.bench_hf --section "${DEV_FLAGS[@]}" "${HF_ARGS[@]}" --out "$OUT/bench"
step "bench_cnn (CNN patches)" 90 logs/bench_cnn.log \
    "$PY" -m benchmarks.bench_cnn "${DEV_FLAGS[@]}" "${CNN_ARGS[@]}" --out "$OUT/bench"

# -- summary.md -----------------------------------------------------------------------------------
write_summary_header
if ! "$PY" - "$OUT" "$DEVICE" >> "$OUT/summary.md" 2>> "$OUT/logs/device_check.log" <<'EOF'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

out, device = Path(sys.argv[1]), sys.argv[2]
env = (out / "env.txt").read_text(errors="replace").splitlines()
print("Machine: " + "; ".join(ln.strip() for ln in env if ln.startswith(("torch ", "cuda available", "  cuda:",
                                                                         "float32 precision"))))
print()
print("| step | status | seconds | log |")
print("|---|---|---|---|")
for line in (out / "logs" / "steps.tsv").read_text().splitlines():
    name, status, seconds, log = line.split("\t")
    print(f"| {name} | {status} | {seconds} | {log} |")
print()
junit = out / "pytest.xml"
if junit.is_file():
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    counts: dict[str, int] = {}
    notes = []
    for c in cases:
        kind = "passed"
        for tag in ("failure", "error", "skipped"):
            el = c.find(tag)
            if el is not None:
                kind = tag
                msg = (el.get("message") or "").strip().splitlines()
                if tag == "skipped" and (el.get("type") or "") == "pytest.xfail":
                    kind = "xfailed"
                if kind != "skipped":
                    notes.append(f"- {kind}: `{c.get('classname')}::{c.get('name')}` — {(msg or [''])[0][:300]}")
                break
        counts[kind] = counts.get(kind, 0) + 1
    print(f"CUDA tests on {device}: {len(cases)} collected — "
          + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + " (pytest.xml, pytest.log)")
    if notes:
        print()
        print("\n".join(notes))
    print()
for md in sorted((out / "bench").glob("*.md")):
    print(md.read_text().replace("## ", "### ", 1))
EOF
then
    echo "(the summary could not be assembled: see logs/device_check.log)" >> "$OUT/summary.md"
fi
log "summary: $OUT/summary.md (total $(($(date +%s) - START)) s)"
sed '/^### /,$d' "$OUT/summary.md" >&2       # the steps and the tests; the tables stay in the file
exit "$FAILED"
