"""Writes a minimal pure-Python wheel, NAME-VERSION-py3-none-any.whl, into DIR: a local
wheelhouse for tests that install a package without a network. Usage: make_wheel.py NAME VERSION DIR"""
import base64
import hashlib
import pathlib
import sys
import zipfile

name, version, directory = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
info = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": f"VERSION = {version!r}\n".encode(),
    f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
    f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: launcher-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = "".join(
    f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
    for path, data in files.items()) + f"{info}/RECORD,,\n"
wheel_path = directory / f"{name}-{version}-py3-none-any.whl"
with zipfile.ZipFile(wheel_path, "w") as wheel:
    for path, data in files.items():
        wheel.writestr(path, data)
    wheel.writestr(f"{info}/RECORD", record)
print(wheel_path)
