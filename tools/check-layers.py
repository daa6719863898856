#!/usr/bin/env python3
"""Fails when an #include between folders of launcher/src breaks the layering of ARCHITECTURE.md.

Each folder of launcher/src is a module. A module may include its own headers, the contract
(launcher_contract/) and the modules below it in LAYERS; the pure modules never include an effect
module; no two folders may include each other, even through others (a cycle); and one command
never includes another.
Usage: tools/check-layers.py [SOURCE_ROOT]   (default: launcher/src next to this script's folder)
"""
import pathlib
import re
import sys

# Lowest first. A module may include only modules of its own layer or a lower one.
LAYERS = [
    ("base", {"core"}),
    ("pure", {"profile", "matrix", "host", "plan", "render", "export", "build"}),
    ("effects", {"process", "docker", "engine", "facts", "secrets", "pin", "gpu", "doctor", "probe", "lifecycle", "slurm"}),
    ("commands", {"commands"}),
    ("front door", {"cli"}),
]
# Pure modules decide; they never run a process, touch Docker, the network or secrets' crypto.
PURE = set().union(*(modules for name, modules in LAYERS[:2]))
INCLUDE = re.compile(r'^\s*#\s*include\s*"([a-z_]+)/[^"]+"', re.MULTILINE)
COMMAND_INCLUDE = re.compile(r'^\s*#\s*include\s*"commands/([a-z_]+)\.hpp"', re.MULTILINE)
# What every command may share; a command's own header is the other thing it includes. What two
# commands both need goes to a module below them, so that commands never depend on each other.
COMMAND_SHARED = {"context", "profile_request", "lifecycle", "slurm"}


def layer_of(module):
    for index, (_, modules) in enumerate(LAYERS):
        if module in modules:
            return index
    return None


def edges_of(root):
    edges = {}
    for path in sorted(root.rglob("*")):
        if path.suffix not in {".cpp", ".hpp", ".in"} or path.parent == root:
            continue
        module = path.relative_to(root).parts[0]
        for target in INCLUDE.findall(path.read_text(encoding="utf-8", errors="replace")):
            if target != module and target != "launcher_contract":
                edges.setdefault((module, target), []).append(path.relative_to(root))
    return edges


def find_cycle(graph):
    """One cycle of folders as a list, or None."""
    state = {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, stack)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def main():
    root = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent / "launcher/src"
    edges = edges_of(root)
    problems = []
    modules = {path.name for path in root.iterdir() if path.is_dir()}
    for module in sorted(modules):
        if layer_of(module) is None:
            problems.append(f"{module}/: a folder of no layer: add it to LAYERS in {pathlib.Path(__file__).name} and to ARCHITECTURE.md")
    for (source, target), files in sorted(edges.items()):
        low, high = layer_of(target), layer_of(source)
        if low is None or high is None:
            continue
        where = ", ".join(str(file) for file in files)
        if source in PURE and target not in PURE:
            problems.append(f"{source} -> {target}: the pure module {source} includes the effect module {target} ({where})")
        elif low > high:
            problems.append(f"{source} -> {target}: {LAYERS[high][0]} includes {LAYERS[low][0]} ({where})")
    for path in sorted((root / "commands").glob("*.*")):
        for header in COMMAND_INCLUDE.findall(path.read_text(encoding="utf-8", errors="replace")):
            if header != path.stem and header not in COMMAND_SHARED:
                problems.append(f"commands/{path.name} includes another command, commands/{header}.hpp: move what both need below commands")
    graph = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
    cycle = find_cycle(graph)
    if cycle:
        steps = [f"{a} -> {b} ({edges[(a, b)][0]})" for a, b in zip(cycle, cycle[1:])]
        problems.append("a cycle between folders: " + ", ".join(steps))
    for problem in problems:
        print(f"check-layers: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
