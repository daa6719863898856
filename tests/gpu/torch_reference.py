#!/usr/bin/env python3
"""torch's own figures for the sizes gpu-probe measured, in the same run on the same GPU:
copy_ of gpu-probe's HBM array size, matmul at 8192^3 in BF16, FP16 and TF32, and 1 GiB
host-to-device copies from pinned and pageable memory. Median of 20 timed runs after warm-up,
CUDA events, decimal units. Prints one JSON object.

    python3 torch_reference.py gpu-probe.json
"""

import json
import statistics
import sys

import torch

TIMED_RUNS = 20
WARM_UP_RUNS = 3
GEMM_SIZE = 8192
COPY_BYTES = 1 << 30


def median_milliseconds(operation):
    for _ in range(WARM_UP_RUNS):
        operation()
    torch.cuda.synchronize()
    samples = []
    for _ in range(TIMED_RUNS):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        operation()
        stop.record()
        stop.synchronize()
        samples.append(start.elapsed_time(stop))
    return statistics.median(samples)


def hbm_array_bytes(probe_report):
    for probe in probe_report["probes"]:
        if probe["name"] == "hbm-bandwidth" and "array bytes" in probe["facts"]:
            return int(probe["facts"]["array bytes"])
    raise SystemExit("torch_reference: gpu-probe.json has no hbm-bandwidth array size")


def main():
    with open(sys.argv[1], encoding="utf-8") as file:
        array_bytes = hbm_array_bytes(json.load(file))
    device = torch.device("cuda")
    source = torch.ones(array_bytes // 8, dtype=torch.float64, device=device)
    destination = torch.empty_like(source)
    figures = {"copy_ GB/s": 2 * array_bytes / median_milliseconds(lambda: destination.copy_(source)) / 1e6}
    del source, destination

    torch.backends.cuda.matmul.allow_tf32 = True
    for label, dtype in (("BF16", torch.bfloat16), ("FP16", torch.float16), ("TF32", torch.float32)):
        a = torch.randn(GEMM_SIZE, GEMM_SIZE, device=device, dtype=dtype)
        b = torch.randn(GEMM_SIZE, GEMM_SIZE, device=device, dtype=dtype)
        milliseconds = median_milliseconds(lambda: torch.matmul(a, b))
        figures[f"matmul {label} TFLOP/s"] = 2 * GEMM_SIZE**3 / milliseconds / 1e9
        del a, b

    on_device = torch.empty(COPY_BYTES, dtype=torch.uint8, device=device)
    for label, pinned in (("pinned", True), ("pageable", False)):
        host = torch.ones(COPY_BYTES, dtype=torch.uint8).pin_memory() if pinned else torch.ones(COPY_BYTES, dtype=torch.uint8)
        milliseconds = median_milliseconds(lambda: on_device.copy_(host, non_blocking=pinned))
        figures[f"host->device {label} GB/s"] = COPY_BYTES / milliseconds / 1e6
    figures["torch"] = torch.__version__
    figures["device"] = torch.cuda.get_device_name()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
