#!/usr/bin/env python3
"""make bench: the figures Aloft promises, measured on this machine.

- bytes on the wire for a v1 -> v2 update (one file changed, one added, one removed, a 200 KB file kept);
- the smallest MicroPython heap that completes the whole update (binary search over -X heapsize), and the smallest
  with every blob compressed (below it the agent fetches a blob raw when the inflater does not fit);
- the smallest heap for a fresh install and for a one-file update of releases of 10, 100 and 1000 files;
- an update of the agent itself (--include-agent): bytes on the wire and the smallest heap;
- Ed25519 verification time on the MicroPython unix port;
- server check-in latency (sequential, loopback, bounded count);
- firmware (docs/firmware.md), on a simulated ESP32 (profile esp32-ota): the smallest heap of the first cycle with v2's
  files alone and with v2 also carrying a 1.5 MiB MicroPython image, which the device takes first (the firmware step:
  download into the next slot, set_boot, reset, trial boot, confirmation); that image's bytes on the wire and seconds.
Every server and device here is on 127.0.0.1 and stops by itself. ALOFT_BENCH_ONLY=heap prints only the smallest heaps
(the same searches), for measuring the agent's RAM while it changes; ALOFT_BENCH_ONLY=firmware only the firmware section's.
The agent is measured in its three forms (py, mpy, pack), the smallest heaps on two board profiles (lfs: the esp32 port's
LittleFS; pico-w: the rp2 port's, 848 KiB). ALOFT_BENCH_BASELINE=REF (a git ref, e.g. main) measures REF's agent too, as
.mpy files, in the same run: the reference a change of the agent must not be worse than.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALOFT = os.environ.get("ALOFT_BIN") or os.path.join(ROOT, ".build/release/aloft")
MICROPYTHON = os.environ.get("ALOFT_MICROPYTHON") or os.path.join(ROOT, ".venv/bin/micropython")
TOKEN = "bench-admin-token"
HEAP_ONLY = os.environ.get("ALOFT_BENCH_ONLY") in ("heap", "firmware")
FIRMWARE_ONLY = os.environ.get("ALOFT_BENCH_ONLY") == "firmware"  # the firmware section's heaps alone, for work on the firmware step
BASELINE = os.environ.get("ALOFT_BENCH_BASELINE")  # a git ref whose agent is measured beside this checkout's
FW_BUILD, FW_VERSION, FW_SIZE = "ESP32_GENERIC-OTA", "1.26.0", 0x180000  # the bench's firmware image (firmware_image)


def aloft_env(env=None):
    return dict(os.environ, ALOFT_SERVER=SERVER, ALOFT_ADMIN_TOKEN=TOKEN, ALOFT_MICROPYTHON=MICROPYTHON, **(env or {}))


def aloft(*args, check=True, timeout=300, env=None):
    r = subprocess.run([ALOFT, *args], env=aloft_env(env), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        sys.exit("aloft %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr))
    return r


def get(path):
    req = urllib.request.Request(SERVER + path, headers={"Authorization": "Bearer " + TOKEN})
    return json.load(urllib.request.urlopen(req))


def write_release(folder, files):
    for path, data in files.items():
        full = os.path.join(folder, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)


def releases():
    rnd = random.Random(7)
    big = bytes(rnd.getrandbits(8) for _ in range(100_000)) + (b"temperature=21.5;" * 6000)[:100_000]
    v1 = {
        "main.py": b"import app\nprint('app', app.VERSION)\n",
        "app.py": b"VERSION = 'one'\n" + b"# padding\n" * 300,
        "lib/helpers.py": b"def helper():\n    return 1\n" * 50,
        "lib/old.py": b"OLD = True\n",
        "assets/blob.bin": big,
    }
    v2 = dict(v1)
    v2["main.py"] = b"import app\nprint('app', app.VERSION, 'v2')\n"
    v2["lib/new.py"] = b"NEW = 2\n" * 400
    del v2["lib/old.py"]
    return v1, v2


def start(work):
    """An aloft server on a free loopback port with its data in work/server (SERVER is its URL), release keys in
    work/keys, and the releases() v1 and v2 written to work/v1 and work/v2: (server, v1, v2); stop() ends it all, and
    start() does itself when it fails. Rate limits off: the check-in latency loop below is one device asking 520 times in a row."""
    global SERVER
    server = None
    try:
        server = subprocess.Popen([ALOFT, "serve", "--data", os.path.join(work, "server"), "--port", "0", "--admin-token", TOKEN,
                                   "--log-level", "warning", "--device-rate", "0", "--ip-rate", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        SERVER = re.search(r"http://\S+", server.stdout.readline()).group(0)
        aloft("keys", "generate", "--out", os.path.join(work, "keys"))
        v1, v2 = releases()
        write_release(os.path.join(work, "v1"), v1)
        write_release(os.path.join(work, "v2"), v2)
    except BaseException:  # no server nor folder left behind
        stop(server, work)
        raise
    return server, v1, v2


def stop(server, work):
    """What start() set up, gone: the server (if it started) stopped, the folder work removed."""
    if server:
        server.terminate()
        server.wait(timeout=10)
    shutil.rmtree(work, ignore_errors=True)


def sim_run(dev, heap, mark=None):
    """The device in folder dev booted until idle at heap: (exit code, seconds, seconds until the first line of its output
    that starts with mark, None without one)."""
    t0 = time.monotonic()
    at = None
    p = subprocess.Popen([ALOFT, "sim", "run", dev, "--until-idle", "--timeout", "300", "--heap", heap], env=aloft_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in p.stdout:
            if mark and at is None and line.startswith(mark):
                at = time.monotonic() - t0
        return p.wait(timeout=30), time.monotonic() - t0, at
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()


def smallest_heap(trial, lo, hi=256):
    """Binary search (to 2 KiB) for the smallest -X heapsize in KiB at which trial(n, heap) succeeds; hi must."""
    n = 1
    while hi - lo > 2:
        mid = (lo + hi) // 2
        ok = trial(n, "%dK" % mid) is not None
        print("  heap %3dK: %s" % (mid, "ok" if ok else "fails"))
        n += 1
        if ok:
            hi = mid
        else:
            lo = mid
    return hi


def main():
    for binary in (ALOFT, MICROPYTHON):
        if not os.access(binary, os.X_OK):
            sys.exit("missing %s (run `make bench`)" % binary)
    work = tempfile.mkdtemp(prefix="aloft-bench-")
    server, v1, v2 = start(work)
    try:
        print("release v1: %d files, %d bytes; v2 changes main.py, adds lib/new.py, removes lib/old.py" % (len(v1), sum(map(len, v1.values()))))

        # Each trial device follows its own channel so v1 -> v2 can be repeated at any heap size.
        form = {"agent": "mpy", "trials": 0}

        def trial(_, heap):
            # every trial gets a fresh device and channel, whichever agent form it runs
            form["trials"] += 1
            n = form["trials"]
            aloft("release", "publish", os.path.join(work, "v1"), "--version", "1.0.0", "--key",
                  os.path.join(work, "keys/release.key"), "--channel", "bench-%d" % n)
            # provisioning follows the default channel; register on the trial channel instead
            return update_cycle_on_channel(work, n, heap)

        def update_cycle_on_channel(work, n, heap):
            # form["profile"]: the simulated board; form["firmware"]: an image v2 carries for it (v2 is then the
            # firmware step, its trial boot and confirmation, then v2's files), None for the files alone
            dev = os.path.join(work, "dev-%d" % n)
            aloft("device", "provision", "--id", "bench-%d" % n, "--channel", "bench-%d" % n, "--pubkey",
                  os.path.join(work, "keys/release.pub"), "--out", dev, "--agent-form", form["agent"], "--profile", form.get("profile", "lfs"),
                  env=device_env(form.get("source")))
            code, t_v1, _ = sim_run(dev, heap)
            if code != 0 or get("/api/v1/admin/devices/bench-%d" % n).get("sequence") != 1:
                return None
            before = len(get("/api/v1/admin/devices/bench-%d/downloads" % n)["downloads"])
            image = form.get("firmware")
            aloft("release", "publish", os.path.join(work, "v2"), "--version", "2.0.0", "--key", os.path.join(work, "keys/release.key"),
                  "--channel", "bench-%d" % n, *(("--firmware", "%s=%s" % (FW_BUILD, image["path"])) if image else ()))
            code, t_v2, t_fw = sim_run(dev, heap, "aloft: firmware %s confirmed" % FW_VERSION if image else None)
            record = get("/api/v1/admin/devices/bench-%d" % n)
            if code != 0 or record.get("sequence") != 2:
                return None
            fw = record.get("firmware") or {}
            if image and (fw.get("micropython") != FW_VERSION or fw.get("state") != "valid"):
                return None  # v2's files without its firmware: the firmware was refused or rolled back
            downloads = get("/api/v1/admin/devices/bench-%d/downloads" % n)["downloads"]
            fresh = downloads[: len(downloads) - before]
            first = downloads[len(downloads) - before:]
            got = {"v1_bytes": sum(d["bytes"] for d in first), "v1_requests": len(first), "v1_seconds": t_v1,
                   "v2_bytes": sum(d["bytes"] for d in fresh), "v2_requests": len(fresh), "v2_seconds": t_v2, "fw_seconds": t_fw,
                   "fw_downloads": [d for d in fresh if image and d["sha256"] == image["sha256"]]}
            ref = form.get("packed")
            if ref and (got["v1_bytes"] > ref["v1_bytes"] or got["v2_bytes"] > ref["v2_bytes"]):
                return None  # some blob came raw: the inflater did not fit
            return got

        if FIRMWARE_ONLY:
            return bench_firmware(work, trial, form)
        result = trial(None, "256K")
        first_device = os.path.join(work, "dev-%d" % form["trials"])
        if result is None:
            sys.exit("the update did not complete even with a 256K heap")
        print("v1 install: %(v1_requests)d blob requests, %(v1_bytes)d bytes on the wire, %(v1_seconds).2f s (boot to idle, incl. reset)" % result)
        print("v1 -> v2:   %(v2_requests)d blob requests, %(v2_bytes)d bytes on the wire, %(v2_seconds).2f s" % result)

        # Where the inflater does not fit, the agent fetches a blob raw rather than fail: the first search counts that
        # as done, the second only an update with every blob as compressed as with ample RAM (the bytes above).
        baseline = baseline_agent(work)
        agents = [("py", None), ("mpy", None), ("pack", None)] + ([("mpy", baseline)] if baseline else [])
        for profile in ("lfs", "pico-w"):
            for agent_form, source in agents:
                if profile != "lfs" and agent_form == "py":
                    continue
                form.update(agent=agent_form, source=source, profile=profile)
                print("smallest heap completing v1 install and v1 -> v2 on %s, %s: %dK (-X heapsize)"
                      % (profile, agent_label(agent_form, source), smallest_heap(trial, 8, 128)))
                if profile == "lfs":
                    form["packed"] = result
                    print("  the same with every blob compressed: %dK" % smallest_heap(trial, 8, 128))
                    form["packed"] = None
        form.update(agent="py", source=None, profile="lfs")
        if not HEAP_ONLY:
            agent_flash(work)

        # An update of the agent: v2's files and the same agent with another VERSION (only __init__.py differs).
        for i, (agent_form, source) in enumerate([("pack", None)] + ([("mpy", baseline)] if baseline else [])):
            updated = updated_agent(work, source, "agent-device-%d" % i)

            def agent_trial(n, heap):
                result, failed = agent_update(work, "bench-agent-%d-%d" % (i, n), heap, agent_form, source, updated)
                if failed and failed[0] == "setup":
                    sys.exit("the device did not install v2 before the agent update:\n" + failed[1])
                return result

            result = agent_trial(0, "256K")
            if result is None:
                sys.exit("the agent update did not complete even with a 256K heap")
            print("agent update, %s (v2 -> v2 + a new agent, __init__.py changed): %d blob requests, %d bytes on the wire, "
                  "%.2f s (install, trial boot under the previous agent, confirmation)"
                  % (agent_label(agent_form, source), result["requests"], result["bytes"], result["seconds"]))
            print("smallest heap completing an update of the agent, %s: %dK (-X heapsize)"
                  % (agent_label(agent_form, source), smallest_heap(agent_trial, 32)))

        bench_release_sizes(work)
        if not HEAP_ONLY:
            checkin_latency(first_device)
        bench_firmware(work, trial, form)
    finally:
        stop(server, work)


def updated_agent(work, source, name):
    """A device folder in work/name: source's (None: this checkout's device/) boot.py and aloft/ with VERSION 9.9.9-bench."""
    agent_dir = os.path.join(work, name)
    shutil.copytree(os.path.join(source or os.path.join(ROOT, "device"), "aloft"), os.path.join(agent_dir, "aloft"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(source or os.path.join(ROOT, "device"), "boot.py"), agent_dir)
    init = os.path.join(agent_dir, "aloft", "__init__.py")
    with open(init) as f:
        text = f.read()
    with open(init, "w") as f:
        f.write(re.sub(r'\nVERSION = "[^"]*"', '\nVERSION = "9.9.9-bench"', text, count=1))
    return agent_dir


def agent_update(work, channel, heap, form, source, updated, profile="lfs"):
    """On a new device following channel (a simulated board of profile): v1 then v2 installed at 256K with source's agent
    (a device folder, None: aloft's own) in form, then a release of v2's files carrying the agent of the device folder updated, taken at heap. (figures,
    None) when it was installed and confirmed and the device reports the new agent, figures being the update's blob
    requests, bytes and seconds; else (None, (stage, output)), stage "setup" (v2 did not install) or "agent"."""
    key = os.path.join(work, "keys/release.key")
    for folder, version in (("v1", "1.0.0"), ("v2", "2.0.0")):
        aloft("release", "publish", os.path.join(work, folder), "--version", version, "--key", key, "--channel", channel)
    dev = os.path.join(work, "dev-" + channel)
    aloft("device", "provision", "--id", channel, "--channel", channel, "--pubkey", os.path.join(work, "keys/release.pub"), "--out", dev,
          "--agent-form", form, "--profile", profile, env=device_env(source))
    r = aloft("sim", "run", dev, "--until-idle", "--timeout", "300", "--heap", "256K", check=False)
    if r.returncode != 0 or get("/api/v1/admin/devices/" + channel).get("sequence") != 2:
        return None, ("setup", r.stdout + r.stderr)
    before = len(get("/api/v1/admin/devices/%s/downloads" % channel)["downloads"])
    aloft("release", "publish", os.path.join(work, "v2"), "--version", "3.0.0", "--key", key, "--channel", channel,
          "--include-agent", "--agent-form", form, env=device_env(updated))
    t0 = time.monotonic()
    r = aloft("sim", "run", dev, "--until-idle", "--timeout", "300", "--heap", heap, check=False)
    seconds = time.monotonic() - t0
    record = get("/api/v1/admin/devices/" + channel)
    if r.returncode != 0 or record.get("sequence") != 3 or record.get("agent") != "9.9.9-bench":
        return None, ("agent", r.stdout + r.stderr)
    fresh = get("/api/v1/admin/devices/%s/downloads" % channel)["downloads"]
    fresh = fresh[: len(fresh) - before]
    return {"bytes": sum(d["bytes"] for d in fresh), "requests": len(fresh), "seconds": seconds}, None


def device_env(source):
    """The environment that makes aloft build the agent from source (a folder like device/), None for its own."""
    return {"ALOFT_DEVICE_DIR": source} if source else None


def agent_label(agent_form, source):
    return "agent as %s" % agent_form if source is None else "%s's agent as %s (the reference)" % (BASELINE, agent_form)


def baseline_agent(work):
    """ALOFT_BENCH_BASELINE's device/ folder (git archive of that ref) in work, None when not asked for."""
    if not BASELINE:
        return None
    out = os.path.join(work, "baseline")
    os.makedirs(out)
    archive = subprocess.run(["git", "-C", ROOT, "archive", BASELINE, "device"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", out], input=archive, check=True)
    return os.path.join(out, "device")


def checkin_latency(device):
    """Check-in latency: a device with nothing to do, sequential requests on loopback."""
    cfg = json.loads(aloft("sim", "cat", device, "/.aloft/config.json").stdout)
    body = json.dumps({"id": cfg["id"], "version": "2.0.0", "sequence": 2, "board": "sim", "micropython": "1.29.0",
                       "mpy": None, "free": 100000}).encode()
    req = lambda: urllib.request.urlopen(urllib.request.Request(SERVER + "/api/v1/device/checkin", data=body, headers={
        "Authorization": "Bearer " + cfg["token"], "Content-Type": "application/json"})).read()
    for _ in range(20):
        req()
    count = 500
    t0 = time.monotonic()
    for _ in range(count):
        req()
    elapsed = time.monotonic() - t0
    print("check-in (nothing to do), sequential on loopback: %.2f ms each, %d/s" % (elapsed / count * 1000, count / elapsed))


def firmware_image(path):
    """The bench's firmware image at path: an ESP32 app image (device/sim/espimage.py) of MicroPython FW_VERSION for
    FW_BUILD, FW_SIZE bytes, the size of the esp32-ota profile's slots (the largest image that fits). Returns
    {"path", "sha256", "size"}."""
    import hashlib

    subprocess.run([MICROPYTHON, os.path.join(ROOT, "device", "sim", "espimage.py"), "build", "--chip", "esp32", "--build", FW_BUILD,
                    "--micropython", FW_VERSION, "--size", str(FW_SIZE), "--seed", "1", "--out", path], check=True, capture_output=True)
    with open(path, "rb") as f:
        data = f.read()
    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def bench_firmware(work, trial, form):
    """On the esp32-ota profile (a simulated ESP32, MicroPython 1.24.1, 1.5 MiB OTA slots): the smallest heap of the
    first section's cycle (v1 installed, then v1 -> v2) with v2's files alone, and with v2 carrying a firmware image, which
    the device takes first (download into the next slot, read back, set_boot, reset, trial boot, confirmation) and then
    v2's files; and, at a comfortable heap, the bytes and seconds of that firmware update."""
    image = firmware_image(os.path.join(work, "firmware.bin"))
    form.update(agent="mpy", source=None, profile="esp32-ota", packed=None, firmware=image)
    result = trial(None, "256K")
    if result is None:
        sys.exit("the firmware update did not complete even with a 256K heap")
    if not HEAP_ONLY:
        wire = result["fw_downloads"]
        print("firmware (esp32-ota: a simulated ESP32 on MicroPython 1.24.1 with 1.5 MiB OTA slots; v2 carries MicroPython %s, %d bytes, "
              "the slot's size):" % (FW_VERSION, image["size"]))
        print("  image on the wire: %d bytes in %d request%s (%s), of %d; the whole v1 -> v2: %d blob requests, %d bytes"
              % (sum(d["bytes"] for d in wire), len(wire), "" if len(wire) == 1 else "s", ", ".join(sorted(set(d["encoding"] for d in wire))),
                 image["size"], result["v2_requests"], result["v2_bytes"]))
        print("  firmware step %s s (boot to its confirmation: download into the slot, read back, set_boot, reset, trial boot); "
              "with v2's files after it %.2f s boot to idle (the unix port; the simulator's flash is a file: no SPI flash erase or "
              "write times, no Wi-Fi)" % ("%.2f" % result["fw_seconds"] if result["fw_seconds"] else "?", result["v2_seconds"]))
    for agent_form in ("py", "mpy", "pack"):
        form.update(agent=agent_form, firmware=None)
        files = smallest_heap(trial, 8, 128)
        form.update(firmware=image)
        firmware = smallest_heap(trial, 8, 128)
        print("smallest heap on esp32-ota, agent as %s: v1 install and v1 -> v2 %dK; the same with the firmware step before v2's files "
              "%dK: %s" % (agent_form, files, firmware, "within the files' heap" if firmware <= files else "MORE than the files' (%+dK)" % (firmware - files)))
    form.update(agent="py", profile="lfs", firmware=None)


def agent_flash(work):
    """Flash the agent takes (boot.py included), as .py, as .mpy files and as a pack, per board profile: measured on the real
    LittleFS of the unix port, formatted and mounted as each port does (lfs: the esp32 port's defaults; pico-w: the rp2
    port's program size 256), as the blocks in use with the agent against an empty filesystem (less the second count
    statvfs makes of each folder's pair). Then the same while an update of the agent is on trial: the new agent, the one
    it replaced as path#old files (as large) and its copy in /.aloft/agent/aloft (of a pack only the header, previous.py)."""
    tool = os.path.join(ROOT, "device", "sim", "flashtool.py")
    empty = os.path.join(work, "empty")
    os.makedirs(os.path.join(empty, "lib"), exist_ok=True)
    os.makedirs(os.path.join(empty, ".aloft"), exist_ok=True)  # every board has /lib and the agent's state folder

    def used(src, profile, size, progsize):
        blocks = []
        for folder in (empty, src):
            image = os.path.join(work, "flash-%s.img" % profile)
            made = subprocess.run([MICROPYTHON, tool, "mkfs", image, str(size), folder, "--force", "--progsize", str(progsize)], capture_output=True)
            if made.returncode != 0:
                return None  # it does not fit the board's filesystem
            total, free = map(int, subprocess.run([MICROPYTHON, tool, "df", image], check=True, capture_output=True, text=True).stdout.split())
            blocks.append(total - free)
        folders = sum(len(d) for _, d, _ in os.walk(src)) - sum(len(d) for _, d, _ in os.walk(empty))
        got = blocks[1] - blocks[0] - 2 * folders  # statvfs counts each folder's pair twice
        # A filesystem filled to its last block reports nonsense (littlefs counts blocks in use past its end): it
        # does not fit, as far as an update is concerned.
        return got if 0 <= got < size // 4096 - blocks[0] else None

    for agent_form in ("py", "mpy", "pack"):
        out = os.path.join(work, "agent-" + agent_form)
        aloft("agent", "export", out, "--agent-form", agent_form)
        os.makedirs(os.path.join(out, ".aloft"), exist_ok=True)
        agent = os.path.join(out, "lib/aloft")
        names = sorted(os.listdir(agent))
        sizes = [os.path.getsize(os.path.join(agent, n)) for n in names]
        trial = os.path.join(work, "agent-%s-trial" % agent_form)
        shutil.copytree(out, trial)
        os.makedirs(os.path.join(trial, ".aloft/agent/aloft"))
        for n in names:
            with open(os.path.join(agent, n), "rb") as f:
                data = f.read()
            with open(os.path.join(trial, "lib/aloft", n + "#old"), "wb") as f:
                f.write(data + b"#")
            with open(os.path.join(trial, ".aloft/agent/aloft", n), "wb") as f:
                f.write(data[:32] if n == "agent.pk" else data + b"#")
        figures = []
        for profile, size, progsize in (("lfs", 2 * 1024 * 1024, 32), ("pico-w", 848 * 1024, 256)):
            alone, on_trial = used(out, profile, size, progsize), used(trial, profile, size, progsize)
            figures.append("%s %d blocks (%d KiB), %s while an update of it is on trial" % (
                profile, alone, alone * 4, "%d (%d KiB)" % (on_trial, on_trial * 4) if on_trial is not None else "more than the board has (%d KiB)" % (size // 1024)))
        print("agent as %-4s: %d files, %d bytes; on flash with boot.py: %s" % (agent_form, len(sizes), sum(sizes), "; ".join(figures)))


def bench_release_sizes(work):
    """The smallest heap for a fresh install and for a one-file update of releases of 10, 100 and 1000 small files
    (packages with an empty __init__.py each): the device's RAM must not depend on the number of files."""
    bits = subprocess.run([MICROPYTHON, "-c", "import sys; print(64 if sys.maxsize > 2**32 else 32)"], capture_output=True, text=True).stdout.strip()
    print("release size, agent as .py (%s-bit MicroPython at %s):" % (bits, MICROPYTHON))
    for n in (10, 100, 1000):
        a, b = os.path.join(work, "size-%d-a" % n), os.path.join(work, "size-%d-b" % n)
        files = {"main.py": b"import pkg00.mod0001\nprint('app', pkg00.mod0001.X)\n"}
        for i in range(1, n):
            folder = "lib/pkg%02d/" % (i // 50)
            files[folder + "__init__.py"] = b""
            files[folder + "mod%04d.py" % i] = b"X = %d\n" % i
        files = dict(list(files.items())[:n])
        write_release(a, files)
        files = dict(files, **{"main.py": b"import pkg00.mod0001\nprint('app b', pkg00.mod0001.X)\n"})
        write_release(b, files)
        channel = "size-%d" % n
        key = os.path.join(work, "keys/release.key")
        aloft("release", "publish", a, "--version", "1.0.0", "--key", key, "--channel", channel, timeout=600)
        state = {"k": 0}

        def provision():
            state["k"] += 1
            dev = os.path.join(work, "dev-%s-%d" % (channel, state["k"]))
            aloft("device", "provision", "--id", "%s-%d" % (channel, state["k"]), "--channel", channel, "--pubkey",
                  os.path.join(work, "keys/release.pub"), "--out", dev, "--flash-size", "4M", "--agent-form", "py")
            return dev

        def boot(dev, heap, sequence):
            r = aloft("sim", "run", dev, "--until-idle", "--timeout", "900", "--heap", heap, check=False, timeout=1000)
            name = os.path.basename(dev)[4:]
            return (r.returncode == 0 and get("/api/v1/admin/devices/" + name).get("sequence") == sequence) or None

        def fresh_trial(_, heap):
            dev = provision()
            try:
                return boot(dev, heap, 1)
            finally:
                shutil.rmtree(dev, ignore_errors=True)

        fresh = smallest_heap(fresh_trial, 24, 128)
        # The update: one device on A, its flash saved; B published; every trial boots a copy of that flash.
        base = provision()
        if not boot(base, "512K", 1):
            sys.exit("the %d-file release did not install" % n)
        aloft("release", "publish", b, "--version", "1.0.1", "--key", key, "--channel", channel, timeout=600)

        def update_trial(_, heap):
            shutil.copy(os.path.join(base, "flash.img"), os.path.join(base, "flash.v1"))
            try:
                return boot(base, heap, 2)
            finally:
                shutil.copy(os.path.join(base, "flash.v1"), os.path.join(base, "flash.img"))

        update = smallest_heap(update_trial, 24, 128)
        shutil.rmtree(base, ignore_errors=True)
        print("  %4d files: fresh install %dK, one-file update %dK (smallest -X heapsize)" % (n, fresh, update))


def bench_ed25519():
    """Ed25519 verification on the unix port (RFC 8032 test 2), at the default heap and at 64K."""
    device = os.environ.get("ALOFT_DEVICE_DIR") or os.path.join(ROOT, "device")
    code = (
        "import sys, time\nsys.path.insert(0, %r)\nfrom aloft import ed25519\nfrom binascii import unhexlify as u\n"
        "pk=u('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c')\n"
        "sig=u('92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00')\n"
        "assert ed25519.verify(pk, b'r', sig)\nn=20\nt=time.ticks_us()\nfor _ in range(n): ed25519.verify(pk, b'r', sig)\n"
        "print('%%.1f' %% (time.ticks_diff(time.ticks_us(), t) / n / 1000))\n" % device
    )
    for heap in (None, "64K"):
        args = [MICROPYTHON] + (["-X", "heapsize=" + heap] if heap else []) + ["-c", code]
        r = subprocess.run(args, capture_output=True, text=True)
        print("Ed25519 verify on the unix port%s: %s ms" % (" at " + heap if heap else "", r.stdout.strip() or r.stderr.strip()))


if __name__ == "__main__":
    main()
    if not HEAP_ONLY:
        bench_ed25519()
