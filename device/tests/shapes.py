# Releases shaped like real MicroPython projects (issue "Any real app"), each a sequence of versions a
# device goes through: {shape: [files of version 1, of version 2, ...]}, files as {path: bytes}. Every
# version's main.py imports what it ships and checks the bytes it expects, so a release that installs
# but does not work (a package shadowing a module, a file missing) fails its trial boot.
#
#   micropython shapes.py OUTDIR     writes OUTDIR/<shape>/<n>/ for each version (for the end-to-end tests)


def noise(n, seed):
    # n deterministic bytes that zlib cannot shrink
    out = bytearray(n)
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = x >> 16 & 0xFF
    return bytes(out)


def _main(tag, checks):
    # main.py: the checks are Python expressions that must hold; then it prints "app <tag> ok".
    lines = ["import sys", "sys.path.append('/lib')"]
    for c in checks:
        lines.append("assert %s, %r" % (c, c))
    lines.append("print('app %s ok')" % tag)
    return ("\n".join(lines) + "\n").encode()


def _size(path, n):
    return "__import__('os').stat(%r)[6] == %d" % (path, n)


def _bytes(path, data):
    return "open(%r, 'rb').read() == %r" % (path, data)


def empty():
    # a package whose __init__.py is empty (most are), and an empty data file
    v1 = {
        "lib/sensors/__init__.py": b"",
        "lib/sensors/temp.py": b"READING = 21\n",
        "data/empty.txt": b"",
    }
    v1["main.py"] = _main("empty-1", ["__import__('sensors.temp').temp.READING == 21", _size("/data/empty.txt", 0)])
    v2 = dict(v1)
    v2["lib/sensors/temp.py"] = b"READING = 22\n"
    v2["lib/sensors/hum/__init__.py"] = b""  # a second empty file, in a new subpackage
    v2["main.py"] = _main("empty-2", ["__import__('sensors.temp').temp.READING == 22", _size("/lib/sensors/hum/__init__.py", 0)])
    return [v1, v2]


def deep():
    # eight levels, and a path of 128 bytes
    d = "a/b/c/d/e/f/g/"
    long = "lib/" + "x" * 60 + "/" + "y" * 60 + ".py"
    assert len(long) == 128
    v1 = {d + "h.txt": b"deep 1\n", long: b"L = 1\n"}
    v1["main.py"] = _main("deep-1", [_bytes("/" + d + "h.txt", b"deep 1\n"), _size("/" + long, 6)])
    v2 = {d + "h.txt": b"deep 2\n", "a/b/c/d/other.txt": b"o\n", long: b"L = 2\n"}
    v2["main.py"] = _main("deep-2", [_bytes("/" + d + "h.txt", b"deep 2\n"), _bytes("/" + long, b"L = 2\n")])
    return [v1, v2]


def package():
    # lib/x.py becomes the package lib/x/, then a module again: the one left aside must not shadow the other
    v1 = {"lib/x.py": b"V = 1\n"}
    v1["main.py"] = _main("package-1", ["__import__('x').V == 1"])
    v2 = {"lib/x/__init__.py": b"V = 2\nfrom .sub import S\n", "lib/x/sub.py": b"S = 2\n"}
    v2["main.py"] = _main("package-2", ["__import__('x').V == 2", "__import__('x').S == 2"])
    v3 = {"lib/x.py": b"V = 3\n"}
    v3["main.py"] = _main("package-3", ["__import__('x').V == 3", "not hasattr(__import__('x'), 'S')"])
    return [v1, v2, v3]


def swap():
    # lib/data is a file, then a folder of the same name, then a file again
    v1 = {"lib/data": b"a file\n"}
    v1["main.py"] = _main("swap-1", [_bytes("/lib/data", b"a file\n")])
    v2 = {"lib/data/a.txt": b"now a folder\n", "lib/data/b.bin": noise(3000, 5)}
    v2["main.py"] = _main("swap-2", [_bytes("/lib/data/a.txt", b"now a folder\n"), _size("/lib/data/b.bin", 3000)])
    v3 = {"lib/data": b"a file again\n"}
    v3["main.py"] = _main("swap-3", [_bytes("/lib/data", b"a file again\n")])
    return [v1, v2, v3]


