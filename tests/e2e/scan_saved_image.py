#!/usr/bin/env python3
"""Reads `docker save` from stdin as it streams and prints, as JSON, which of the given texts and
paths an image holds: a text in its config, manifests or any layer's file contents, a path as a
layer's entry (itself or anything under it). Nothing is written to disk, so a scan of a
multi-gigabyte image costs no disk space. Whatever a member of the archive is (the layout differs
between Docker 24's and Docker 25's `docker save`), a tar is scanned as a layer, anything else as
metadata.

Usage: docker save IMAGE | scan_saved_image.py '{"texts": [...], "paths": [...]}'
Prints: {"found": [...], "layers": N, "manifest_layers": M}
"""
import io
import json
import sys
import tarfile

CHUNK = 1 << 20
TAR_MAGIC_OFFSET, TAR_MAGIC = 257, b"ustar"


class Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read: they come first, then the rest."""

    def __init__(self, head, rest):
        self.head, self.rest = head, rest

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.head:
            count = min(len(buffer), len(self.head))
            buffer[:count], self.head = self.head[:count], self.head[count:]
            return count
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def texts_in(stream, texts, found):
    """Adds to found each text the stream's bytes hold, a text split across chunks included."""
    wanted = [text.encode() for text in texts]
    overlap = max((len(text) for text in wanted), default=1) - 1
    tail = b""
    while chunk := stream.read(CHUNK):
        window = tail + chunk
        for text, raw in zip(texts, wanted):
            if raw in window:
                found.add(text)
        tail = window[-overlap:] if overlap else b""


def scan_layer(stream, texts, paths, found):
    with tarfile.open(fileobj=stream, mode="r|", bufsize=CHUNK) as layer:
        for entry in layer:
            name = entry.name.removeprefix("./")
            for path in paths:
                if name == path or name.startswith(path.rstrip("/") + "/"):
                    found.add(path)
            if entry.isfile():
                texts_in(layer.extractfile(entry), texts, found)


def main():
    wanted = json.loads(sys.argv[1])
    texts, paths = wanted.get("texts", []), wanted.get("paths", [])
    found, layers, manifest = set(), 0, None
    with tarfile.open(fileobj=sys.stdin.buffer, mode="r|", bufsize=CHUNK) as archive:
        for member in archive:
            if not member.isfile():
                continue
            content = archive.extractfile(member)
            head = content.read(512)
            stream = io.BufferedReader(Prefixed(head, content), CHUNK)
            if head[TAR_MAGIC_OFFSET : TAR_MAGIC_OFFSET + len(TAR_MAGIC)] == TAR_MAGIC:
                layers += 1
                scan_layer(stream, texts, paths, found)
            elif member.name == "manifest.json":
                metadata = stream.read()
                manifest = json.loads(metadata)
                texts_in(io.BytesIO(metadata), texts, found)
            else:
                texts_in(stream, texts, found)
    if manifest is None or len(manifest) != 1:
        sys.exit("scan_saved_image: the archive has no manifest.json of one image")
    print(json.dumps({"found": sorted(found), "layers": layers, "manifest_layers": len(manifest[0]["Layers"])}))


if __name__ == "__main__":
    main()
