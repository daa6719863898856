#!/usr/bin/env python3
"""Prints the compatibility table of images/matrix.json as Markdown, for the README."""
import json
import pathlib

matrix = json.loads((pathlib.Path(__file__).resolve().parent.parent / "images" / "matrix.json").read_text())
print("| torch | CUDA | min. Linux driver | cuDNN | NCCL | GPU archs (+PTX) | python | base | unverified |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for row in matrix["rows"]:
    archs = " ".join(a.replace("sm_", "") for a in row["cuda_archs"]) or "-"
    if row["ptx"]:
        archs += " +PTX " + " ".join(p.replace("compute_", "") for p in row["ptx"])
    cells = [row["torch"], row["cuda"] or "cpu", row["min_driver"] or "-", row["cudnn"] or "-", row["nccl"] or "-",
             archs, row["python"], row["base_image"], ", ".join(row.get("unverified", [])) or "-"]
    print("| " + " | ".join(str(cell) for cell in cells) + " |")