def same():
    # the same bytes at several paths, empty and not, changing together
    blob = noise(5000, 9)
    v1 = {"assets/a.bin": blob, "assets/b.bin": blob, "lib/one/__init__.py": b"", "lib/two/__init__.py": b"", "LICENSE": b"MIT\n", "lib/one/LICENSE": b"MIT\n"}
    v1["main.py"] = _main("same-1", [_size("/assets/b.bin", 5000), _bytes("/lib/one/LICENSE", b"MIT\n")])
    v2 = dict(v1)
    blob2 = noise(5000, 10)
    v2["assets/a.bin"] = v2["assets/b.bin"] = v2["assets/c.bin"] = blob2
    v2["main.py"] = _main("same-2", ["open('/assets/a.bin','rb').read() == open('/assets/c.bin','rb').read()"])
    return [v1, v2]


def binary():
    # incompressible bytes, every byte value, and text that compresses well
    v1 = {"data/noise.bin": noise(30000, 1), "data/all.bin": bytes(range(256)) * 4, "data/text.txt": b"temperature=21.5;\n" * 2000}
    v1["main.py"] = _main("binary-1", [_bytes("/data/all.bin", bytes(range(256)) * 4), _size("/data/noise.bin", 30000)])
    v2 = dict(v1)
    v2["data/noise.bin"] = noise(31000, 2)
    v2["data/text.txt"] = b"humidity=40;\n" * 3000
    v2["main.py"] = _main("binary-2", [_size("/data/noise.bin", 31000), _size("/data/text.txt", 39000)])
    return [v1, v2]


def readd():
    # a file removed, then added back with the same bytes
    v1 = {"lib/extra.py": b"E = 1\n", "lib/keep.py": b"K = 1\n"}
    v1["main.py"] = _main("readd-1", ["__import__('extra').E == 1"])
    v2 = {"lib/keep.py": b"K = 1\n"}
    v2["main.py"] = _main("readd-2", ["'extra.py' not in __import__('os').listdir('/lib')"])
    v3 = dict(v1)
    v3["main.py"] = _main("readd-3", ["__import__('extra').E == 1"])
    return [v1, v2, v3]


def many(n=1000):
    # a thousand files in 20 packages (an app with libraries), then an update that changes one
    v1 = {}
    for i in range(n - 1):
        p = "lib/pkg%02d/" % (i // 50)
        v1[p + ("__init__.py" if i % 50 == 0 else "mod%04d.py" % i)] = b"" if i % 50 == 0 else b"X = %d\n" % i
    v1["main.py"] = _main("many-1", ["__import__('pkg19.mod0998').mod0998.X == 998"])
    v2 = dict(v1)
    v2["lib/pkg07/mod0351.py"] = b"X = 'changed'\n"
    v2["main.py"] = _main("many-2", ["__import__('pkg07.mod0351').mod0351.X == 'changed'"])
    return [v1, v2]


SHAPES = ("empty", "deep", "package", "swap", "same", "binary", "readd")


def all_shapes():
    return dict((name, globals()[name]()) for name in SHAPES + ("many",))


def broken(files, tag):
    """files with a main.py that raises: a release that fails its trial boot."""
    out = dict(files)
    out["main.py"] = b"raise RuntimeError('%s is broken')\n" % tag.encode()
    return out


if __name__ == "__main__":
    import sys

    sys.path.insert(0, sys.argv[0].rsplit("/", 1)[0] if "/" in sys.argv[0] else ".")
    from harness import write

    for name, versions in all_shapes().items():
        for i, files in enumerate(versions):
            for path, data in files.items():
                write("%s/%s/%d/%s" % (sys.argv[1], name, i + 1, path), data)
