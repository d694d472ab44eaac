# The agent in one pack (docs/device.md, "The agent in one pack"): the pack agentpack.py writes for the device tests is
# byte for byte the one `aloft agent export --agent-form pack` writes (when this checkout's aloft is built); the
# read-only file system in aloft/__init__.py finds each module, says which module of which pack is damaged when an
# entry points past the pack's end or the index is cut short, and raises ImportError for a module the pack lacks; the
# flash the agent takes in the pack form and as .mpy files.
from harness import DEVICE, read, run, sh, tempdir, test
import os
import agentpack
import aloft
from aloft import tree

TMP = tempdir("pack")
SOURCES = agentpack.sources()
MODULES = agentpack.compiled(dict((n, b) for n, b in SOURCES.items() if n != "__init__.py"), pack=True)  # what the pack holds


def aloft_binary():
    """ALOFT_BIN, else this checkout's debug build of aloft (swift build)."""
    return os.getenv("ALOFT_BIN") or DEVICE + "/../.build/debug/aloft"


def served(pack, name, old=None, header=None):
    """What aloft._Pack.open gives for name.mpy from pack (bytes): the bytes from where it leaves the file to the end.
    With old (bytes, or b"" for none), as the copy of the previous agent reads it: the pack its header (default
    pack's) names, at TMP/agent.pk#old (old) or else TMP/agent.pk (pack)."""
    write = {"/agent.pk": pack, "/agent.pk#old": old}
    for path in write:
        tree.rmtree(TMP + path)
        if write[path]:
            with open(TMP + path, "wb") as f:
                f.write(write[path])
    was = aloft._Pack.f, aloft._Pack.h
    aloft._Pack.f = (TMP + "/agent.pk",) if old is None else (TMP + "/agent.pk#old", TMP + "/agent.pk")
    aloft._Pack.h = pack[:32] if header is None else header
    try:
        f = aloft._Pack.open("/%s.mpy" % name, "rb")
        try:
            return f.read()
        finally:
            f.close()
    finally:
        aloft._Pack.f, aloft._Pack.h = was


@test
def the_test_pack_is_the_one_aloft_writes():
    binary = aloft_binary()
    if sh("test -x %s" % binary) != 0:
        print("     skipped: no aloft at %s (swift build, or set ALOFT_BIN)" % binary)
        return
    out = TMP + "/export"
    code = sh("ALOFT_DEVICE_DIR=%s %s agent export %s --agent-form pack > %s/export.log 2>&1" % (DEVICE, binary, out, TMP))
    assert code == 0, read(TMP + "/export.log")
    theirs = dict((n, read(out + "/lib/aloft/" + n)) for n in os.listdir(out + "/lib/aloft"))
    mine = agentpack.built(SOURCES, "pack")
    assert sorted(theirs) == ["__init__.py", "agent.pk"], sorted(theirs)
    assert theirs["__init__.py"] == mine["__init__.py"]
    assert theirs["agent.pk"] == mine["agent.pk"], (len(theirs["agent.pk"]), len(mine["agent.pk"]))


@test
def every_module_is_served_from_its_first_byte():
    pack = agentpack.pack(MODULES)
    assert pack[:4] == b"APK2" and len(pack) == 32 + 16 * len(MODULES) + sum(len(m) for m in MODULES.values())
    for name, data in MODULES.items():
        got = served(pack, name)
        assert got[: len(data)] == data, name
    # a name of the longest kind, 9 bytes, and a longer one the pack cannot hold
    long = "m" * 9
    assert served(agentpack.pack({long: b"long", "z": b"zz"}), long) == b"longzz"
    e = None
    try:
        served(agentpack.pack({long: b"long"}), long + "m")
    except ImportError as x:
        e = x
    assert e is not None, "a 10-byte name matched a 9-byte entry"


@test
def a_deflated_module_is_served_inflated_to_its_last_byte():
    # The modules that say "# pack: zlib" are stored in the zlib format (a 512-byte window) when that is smaller;
    # __init__.py gives import an inflater over them, which ends where the module ends.
    names = agentpack.deflated(SOURCES)
    assert "start" in names and "download" not in names, names  # boot-time code deflated; the download's raw
    pack = agentpack.pack(MODULES, names)
    assert len(pack) < len(agentpack.pack(MODULES)) - 1000, len(pack)
    for name, data in MODULES.items():
        got = served(pack, name)
        assert (got == data) if name in names else (got[: len(data)] == data), name
    # a deflated module whose bytes were damaged on flash is refused by the inflater, never handed to import as it is
    entry = pack.index(b"start" + bytes(5))
    at = int.from_bytes(pack[entry + 12 : entry + 16], "little")
    assert pack[entry + 11] & 0x80 and pack[at] == 0x18, "start is deflated, a 512-byte window"
    e = None
    try:
        served(pack[:at] + b"\x00" + pack[at + 1 :], "start")
    except (OSError, ValueError) as x:
        e = x
    assert e is not None, "a damaged zlib header was inflated"
    # not smaller deflated: stored as it is (its entry's length without the zlib bit)
    noise = bytes((i * 7919 + 13) * 104729 % 251 for i in range(300))
    pack = agentpack.pack({"n": noise, "z": b"zz"}, ["n"])
    assert pack[32 + 10 : 32 + 12] == bytes((44, 1)) and served(pack, "n") == noise + b"zz"


