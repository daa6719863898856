#!/usr/bin/env python3
"""Fills the host's content-addressed wheel cache from hash-locked requirement files, then links
each lock's wheels into a wheelhouse folder of the build context for an offline image build.

  tools/wheel-cache.py --cache DIR --wheelhouse CONTEXT/.wheelhouse --python 3.11 torch=LOCK services=LOCK ...

The cache (default ${XDG_CACHE_HOME:-~/.cache}/launcher/wheels) holds sha256/<hex>/<wheel file>:
a file is filed under its own hash, so one cache serves every lock and every host it is copied to
(an air-gapped host builds from a copied folder). Only entries missing from it are downloaded, by
one `pip download --no-deps --require-hashes` into a .partial-<pid>/ folder of the cache; each
finished file is hashed and renamed into place, so a killed download leaves no half file where a
build looks (the next run removes the partial folder of a process that is gone). A cached file
whose content no longer has its hash is refused, naming the package and both hashes.
"""
import argparse
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

# Wheels for the image's Python on x86_64 Linux; pip takes an explicit --platform literally.
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux_2_12_x86_64", "manylinux2010_x86_64"]
ENTRY = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)", re.M)


class Failure(Exception):
    pass


def parse_lock(path):
    text = path.read_text().replace("\\\n", " ")
    entries = []
    for match in ENTRY.finditer(text):
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", match.group(3))
        entries.append({"name": match.group(1), "version": match.group(2), "hashes": hashes})
    if not entries:
        raise Failure(f"{path}: no pinned, hashed entries (tools/lock.py writes the locks)")
    return entries


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def human(size):
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.1f} {unit}"
        size /= 1000


def cached_file(cache, entry):
    """The cached wheel of an entry, checked against its hash; None when it is not cached."""
    for digest in entry["hashes"]:
        folder = cache / "sha256" / digest
        files = [path for path in folder.glob("*.whl")] if folder.is_dir() else []
        if not files:
            continue
        actual = sha256_of(files[0])
        if actual != digest:
            raise Failure(f"wheel cache: {files[0]} ({entry['name']}=={entry['version']}) has sha256 {actual}, "
                          f"the lock wants {digest}: the file is corrupt; delete {folder} and build again")
        return files[0]
    return None


def remove_stale_partials(cache):
    for partial in cache.glob(".partial-*"):
        pid = partial.name.split("-", 1)[1]
        if pid.isdigit() and pathlib.Path(f"/proc/{pid}").exists():
            continue  # another build is downloading into it
        shutil.rmtree(partial, ignore_errors=True)


def folder_size(folder):
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


def show_progress(partial, expected_files, done, start):
    """Bytes and rate while pip downloads: pip writes into partial/ and its temp folder below it."""
    last = ""
    while not done.wait(1.0):
        size = folder_size(partial / "tmp")  # pip downloads there, then copies finished files up
        seconds = max(time.monotonic() - start, 0.001)
        finished = len(list(partial.glob("*.whl")))
        line = f"  downloading: {human(size)} at {human(size / seconds)}/s, {finished}/{expected_files} wheels"
        if line != last:
            print(line, file=sys.stderr, flush=True)
            last = line


def download(cache, missing, python):
    partial = cache / f".partial-{os.getpid()}"
    (partial / "tmp").mkdir(parents=True, exist_ok=True)
    requirements = partial / "tmp" / "requirements.txt"
    requirements.write_text("".join(
        f"{entry['name']}=={entry['version']} " + " ".join(f"--hash=sha256:{h}" for h in entry["hashes"]) + "\n"
        for entry in missing))
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--only-binary=:all:",
               "--no-cache-dir", "--progress-bar", "off", "--quiet", "--implementation", "cp", "--python-version", python,
               *(f"--platform={tag}" for tag in PLATFORMS), "--dest", str(partial), "-r", str(requirements)]
    print(f"wheel cache: downloading {len(missing)} wheels into {cache}", file=sys.stderr, flush=True)
    start = time.monotonic()
    done = threading.Event()
    progress = threading.Thread(target=show_progress, args=(partial, len(missing), done, start), daemon=True)
    progress.start()
    try:
        result = subprocess.run(command, env={**os.environ, "TMPDIR": str(partial / "tmp")}, stderr=subprocess.PIPE, text=True)
    finally:
        done.set()
        progress.join()
    if result.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        sys.stderr.write(result.stderr)
        mismatch = re.findall(r"(\S+)==(\S+) from .*\n\s+Expected sha256 (\w+)\n\s+Got\s+(\w+)", result.stderr)
        if mismatch:
            raise Failure("; ".join(f"{name}=={version}: downloaded sha256 {got}, the lock wants {want}"
                                    for name, version, want, got in mismatch))
        raise Failure(f"pip download failed (exit {result.returncode}); its output is above")
    total = 0
    by_hash = {digest: entry for entry in missing for digest in entry["hashes"]}
    for wheel in sorted(partial.glob("*.whl")):
        digest = sha256_of(wheel)
        if digest not in by_hash:
            raise Failure(f"pip download wrote {wheel.name}, whose sha256 {digest} no lock entry names")
        folder = cache / "sha256" / digest
        folder.mkdir(parents=True, exist_ok=True)
        total += wheel.stat().st_size
        os.replace(wheel, folder / wheel.name)  # same file system: the file appears whole or not at all
    shutil.rmtree(partial, ignore_errors=True)
    seconds = time.monotonic() - start
    print(f"wheel cache: {human(total)} in {seconds:.1f} s ({human(total / max(seconds, 0.001))}/s)", file=sys.stderr, flush=True)


def fill_wheelhouse(folder, files):
    """folder holds exactly these wheels, as hard links into the cache (copies across file systems)."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {path.name: path for path in files}
    for present in folder.iterdir():
        if present.name not in wanted or not os.path.samefile(present, wanted[present.name]):
            present.unlink()
    for name, source in wanted.items():
        target = folder / name
        if target.exists():
            continue
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_cache = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "launcher" / "wheels"
    parser.add_argument("--cache", type=pathlib.Path, default=default_cache)
    parser.add_argument("--wheelhouse", type=pathlib.Path, required=True, help="CONTEXT/.wheelhouse: one folder per lock")
    parser.add_argument("--python", required=True, help="the image's Python, 3.11")
    parser.add_argument("locks", nargs="+", help="NAME=PATH of a lock file")
    options = parser.parse_args()
    try:
        options.cache.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(options.cache)
        locks = {}
        for spec in options.locks:
            name, _, path = spec.partition("=")
            locks[name] = parse_lock(pathlib.Path(path))
        start = time.monotonic()
        missing = {}
        for entries in locks.values():
            for entry in entries:
                if cached_file(options.cache, entry) is None:
                    missing[entry["hashes"][0]] = entry
        if missing:
            download(options.cache, list(missing.values()), options.python)
        total = 0
        for name, entries in locks.items():
            files = [cached_file(options.cache, entry) for entry in entries]
            total += sum(path.stat().st_size for path in files)
            fill_wheelhouse(options.wheelhouse / name, files)
        print(f"wheel cache: {sum(len(e) for e in locks.values())} wheels, {human(total)}, checked in "
              f"{time.monotonic() - start:.1f} s; wheelhouse {options.wheelhouse}", file=sys.stderr, flush=True)
    except Failure as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
