# Manifest rules (docs/protocol.md): paths, board globs, MicroPython versions, field checks and
# signed envelopes (data/envelopes.json, made by `python3 fake_server.py --vectors`).
from harness import HERE, raises, run, test
import json
from aloft import manifest, signature

with open(HERE + "/data/envelopes.json") as f:
    V = json.load(f)
KEY = V["key"]

SHA = "ab" * 32


def doc(**change):
    m = {
        "channel": "stable",
        "compat": {"boards": ["*"], "micropython": "1.21"},
        "created": "2026-11-29T02:33:34Z",
        "files": [{"path": "lib/util.py", "sha256": SHA, "size": 812}, {"path": "main.py", "sha256": SHA, "size": 95}],
        "format": 1,
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
    for p in ("main.py", "lib/x.py", "a/b/c/d/e/f/g/h", "A-Z_a.z+0=9@~,", "lib/aloft.py", "lib/aloftx/y", "x" * 64, "bootx.py"):
        assert manifest.path_error(p) is None, p


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
        ("lib/aloft/update.py", "reserved"),
        ("x" * 65, "segment longer"),
        ("/".join(["abcdefghijklmno"] * 8) + "x" * 9, "longer than 128"),
        ("a/b/c/d/e/f/g/h/i", "more than 8"),
    ):
        got = manifest.path_error(p)
        assert got is not None and why in got, (p, got)


@test
def board_globs():
    m = manifest.glob_match
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
    v = manifest.version
    assert v("1.21") == (1, 21, 0) and v("1.22.2") == (1, 22, 2)
    assert v("1.29.0-preview") == (1, 29, 0) and v("1.29.0-preview", True) is None
    assert v("1.9") < v("1.21") < v("1.21.1") < v("2.0")
    for bad in ("1", "1.2.3.4", "a.b", "1..2", "", None, "1.2x"):
        assert v(bad, True) is None, bad


@test
def compatibility():
    m = manifest.parse(doc(compat={"boards": ["esp32*", "sim"], "micropython": "1.22"}))
    assert manifest.incompatibility(m, "sim", "1.29.0") is None
    assert manifest.incompatibility(m, "sim", "1.22.0") is None
    assert manifest.incompatibility(m, "sim", "1.22.0-preview") is None  # pre-release ignored
    assert "board" in manifest.incompatibility(m, "rp2", "1.29.0")
    assert "needs MicroPython 1.22" in manifest.incompatibility(m, "sim", "1.21.9")


@test
def valid_manifest_parses():
    m = manifest.parse(doc())
    assert m["sequence"] == 7 and m["files"][1]["path"] == "main.py"
    manifest.parse(doc(version="2.0.0-rc.1+build.5", channel="beta-2", sequence=2**53 - 1))


@test
def field_rules():
    refused("{", "not JSON")
    refused("[]", "format")
    refused(doc(format=2), "format")
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
    refused(doc(files=[]), "files")


@test
def file_rules():
    f = {"path": "main.py", "sha256": SHA, "size": 1}
    refused(doc(files=[dict(f, path="../boot.py")]), "bad path")
    refused(doc(files=[dict(f, path="boot.py")]), "reserved")
    refused(doc(files=[dict(f, path="lib/aloft/x.py")]), "reserved")
    refused(doc(files=[dict(f, sha256=SHA.upper())]), "sha256")
    refused(doc(files=[dict(f, sha256=SHA[:-1])]), "sha256")
    refused(doc(files=[dict(f, size=-1)]), "size")
    refused(doc(files=[dict(f, size=16 * 1024 * 1024 + 1)]), "size")
    refused(doc(files=[f, f]), "unique")
    refused(doc(files=[dict(f, path="b.py"), dict(f, path="a.py")]), "sorted")
    refused(doc(files=[dict(f, path="lib"), dict(f, path="lib/x.py")]), "both a file and a folder")
    refused(doc(files=[dict(f, path="p%d" % i) for i in range(257)]), "files")


@test
def signed_envelope_verifies():
    assert signature.verify(V["good"], [KEY]) == V["good"]["manifest"]
    # an untrusted signature before the trusted one does not matter
    assert signature.verify(V["two_signatures"], [KEY])
    assert signature.verify(V["good"], [V["other_key"], KEY])
    m = manifest.parse(V["good"]["manifest"])
    assert m["version"] == "1.0.0" and len(m["files"]) == 3


@test
def bad_envelopes_are_refused():
    for name in ("tampered", "wrongkey", "forgedkeyid"):
        e = raises(ValueError, signature.verify, V[name], [KEY])
        assert "signature" in str(e), name
    raises(ValueError, signature.verify, V["good"], [V["other_key"]])
    raises(ValueError, signature.verify, {"manifest": 1, "signatures": []}, [KEY])
    raises(ValueError, signature.verify, {"manifest": V["good"]["manifest"]}, [KEY])
    raises(ValueError, signature.verify, None, [KEY])
    bad = {"manifest": V["good"]["manifest"], "signatures": [{"keyid": V["good"]["signatures"][0]["keyid"], "sig": "!!"}]}
    raises(ValueError, signature.verify, bad, [KEY])
    for key in ("abc", "zz" * 32, KEY[:-2]):
        assert "bad key" in str(raises(ValueError, signature.verify, V["good"], [key])), key


run()
