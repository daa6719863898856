"""torch.compile end to end: Inductor needs a C compiler and Python headers at run time."""
import sys

import torch

if not hasattr(torch, "compile"):
    print(f"torch {torch.__version__} has no torch.compile (it came in 2.0): not checked in this flavor")
    sys.exit(0)


def step(x):
    return torch.nn.functional.gelu(x @ x.T).sum()


x = torch.randn(64, 64)
compiled = torch.compile(step)
eager, fused = step(x), compiled(x)
if not torch.allclose(eager, fused, rtol=1e-4, atol=1e-4):
    sys.exit(f"torch.compile result {fused.item()} differs from eager {eager.item()}")
print(f"torch.compile works: {fused.item():.4f} == eager {eager.item():.4f}")
