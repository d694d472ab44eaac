# Shared by the test_*.py scripts, which the MicroPython unix port runs one by one:
#   micropython device/tests/test_manifest.py
# Each prints one line per test and a closing "N passed, N failed" line, and exits 1 on a failure.
import os
import sys

HERE = sys.argv[0].rsplit("/", 1)[0] if "/" in sys.argv[0] else "."
if not HERE.startswith("/"):
    HERE = os.getcwd() + "/" + HERE
DEVICE = HERE + "/.."
sys.path.insert(0, DEVICE + "/sim")
sys.path.insert(0, DEVICE)

_tests = []


class RamFlash:
    # A block device in RAM, for os.VfsLfs2 (4096-byte blocks).
    def __init__(self, blocks=64):
        self.data = bytearray(b"\xff" * (blocks * 4096))
        self.blocks = blocks

    def readblocks(self, n, buf, off=0):
        o = n * 4096 + off
        buf[:] = self.data[o : o + len(buf)]

    def writeblocks(self, n, buf, off=0):
        o = n * 4096 + off
        self.data[o : o + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return 4096
        if op == 6:
            self.data[arg * 4096 : (arg + 1) * 4096] = b"\xff" * 4096
        return 0


def mount_flash(bd):
    """Mount bd at / like a board's flash, keeping this checkout importable (the agent loads its
    modules lazily) by mounting the host folder it lives in at the same path."""
    top = "/" + DEVICE.split("/")[1]
    os.mount(os.VfsLfs2(bd), "/")
    os.mount(os.VfsPosix(top), top)


def test(fn):
    _tests.append(fn)
    return fn


def raises(exc, fn, *args):
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%s%r did not raise %s" % (fn.__name__, args, exc.__name__))


def run():
    import os

    name = sys.argv[0].rsplit("/", 1)[-1]
    failed = 0
    only = os.getenv("ALOFT_TEST_ONLY")  # a test's name: run that one alone
    tests = [fn for fn in _tests if not only or fn.__name__ == only]
    for fn in tests:
        try:
            fn()
            print("ok   %s" % fn.__name__)
        except Exception as e:
            failed += 1
            print("FAIL %s" % fn.__name__)
            sys.print_exception(e)
    print("%s: %d passed, %d failed" % (name.split(".")[0], len(tests) - failed, failed))
    sys.exit(1 if failed else 0)


def tempdir(tag):
    """A new empty folder on the host (under $TMPDIR or /tmp)."""
    import os
    from binascii import hexlify

    path = "%s/aloft-%s-%s" % (os.getenv("TMPDIR") or "/tmp", tag, hexlify(os.urandom(4)).decode())
    os.mkdir(path)
    return path


def micropython():
    """The unix port binary running this test, for child processes."""
    import os

    path = os.getenv("ALOFT_MICROPYTHON") or sys.executable
    return path if path.startswith("/") or "/" not in path else os.getcwd() + "/" + path


def sh(cmd):
    """Exit code of a shell command."""
    import os

    return os.system(cmd) >> 8


def write(path, data):
    import os

    i = path.rfind("/")
    parts = path[:i].split("/")
    for n in range(2, len(parts) + 1):
        try:
            os.mkdir("/".join(parts[:n]))
        except OSError:
            pass
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()
