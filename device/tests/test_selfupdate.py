# Updating the agent itself (docs/device.md, "Updating the agent"), on a simulated device against
# fake_server.py. A release that carries lib/aloft/ installs through the same journal as any other
# file; the agent it replaces is kept whole in /.aloft/agent and boot.py runs that copy first at
# every trial boot: it counts the boot, then the new agent runs the release on trial. A new agent
# that does not import is rolled back by the previous one at once, one that never confirms after
# trial_boots boots, each reported; a release without agent files leaves the agent alone; a board whose
# agent is not in /lib/aloft (frozen) refuses a release that carries one; a damaged copy of the previous
# agent is removed.
# (Power cuts during an update of the agent: test_powercut.py.)
from harness import run, tempdir, test
from agentpack import FORM
from simulated import Device, Server, checkout_agent as agent, codes, output
from aloft import tree

TMP = tempdir("selfupdate")
SERVER = Server(TMP)
SETTINGS = {"retries": 1, "confirm_wait": 1}


def app(n):
    return {"main.py": b"print('app %d ok')\n" % n, "lib/util.py": b"N = %d\n" % n}


def publish(name, sequence, files):
    SERVER.publish(name, "%d.0.0" % sequence, sequence, files)
    return SERVER.releases()[name]


def only(files, prefix):
    return dict((p, h) for p, h in files.items() if p.startswith(prefix))


def events(since):
    return [(e["type"], e["sequence"], e.get("reason", "")) for e in SERVER.log()["events"][since:]]


def idle_and_clean(dev):
    assert not dev.side_files(), dev.side_files()
    leftovers = [p for p in dev.files() if p.startswith("/.aloft/agent")]
    assert not leftovers, leftovers
    for name in ("journal", "journal.ops", "trial.json"):
        assert dev.state(name) is None, name


DEV = Device(SERVER, TMP, id="self-1", **SETTINGS)
SERVER.post("/_ctl", {"device": "self-1", "release": None})
PROVISIONED = DEV.agent()
A2 = agent("0.3.1", extra={"extra.py": b"EXTRA = 1\n"}, edit={"http.py": lambda b: b + b"# 0.3.1\n"})
R = {}


@test
def an_app_release_leaves_the_agent_alone():
    R[1] = publish("s1", 1, app(1))
    SERVER.post("/_ctl", {"device": "self-1", "release": "s1"})
    boots = DEV.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    assert DEV.app() == R[1], (DEV.app(), R[1])
    assert DEV.agent() == PROVISIONED, (DEV.agent(), PROVISIONED)
    assert SERVER.log()["checkins"][-1]["agent"] == "0.4.0"


@test
def a_release_with_a_new_agent_installs_it_on_trial_under_the_previous_one():
    R[2] = publish("s2", 2, dict(app(2), **A2))
    n, k = len(SERVER.log()["downloads"]), len(SERVER.log()["events"])
    SERVER.post("/_ctl", {"device": "self-1", "release": "s2"})
    boots = DEV.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    install, trial, plain = [o for _, o in boots]
    assert "installed 2.0.0" in install and "agent 0.3.1 loaded" not in install, install
    # the previous agent counts the trial boot before the new one is even imported
    assert trial.index("2.0.0 on trial, boot 1 of 3") < trial.index("agent 0.3.1 loaded") < trial.index("app 2 ok"), trial
    assert "2.0.0 confirmed" in trial and "agent 0.3.1 loaded" in plain, trial
    assert DEV.agent() == only(R[2], "/lib/aloft/"), DEV.agent()
    assert DEV.app() == dict((p, h) for p, h in R[2].items() if not p.startswith("/lib/aloft/"))
    idle_and_clean(DEV)
    assert events(k) == [("downloading", 2, ""), ("installed", 2, ""), ("confirmed", 2, "")], events(k)
    # only what changed: main.py, lib/util.py and the agent files not on flash with the same bytes; in the pack form
    # (one module changed, one added) that is __init__.py and the whole pack
    got = sorted(d["sha256"] for d in SERVER.log()["downloads"][n:] if not d["list"])
    changed = sorted(p for p, h in only(R[2], "/lib/aloft/").items() if PROVISIONED.get(p) != h)
    if FORM == "pack":
        assert changed == ["/lib/aloft/__init__.py", "/lib/aloft/agent.pk"], changed
    want = sorted(R[2][p] for p in ["/main.py", "/lib/util.py"] + changed)
    assert got == want, (len(got), len(want))
    c = SERVER.log()["checkins"]
    assert c[-1]["agent"] == "0.3.1" and c[-1]["sequence"] == 2, c[-1]
    # the record is the release's file list, agent files included; but the agent is judged by what
    # lib/aloft holds (a later release without agent files leaves it, one with them compares bytes)
    rec = DEV.installed()
    assert sorted(p for p in rec if not p.startswith("lib/aloft/")) == ["lib/util.py", "main.py"], rec


