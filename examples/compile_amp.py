#!/usr/bin/env python3
"""torch.compile with autocast: eager vs compiled training-step time.

Runs the same MLP training step eagerly and through torch.compile under autocast (BF16 where
the device supports it), checks that both give the same loss within a stated tolerance before
timing, and prints the median step time of each. Needs PyTorch 2.0 or newer (torch.compile);
exits 3 on an older torch.

    python3 compile_amp.py [--steps 50]
"""

import argparse
import copy
import statistics
import sys
import time

import torch
from torch import nn

UNSUPPORTED_EXIT_CODE = 3
# BF16 keeps 8 significant bits; the compiled graph may fuse and reorder, so losses agree to
# about 1 %, not bit for bit.
LOSS_RELATIVE_TOLERANCE = 2e-2


def make_model(device):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(1024, 4096), nn.GELU(), nn.Linear(4096, 1024)).to(device)


def step_function(model, optimizer, device, dtype):
    def step(inputs, targets):
        with torch.autocast(device_type=device.type, dtype=dtype):
            loss = nn.functional.mse_loss(model(inputs).float(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss
    return step


def median_step_milliseconds(step, inputs, targets, device, steps):
    for _ in range(3):  # warm-up: for the compiled step this includes compilation
        step(inputs, targets)
    samples = []
    for _ in range(steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step(inputs, targets)
        if device.type == "cuda":
            torch.cuda.synchronize()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    arguments = parser.parse_args()
    if not hasattr(torch, "compile"):
        print(f"compile_amp: torch.compile needs PyTorch 2.0 or newer; this is torch {torch.__version__}")
        return UNSUPPORTED_EXIT_CODE

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cpu" or torch.cuda.is_bf16_supported() else torch.float16
    torch.manual_seed(1)
    inputs = torch.randn(256, 1024, device=device)
    targets = torch.randn(256, 1024, device=device)

    eager_model = make_model(device)
    compiled_model = copy.deepcopy(eager_model)
    eager_step = step_function(eager_model, torch.optim.SGD(eager_model.parameters(), lr=1e-3), device, dtype)
    compiled_step = torch.compile(
        step_function(compiled_model, torch.optim.SGD(compiled_model.parameters(), lr=1e-3), device, dtype))

    eager_loss = eager_step(inputs, targets).item()
    compiled_loss = compiled_step(inputs, targets).item()
    relative_difference = abs(compiled_loss - eager_loss) / abs(eager_loss)
    print(f"first-step loss eager {eager_loss:.6f} compiled {compiled_loss:.6f} "
          f"(relative difference {relative_difference:.2e}, bound {LOSS_RELATIVE_TOLERANCE:.0e})")
    if relative_difference > LOSS_RELATIVE_TOLERANCE:
        print("compile_amp: compiled and eager losses disagree")
        return 1

    eager_ms = median_step_milliseconds(eager_step, inputs, targets, device, arguments.steps)
    compiled_ms = median_step_milliseconds(compiled_step, inputs, targets, device, arguments.steps)
    print(f"device {device}, autocast {str(dtype).removeprefix('torch.')}, median of {arguments.steps} steps")
    print(f"eager {eager_ms:.3f} ms/step, compiled {compiled_ms:.3f} ms/step, speedup {eager_ms / compiled_ms:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
