# Manifest rules (docs/protocol.md): paths, board globs, MicroPython versions, field checks, file lists
# and signed envelopes (data/envelopes.json, made by `python3 fake_server.py --vectors`).
from harness import HERE, raises, run, tempdir, test
import json
from binascii import hexlify
from hashlib import sha256
from aloft import compat, listing, manifest, paths, signature, tree, verify

with open(HERE + "/data/envelopes.json") as f:
    V = json.load(f)
KEY = V["key"]

SHA = "ab" * 32
TMP = tempdir("manifest")
LIST = TMP + "/list"


def doc(**change):
    m = {
        "channel": "stable",
        "compat": {"boards": ["*"], "micropython": "1.21"},
        "created": "2026-11-29T02:33:34Z",
        "files": {"count": 2, "sha256": SHA, "size": 163},
        "format": 2,
        "sequence": 7,
        "version": "1.2.0",
    }
    m.update(change)
    return json.dumps(m)


def refused(text, why):
    e = raises(ValueError, manifest.parse, text)
    assert why in str(e), (why, str(e))


@test
def valid_paths():
    for p in ("main.py", "lib/x.py", "a/b/c/d/e/f/g/h", "A-Z_a.z+0=9@~,", "lib/aloft.py", "lib/aloftx/y", "x" * 64, "bootx.py", "lib/aloft/update.py"):
        assert paths.error(p) is None, p


@test
def invalid_paths():
    for p, why in (
        ("", "empty"),
        (None, "empty"),
        ("../boot.py", "'.'"),
        ("lib/../main.py", "'.'"),
        ("./main.py", "'.'"),
        ("/lib/x", "absolute"),
        ("lib/", "trailing"),
        ("a//b", "empty segment"),
        ("a\\b", "backslash"),
        ("a b", "character"),
        ("caf\u00e9.py", "character"),
        ("a:b", "character"),
        ("boot.py", "reserved"),
        (".aloft", "reserved"),
        (".aloft/config.json", "reserved"),
        ("lib/aloft", "reserved"),
        ("x" * 65, "segment longer"),
        ("/".join(["abcdefghijklmno"] * 8) + "x" * 9, "longer than 128"),
        ("a/b/c/d/e/f/g/h/i", "more than 8"),
    ):
        got = paths.error(p)
        assert got is not None and why in got, (p, got)


@test
def board_globs():
    m = compat.glob_match
    assert m("*", "esp32") and m("*", "")
    assert m("esp32*", "esp32") and m("esp32*", "esp32-s3")
    assert not m("esp32*", "ESP32") and not m("esp32*", "xesp32")
    assert m("rp2-?", "rp2-w") and not m("rp2-?", "rp2-") and not m("rp2-?", "rp2-ww")
    assert m("*-s3", "esp32-s3") and not m("*-s3", "esp32-s2")
    assert m("a*b*c", "aXbYbZc") and not m("a*b*c", "aXbYbZ")
    assert m("??", "ab") and not m("??", "a")
    assert m("sim", "sim") and not m("sim", "sim2")


@test
def micropython_versions():
    v = compat.version
    assert v("1.21") == (1, 21, 0) and v("1.22.2") == (1, 22, 2)
    assert v("1.29.0-preview") == (1, 29, 0) and v("1.29.0-preview", True) is None
    assert v("1.9") < v("1.21") < v("1.21.1") < v("2.0")
    for bad in ("1", "1.2.3.4", "a.b", "1..2", "", None, "1.2x"):
        assert v(bad, True) is None, bad


@test
def compatibility():
    m = manifest.parse(doc(compat={"boards": ["esp32*", "sim"], "micropython": "1.22"}))
    assert compat.incompatibility(m, "sim", "1.29.0") is None
    assert compat.incompatibility(m, "sim", "1.22.0") is None
    assert compat.incompatibility(m, "sim", "1.22.0-preview") is None  # pre-release ignored
    assert "board" in compat.incompatibility(m, "rp2", "1.29.0")
    assert "needs MicroPython 1.22" in compat.incompatibility(m, "sim", "1.21.9")


