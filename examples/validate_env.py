#!/usr/bin/env python3
"""The environment validation every user runs first, in Python: what PyTorch sees.

Prints the torch and CUDA versions, whether CUDA is available, the device count, the current
device with its name and compute capability, cuDNN and NCCL. Exit codes as gpu-check's:
0 a GPU is usable, 3 PyTorch sees no CUDA GPU.

    python3 validate_env.py [--json]
"""

import argparse
import json
import sys

import torch

NO_GPU_EXIT_CODE = 3


def environment():
    facts = {
        "torch": torch.__version__,
        "CUDA (torch built with)": torch.version.cuda or "none (CPU build)",
        "CUDA available": "yes" if torch.cuda.is_available() else "no",
        "CUDA device count": str(torch.cuda.device_count()),
    }
    if not torch.cuda.is_available():
        return facts
    current = torch.cuda.current_device()
    major, minor = torch.cuda.get_device_capability(current)
    facts.update({
        "current device": str(current),
        "device name": torch.cuda.get_device_name(current),
        "compute capability": f"{major}.{minor}",
        "bf16 supported": "yes" if torch.cuda.is_bf16_supported() else "no",
        "cuDNN available": "yes" if torch.backends.cudnn.is_available() else "no",
        "cuDNN version": str(torch.backends.cudnn.version()),
        "NCCL version": ".".join(str(part) for part in torch.cuda.nccl.version()),
    })
    return facts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    arguments = parser.parse_args()

    facts = environment()
    no_gpu_reason = None if torch.cuda.is_available() else (
        "torch.cuda.is_available() is False "
        + ("(this torch is a CPU build)" if torch.version.cuda is None
           else "(no driver, no GPU, or CUDA_VISIBLE_DEVICES hides them)"))
    if arguments.json:
        print(json.dumps({"environment": facts, "gpu_visible": no_gpu_reason is None,
                          "no_gpu_reason": no_gpu_reason}))
    else:
        for name, value in facts.items():
            print(f"{name}: {value}")
        if no_gpu_reason:
            print(f"validate_env: no GPU: {no_gpu_reason}")
    return NO_GPU_EXIT_CODE if no_gpu_reason else 0


if __name__ == "__main__":
    sys.exit(main())
