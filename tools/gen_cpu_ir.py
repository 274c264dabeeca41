"""Write the portable LLVM bitcode of every CPU kernel variant, shipped with the package.

Run from the repository root after changing any kernel source (``_kernels/``,
``_targets/cpu.py``, ``_targets/linkage.py``, ``_targets/native.py``):
``PYTHONPATH=src python tools/gen_cpu_ir.py``. It starts a fresh interpreter
with ``NUMBA_OPT=0`` (numba's code before any optimisation, so that nothing
is tuned for this machine's CPU) and writes
``src/arrayinit/_targets/cpu_ir/kernels.zip``: one ``FAMILY-DTYPE.bc`` per
variant and ``manifest.json`` (the sources' hash, the triple and data layout
it was written for, the numba and LLVM versions). The archive is written
byte-for-byte the same from the same sources and tools.

At run time ``arrayinit._targets.native`` uses the bitcode only when its
sources' hash equals the installed sources' and its triple is the machine's;
otherwise numba compiles the kernels (same values, a slower first call).
``tests/test_native.py`` fails while the archive is out of date.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "arrayinit" / "_targets" / "cpu_ir" / "kernels.zip"
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def build() -> bytes:
    import llvmlite
    import numba

    from arrayinit._targets import native
    from arrayinit._targets.numba_loader import numba_target

    cpu = numba_target()
    files: dict[str, bytes] = {}
    triple = layout = None
    for family, dtype in cpu.variants():
        bitcode, triple, layout = cpu.portable_bitcode(family, dtype)
        files[f"{family}-{dtype}.bc"] = bitcode
        print(f"{family}-{dtype}: {len(bitcode)} bytes", file=sys.stderr)
    manifest = {
        "sources": native.source_hash(),
        "triple": triple,
        "data_layout": layout,
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "llvm": ".".join(map(str, native._llvm().llvm_version_info)),
        "variants": [f"{f}-{d}" for f, d in cpu.variants()],
    }
    files["manifest.json"] = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, _FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, files[name], compresslevel=9)
    return buf.getvalue()


def main() -> int:
    if os.environ.get("NUMBA_OPT") != "0" or "numba" in sys.modules:
        env = dict(os.environ, NUMBA_OPT="0")
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
        return subprocess.run([sys.executable, __file__, *sys.argv[1:]], env=env, check=False).returncode
    data = build()
    target = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    print(f"wrote {target} ({len(data)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
