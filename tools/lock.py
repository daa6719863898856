#!/usr/bin/env python3
"""Writes the hash-locked requirement files of images/locks/ for every matrix row that has a "lock".

pip's own resolver decides (`pip install --dry-run --ignore-installed --report`, for the row's
Python and manylinux x86_64, wheels only), so the locks are what `pip install torch==X` would
install there. Each lock names one file per package with its sha256 from PyPI's JSON: the image
build installs with `--no-index --require-hashes` from the wheel cache, never from the network.

  tools/lock.py            rewrite every lock the matrix names
  tools/lock.py --check    exit 1 when a committed lock differs from a fresh resolution

Three locks per buildable row, each resolved on top of the one before (the earlier pins are
constraints, so a shared dependency has one version in the image):
  torch-…      torch, torchvision, torchaudio and everything they pull (nvidia-*-cu12, triton)
  services-…   JupyterLab 4 on Jupyter Server 2
  devel-…      nvcc and the CUDA headers matching the CUDA runtime the torch wheels load
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
MATRIX = ROOT / "images" / "matrix.json"
# bookworm's glibc 2.36 runs manylinux_2_28 and older; pip takes an explicit --platform literally,
# so every tag the wheels use is named (newest first).
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux_2_12_x86_64", "manylinux2010_x86_64"]
PLATFORM = PLATFORMS[0]

# What each lock asks for; versions tied to the row come from the row.
SERVICES = ["jupyterlab>=4.4,<5", "jupyter-server>=2.16,<3"]


def devel_requirements(torch_lock):
    """nvcc of the very CUDA release whose runtime torch loads, plus the headers pip ships apart."""
    runtime = torch_lock["nvidia-cuda-runtime-cu12"]["version"]
    return [f"nvidia-cuda-nvcc-cu12=={runtime}", f"nvidia-cuda-cccl-cu12=={runtime}"]


def resolve(requirements, python, constraints):
    with tempfile.TemporaryDirectory() as tmp:
        report = pathlib.Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
                   "--only-binary=:all:", *(f"--platform={tag}" for tag in PLATFORMS), "--implementation", "cp",
                   "--python-version", python, "--target", str(pathlib.Path(tmp) / "target"),
                   "--report", str(report)]
        if constraints:
            constraint_file = pathlib.Path(tmp) / "constraints.txt"
            constraint_file.write_text("".join(f"{name}=={pin['version']}\n" for name, pin in constraints.items()))
            command += ["--constraint", str(constraint_file)]
        subprocess.run(command + requirements, check=True)
        resolved = {}
        for item in json.loads(report.read_text())["install"]:
            name = item["metadata"]["name"].lower().replace("_", "-")
            info = item["download_info"]
            resolved[name] = {"version": item["metadata"]["version"],
                              "sha256": info["archive_info"]["hashes"]["sha256"],
                              "file": info["url"].rsplit("/", 1)[-1]}
        return resolved


def render(title, pins, skip=()):
    lines = [f"# {title}", "# Written by tools/lock.py from pip's resolver; do not edit by hand.", ""]
    for name in sorted(pins):
        if name in skip:
            continue
        pin = pins[name]
        lines.append(f"# {pin['file']}")
        lines.append(f"{name}=={pin['version']} \\\n    --hash=sha256:{pin['sha256']}")
    return "\n".join(lines) + "\n"


def locks_for_row(row):
    """{path: text} of the three locks of one row."""
    python = row["python"]
    tag = f"cp{python.replace('.', '')}"
    locks = row["locks"]
    torch = resolve([f"torch=={row['torch']}", f"torchvision=={row['torchvision']}",
                     f"torchaudio=={row['torchaudio']}"], python, {})
    services = resolve(SERVICES, python, torch)
    both = {**torch, **services}
    devel = resolve(devel_requirements(torch), python, both)
    where = f"torch {row['torch']}, CUDA {row['cuda']}, Python {python} ({tag}), {PLATFORM}"
    return {
        locks["torch"]: render(f"torch lock: {where}", torch),
        locks["services"]: render(f"services lock (JupyterLab 4, Jupyter Server 2) on top of {locks['torch']}: {where}",
                                  services, skip=torch),
        locks["devel"]: render(f"devel lock (nvcc, CUDA headers) on top of {locks['torch']}: {where}", devel, skip=both),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed locks, write nothing")
    options = parser.parse_args()
    rows = [row for row in json.loads(MATRIX.read_text())["rows"] if "locks" in row]
    stale = []
    for row in rows:
        for path, text in locks_for_row(row).items():
            target = ROOT / path
            if options.check:
                if not target.exists() or target.read_text() != text:
                    stale.append(path)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            print(f"wrote {path}")
    if stale:
        print("stale locks (run tools/lock.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
