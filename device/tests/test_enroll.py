# Enrollment of a generic image (docs/protocol.md, "Enrollment"; docs/device.md) on simulated devices
# against fake_server.py: config.json holds an enrollment secret instead of an id and token; the first
# check enrolls with board.unique_id(), writes id and token into config.json and checks in as usual.
from harness import run, tempdir, test
from aloft import tree
from simulated import Device, Server, codes, output

TMP = tempdir("enroll")
SERVER = Server(TMP)
R1 = SERVER.releases()["r1"]


def generic(tag, secret, uid):
    tree.makedirs(TMP + "/" + tag)
    dev = Device(SERVER, TMP + "/" + tag, id=None, token=None, enroll=secret)
    return dev, "ALOFT_SIM_UNIQUE_ID=%s " % uid


def enrollments(uid):
    return [e["status"] for e in SERVER.log()["enrollments"] if e["id"] == uid]


@test
def a_generic_image_enrolls_then_checks_in_and_updates_in_the_same_boot():
    dev, env = generic("ok", SERVER.enroll, "mp-0a0b0c01")
    cfg = dev.state("config.json")
    assert "id" not in cfg and "token" not in cfg and cfg["enroll"] == SERVER.enroll
    SERVER.offer("r1")
    boots = dev.run(heap="48K", env=env)  # 44K at least
    out = output(boots)
    assert codes(boots) == [75, 75, 0], out
    assert "aloft: enrolled as mp-0a0b0c01" in out, out
    assert enrollments("mp-0a0b0c01") == [201]
    cfg = dev.state("config.json")
    assert cfg["id"] == "mp-0a0b0c01" and cfg["token"].startswith("aloft_dev_") and "enroll" not in cfg, cfg
    assert cfg["server"] == SERVER.url and cfg["keys"] == [SERVER.pubkey]  # the rest as provisioned
    assert dev.app() == R1 and dev.state("installed.json")["sequence"] == 1
    mine = [c for c in SERVER.log()["checkins"] if c["id"] == "mp-0a0b0c01"]
    assert mine and mine[0]["sequence"] == 0, mine
    ev = [e["type"] for e in SERVER.log()["events"] if e.get("id") == "mp-0a0b0c01"]
    assert "installed" in ev and "confirmed" in ev, ev
    code, out = dev.boot(env=env)  # enrolled for good: no second enrollment
    assert code == 0 and "enrolling" not in out, out
    assert enrollments("mp-0a0b0c01") == [201]
    SERVER.offer(None)


@test
def the_default_simulated_id_is_the_board_and_a_hash_of_the_image():
    dev, _ = generic("default", SERVER.enroll, "x")
    code, out = dev.boot()
    assert code == 0, out
    cfg = dev.state("config.json")
    assert cfg["id"].startswith("sim-") and len(cfg["id"]) == 16, cfg


@test
def an_unknown_secret_is_an_error_and_changes_nothing():
    dev, env = generic("bad", "aloft_enr_wrong", "mp-0a0b0c02")
    before = dev.files()
    code, out = dev.boot(env=env)
    assert code == 2 and "sim: last check result: error" in out, out
    assert "enrollment as mp-0a0b0c02 failed: HTTP 401" in out and "unknown or revoked" in out, out
    assert dev.files() == before
    assert enrollments("mp-0a0b0c02") == [401]
    assert not [c for c in SERVER.log()["checkins"] if c["id"] == "mp-0a0b0c02"]
    code, out = dev.boot(env=env)  # tried again at the next check
    assert code == 2 and enrollments("mp-0a0b0c02") == [401, 401], out


@test
def a_power_cut_before_the_config_is_written_leaves_the_image_generic_and_a_409_is_reported():
    dev, env = generic("cut", SERVER.enroll, "mp-0a0b0c03")
    code, out = dev.boot(env=env + "ALOFT_SIM_CUT_AFTER_WRITES=1 ")  # the first block write: config.json.tmp
    assert code == 137 and "enrolled as" not in out, out
    assert enrollments("mp-0a0b0c03") == [201]
    cfg = dev.state("config.json")
    assert "id" not in cfg and cfg["enroll"] == SERVER.enroll, cfg
    before = dict((p, h) for p, h in dev.files().items() if not p.endswith(".tmp"))
    code, out = dev.boot(env=env)
    assert code == 2 and "sim: last check result: error" in out, out
    assert "enrollment as mp-0a0b0c03 failed: HTTP 409" in out and "aloft device token mp-0a0b0c03" in out, out
    assert dict((p, h) for p, h in dev.files().items() if not p.endswith(".tmp")) == before
    assert enrollments("mp-0a0b0c03") == [201, 409]


@test
def an_id_taken_is_an_error_and_changes_nothing():
    dev, env = generic("taken", SERVER.enroll, "dev-1")
    before = dev.files()
    code, out = dev.boot(env=env)
    assert code == 2 and "failed: HTTP 409" in out, out
    assert dev.files() == before


try:
    run()
finally:
    SERVER.quit()
    tree.rmtree(TMP)
