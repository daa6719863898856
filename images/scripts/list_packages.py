"""Prints the Python distributions this interpreter sees and the installed Debian packages as
JSON: {"python": {name: version}, "debian": {name: version}, "new_package_files": [path]}.

The image build records it (RECORD below); `launcher down` runs it again in the container, as
the environment's user, and names what was installed since. "new_package_files" are the files
of the packages that the record does not have (at that version), so that `down` can tell them
as those packages rather than as loose files.
"""
import glob
import importlib.metadata
import json
import os
import re

RECORD = "/usr/local/share/launcher/packages.json"


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503's form, the one pip compares by


def python_distributions():
    found = {}
    for distribution in importlib.metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            found.setdefault(canonical(name), distribution)
    return found


def debian_packages(status_file="/var/lib/dpkg/status"):
    found = {}
    try:
        with open(status_file, encoding="utf-8", errors="replace") as status:
            stanzas = status.read().split("\n\n")
    except FileNotFoundError:
        return found
    for stanza in stanzas:
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line.startswith(" "))
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            found[fields["Package"]] = fields.get("Version", "")
    return found


def debian_files(package):
    files = []
    for listing in glob.glob(f"/var/lib/dpkg/info/{package}.list") + glob.glob(f"/var/lib/dpkg/info/{package}:*.list"):
        with open(listing, encoding="utf-8", errors="replace") as lines:
            files += [line.rstrip("\n") for line in lines if line.strip() not in ("", "/.")]
    return files


def python_files(distribution):
    return [os.path.realpath(distribution.locate_file(file)) for file in distribution.files or []]


def new_package_files(distributions, debian):
    """The files of the packages the record lacks at their version; none while building."""
    if not os.path.exists(RECORD):
        return []
    with open(RECORD, encoding="utf-8") as record:
        recorded = json.load(record)
    files = []
    for name, distribution in distributions.items():
        if recorded["python"].get(name) != distribution.version:
            files += python_files(distribution)
    for name, version in debian.items():
        if recorded["debian"].get(name) != version:
            files += debian_files(name)
    return sorted(set(files))


def main():
    distributions = python_distributions()
    debian = debian_packages()
    python = {name: distribution.version for name, distribution in distributions.items()}
    print(json.dumps({"python": python, "debian": debian, "new_package_files": new_package_files(distributions, debian)},
                     sort_keys=True))


main()