@test
def an_agent_that_does_not_import_is_rolled_back_by_the_previous_one():
    broken = agent("0.3.2", edit={"__init__.py": lambda b: b + b"raise ImportError('broken on purpose')\n"})
    publish("s3", 3, dict(app(3), **broken))
    k = len(SERVER.log()["events"])
    SERVER.post("/_ctl", {"device": "self-1", "release": "s3"})
    boots = DEV.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    trial = boots[1][1]
    assert "the new agent failed: ImportError: broken on purpose" in trial and "app 3 ok" not in trial, trial
    assert "agent 0.3.1 loaded" in boots[2][1] and "app 2 ok" in boots[2][1], boots[2][1]
    assert DEV.agent() == only(R[2], "/lib/aloft/") and DEV.app() == dict((p, h) for p, h in R[2].items() if not p.startswith("/lib/aloft/"))
    idle_and_clean(DEV)
    assert events(k) == [("downloading", 3, ""), ("installed", 3, ""), ("rolled_back", 3, "the new agent failed: ImportError: broken on purpose")], events(k)
    rec = DEV.state("installed.json")
    assert rec["sequence"] == 2 and rec["rejected"] == 3, rec
    c = SERVER.log()["checkins"][-1]
    assert c["agent"] == "0.3.1" and c["rejected"] == 3, c


@test
def an_agent_that_never_confirms_is_rolled_back_after_its_trial_boots():
    # its check-ins never reach the server, so the release is never confirmed; the previous agent counts
    silence = {"api.py": lambda b: b.replace(b"def post(cfg, path, value):", b"def post(cfg, path, value):\n    raise OSError('mute on purpose')\n\n\ndef _post(cfg, path, value):")}
    assert b"mute on purpose" in agent("0.3.3", edit=silence, form="py")["lib/aloft/api.py"]
    mute = agent("0.3.3", edit=silence)
    publish("s4", 4, dict(app(4), **mute))
    before = DEV.agent()
    k = len(SERVER.log()["events"])
    SERVER.post("/_ctl", {"device": "self-1", "release": "s4"})
    boots = DEV.run(boots=2)  # installed, and its first trial boot
    if FORM == "pack":  # the copy of the previous agent holds its pack's header; the pack is the one replaced, path#old
        files = DEV.files()
        copy = sorted(p for p in files if p.startswith("/.aloft/agent/"))
        assert copy == ["/.aloft/agent/aloft/__init__.py", "/.aloft/agent/aloft/agent.pk"], copy
        assert DEV.cat("/.aloft/agent/aloft/agent.pk") == DEV.cat("/lib/aloft/agent.pk#old")[:32], files
        assert files["/lib/aloft/agent.pk#old"] == before["/lib/aloft/agent.pk"]
    boots += DEV.run()
    assert codes(boots) == [75, 75, 75, 75, 0], output(boots)
    for i in (1, 2, 3):
        assert "4.0.0 on trial, boot %d of 3" % i in boots[i][1] and "app 4 ok" in boots[i][1], boots[i][1]
    assert "rolling back 4.0.0: not confirmed after 3 boots" in boots[4][1], boots[4][1]
    assert DEV.agent() == only(R[2], "/lib/aloft/")
    idle_and_clean(DEV)
    assert events(k) == [("downloading", 4, ""), ("installed", 4, ""), ("rolled_back", 4, "not confirmed after 3 boots")], events(k)


@test
def a_later_agent_drops_a_module_and_an_app_release_keeps_the_agent():
    # 0.2.4 no longer has extra.py; then a release without agent files: the agent stays 0.2.4
    R[5] = publish("s5", 5, dict(app(5), **agent("0.3.4")))
    SERVER.post("/_ctl", {"device": "self-1", "release": "s5"})
    boots = DEV.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    assert DEV.agent() == only(R[5], "/lib/aloft/") and "/lib/aloft/extra.py" not in DEV.agent()
    R[6] = publish("s6", 6, app(6))
    SERVER.post("/_ctl", {"device": "self-1", "release": "s6"})
    boots = DEV.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    assert DEV.app() == R[6] and DEV.agent() == only(R[5], "/lib/aloft/")
    assert "agent 0.3.4 loaded" in boots[2][1] and SERVER.log()["checkins"][-1]["agent"] == "0.3.4"
    idle_and_clean(DEV)


@test
def a_board_whose_agent_is_not_in_lib_aloft_refuses_a_release_that_carries_one():
    # The agent imported from elsewhere (as from the firmware, when frozen): nothing to replace in /lib/aloft.
    tree.makedirs(TMP + "/frozen")
    dev = Device(SERVER, TMP + "/frozen", agent_dir="/aloft", id="frozen-1", **SETTINGS)
    publish("f1", 1, dict(app(1), **agent("0.3.9")))
    SERVER.post("/_ctl", {"device": "frozen-1", "release": "f1"})
    before, n = dev.files(), len(SERVER.log()["downloads"])
    boots = dev.run()
    assert codes(boots) == [2] and "last check result: failed" in output(boots), output(boots)
    e = SERVER.get("/_log?id=frozen-1")["events"][-1]
    assert e["type"] == "failed" and e["reason"] == "the agent is not in /lib/aloft (frozen into the firmware?): a release cannot replace it", e
    # refused before downloading any file: only the file list, which says that the release carries the agent
    assert dict((p, h) for p, h in dev.files().items() if not p.startswith("/.aloft/stage/")) == before
    assert [d["list"] for d in SERVER.log()["downloads"][n:]] == [True]