@test
def the_header_names_the_pack():
    # The copy of the previous agent keeps only its pack's header and reads the pack where an install leaves it: as
    # agent.pk#old once replaced, as agent.pk before that or after a rollback; never a pack with another header.
    mine = agentpack.pack(MODULES)
    other = agentpack.pack(dict(MODULES, core=MODULES["core"] + b"#"))
    assert mine[:8] == other[:8] and mine[8:32] != other[8:32]  # the same count: the hash tells them apart
    core = MODULES["core"]
    assert served(mine, "core", old=b"")[: len(core)] == core  # not replaced yet, or rolled back
    assert served(other, "core", old=mine, header=mine[:32])[: len(core)] == core  # replaced: agent.pk#old
    for pack, old in ((other, b""), (other, other)):  # confirmed (its #old gone), or not a pack it names
        e = None
        try:
            served(pack, "core", old=old, header=mine[:32])
        except OSError as x:
            e = x
        assert e is not None and str(e) == "damaged agent pack %s/agent.pk: core.mpy" % TMP, e


@test
def a_module_the_pack_lacks_is_an_import_error():
    pack = agentpack.pack({"core": MODULES["core"]})
    e = None
    try:
        served(pack, "nothere")
    except ImportError as x:
        e = x
    assert e is not None and "aloft.nothere" in str(e), e


@test
def a_damaged_pack_says_so():
    pack = agentpack.pack(MODULES)
    names = sorted(MODULES)
    last = names[-1]
    for damaged, name in (
        (pack[:-1], last),  # its last module cut short: its entry points past the end
        (pack[: 32 + 16 * 2 + 5], last),  # the index cut short
        (b"APK1" + pack[4:], "core"),  # not a pack this agent reads
        (b"", "core"),
    ):
        e = None
        try:
            served(damaged, name)
        except OSError as x:
            e = x
        assert e is not None and str(e) == "damaged agent pack %s/agent.pk: %s.mpy" % (TMP, name), (len(damaged), name, e)
    assert served(pack[:-1], names[0])[:8] == MODULES[names[0]][:8]  # the modules before the damage still load


def blocks(files):
    """4 KiB blocks that files {path: bytes} take on a fresh LittleFS as MicroPython formats a board's (VfsLfs2 defaults:
    files of up to 128 bytes inline), folders included, beyond the root and the folders every board has (/lib, /.aloft).
    statvfs counts a folder's metadata pair twice (littlefs's traversal includes orphans): counted once here."""
    from harness import RamFlash, write

    bd = RamFlash(512)
    os.VfsLfs2.mkfs(bd)
    vfs = os.VfsLfs2(bd)
    dirs = set()
    for path, data in files.items():
        parts = path.split("/")[1:-1]
        for n in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:n])
            if d not in dirs:
                vfs.mkdir(d)
                dirs.add(d)
        with vfs.open(path, "wb") as f:
            f.write(data)
    st = vfs.statvfs("/")
    return st[2] - st[3] - 2 * len(dirs) - 2 - 2 * len(dirs & {"/lib", "/.aloft"})


@test
def the_pack_takes_a_third_of_the_flash_of_the_mpy_files():
    # The agent with boot.py, and while an update of the agent is on trial (the new agent, the one it replaced as
    # path#old, its copy in /.aloft/agent/aloft), every file of the agent replaced (an update of the pack replaces both
    # of its files). Printed for docs/device.md ("The agent in one pack"). The targets: 16 blocks with boot.py
    # (met while the pack stays within 12 blocks: the modules loaded where the heap is low deflated) and 40 on
    # trial (met while __init__.py stays one block and the copy keeps only the pack's header).
    boot = read(DEVICE + "/boot.py")
    got = {}
    for form in ("mpy", "pack"):
        if form == "mpy":
            agent = dict((n + ".mpy", b) for n, b in agentpack.compiled(dict((n, b) for n, b in SOURCES.items() if n != "__init__.py")).items())
            agent["__init__.py"] = SOURCES["__init__.py"]
        else:
            agent = agentpack.built(SOURCES, "pack")
        files = dict(("/lib/aloft/" + n, b) for n, b in agent.items())
        files["/boot.py"] = boot
        files["/.aloft/config.json"] = b"{}"
        alone = blocks(files)
        for n, b in agent.items():
            files["/lib/aloft/%s#old" % n] = b + b"#"  # the agent it replaced: as large
            files["/.aloft/agent/aloft/" + n] = b[:32] if n == agentpack.PACK else b + b"#"  # of a pack, its header (previous.py)
        trial = blocks(files)
        got[form] = (alone, trial)
        print("     %-4s: %d files, %d bytes; %d blocks (%d KiB) with boot.py, %d blocks (%d KiB) while an update of it is on trial"
              % (form, len(agent), sum(len(b) for b in agent.values()), alone, alone * 4, trial, trial * 4))
    assert got["pack"][0] * 3 <= got["mpy"][0] and got["pack"][1] * 3 <= got["mpy"][1], got
    assert got["pack"][0] <= 16 and got["pack"][1] <= 40 and len(SOURCES["__init__.py"]) <= 4096, (got, len(SOURCES["__init__.py"]))


try:
    run()
finally:
    tree.rmtree(TMP)
