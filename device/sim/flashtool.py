# Simulated device flash images, run by the MicroPython unix port:
#
#   micropython flashtool.py mkfs IMAGE SIZE_BYTES SRC_DIR [--force] [--progsize N]  a LittleFS v2 in a file (N: 256 for rp2)
#   micropython flashtool.py mkflash IMAGE PROFILE SRC_DIR [--app FILE] [--force] the whole flash of an ESP32 board
#   micropython flashtool.py ls IMAGE        "size /path" per file, sorted
#   micropython flashtool.py cat IMAGE PATH  the file's bytes on stdout
#   micropython flashtool.py df IMAGE        "blocks free" of its filesystem (statvfs)
#   micropython flashtool.py hash IMAGE      "sha256 size /path" per file, sorted
#   micropython flashtool.py fill IMAGE PATH SIZE   an application's data: a file of SIZE zero bytes written
#   micropython flashtool.py rm IMAGE PATH   that file removed
#
# ls, cat, hash, fill and rm work on either kind (on an ESP32 flash, the LittleFS of its vfs partition). The image is used
# through the VFS object, never mounted, so host paths keep working.
import os
import sys
from micropython import const
from blockdev import BLOCK_SIZE, TRAILER, FileBlockDev

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


def mkfs(image, size, src, force=False, progsize=32):
    """Create image (size bytes of erased flash), format it and copy the tree src into it. progsize: the LittleFS
    program size the board's port mounts with (32 on esp32, 256 on rp2), kept in a block after the filesystem."""
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
        if progsize != 32:
            f.write(TRAILER + b"%d\n" % progsize + erased[: BLOCK_SIZE - len(TRAILER) - len(b"%d\n" % progsize)])
    bd = FileBlockDev(image)
    try:
        os.VfsLfs2.mkfs(bd, progsize=bd.progsize)
        vfs = os.VfsLfs2(bd, progsize=bd.progsize)
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


# The simulated ESP32 boards (docs/firmware.md, "Profiles"): chip, build, flash MiB, partition table
# (espimage.TABLES), the bootloader's settings.
PROFILES = {
    "esp32-ota": ("esp32", "ESP32_GENERIC-OTA", 4, "ota", {"rollback": True}),
    "esp32-ota-norollback": ("esp32", "ESP32_GENERIC-OTA", 4, "ota", {"rollback": False}),
    "esp32": ("esp32", "ESP32_GENERIC", 4, "plus", {"rollback": True}),
    "nano-esp32": ("esp32s3", "ARDUINO_NANO_ESP32", 16, "nano", {"rollback": True}),
}
DEFAULT_FIRMWARE = "1.24.1"