@test
def valid_manifest_parses():
    m = manifest.parse(doc())
    assert m["sequence"] == 7 and m["files"]["count"] == 2
    manifest.parse(doc(version="2.0.0-rc.1+build.5", channel="beta-2", sequence=2**53 - 1))


@test
def field_rules():
    refused("{", "not JSON")
    refused("[]", "format")
    refused(doc(format=1), "format")
    refused(doc(format=True), "format")
    refused(doc(version=""), "version")
    refused(doc(version="1.0 beta"), "version")
    refused(doc(sequence=0), "sequence")
    refused(doc(sequence=2**53), "sequence")
    refused(doc(sequence="7"), "sequence")
    refused(doc(channel="Stable"), "channel")
    refused(doc(channel="-x"), "channel")
    refused(doc(channel="x" * 33), "channel")
    refused(doc(created="2026-11-29 02:33:34Z"), "created")
    refused(doc(created="2026-11-29T02:33:3xZ"), "created")
    refused(doc(compat={"boards": [], "micropython": "1.21"}), "boards")
    refused(doc(compat={"boards": ["*"] * 17, "micropython": "1.21"}), "boards")
    refused(doc(compat={"boards": ["*"], "micropython": "1.21-preview"}), "micropython")
    refused(doc(files=[]), "bad files")
    f = {"count": 2, "sha256": SHA, "size": 163}
    refused(doc(files=dict(f, count=0)), "files.count")
    refused(doc(files=dict(f, count=4097)), "files.count")
    refused(doc(files=dict(f, size=0)), "files.size")
    refused(doc(files=dict(f, size=1024 * 1024 + 1)), "files.size")
    refused(doc(files=dict(f, sha256=SHA.upper())), "files.sha256")
    refused(doc(files=dict(f, sha256=SHA[:-1])), "files.sha256")
    manifest.parse(doc(files=dict(f, count=4096, size=1024 * 1024)))


def checked(text, lines=None):
    """listing.check over the file list text (a str; lines: the count to claim, else its own)."""
    data = text.encode()
    with open(LIST, "wb") as out:
        out.write(data)
    n = data.count(b"\n") if lines is None else lines
    listing.check(LIST, {"count": n, "size": len(data), "sha256": hexlify(sha256(data).digest()).decode()})


def listed(*rows):
    return "".join("%s %s %s\n" % (h, n, p) for p, h, n in rows)


def list_refused(text, why, lines=None):
    e = raises(ValueError, checked, text, lines)
    assert why in str(e), (why, str(e))


