# The public API (aloft.boot/check/poll/confirm/last_result) with the update path replaced, on a
# RAM flash mounted at /: poll intervals and backoff, the trial confirmation rules, and the outbox
# (a failing event report never raises; undelivered events wait, bounded, and go out later).
from harness import RamFlash, mount_flash, run, test
import json
import os
import time
import aloft
from aloft import checkin, config, events, fs, http, offer, outbox, reply, state, tree, update, where

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

    def ticks_us(self):
        return self.now * 1000

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
    tree.makedirs(config.DIR)
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
def poll_backs_off_after_unanswered_checks_and_clamps():
    provision()
    calls.clear()
    aloft._errors = 0
    aloft._check = fake_check("error", None)  # no answer from the server
    waits = []
    for _ in range(6):
        assert aloft.check() == "error"
        waits.append(time.ticks_diff(aloft._next, clock.now) // 1000)
    # 10, 20, 40, 80 s ... up to the configured 120 s, each less up to half of it (jitter), at least 10 s
    for i, w in enumerate(waits):
        full = min(120, 10 << i)
        assert max(full // 2, 10) <= w <= full, (i, waits)
    aloft._check = fake_check("none", 300)
    aloft.check()
    assert aloft._errors == 0 and time.ticks_diff(aloft._next, clock.now) == 300000  # the server's interval, honoured
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
def boot_removes_leftovers_but_keeps_downloads():
    aloft._check = fake_check("none", 30)
    provision(boot_check=False)
    tree.makedirs(config.STAGE)
    with open(config.STAGE + "/x.part", "w") as f:
        f.write("half a download")
    fs.write_json(where.TRIAL, {"sequence": 1, "boots": 1, "state": "trial"})  # without its journal
    assert state.pending()
    aloft.boot()
    assert not state.pending() and fs.stat(config.STAGE + "/x.part") is not None
    tree.rmtree(config.STAGE)


@test
def confirm_without_a_release_on_trial_is_false():
    provision()
    assert aloft.confirm() is False


@test
def a_trial_is_confirmed_after_a_check_in_and_the_start_up_window():
    provision()
    confirmed = []
    real_confirm = aloft.confirm
    aloft.confirm = lambda: confirmed.append(1) or setattr(aloft, "_trial", None)
    try:
        aloft._trial = {"up": None, "ok": False, "done": False, "auto": True, "after": 10000}
        aloft._check = fake_check("none", 30)
        aloft.check()  # the boot check: answered, but main.py has not started
        assert aloft._trial["ok"] and not confirmed
        aloft._trial["up"] = clock.now
        clock.now += 9999
        aloft.poll()
        assert not confirmed
        clock.now += 1
        aloft.poll()
        assert confirmed == [1] and aloft._trial is None
        # no answer, no confirmation; "manual" never confirms by itself
        for auto, result in ((True, "error"), (False, "none")):
            aloft._trial = {"up": clock.now - 60000, "ok": False, "done": True, "auto": auto, "after": 10000}
            aloft._check = fake_check(result, None)
            aloft.check()
            aloft.poll()
            assert confirmed == [1], auto
    finally:
        aloft._trial = None
        aloft.confirm = real_confirm


@test
def the_update_path_is_unloaded_after_a_check():
    import sys

    aloft._check = fake_check("none", 30)
    from aloft import manifest  # noqa: F401 (loaded as a check would)

    aloft.check()
    assert "aloft.manifest" not in sys.modules and "manifest" not in dir(aloft)


@test
def a_report_that_fails_to_load_or_send_never_stops_the_check():
    # update.report: what every stage's event (and the download's "downloading") goes through.
    from aloft import events

    job = update.Job()
    job.event, job.reason = "downloading", "why"
    real = events.report

    def broken(job):
        raise MemoryError("no RAM for the HTTP code")

    events.report = broken
    try:
        update.report(job)  # must not raise
    finally:
        events.report = real
    assert (job.event, job.reason) == (None, None)


def queued():
    try:
        return [(e["type"], e["sequence"]) for e in fs.read_json(where.OUTBOX)]
    except OSError:
        return []


@test
def undelivered_events_are_queued_bounded_and_deduplicated():
    fs.remove(where.OUTBOX)
    cfg = {"server": "http://127.0.0.1:9", "id": "dev-1", "token": "t", "timeout": 1}
    events.send(cfg, "failed", "1.0.0", 1, "x" * 600)  # refused connection: queued, no exception
    cfg["server"] = "nonsense"
    events.send(cfg, "installed", "1.0.0", 1)
    events.send(cfg, "downloading", "1.0.0", 1)  # news only: not kept
    assert queued() == [("failed", 1), ("installed", 1)], queued()
    assert len(fs.read_json(where.OUTBOX)[0]["reason"]) == 512
    events.send(cfg, "failed", "1.0.0", 1, "again")  # the same event again replaces the older one
    assert queued() == [("installed", 1), ("failed", 1)], queued()
    for seq in range(2, 12):
        outbox.add("rolled_back", "x", seq, "boom")
    assert len(queued()) == 8 and queued()[-1] == ("rolled_back", 11), queued()


@test
def queued_events_go_out_in_order_and_stop_at_the_first_failure():
    sent = []
    fail_at = [3]
    from aloft import events  # flush's module: a check since the top may have unloaded the other

    real_post = events.post

    def post(cfg, e):
        if len(sent) == fail_at[0]:
            raise OSError("server gone")
        sent.append((e["type"], e["sequence"]))

    events.post = post
    try:
        before = queued()
        events.flush({"id": "dev-1"})
        assert sent == before[:3] and queued() == before[3:], (sent, queued())
        fail_at[0] = 100
        events.flush({"id": "dev-1"})
        assert sent == before and fs.stat(where.OUTBOX) is None
    finally:
        events.post = real_post


@test
def no_ram_in_a_stage_fails_the_update_unless_the_stage_had_decided():
    # update.run: a MemoryError escaping a stage (the RAM to load its code) fails the update it was about, reported;
    # before any offer the check is an error; a stage that had decided keeps its decision (an install that is done
    # still resets into its trial boot).
    import sys

    class Reset(Exception):
        pass

    class Hooks:  # aloft_board: the reset the install asks for
        @staticmethod
        def reset():
            raise Reset()

    def stage(claimed, result=None):
        class Stage:
            @staticmethod
            def run(job):
                job.claimed = claimed
                job.m = {"version": claimed[0], "sequence": claimed[1]} if claimed[1] else None
                if result:
                    job.result, job.event, job.reset = result, "installed", True
                raise MemoryError("memory allocation failed, allocating 1536 bytes")

        return Stage

    stages = update._STAGES
    fs.remove(where.OUTBOX)  # no server in this test: the failed event waits there
    sys.modules["aloft_board"] = Hooks
    sys.modules.pop("aloft.board", None)
    update._STAGES = ("fake",)
    try:
        sys.modules["aloft.fake"] = stage(("9.0.0", 9))
        assert update.run() == ("failed", None)
        assert queued() == [("failed", 9)], queued()
        assert fs.read_json(where.OUTBOX)[0]["reason"] == "no RAM to load the fake stage (memory allocation failed, allocating 1536 bytes)"
        sys.modules["aloft.fake"] = stage((None, 0))
        try:
            update.run()
            assert False, "no update offered: the MemoryError is the check's"
        except MemoryError:
            pass
        sys.modules["aloft.fake"] = stage(("9.0.0", 9), "updated")
        try:
            update.run()
            assert False, "the install's reset did not come"
        except Reset:
            pass
        assert queued() == [("failed", 9), ("installed", 9)], queued()  # the install's decision stood
    finally:
        update._STAGES = stages
        fs.remove(where.OUTBOX)
        sys.modules.pop("aloft_board", None)
        sys.modules.pop("aloft.fake", None)
        sys.modules.pop("aloft.board", None)


@test
def check_in_reports_the_rejected_sequence_and_refuses_it():
    provision()
    fs.write_json(where.INSTALLED, {"version": "1.0.0", "sequence": 1, "files": {}, "rejected": 4})
    seen = []
    from aloft import api

    def post(cfg, path, body):
        seen.append(body)
        return {"action": "update", "poll": 60, "release": {"manifest": json.dumps({"version": "2.0.0", "sequence": 4})}}

    api_post = api.post
    api.post = post
    try:
        job = update.Job()
        checkin.run(job)
        offer.run(job)
        assert seen[0]["rejected"] == 4 and seen[0]["sequence"] == 1 and seen[0]["format"] == 2, seen
        assert (job.result, job.poll, job.event) == ("none", 60, None), (job.result, job.poll, job.event)
    finally:
        api.post = api_post
        fs.remove(where.INSTALLED)


@test
def check_in_without_config_is_an_error():
    fs.remove(config.CONFIG)
    job = update.Job()
    checkin.run(job)
    assert (job.result, job.poll, job.release) == ("error", None, None)


def answer(body, length=-1, chunked=False):
    # An http.Response whose JSON body is read from body (bytes).
    import io

    r = http.Response()
    r.sock, r.length, r.chunked = io.BytesIO(body), length, chunked
    r.deadline = time.ticks_add(time.ticks_ms(), 60000)
    return r


@test
def a_json_answer_is_read_by_its_length_chunked_or_to_the_end():
    doc = {"poll": 30, "note": "\u00e9" * 700}
    body = json.dumps(doc).encode()
    assert reply.read(answer(body + b"trailing", len(body))) == doc
    chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(body[i : i + 700]), body[i : i + 700]) for i in range(0, len(body), 700))
    assert reply.read(answer(chunks + b"0\r\n\r\n", chunked=True)) == doc
    assert reply.read(answer(body)) == doc  # no length: up to the end of the connection
    big = b"[" + b"0," * 65536 + b"0]"  # over reply.py's 64 KiB
    for r in (answer(big, len(big)), answer(big), answer(b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big), chunked=True)):
        try:
            reply.read(r)
            raise AssertionError("an answer over 64 KiB was read")
        except ValueError as e:
            assert str(e) == "answer too large", e
    try:
        reply.read(answer(body[:100], len(body)))
        raise AssertionError("a cut answer was read")
    except OSError as e:
        assert str(e) == "connection closed after 100 of %d bytes" % len(body), e


run()
