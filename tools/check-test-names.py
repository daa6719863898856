#!/usr/bin/env python3
"""Catch2 test names that CTest would run as something else.

CTest splits a test's command line at ';', and Catch reads a filter starting with '-' as an option
and a leading '~' as a negation: such a test is registered but runs nothing (or the wrong test),
silently. Usage: check-test-names.py REPOSITORY; prints each culprit with its file and line, exits 1.
"""
import pathlib
import re
import sys

NAME = re.compile(r'TEST_CASE\(\s*"((?:[^"\\]|\\.)*)"', re.S)


def culprits(repository):
    for source in sorted(repository.glob("**/*.cpp")):
        if any(part.startswith("build") or part == ".git" for part in source.relative_to(repository).parts):
            continue
        text = source.read_text(encoding="utf-8", errors="replace")
        for match in NAME.finditer(text):
            name = match.group(1)
            why = ("has ';', where CTest splits it" if ";" in name else
                   "starts with '-' or '~', which Catch reads as an option or a negation"
                   if name[:1] in "-~" else None)
            if why:
                line = text.count("\n", 0, match.start()) + 1
                yield f"{source.relative_to(repository)}:{line}: test name {name!r} {why}"


def main():
    found = list(culprits(pathlib.Path(sys.argv[1]).resolve()))
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