@test
def file_list_rules():
    ok = lambda p, n="1": (p, SHA, n)
    checked(listed(ok("lib/util.py", "812"), ok("main.py", "95")))
    checked(listed(ok("lib/pkg/__init__.py", "0"), ok("lib/pkg/mod.py")))  # an empty file
    checked(listed(ok("lib/aloft/__init__.py"), ok("lib/aloft/x.py")))
    # a file beside a folder whose name it extends with a character that sorts before "/"
    checked(listed(ok("lib/data"), ok("lib/data+x/y"), ok("lib/data-x"), ok("lib/data.bin"), ok("lib/datax/y")))
    checked(listed(*[ok("p%04d" % i) for i in range(1000)]))
    list_refused(listed(ok("../boot.py")), "bad path")
    list_refused(listed(ok("boot.py")), "reserved")
    list_refused(listed(ok(".aloft/trust.json")), "reserved")
    list_refused(listed(ok("lib/aloft/x.py")), "lib/aloft/__init__.py is missing")  # all of the agent or none
    list_refused(listed(ok("lib/aloft/__init__.py"), *[ok("lib/aloft/m%02d.py" % i) for i in range(64)]), "at most 64 agent files")
    list_refused(listed(("main.py", SHA.upper(), "1")), "bad sha256")
    list_refused(listed(("main.py", SHA[:-2] + "zz", "1")), "bad sha256")
    list_refused(listed(("main.py", SHA[:-1], "1")), "not <sha256>")
    for size in ("-1", "07", "", "1x", "16777217", "123456789"):
        list_refused(listed(ok("main.py", size)), "bad size")
    list_refused(listed(ok("main.py"), ok("main.py")), "unique")
    list_refused(listed(ok("b.py"), ok("a.py")), "sorted")
    list_refused(listed(ok("lib"), ok("lib/x.py")), "lib is both a file and a folder")
    list_refused(listed(ok("lib/data"), ok("lib/data-x"), ok("lib/data.y"), ok("lib/data/z")), "lib/data is both a file and a folder")
    list_refused(listed(ok("a"), ok("a-"), ok("a--"), ok("a-/b")), "a- is both a file and a folder")
    list_refused(listed(ok("main.py")).replace(" ", "  ", 1), "bad size")
    list_refused(listed(ok("main.py"))[:-1], "not <sha256>", 1)  # no newline at the end
    list_refused(listed(ok("main.py" + "x" * 130)), "not <sha256>")
    list_refused(listed(ok("a.py"), ok("b.py")), "more than the 1 lines", 1)
    list_refused(listed(ok("a.py")), "has 1 lines, files.count says 2", 2)
    good = listed(ok("a.py"))
    with open(LIST, "wb") as out:
        out.write(good)
    e = raises(ValueError, listing.check, LIST, {"count": 1, "size": len(good), "sha256": SHA})
    assert "does not match files.sha256" in str(e), e


@test
def signed_envelope_verifies():
    assert signature.verify(V["good"], [KEY]) == V["good"]["manifest"]
    # an untrusted signature before the trusted one does not matter
    assert signature.verify(V["two_signatures"], [KEY])
    assert signature.verify(V["good"], [V["other_key"], KEY])
    m = manifest.parse(V["good"]["manifest"])
    assert m["version"] == "1.0.0" and m["files"]["count"] == 3


@test
def bad_envelopes_are_refused():
    for name in ("tampered", "wrongkey", "forgedkeyid"):
        e = raises(ValueError, signature.verify, V[name], [KEY])
        assert "signed by 0 trusted key(s), 1 needed" in str(e), (name, e)
    raises(ValueError, signature.verify, V["good"], [V["other_key"]])
    raises(ValueError, signature.verify, {"manifest": 1, "signatures": []}, [KEY])
    raises(ValueError, signature.verify, {"manifest": V["good"]["manifest"]}, [KEY])
    raises(ValueError, signature.verify, None, [KEY])
    bad = {"manifest": V["good"]["manifest"], "signatures": [{"keyid": V["good"]["signatures"][0]["keyid"], "sig": "!!"}]}
    raises(ValueError, signature.verify, bad, [KEY])
    for key in ("abc", "zz" * 32, KEY[:-2]):
        assert "bad key" in str(raises(ValueError, signature.verify, V["good"], [key])), key



KEYS = sorted([KEY, V["other_key"], V["third_key"]])  # A, B, C


@test
def threshold_two_needs_two_distinct_trusted_keys():
    for name in ("signed_ab", "signed_xcb", "signed_badb_a_c"):
        assert signature.verify(V[name], KEYS, 2) == V["good"]["manifest"], name
    # a key counts once; untrusted keys, forged key ids and bad signatures do not count
    for name in ("signed_aa", "signed_ax", "signed_a_forged_b", "signed_a_badb", "good"):
        e = raises(ValueError, signature.verify, V[name], KEYS, 2)
        assert str(e) == "signed by 1 trusted key(s), 2 needed", (name, e)
    assert str(raises(ValueError, signature.verify, V["signed_ab"], KEYS, 3)) == "signed by 2 trusted key(s), 3 needed"
    # threshold 1 (the default): any one trusted key
    for name in ("signed_aa", "signed_ax", "signed_a_forged_b", "signed_a_badb", "signed_ab"):
        assert signature.verify(V[name], KEYS) == V["good"]["manifest"], name
    assert signature.verify(V["signed_xcb"], [V["other_key"]]) == V["good"]["manifest"]
    # more than 8 signatures: refused without verifying any; a threshold above the keys: refused
    assert "malformed" in str(raises(ValueError, signature.verify, V["signed_9"], KEYS))
    assert "malformed" in str(raises(ValueError, signature.verify, {"manifest": V["good"]["manifest"], "signatures": []}, KEYS))
    for n in (0, 4, "2"):
        assert "bad threshold" in str(raises(ValueError, signature.verify, V["signed_ab"], KEYS, n)), n


