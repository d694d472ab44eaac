# The simulated flash: blockdev.FileBlockDev under VfsLfs2, and flashtool's mkfs/ls/cat/hash.
from harness import DEVICE, micropython, raises, read, run, sh, tempdir, test, write
import hashlib
import os
from binascii import hexlify
import flashtool
from blockdev import FileBlockDev
from aloft import tree

TMP = tempdir("flashtool")
SRC = TMP + "/src"
IMG = TMP + "/flash.img"
TOOL = "%s %s/sim/flashtool.py" % (micropython(), DEVICE)
FILES = {
    "/boot.py": b"print('boot')\n",
    "/lib/aloft/__init__.py": b"# agent\n",
    "/.aloft/config.json": b'{"id": "dev-1"}',
    "/data/blob.bin": bytes(range(256)) * 41 + b"tail",  # several blocks, not a multiple of 4096
    "/data/empty": b"",
    "/a/b/c/d/deep.txt": b"deep\n",
}


def expected():
    return sorted((p, len(b)) for p, b in FILES.items())


for p, b in FILES.items():
    write(SRC + p, b)


@test
def mkfs_copies_the_tree():
    flashtool.mkfs(IMG, 256 * 1024, SRC)
    assert os.stat(IMG)[6] == 256 * 1024
    bd, vfs = flashtool.open_image(IMG)
    try:
        assert flashtool.files(vfs) == expected()
        for p, b in FILES.items():
            assert flashtool.digest(vfs, p) == hexlify(hashlib.sha256(b).digest()).decode(), p
    finally:
        bd.close()


def blocks_taken(image, size):
    # Blocks a file of size bytes takes on image's filesystem, mounted with the sizes the image's board uses.
    bd = FileBlockDev(image)
    try:
        vfs = os.VfsLfs2(bd, progsize=bd.progsize)
        before = vfs.statvfs("/")[3]
        with vfs.open("/probe", "wb") as f:
            f.write(bytes(size))
        taken = before - vfs.statvfs("/")[3]
        vfs.remove("/probe")
        return taken
    finally:
        bd.close()


@test
def an_rp2_image_mounts_as_the_rp2_port_does():
    # ports/rp2/modules/_boot.py mounts VfsLfs2(bdev, progsize=256): cache 1 KiB, so files up to 512 bytes stay in their
    # folder's metadata; the esp32 port's defaults (progsize 32) keep only up to 128 (docs/device.md, "Simulated boards").
    rp2 = TMP + "/rp2.img"
    flashtool.mkfs(rp2, 848 * 1024, SRC, True, 256)
    assert os.stat(rp2)[6] == 848 * 1024 + 4096, "the filesystem and the block that says how it is mounted"
    bd = FileBlockDev(rp2)
    assert (bd.blocks, bd.progsize) == (212, 256), (bd.blocks, bd.progsize)
    bd.close()
    b, vfs = flashtool.open_image(rp2)
    try:
        assert flashtool.files(vfs) == expected()
    finally:
        b.close()
    assert blocks_taken(rp2, 512) == 0 and blocks_taken(rp2, 513) >= 1
    flashtool.mkfs(IMG, 256 * 1024, SRC, True)
    assert blocks_taken(IMG, 128) == 0 and blocks_taken(IMG, 129) >= 1
    assert FileBlockDev(IMG).progsize == 32


@test
def mkfs_refuses_to_overwrite_without_force():
    raises(flashtool.Error, flashtool.mkfs, IMG, 256 * 1024, SRC)
    raises(flashtool.Error, flashtool.mkfs, TMP + "/x.img", 1000, SRC)
    raises(flashtool.Error, flashtool.mkfs, TMP + "/x.img", 256 * 1024, TMP + "/nope")
    flashtool.mkfs(IMG, 128 * 1024, SRC, True)
    assert os.stat(IMG)[6] == 128 * 1024


@test
def writes_survive_an_unclean_stop():
    # Like a power cut: the block device is dropped without unmounting or closing anything.
    bd = FileBlockDev(IMG)
    vfs = os.VfsLfs2(bd)
    with vfs.open("/new.txt", "wb") as f:
        f.write(b"committed")
    bd.f.close()
    bd, vfs = flashtool.open_image(IMG)
    try:
        with vfs.open("/new.txt", "rb") as f:
            assert f.read() == b"committed"
    finally:
        bd.close()
    FILES["/new.txt"] = b"committed"


@test
def cli_ls_hash_and_cat():
    assert sh("%s ls %s > %s/ls.txt" % (TOOL, IMG, TMP)) == 0
    assert read(TMP + "/ls.txt").decode() == "".join("%d %s\n" % (s, p) for p, s in expected())
    assert sh("%s hash %s > %s/hash.txt" % (TOOL, IMG, TMP)) == 0
    want = "".join(
        "%s %d %s\n" % (hexlify(hashlib.sha256(FILES[p]).digest()).decode(), s, p) for p, s in expected()
    )
    assert read(TMP + "/hash.txt").decode() == want
    for p in ("/data/blob.bin", "data/empty"):
        assert sh("%s cat %s %s > %s/out" % (TOOL, IMG, p, TMP)) == 0
        assert read(TMP + "/out") == FILES["/" + p.lstrip("/")], p


@test
def cli_fill_and_rm_change_an_application_s_data():
    def free():
        assert sh("%s df %s > %s/df.txt" % (TOOL, IMG, TMP)) == 0
        return int(read(TMP + "/df.txt").split()[1])

    before = free()
    assert sh("%s fill %s /log.bin 40000" % (TOOL, IMG)) == 0
    assert sh("%s ls %s > %s/ls.txt" % (TOOL, IMG, TMP)) == 0
    assert "40000 /log.bin\n" in read(TMP + "/ls.txt").decode()
    assert before - free() >= 10, (before, free())  # 40000 bytes: 10 blocks of 4 KiB at least
    assert sh("%s rm %s /log.bin" % (TOOL, IMG)) == 0
    assert free() == before
    assert sh("%s ls %s > %s/ls.txt" % (TOOL, IMG, TMP)) == 0
    assert "/log.bin" not in read(TMP + "/ls.txt").decode()


@test
def cli_errors_exit_1():
    for args in (
        "ls %s/missing.img" % TMP,
        "cat %s /nope.py" % IMG,
        "cat %s /data" % IMG,
        "hash %s/src/boot.py" % TMP,  # not an image
        "mkfs %s 262144 %s" % (IMG, SRC),  # exists
        "mkfs %s/y.img lots %s" % (TMP, SRC),
        "mkfs %s/y.img 262144 %s --forse" % (TMP, SRC),
        "frobnicate",
        "rm %s /nope.bin" % IMG,
        "fill %s /x.bin many" % IMG,
    ):
        assert sh("%s %s > %s/out 2> %s/err" % (TOOL, args, TMP, TMP)) == 1, args
        assert read(TMP + "/err").startswith(b"flashtool: "), args


try:
    run()
finally:
    tree.rmtree(TMP)
