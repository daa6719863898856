#!/usr/bin/env python3
"""Prints the compatibility table of images/matrix.json as Markdown, for docs/images.md (CTest docs.links compares)."""
import json
import pathlib

matrix = json.loads((pathlib.Path(__file__).resolve().parent.parent / "images" / "matrix.json").read_text())
print("| torch | CUDA | min. Linux driver | cuDNN | NCCL | GPU archs (+PTX) | python | base | unverified | here |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def here(row):
    """Whether this project's CI builds and tests the row, and from which wheels."""
    if row.get("built_here"):
        return "**built and tested here** (locked PyPI wheels)"
    if "wheel_index" in row:
        return "not buildable here: wheels on another index"
    return "-"


for row in matrix["rows"]:
    archs = " ".join(a.replace("sm_", "") for a in row["cuda_archs"]) or "-"
    if row["ptx"]:
        archs += " +PTX " + " ".join(p.replace("compute_", "") for p in row["ptx"])
    cells = [row["torch"], row["cuda"] or "cpu", row["min_driver"] or "-", row["cudnn"] or "-", row["nccl"] or "-",
             archs, row["python"], row["base_image"], ", ".join(row.get("unverified", [])) or "-", here(row)]
    print("| " + " | ".join(str(cell) for cell in cells) + " |")
