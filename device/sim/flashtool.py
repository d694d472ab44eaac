# Simulated device flash images (LittleFS v2 in a file), run by the MicroPython unix port:
#
#   micropython flashtool.py mkfs IMAGE SIZE_BYTES SRC_DIR [--force]
#   micropython flashtool.py ls IMAGE        "size /path" per file, sorted
#   micropython flashtool.py cat IMAGE PATH  the file's bytes on stdout
#   micropython flashtool.py hash IMAGE      "sha256 size /path" per file, sorted
#
# The image is used through the VFS object, never mounted, so host paths keep working.
import os
import sys
from micropython import const
from blockdev import BLOCK_SIZE, FileBlockDev

_DIR = const(0x4000)
_FILE = const(0x8000)


class Error(Exception):
    pass


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def mkfs(image, size, src, force=False):
    """Create image (size bytes of erased flash), format it and copy the tree src into it."""
    if size < 16 * BLOCK_SIZE or size % BLOCK_SIZE:
        raise Error("size must be a multiple of %d and at least %d" % (BLOCK_SIZE, 16 * BLOCK_SIZE))
    if _exists(image) and not force:
        raise Error("%s exists (use --force to replace it)" % image)
    if not _exists(src) or not os.stat(src)[0] & _DIR:
        raise Error("no such folder: " + src)
    erased = b"\xff" * BLOCK_SIZE
    with open(image, "wb") as f:
        for _ in range(size // BLOCK_SIZE):
            f.write(erased)
    bd = FileBlockDev(image)
    try:
        os.VfsLfs2.mkfs(bd)
        vfs = os.VfsLfs2(bd)
        buf = bytearray(BLOCK_SIZE)
        _copy_tree(vfs, src.rstrip("/"), "", buf)
    finally:
        bd.close()


def _copy_tree(vfs, host, dst, buf):
    for entry in os.ilistdir(host or "/"):
        name = entry[0]
        kind = entry[1] or os.stat(host + "/" + name)[0] & (_DIR | _FILE)
        if kind == _DIR:
            vfs.mkdir(dst + "/" + name)
            _copy_tree(vfs, host + "/" + name, dst + "/" + name, buf)
        else:
            with open(host + "/" + name, "rb") as a:
                with vfs.open(dst + "/" + name, "wb") as b:
                    while True:
                        n = a.readinto(buf)
                        if not n:
                            break
                        b.write(memoryview(buf)[:n])


def open_image(image):
    """(block device, VfsLfs2) of an existing image; close the block device when done."""
    if not _exists(image):
        raise Error("no such image: " + image)
    bd = FileBlockDev(image)
    try:
        return bd, os.VfsLfs2(bd)
    except OSError:
        bd.close()
        raise Error("not a LittleFS v2 image: " + image)


def files(vfs, path=""):
    """(path, size) of every file below path, recursively, sorted by path."""
    out = []
    for entry in vfs.ilistdir(path or "/"):
        full = path + "/" + entry[0]
        if entry[1] == _DIR:
            out.extend(files(vfs, full))
        else:
            out.append((full, entry[3]))
    out.sort()
    return out


def copy_out(vfs, path, out):
    """Write the bytes of the file at path in the image to the stream out."""
    path = "/" + path.lstrip("/")
    try:
        st = vfs.stat(path)
    except OSError:
        raise Error("no such file in image: " + path)
    if st[0] & _DIR:
        raise Error("is a folder: " + path)
    buf = bytearray(BLOCK_SIZE)
    with vfs.open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                return
            out.write(memoryview(buf)[:n])


def digest(vfs, path):
    import binascii
    import hashlib

    h = hashlib.sha256()
    buf = bytearray(BLOCK_SIZE)
    with vfs.open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(memoryview(buf)[:n])
    return binascii.hexlify(h.digest()).decode()


def main(argv):
    cmd = argv[1] if len(argv) > 1 else None
    if cmd == "mkfs" and len(argv) in (5, 6) and (len(argv) == 5 or argv[5] == "--force"):
        try:
            size = int(argv[3])
        except ValueError:
            raise Error("bad size: " + argv[3])
        mkfs(argv[2], size, argv[4], len(argv) == 6)
        return
    if cmd in ("ls", "hash") and len(argv) == 3 or cmd == "cat" and len(argv) == 4:
        bd, vfs = open_image(argv[2])
        try:
            if cmd == "cat":
                copy_out(vfs, argv[3], sys.stdout.buffer)
                return
            for path, size in files(vfs):
                if cmd == "ls":
                    print(size, path)
                else:
                    print(digest(vfs, path), size, path)
        finally:
            bd.close()
        return
    raise Error("usage: flashtool.py mkfs IMAGE SIZE_BYTES SRC_DIR [--force] | ls IMAGE | cat IMAGE PATH | hash IMAGE")


if __name__ == "__main__":
    try:
        main(sys.argv)
    except Error as e:
        print("flashtool: %s" % e, file=sys.stderr)
        sys.exit(1)
