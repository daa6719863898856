#!/usr/bin/env python3
"""Fails when the documentation has a broken relative link, the README outgrows a front page, or the
compatibility table of docs/images.md is not what tools/matrix_table.py prints.

Every Markdown file of the repository is read (build folders, .git and fuzz corpora left out); each
relative link [text](path#anchor) outside code must name a file that exists and, for a Markdown file,
a heading that GitHub gives that anchor.
Usage: tools/check-docs.py [REPOSITORY]   (default: the folder above this script's)
"""
import pathlib
import re
import subprocess
import sys

README_LIMIT = 200
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
SKIPPED_PARTS = {".git", "corpus", "node_modules"}


def markdown_files(repository):
    for path in sorted(repository.rglob("*.md")):
        parts = path.relative_to(repository).parts
        if any(part in SKIPPED_PARTS or part.startswith("build") for part in parts[:-1]):
            continue
        yield path


def prose_lines(text):
    """The lines outside fenced code blocks, with inline code blanked, numbered from 1."""
    in_fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            yield number, INLINE_CODE.sub("", line)


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors_of(path):
    """The anchors of a Markdown file's headings (outside code blocks), numbered as GitHub numbers repeats."""
    seen = {}
    anchors = set()
    in_fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        anchors.add(base if count == 0 else f"{base}-{count}")
    return anchors


def broken_links(path, repository):
    problems = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        for match in LINK.finditer(line):
            target = match.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, mailto: ...
                continue
            file_part, _, anchor = target.partition("#")
            destination = (path.parent / file_part).resolve() if file_part else path
            where = f"{path.relative_to(repository)}:{number}"
            if not destination.exists():
                problems.append(f"{where}: {target}: no such file")
            elif anchor and destination.suffix == ".md" and anchor not in anchors_of(destination):
                problems.append(f"{where}: {target}: {destination.relative_to(repository)} has no heading with anchor #{anchor}")
    return problems


def main():
    repository = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent).resolve()
    problems = []
    for path in markdown_files(repository):
        problems += broken_links(path, repository)
    readme_lines = len((repository / "README.md").read_text(encoding="utf-8").splitlines())
    if readme_lines > README_LIMIT:
        problems.append(f"README.md: {readme_lines} lines, more than the {README_LIMIT} of a front page: move detail to docs/")
    table = subprocess.run([sys.executable, str(repository / "tools" / "matrix_table.py")], check=True,
                           capture_output=True, text=True).stdout
    if table not in (repository / "docs" / "images.md").read_text(encoding="utf-8"):
        problems.append("docs/images.md: the compatibility table differs from what tools/matrix_table.py prints: paste its output")
    for problem in problems:
        print(f"check-docs: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
