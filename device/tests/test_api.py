# The public API (aloft.boot/check/poll/last_result) with the update path replaced, on a RAM
# flash mounted at /, and the guarantee that a failing event report never raises.
from harness import RamFlash, mount_flash, run, test
import os
import time
import aloft
from aloft import config, fs, update

calls = []


def fake_check(result="none", poll=30):
    def f():
        calls.append(result)
        return result, poll

    return f


class Clock:
    # time for aloft.poll(): ticks_ms() returns what the test says
    now = 1000

    def ticks_ms(self):
        return self.now

    ticks_add = staticmethod(time.ticks_add)
    ticks_diff = staticmethod(time.ticks_diff)


clock = Clock()
aloft.time = clock
flash = RamFlash(16)
os.VfsLfs2.mkfs(flash)
mount_flash(flash)


def provision(**extra):
    cfg = {"server": "http://127.0.0.1:9", "id": "dev-1", "token": "t", "keys": ["00" * 32], "poll": 120}
    cfg.update(extra)
    fs.makedirs(config.DIR)
    fs.write_json(config.CONFIG, cfg)


@test
def poll_checks_when_the_interval_has_passed():
    calls.clear()
    aloft._next = None
    aloft._check = fake_check("none", 30)
    assert aloft.poll() == "none" and len(calls) == 1  # first call checks
    assert aloft.poll() is None and len(calls) == 1
    clock.now += 29999
    assert aloft.poll() is None
    clock.now += 1
    assert aloft.poll() == "none" and len(calls) == 2
    assert aloft.last_result() == "none"


@test
def poll_falls_back_to_the_configured_interval_and_clamps():
    provision()
    calls.clear()
    aloft._check = fake_check("error", None)  # no answer from the server
    assert aloft.check() == "error"
    clock.now += 119 * 1000
    assert aloft.poll() is None
    clock.now += 1000
    assert aloft.poll() == "error" and len(calls) == 2
    aloft._check = fake_check("none", 0)  # a server asking for no pause gets 10 s
    aloft.check()
    clock.now += 9999
    assert aloft.poll() is None
    clock.now += 1
    assert aloft.poll() == "none"


@test
def check_never_raises():
    def boom():
        raise MemoryError("no RAM")

    aloft._check = boom
    assert aloft.check() == "error" and aloft.last_result() == "error"


@test
def boot_checks_unless_configured_not_to():
    calls.clear()
    aloft._check = fake_check("none", 30)
    provision(boot_check=False)
    aloft.boot()
    assert calls == []
    provision()
    aloft.boot()
    assert calls == ["none"]


@test
def boot_finishes_leftovers_of_an_interrupted_install():
    aloft._check = fake_check("none", 30)
    provision(boot_check=False)
    fs.makedirs(config.STAGE)
    with open(config.STAGE + "/x", "w") as f:
        f.write("half a download")
    assert config.interrupted()
    aloft.boot()
    assert not config.interrupted()


@test
def the_update_path_is_unloaded_after_a_check():
    import sys

    aloft._check = fake_check("none", 30)
    from aloft import manifest  # noqa: F401 (loaded as a check would)

    aloft.check()
    assert "aloft.manifest" not in sys.modules and "manifest" not in dir(aloft)


@test
def failed_event_report_does_not_raise():
    cfg = {"server": "http://127.0.0.1:9", "id": "dev-1", "token": "t", "timeout": 1}
    update._event(cfg, "failed", "1.0.0", 1, "x" * 600)  # refused connection: logged, no exception
    cfg["server"] = "nonsense"
    update._event(cfg, "installed", "1.0.0", 1)


@test
def check_in_without_config_is_an_error():
    fs.remove(config.CONFIG)
    assert update.check() == ("error", None)


run()