@test
def expires_rules():
    m = manifest.parse(doc(expires="2027-01-01T00:00:00Z"))
    assert m["expires"] == "2027-01-01T00:00:00Z"
    manifest.parse(doc(expires="2028-02-29T23:59:59Z"))  # a leap day
    manifest.parse(doc(expires="2026-11-29T02:33:35Z"))  # one second after created
    refused(doc(expires="2026-11-29T02:33:34Z"), "not after created")
    refused(doc(expires="2025-01-01T00:00:00Z"), "not after created")
    for bad in ("2027-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2027-13-01T00:00:00Z", "2027-00-01T00:00:00Z",
                "2027-04-31T00:00:00Z", "2027-01-00T00:00:00Z", "2027-01-01T24:00:00Z", "2027-01-01T00:60:00Z",
                "2027-01-01T00:00:60Z", "2027-01-01 00:00:00Z", "2027-01-01T00:00:00", 20270101, None):
        refused(doc(expires=bad), "bad expires")
    manifest.parse(doc(expires="2400-02-29T00:00:00Z"))


@test
def expiry_needs_a_set_clock():
    m = manifest.parse(doc(expires="2027-01-01T00:00:00Z"))
    assert verify.expired(m, (2027, 1, 1, 0, 0, 0, 4, 1))  # now == expires: expired
    assert verify.expired(m, (2031, 5, 6, 7, 8, 9, 0, 0))
    assert not verify.expired(m, (2026, 12, 31, 23, 59, 59, 3, 365))
    assert not verify.expired(m, (2000, 1, 1, 0, 0, 0, 5, 1))  # a clock never set: skipped
    assert not verify.expired(m, (2024, 12, 31, 23, 59, 59, 1, 366))
    assert not verify.expired(manifest.parse(doc()), (2099, 1, 1, 0, 0, 0, 3, 1))  # no expires


@test
def trust_rules():
    a, b, c = KEYS
    m = manifest.parse(doc(trust={"keys": [a, b], "threshold": 2}))
    assert m["trust"] == {"keys": [a, b], "threshold": 2}
    manifest.parse(doc(trust={"keys": [c], "threshold": 1}))
    manifest.parse(doc(trust={"keys": ["%02x" % i * 32 for i in range(8)], "threshold": 8}))
    for bad, why in (
        ({"keys": [b, a], "threshold": 1}, "sorted"),
        ({"keys": [a, a], "threshold": 1}, "distinct"),
        ({"keys": [a.upper()], "threshold": 1}, "hex"),
        ({"keys": [a[:-2]], "threshold": 1}, "hex"),
        ({"keys": [1], "threshold": 1}, "hex"),
        ({"keys": [], "threshold": 1}, "bad trust"),
        ({"keys": ["%02x" % i * 32 for i in range(9)], "threshold": 1}, "bad trust"),
        ({"keys": [a, b], "threshold": 3}, "trust.threshold"),
        ({"keys": [a, b], "threshold": 0}, "trust.threshold"),
        ({"keys": [a, b], "threshold": "1"}, "trust.threshold"),
        ({"keys": [a, b]}, "trust"),
        ({"keys": [a], "threshold": 1, "extra": 1}, "bad trust"),
        ([a], "bad trust"),
        (None, "bad trust"),
    ):
        refused(doc(trust=bad), why)


try:
    run()
finally:
    tree.rmtree(TMP)
