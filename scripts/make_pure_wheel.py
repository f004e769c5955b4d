"""Rewrite a platform wheel into a pure-Python wheel without compiled extensions.

Detectron2's registry copy (``sal-detectron2``) ships only a CPython-3.10 wheel whose
``detectron2/_C*.so`` was built for another Python and torch. Everything this project uses
works without ``_C`` (torchvision provides ROIAlign and NMS), so we drop the extension,
mark the wheel pure and regenerate its RECORD.

Usage: python scripts/make_pure_wheel.py IN.whl OUT_DIR
"""
import base64
import hashlib
import os
import re
import sys
import tempfile
import zipfile


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _patch_wheel_metadata(text: str) -> str:
    text = re.sub(r"(?m)^Root-Is-Purelib:.*$", "Root-Is-Purelib: true", text)
    text = re.sub(r"(?m)^Tag:.*\n?", "", text)
    return text.rstrip("\n") + "\nTag: py3-none-any\n"


def make_pure(src: str, out_dir: str) -> str:
    base = os.path.basename(src)
    dist, version = base.split("-")[:2]
    dst = os.path.join(out_dir, f"{dist}-{version}-py3-none-any.whl")
    entries = {}
    record_name = None
    with zipfile.ZipFile(src) as zin:
        for info in zin.infolist():
            name = info.filename
            if re.match(r"detectron2/_C.*\.(so|pyd)$", name):
                continue
            if name.endswith(".dist-info/RECORD"):
                record_name = name
                continue
            data = zin.read(name)
            if name.endswith(".dist-info/WHEEL"):
                data = _patch_wheel_metadata(data.decode()).encode()
            entries[name] = data
    if record_name is None:
        raise ValueError(f"{src}: not a wheel (no RECORD)")
    lines = [_record_line(n, d) for n, d in entries.items()] + [f"{record_name},,"]
    entries[record_name] = ("\n".join(lines) + "\n").encode()
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".whl", dir=out_dir)
    os.close(fd)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries.items():
            zout.writestr(name, data)
    os.replace(tmp, dst)
    return dst


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(make_pure(sys.argv[1], sys.argv[2]))
