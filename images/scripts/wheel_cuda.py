"""The CUDA libraries of the nvidia-* wheels that torch loads, for what is built in the image.

  wheel_cuda.py rpath          their lib folders, ';'-separated: a CMake RPATH that puts the
                               wheels' libraries before any other copy on the system
  wheel_cuda.py nccl-options   CMake options naming the wheel's NCCL (it ships libnccl.so.2 and
                               nccl.h, no libnccl.so for find_library)
  wheel_cuda.py link-system-copies DIR
                               every library in DIR with the SONAME of a wheel's library (another
                               CUDA's cudart, cuBLAS, CUPTI, ...) is removed, and that SONAME and
                               the links that led to the copy (libcudart.so) lead to the wheel's:
                               one copy, whichever way a program finds it

Prints nothing where torch came without the nvidia wheels (Debian's CPU torch).
"""
import importlib.util
import os
import pathlib
import re
import subprocess
import sys


def wheel_folders():
    spec = importlib.util.find_spec("nvidia")
    if spec is None:
        return []
    return sorted(folder for root in spec.submodule_search_locations for folder in pathlib.Path(root).iterdir())


def soname(library):
    dynamic_section = subprocess.run(["objdump", "-p", str(library)], capture_output=True, text=True).stdout
    match = re.search(r"^\s+SONAME\s+(\S+)$", dynamic_section, re.M)
    return match.group(1) if match else None


def link_system_copies(system):
    wheel_libraries = {}
    for folder in wheel_folders():
        for library in sorted((folder / "lib").glob("lib*.so*")):
            if library.is_file() and not library.is_symlink() and (name := soname(library)):
                wheel_libraries[name] = library
    # Where each link led before anything changed: one that led to a removed copy leads to its SONAME.
    link_targets = {path: os.path.realpath(path) for path in system.iterdir() if path.is_symlink()}
    for copy in sorted(system.glob("lib*.so*")):
        if copy.is_symlink() or not copy.is_file() or (name := soname(copy)) not in wheel_libraries:
            continue
        for link, target in link_targets.items():
            if target == str(copy) and link.name != name:
                link.unlink()
                link.symlink_to(name)
        copy.unlink()
        system_name = system / name
        if system_name.is_symlink() or system_name.exists():
            system_name.unlink()
        system_name.symlink_to(wheel_libraries[name])
        print(f"{copy.name} ({name}) -> {wheel_libraries[name]}")


def main(what, *arguments):
    folders = wheel_folders()
    if what == "rpath":
        print(";".join(str(folder / "lib") for folder in folders if (folder / "lib").is_dir()))
    elif what == "nccl-options":
        nccl = [folder for folder in folders if folder.name == "nccl"]
        if nccl:
            print(f"-DNCCL_INCLUDE_DIR={nccl[0] / 'include'} -DNCCL_LIBRARY={nccl[0] / 'lib' / 'libnccl.so.2'}")
    elif what == "link-system-copies" and len(arguments) == 1:
        link_system_copies(pathlib.Path(arguments[0]))
    else:
        sys.exit(f"usage: {sys.argv[0]} rpath|nccl-options|link-system-copies DIR")


if __name__ == "__main__":
    main(*(sys.argv[1:] or [""]))
