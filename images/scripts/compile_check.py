"""torch.compile end to end: Inductor needs a C compiler and Python headers at run time."""
import sys

import torch

if not hasattr(torch, "compile"):
    print(f"torch {torch.__version__} has no torch.compile (it came in 2.0): not checked in this flavor")
    sys.exit(0)


# A small model on CPU: Inductor's generated C++ must give eager's numbers (float32, within 1e-5).
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.GELU(), torch.nn.LayerNorm(64), torch.nn.Linear(64, 8)).eval()
x = torch.randn(16, 32)
with torch.no_grad():
    eager, fused = model(x), torch.compile(model)(x)
difference = (eager - fused).abs().max().item()
if difference > 1e-5:
    sys.exit(f"torch.compile differs from eager by {difference:.3g} (more than 1e-5)")
print(f"torch.compile matches eager: largest difference {difference:.3g}")
