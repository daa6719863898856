#!/usr/bin/env python3
"""The summary table of a tests/gpu/run.sh log directory: each step's exit code, every
gpu-probe and gpu-check figure with its share of the reference, and the issue's targets
against torch's figures from the same run. Prints only what the logs contain.

    python3 summarize.py LOG_DIR
"""

import json
import pathlib
import sys


def load_json(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def measurement(report, probe_name, measurement_name):
    for probe in (report or {}).get("probes", []):
        if probe["name"] == probe_name:
            for item in probe["measurements"]:
                if item["name"] == measurement_name:
                    return item
    return None


def print_rows(rows):
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print()


def main():
    log_dir = pathlib.Path(sys.argv[1])
    rows = [["STEP", "EXIT", "LOG"]]
    for line in (log_dir / "steps.tsv").read_text(encoding="utf-8").splitlines():
        name, exit_code = line.split("\t")
        rows.append([name, exit_code, f"{name}.log"])
    print_rows(rows)

    rows = [["TOOL", "PROBE", "STATUS", "ITEM", "VALUE", "% OF REF", "REFERENCE"]]
    for tool in ("gpu-probe", "gpu-check"):
        report = load_json(log_dir / f"{tool}.json")
        if report is None:
            rows.append([tool, "-", "no JSON", "", "", "", ""])
            continue
        if not report["gpu_visible"]:
            rows.append([tool, "-", "no GPU", report["no_gpu_reason"], "", "", ""])
        for probe in report["probes"]:
            rows.append([tool, probe["name"], probe["status"], probe["detail"], "", "", ""])
            for item in probe["measurements"]:
                reference = item["reference"]
                percent = item["percent_of_reference"]
                rows.append(["", "", "", item["name"], f"{item['value']:.1f} {item['unit']}",
                             f"{percent:.1f} %" if percent is not None else "",
                             f"{reference['source']} {reference['value']:g}" if reference else ""])
            for check in probe["checks"]:
                rows.append(["", "", "", f"check: {check['name']}", f"{check['observed']:.3g} <= {check['limit']:.3g}",
                             "ok" if check["passed"] else "FAILED", ""])
    print_rows(rows)

    probe = load_json(log_dir / "gpu-probe.json")
    torch_figures = load_json(log_dir / "torch-reference.json") or {}
    rows = [["TARGET", "GPU-PROBE", "TORCH (SAME RUN)", "RATIO", "MET"]]

    def within_five_percent(label, probe_name, item_name, torch_key):
        item = measurement(probe, probe_name, item_name)
        torch_value = torch_figures.get(torch_key)
        if item is None or torch_value is None:
            rows.append([label, "not measured", "not measured", "", ""])
            return
        ratio = item["value"] / torch_value
        rows.append([label, f"{item['value']:.1f} {item['unit']}", f"{torch_value:.1f}", f"{ratio * 100:.1f} %",
                     "yes" if ratio >= 0.95 else "NO"])

    within_five_percent("HBM copy within 5% of torch copy_", "hbm-bandwidth", "copy", "copy_ GB/s")
    within_five_percent("BF16 GEMM within 5% of torch.matmul", "gemm-bf16", "BF16 8192^3", "matmul BF16 TFLOP/s")
    pinned = measurement(probe, "host-device-copy", "host->device pinned")
    if pinned is None:
        rows.append(["pinned H2D >= 50 GB/s on PCIe Gen5 x16", "not measured", "", "", ""])
    else:
        link = (pinned["reference"] or {}).get("source", "link unknown")
        met = "yes" if pinned["value"] >= 50 else "NO"
        if "Gen5 x16" not in link:
            met = f"n/a ({link})"
        rows.append(["pinned H2D >= 50 GB/s on PCIe Gen5 x16", f"{pinned['value']:.1f} GB/s",
                     f"{torch_figures.get('host->device pinned GB/s', float('nan')):.1f}", "", met])
    print_rows(rows)


if __name__ == "__main__":
    main()
