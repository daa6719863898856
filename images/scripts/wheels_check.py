"""Checks, inside an image of a locked row, that torch is what its lock says and its CUDA parts load
without a GPU: version and CUDA, cuDNN and NCCL answer, sm_90 is compiled in, torchvision's and
torchaudio's CPU kernels run, each CUDA library is present once, and no wheel or pip cache is left."""
import collections
import os
import pathlib
import re
import sys

LOCK = pathlib.Path("/usr/local/share/launcher/locks/torch.txt")
if not LOCK.exists():
    print("wheels_check: no torch lock (the Debian flavor): not checked")
    sys.exit(0)

import torch  # noqa: E402
import torchaudio  # noqa: E402
import torchvision  # noqa: E402

pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", LOCK.read_text(), re.M))
cuda = ".".join(pins["nvidia-cuda-runtime-cu12"].split(".")[:2])
failures = []


def expect(what, actual, wanted):
    print(f"{what}: {actual}")
    if actual != wanted:
        failures.append(f"{what} is {actual!r}, the lock means {wanted!r}")


expect("torch.__version__", torch.__version__, f"{pins['torch']}+cu{cuda.replace('.', '')}")
expect("torch.version.cuda", torch.version.cuda, cuda)
cudnn = [int(part) for part in pins["nvidia-cudnn-cu12"].split(".")[:3]]
expect("torch.backends.cudnn.version()", torch.backends.cudnn.version(), cudnn[0] * 10000 + cudnn[1] * 100 + cudnn[2])
expect("torch.cuda.nccl.version()", torch.cuda.nccl.version(), tuple(int(part) for part in pins["nvidia-nccl-cu12"].split(".")))
archs = torch._C._cuda_getArchFlags().split()
print(f"compiled archs: {' '.join(archs)}")
if "sm_90" not in archs:
    failures.append("sm_90 is not compiled in")
expect("torch.cuda.is_available() (no GPU here)", torch.cuda.is_available(), False)

boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]])
kept = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5).tolist()
expect("torchvision.ops.nms", kept, [0, 2])
mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_mels=40)(torch.randn(1, 16000))
expect("torchaudio MelSpectrogram shape", tuple(mel.shape), (1, 40, 81))

# Each CUDA library once: a second copy (from a base image, or two wheels) would be loaded by chance.
CUDA_LIBRARY = re.compile(r"^(lib(?:cudart|cublas|cublasLt|cudnn\w*|nccl|cufft\w*|curand|cusparse\w*|cusolver\w*|nvrtc|"
                          r"nvJitLink|cupti|cufile\w*|nvToolsExt)\.so(?:\.\d+)?)")
found = collections.defaultdict(list)
leftovers = []
for root, directories, files in os.walk("/", topdown=True):
    directories[:] = [d for d in directories if os.path.join(root, d) not in ("/proc", "/sys", "/dev")]
    for name in files:
        path = os.path.join(root, name)
        # Debian's python3-venv ships pip and setuptools for ensurepip there: package files, not a cache.
        if (name.endswith(".whl") and not root.startswith("/usr/share/python-wheels")) or "/.cache/pip" in path:
            leftovers.append(path)
        match = CUDA_LIBRARY.match(name)
        if match and not os.path.islink(path):
            found[match.group(1)].append(path)
for soname, paths in sorted(found.items()):
    if len(paths) > 1:
        failures.append(f"{soname} is present {len(paths)} times: {', '.join(paths)}")
print(f"CUDA libraries, each once: {len(found)} sonames")
if leftovers:
    failures.append(f"wheel or pip cache files left in the image: {', '.join(leftovers[:5])}")

if failures:
    sys.exit("wheels_check failed:\n  " + "\n  ".join(failures))
print("wheels_check passed")
