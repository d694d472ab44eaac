#!/usr/bin/env python3
"""Where the device's heap runs out, trial by trial: make bench's 200 KB update (a fresh install, then a one-file
update, each with its trial boot and confirmation) on a fresh simulated device at each heap given, several times.

    python3 scripts/heapsearch.py [--form py|mpy|pack] [--trials N] [--agent-update] [--baseline REF] [--profile P] HEAP...

e.g. 42K 43K 44K. --agent-update: an update of the agent instead (v2 installed at a comfortable heap, then a release of
v2's files carrying the same agent with another VERSION, taken at HEAP). --baseline REF: each heap also with REF's agent
(a git ref; as .mpy files, in the same run, trial for trial), the reference a change must not be worse than.
--profile: the simulated board (aloft device provision --profile; default lfs, pico-w for the rp2 port's LittleFS).

For each heap: how many trials completed, and for each that did not, which half (v1, v2) stopped and the agent's last
traceback line or failure. Each trial follows a channel and has a device id of its own, whose lengths differ: where a
large block fits depends on such incidental layout, so make bench's one-trial binary search moves by 2 KiB from run to
run, and a change to the agent's RAM is judged by these ratios instead (docs/device.md, "Heap"). A blob fetched raw
because its inflater did not fit counts as completed, as in bench.py's first figure.

Like bench.py: ALOFT_BIN (default .build/release/aloft), ALOFT_MICROPYTHON (default .venv/bin/micropython), and
ALOFT_DEVICE_DIR to try the agent of a working tree without rebuilding aloft. Everything is on 127.0.0.1 and stops by
itself; the scratch folder goes at the end.
"""
import argparse
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402 (the same server, releases and helpers as make bench)


def where(output):
    """The line saying why a run stopped: the last "File ..., line N" of a traceback with its error, else the agent's
    failure line, else the last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith(("[sim]", "sim:"))]
    frames = [i for i, line in enumerate(lines) if line.startswith('File "')]
    if frames:
        i = frames[-1]
        m = re.match(r'File "(?:.*/)?([^/"]+)", line (\d+)', lines[i])
        error = lines[i + 1] if i + 1 < len(lines) else ""
        return "%s:%s %s" % (m.group(1), m.group(2), error) if m else lines[i]
    failed = [line for line in lines if "failed" in line and "could not report" not in line]
    return (failed or lines or ["no output"])[-1]


def channel_name(prefix, n, t):
    """Trial t's channel (and device id) of run n: its length varies with t alone, so that each agent compared meets the
    same lengths."""
    return prefix + "x" * (t % 7) + "%04d" % n


def trial(work, n, t, heap, form, source=None, profile="lfs"):
    """None when v1 then v2 installed and were confirmed at heap, else (half, why). source: the agent's device folder
    (None: aloft's own); profile: the simulated board (aloft device provision --profile)."""
    keys = os.path.join(work, "keys")
    channel = channel_name("c", n, t)
    for half, version, sequence in (("v1", "1.0.0", 1), ("v2", "2.0.0", 2)):
        bench.aloft("release", "publish", os.path.join(work, half), "--version", version, "--key", keys + "/release.key",
                    "--channel", channel)
        if half == "v1":
            bench.aloft("device", "provision", "--id", "t-" + channel, "--channel", channel, "--pubkey", keys + "/release.pub",
                        "--out", os.path.join(work, channel), "--agent-form", form, "--profile", profile, env=bench.device_env(source))
        r = bench.aloft("sim", "run", os.path.join(work, channel), "--until-idle", "--timeout", "300", "--heap", heap, check=False)
        if bench.get("/api/v1/admin/devices/t-" + channel).get("sequence") != sequence:
            return half, where(r.stdout + r.stderr)
    return None


def agent_trial(work, n, t, heap, form, source, updated, profile="lfs"):
    """None when v2 installed at 256K and then the release carrying the agent updated (source's agent, None: aloft's own, in
    form; updated: the device folder of the new agent) installed and was confirmed at heap, else (stage, why)."""
    _, failed = bench.agent_update(work, channel_name("a", n, t), heap, form, source, updated, profile)
    return (failed[0], where(failed[1])) if failed else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("heaps", nargs="+", metavar="HEAP", help="a -X heapsize, e.g. 43K")
    ap.add_argument("--form", choices=("py", "mpy", "pack"), default="py", help="the agent's form on the device (default py)")
    ap.add_argument("--trials", type=int, default=3, help="trials per heap (default 3)")
    ap.add_argument("--agent-update", action="store_true", help="an update of the agent instead of the 200 KB update")
    ap.add_argument("--profile", default="lfs", help="the simulated board (default lfs; pico-w: the rp2 port's LittleFS)")
    ap.add_argument("--baseline", metavar="REF", help="also REF's agent (a git ref, as .mpy files), trial for trial")
    a = ap.parse_args()
    for heap in a.heaps:
        if not re.fullmatch(r"[1-9][0-9]{0,5}[KkMm]?", heap):
            sys.exit("heapsearch: bad heap %r: a number with an optional K or M, e.g. 43K" % heap)
    if a.trials < 1:
        sys.exit("heapsearch: --trials must be at least 1")
    for binary in (bench.ALOFT, bench.MICROPYTHON):
        if not os.access(binary, os.X_OK):
            sys.exit("heapsearch: missing %s (make build setup, or set ALOFT_BIN / ALOFT_MICROPYTHON)" % binary)
    work = tempfile.mkdtemp(prefix="aloft-heapsearch-")
    server = bench.start(work)[0]
    try:
        agents = [(a.form, None)]
        if a.baseline:
            bench.BASELINE = a.baseline
            agents.append(("mpy", bench.baseline_agent(work)))
        updated = dict((source, bench.updated_agent(work, source, "updated-%d" % i)) for i, (_, source) in enumerate(agents)) if a.agent_update else {}
        print("%s, %d trials per heap (%s)" % (("an update of the agent" if a.agent_update else "the 200 KB update") + " on " + a.profile, a.trials, bench.MICROPYTHON))
        n = 0
        for heap in a.heaps:
            for form, source in agents:
                failures = []
                for t in range(a.trials):
                    n += 1
                    got = agent_trial(work, n, t, heap, form, source, updated[source], a.profile) if a.agent_update else trial(work, n, t, heap, form, source, a.profile)
                    if got:
                        failures.append("%s %s" % got)
                label = bench.agent_label(form, source)
                print("%5s %-45s %d/%d%s" % (heap, label, a.trials - len(failures), a.trials, "".join("\n      " + f for f in failures)))
    finally:
        bench.stop(server, work)


if __name__ == "__main__":
    main()