@test
def a_copy_of_the_previous_agent_that_does_not_import_is_removed():
    # Only flash damage makes one (the copy is made and removed by renames), but then boot.py must not
    # stumble over it at every boot: the installed agent boots instead and removes it.
    tree.makedirs(TMP + "/damaged")
    dev = Device(SERVER, TMP + "/damaged", id="damaged-1", files={"/.aloft/agent/aloft/__init__.py": b"raise ImportError('damaged copy')\n"}, **SETTINGS)
    SERVER.post("/_ctl", {"device": "damaged-1", "release": None})
    boots = dev.run()
    assert codes(boots) == [0] and "ImportError: damaged copy" in output(boots) and "up to date" in output(boots), output(boots)
    assert not [p for p in dev.files() if p.startswith("/.aloft/agent")], dev.files()
    boots = dev.run()
    assert codes(boots) == [0] and "damaged copy" not in output(boots), output(boots)


@test
def a_half_copy_of_the_previous_agent_goes_before_the_next_install_counts_the_flash():
    # (test_powercut) A power cut while the agent is copied to /.aloft/agent.tmp, before the journal: the next install
    # counts the flash for a whole copy again, so the half copy must go first, or an update that fitted fails
    # "insufficient storage" at every check from then on.
    tree.makedirs(TMP + "/halfcopy")
    half = dict(("/.aloft/agent.tmp/aloft/" + p.rsplit("/", 1)[1], b) for p, b in agent("0.3.0").items())
    dev = Device(SERVER, TMP + "/halfcopy", 672 * 1024, id="halfcopy-1", files=half, **SETTINGS)
    publish("h1", 1, app(1))
    SERVER.post("/_ctl", {"device": "halfcopy-1", "release": "h1"})
    boots = dev.run()
    assert codes(boots) == [75, 75, 0] and "insufficient storage" not in output(boots), output(boots)
    left = [p for p in dev.files() if p.startswith("/.aloft/agent")]
    assert not left, left


def cut_short(pack):
    """pack without its last modules' bytes: the entries of core.py and of every module after it point past its end."""
    core = pack.index(b"core" + bytes(6)) + 12  # a 16-byte entry: the name in 10 bytes, the length in 2, the offset
    at = pack[core] | pack[core + 1] << 8 | pack[core + 2] << 16 | pack[core + 3] << 24
    return pack[: at + 10]


@test
def a_damaged_pack_fails_clearly_and_the_application_still_starts():
    # The pack form (agentpack.FORM "pack"): an agent.pk cut short (downloads are hash-checked, flash damage is not).
    # The agent cannot load its modules and says why; boot.py starts the application, at every boot, without a reset.
    if FORM != "pack":
        print("     (the agent is in the %s form: nothing to damage)" % FORM)
        return
    from simulated import provisioned_agent

    tree.makedirs(TMP + "/cutpack")
    pack = provisioned_agent()["agent.pk"]
    dev = Device(SERVER, TMP + "/cutpack", id="cutpack-1", files={"/lib/aloft/agent.pk": cut_short(pack), "/main.py": b"print('app on a damaged agent')\n"}, **SETTINGS)
    SERVER.post("/_ctl", {"device": "cutpack-1", "release": None})
    for _ in range(2):
        boots = dev.run()
        out = output(boots)
        assert codes(boots) == [2] and "app on a damaged agent" in out, out  # 2: no check result, no reset
        assert "aloft: agent error, starting the application anyway" in out and "OSError: damaged agent pack /lib/aloft/agent.pk: core.mpy" in out, out


@test
def a_new_agent_whose_pack_is_damaged_is_rolled_back_by_the_previous_one():
    # The same damage in a release (signed as it is: its hash checks): the new agent imports, its boot() cannot load
    # its modules, and the previous agent rolls the release back at once.
    if FORM != "pack":
        print("     (the agent is in the %s form: nothing to damage)" % FORM)
        return
    files = agent("0.3.5")
    files["lib/aloft/agent.pk"] = cut_short(files["lib/aloft/agent.pk"])
    before_agent, before_app = DEV.agent(), DEV.app()
    publish("s7", 7, dict(app(7), **files))
    k = len(SERVER.log()["events"])
    SERVER.post("/_ctl", {"device": "self-1", "release": "s7"})
    boots = DEV.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    why = "the new agent failed: OSError: damaged agent pack /lib/aloft/agent.pk: core.mpy"
    assert why in boots[1][1] and "app 7 ok" not in output(boots), output(boots)
    assert DEV.agent() == before_agent and DEV.app() == before_app
    idle_and_clean(DEV)
    got = events(k)
    assert [e[:2] for e in got] == [("downloading", 7), ("installed", 7), ("rolled_back", 7)] and got[-1][2].startswith(why), got


try:
    run()
finally:
    SERVER.quit()
    tree.rmtree(TMP)