def mkflash(image, profile, src, app=None, force=False):
    """Create image, the whole flash of a board of profile (PROFILES), as after a USB flash of its firmware.bin and
    the files of src copied in: the bootloader at the chip's offset, the partition table at 0x8000, otadata blank,
    the app in ota_0 (or factory), the vfs partition (ffat on the Nano) formatted as LittleFS (the esp32 port's
    defaults: 4096-byte blocks, read/prog size 32) holding src. app: the path of an app image, else one espimage.py
    builds: MicroPython 1.24.1, the profile's build, booting (and confirming itself on the Nano). On the Nano ESP32
    otadata says ota_0 VALID (seq 1), which its factory recovery partition would otherwise win over."""
    import espimage
    import esp32
    from espflash import Flash

    if profile not in PROFILES:
        raise Error("unknown profile %s (one of %s)" % (profile, ", ".join(sorted(PROFILES))))
    if _exists(image) and not force:
        raise Error("%s exists (use --force to replace it)" % image)
    if not _exists(src) or not os.stat(src)[0] & _DIR:
        raise Error("no such folder: " + src)
    if app is not None and not _exists(app):
        raise Error("no such app image: " + app)
    chip, build, mib, table, settings = PROFILES[profile]
    entries = espimage.TABLES[table]
    slot = [e for e in entries if e[1] == 0 and e[2] == 0x10] or [e for e in entries if e[1] == 0 and e[2] == 0]
    slot = slot[0]
    erased = b"\xff" * BLOCK_SIZE
    with open(image, "wb") as f:
        for _ in range(mib * 1024 * 1024 // BLOCK_SIZE):
            f.write(erased)
        f.seek(espimage.CHIPS[chip][1])
        f.write(espimage.bootloader(chip, settings, build=build))
        f.seek(espimage.TABLE_AT)
        f.write(espimage.partition_table(entries))
        f.seek(slot[3])
        if app is None:
            espimage.app(chip, build, DEFAULT_FIRMWARE, auto_confirm=profile == "nano-esp32", out=f.write)
        else:
            with open(app, "rb") as a:
                buf = bytearray(BLOCK_SIZE)
                n = 0
                while True:
                    k = a.readinto(buf)
                    if not k:
                        break
                    n += k
                    if n > slot[4]:
                        raise Error("%s is larger than %s (%d bytes)" % (app, slot[0], slot[4]))
                    f.write(memoryview(buf)[:k])
    flash = Flash(image)
    try:
        esp32.flash, esp32.table, esp32.chip = flash, tuple(entries), espimage.CHIPS[chip]
        if profile == "nano-esp32":
            o, e = esp32.otadata()
            esp32.rewrite(o, e, 1, 0, 2)  # {seq 1, VALID}: ota_0
        part = esp32.Partition.find(1, label="vfs") or esp32.Partition.find(1, label="ffat")
        os.VfsLfs2.mkfs(part[0])
        _copy_tree(os.VfsLfs2(part[0]), src.rstrip("/"), "", bytearray(BLOCK_SIZE))
    finally:
        flash.close()


def open_image(image):
    """(block device, VfsLfs2) of an existing image (on an ESP32 flash, of its vfs partition); close the block
    device when done."""
    if not _exists(image):
        raise Error("no such image: " + image)
    from simesp import is_flash

    if is_flash(image):
        import espboot
        import esp32
        from espflash import Flash

        bd = Flash(image)
        esp32.flash = bd
        esp32.table = espboot._table(bd) or ()
        part = esp32.Partition.find(1, label="vfs") or esp32.Partition.find(1, label="ffat")
    else:
        bd = FileBlockDev(image)
        part = [bd]
    try:
        return bd, os.VfsLfs2(part[0], progsize=getattr(part[0], "progsize", 32))
    except (OSError, IndexError):
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
    if cmd == "mkfs" and len(argv) >= 5:
        args = argv[5:]
        force = "--force" in args
        if force:
            args.remove("--force")
        progsize = 32
        if len(args) == 2 and args[0] == "--progsize" and args[1] in ("32", "64", "128", "256"):
            progsize = int(args[1])
            args = []
        try:
            size = int(argv[3])
        except ValueError:
            raise Error("bad size: " + argv[3])
        if not args:
            mkfs(argv[2], size, argv[4], force, progsize)
            return
    if cmd == "mkflash" and 5 <= len(argv) <= 8:
        args = argv[5:]
        force = "--force" in args
        if force:
            args.remove("--force")
        app = None
        if args[:1] == ["--app"] and len(args) == 2:
            app = args[1]
            args = []
        if not args:
            mkflash(argv[2], argv[3], argv[4], app, force)
            return
    if cmd == "df" and len(argv) == 3:
        bd, vfs = open_image(argv[2])
        try:
            st = vfs.statvfs("/")
            print(st[2], st[3])  # blocks, free blocks (as statvfs counts them: each folder's pair twice)
        finally:
            bd.close()
        return
    if cmd == "fill" and len(argv) == 5 or cmd == "rm" and len(argv) == 4:
        # What an application does to its own data: a file of SIZE bytes written (a log, a cache), or one removed.
        bd, vfs = open_image(argv[2])
        try:
            if cmd == "rm":
                try:
                    vfs.remove(argv[3])
                except OSError:
                    raise Error("cannot remove %s: no such file" % argv[3])
                return
            try:
                size = int(argv[4])
            except ValueError:
                raise Error("bad size: " + argv[4])
            buf = bytes(BLOCK_SIZE)
            with vfs.open(argv[3], "wb") as f:
                while size > 0:
                    f.write(buf if size >= BLOCK_SIZE else buf[:size])
                    size -= BLOCK_SIZE
        finally:
            bd.close()
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
    raise Error("usage: flashtool.py mkfs IMAGE SIZE_BYTES SRC_DIR [--force] [--progsize 32|256] | mkflash IMAGE PROFILE SRC_DIR [--app FILE] "
                "[--force] | ls IMAGE | cat IMAGE PATH | hash IMAGE | df IMAGE | fill IMAGE PATH SIZE | rm IMAGE PATH")


if __name__ == "__main__":
    try:
        main(sys.argv)
    except Error as e:
        print("flashtool: %s" % e, file=sys.stderr)
        sys.exit(1)
