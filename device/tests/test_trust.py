# Expiry, the signature threshold and key rotation on simulated devices against fake_server.py
# (docs/protocol.md, "Expiry" and "Trust and key rotation"). One story: an expired release is
# refused; a device trusting {A} learns {A, B} from a confirmed release, takes a release signed by B
# alone, retires A, then refuses a release signed by A; a rolled-back release's trust is discarded.
# Also a device with threshold 2.
from harness import run, tempdir, test
from aloft import tree
from simulated import Device, Server, codes, output

TMP = tempdir("trust")
SERVER = Server(TMP)
KEYS = SERVER.keys()
A, B = KEYS["A"], KEYS["B"]

APP = b'import lib.ver\nprint("app", lib.ver.V)\n'


def release(name, seq, sign, extra=None, main=APP):
    files = {"main.py": main, "lib/ver.py": b"V = %d\n" % seq}
    SERVER.publish(name, "%d.0.0" % seq, seq, files, extra=extra, sign=[{"key": k} for k in sign])
    return SERVER.releases()[name]


E1 = release("e1", 1, "A", {"created": "2025-01-01T00:00:00Z", "expires": "2025-06-01T00:00:00Z"})
K2 = release("k2", 2, "A", {"trust": {"keys": ["A", "B"]}, "expires": "2099-01-01T00:00:00Z"})
K3 = release("k3", 3, "B")
K4 = release("k4", 4, "B", {"trust": {"keys": ["B"]}})
K5 = release("k5", 5, "A")
K6 = release("k6", 6, "B", {"trust": {"keys": ["A", "B"]}}, b'raise ValueError("bad release")\n')
K7 = release("k7", 7, "B")
H1 = release("h1", 1, "AA")  # the same key twice
H2 = release("h2", 2, "XA")  # an untrusted key and A
H3 = release("h3", 3, "BXA")

DEV = Device(SERVER, TMP)


def settle(dev, want, heap=None):
    boots = dev.run(heap=heap)
    assert codes(boots) == want, "exits %r, expected %r:\n%s" % (codes(boots), want, output(boots))
    return output(boots)


def refused(dev, name, why):
    before = dev.files()
    k = len(SERVER.log()["events"])
    SERVER.offer(name)
    settle(dev, [2])
    assert dev.files() == before, "flash changed after " + name
    e = SERVER.log()["events"][k:]
    assert [x["type"] for x in e] == ["failed"] and e[0]["reason"] == why, (name, e)
    print("     %s: %s" % (name, why))


def installs(dev, name, files, heap=None):
    SERVER.offer(name)
    out = settle(dev, [75, 75, 0], heap)
    assert "confirmed" in out and dev.app() == files, out


@test
def an_expired_release_is_refused_when_the_clock_is_set():
    refused(DEV, "e1", "expired at 2025-06-01T00:00:00Z")
    assert DEV.state("installed.json") is None


@test
def a_release_carrying_trust_is_verified_under_the_current_trust_and_adopted_when_confirmed():
    installs(DEV, "k2", K2)  # signed by A, trust {A, B}; expires in 2099: not expired
    assert DEV.state("trust.json") == {"keys": sorted([A, B]), "threshold": 1, "sequence": 2}, DEV.state("trust.json")


@test
def a_release_signed_by_the_new_key_alone_is_accepted():
    installs(DEV, "k3", K3)
    assert DEV.state("trust.json")["sequence"] == 2


@test
def a_release_with_trust_b_retires_a():
    installs(DEV, "k4", K4, heap="48K")  # 44K at least
    assert DEV.state("trust.json") == {"keys": [B], "threshold": 1, "sequence": 4}, DEV.state("trust.json")


@test
def a_release_signed_by_the_retired_key_is_refused():
    refused(DEV, "k5", "signed by 0 trusted key(s), 1 needed")
    assert DEV.state("installed.json")["sequence"] == 4 and DEV.state("trust.json")["keys"] == [B]


@test
def a_rolled_back_release_does_not_change_the_trust():
    SERVER.offer("k6")
    out = settle(DEV, [75, 75, 0])
    assert "rolling back 6.0.0: main.py raised ValueError: bad release" in out, out
    assert DEV.app() == K4 and DEV.state("installed.json")["rejected"] == 6
    assert DEV.state("trust.json") == {"keys": [B], "threshold": 1, "sequence": 4}, DEV.state("trust.json")
    installs(DEV, "k7", K7)  # still {B}
    assert DEV.state("trust.json")["sequence"] == 4


@test
def threshold_two_needs_two_distinct_trusted_keys():
    tree.makedirs(TMP + "/two")
    dev = Device(SERVER, TMP + "/two", keys=[A, B], threshold=2)
    refused(dev, "h1", "signed by 1 trusted key(s), 2 needed")  # A twice counts once
    refused(dev, "h2", "signed by 1 trusted key(s), 2 needed")  # X is not trusted
    installs(dev, "h3", H3)  # B, X, A
    assert dev.state("trust.json") is None


try:
    run()
finally:
    SERVER.quit()
    tree.rmtree(TMP)
