# The check-in stage: report what is installed (docs/protocol.md, "Check-in"); offer.py reads the answer.
# pack: zlib
import sys
from . import VERSION, config, core, state


def run(job):
    # One check-in: job.answer, the server's answer (and job.cfg, job.have, job.device, job.poll), or
    # job.result "error" when there is none.
    cfg = None
    try:
        cfg = job.cfg = config.load()
        if not cfg.get("token"):  # a generic image: enroll first, then check in as usual
            from . import enroll

            cfg = job.cfg = enroll.enroll(cfg)
            enroll = None
            core.unload("enroll")
        if state.pending() and not state.journal():  # what a finished install or trial left behind
            from . import cleanup

            cleanup.run(True)
            cleanup = None
            core.unload("cleanup", "previous")
        from . import board

        have = job.have = state.installed()
        v = sys.implementation.version
        body = job.device = {
            "id": cfg["id"],
            "version": have["version"],
            "sequence": have["sequence"],
            "board": cfg.get("board") or board.board_name(),
            "micropython": "%d.%d.%d" % (v[0], v[1], v[2]),
            "mpy": getattr(sys.implementation, "_mpy", None),
            "free": board.free_bytes(),
            "agent": VERSION,
            "format": 2,
        }
        board = v = None
        if have.get("rejected"):
            body["rejected"] = have["rejected"]
        try:  # the firmware below the files (docs/firmware.md): what an ESP32 can say of it
            import esp32  # noqa: F401

            esp32 = None
        except ImportError:  # no firmware slots a release could update
            body["ota"] = False
        if "ota" not in body:
            from . import fwinfo

            fwinfo.report(body, cfg)  # it unloads what it loaded
            fwinfo = None
            core.unload("fwinfo")
        from . import api

        job.answer = api.post(cfg, "/api/v1/device/checkin", body)
        job.poll = job.answer.get("poll")
    except Exception as e:
        core.log("check-in to %s failed: %s" % (cfg["server"] if cfg else "?", e))
        job.result = "error"
