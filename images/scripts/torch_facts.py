"""Prints, as JSON, what the installed torch reports about itself: these become the image's labels."""
import json

import torch


def optional(read):
    try:
        return read()
    except (AttributeError, RuntimeError, TypeError):
        return None


nccl = optional(lambda: torch.cuda.nccl.version())
facts = {
    "torch": torch.__version__,
    "cuda": torch.version.cuda,
    "cudnn": optional(lambda: torch.backends.cudnn.version()) if torch.version.cuda else None,
    "nccl": ".".join(str(part) for part in nccl) if isinstance(nccl, tuple) else nccl,
    # get_arch_list() is empty without a GPU; the arch flags torch was compiled with are not.
    "cuda_archs": optional(lambda: torch._C._cuda_getArchFlags().split()) or optional(lambda: torch.cuda.get_arch_list()) or [],
}
print(json.dumps(facts))
