# What the end-to-end device tests share: fake_server.py in a CPython child process, and simulated
# devices (sim/run.py on a flash image) provisioned with the agent from this checkout.
from harness import DEVICE, HERE, micropython, read, sh, write
import json
import os
import time
import flashtool
from aloft import api, fs, http, reply, tree


def python():
    # fake_server.py signs with `cryptography`: ALOFT_PYTHON, else the first of these that has it.
    if os.getenv("ALOFT_PYTHON"):
        return os.getenv("ALOFT_PYTHON")
    for candidate in (DEVICE + "/../.venv/bin/python3", "python3"):
        if sh("%s -c 'import cryptography' > /dev/null 2>&1" % candidate) == 0:
            return candidate
    raise SystemExit("no python3 with the cryptography package (pip install cryptography, or set ALOFT_PYTHON)")


class Server:
    """fake_server.py, started in the background; it exits by itself after lifetime seconds."""

    @classmethod
    def at(cls, url, token, pubkey):
        """A handle on a server another process started."""
        s = object.__new__(cls)
        s.url, s.token, s.pubkey = url, token, pubkey
        return s

    def __init__(self, tmp, lifetime=300, tls=False):
        """tls: HTTPS with a certificate for 127.0.0.1 from a CA of its own (self.ca, PEM; self.other_ca
        is an unrelated CA)."""
        state = tmp + "/server.json"
        sh("%s %s/fake_server.py --state %s --lifetime %d%s > %s/server.log 2>&1 &" % (python(), HERE, state, lifetime, " --tls" if tls else "", tmp))
        for _ in range(300):
            if fs.stat(state):
                break
            time.sleep_ms(50)
        else:
            print(read(tmp + "/server.log").decode())
            raise SystemExit("fake_server.py did not start")
        with open(state) as f:
            s = json.load(f)
        self.url, self.token, self.pubkey = s["url"], s["token"], s["pubkey"]
        self.enroll = s.get("enroll")  # the enrollment secret it accepts
        self.ca, self.other_ca = s.get("ca"), s.get("other_ca")

    def post(self, path, body):
        return api.post({"server": self.url, "token": self.token}, path, body)

    def get(self, path):
        r = http.request(self.url, "GET", path, self.token)
        try:
            return reply.read(r)
        finally:
            r.sock.close()

    def offer(self, release, variant=None, fault=None, hang=False):
        self.post("/_ctl", {"release": release, "variant": variant, "fault": fault, "hang": hang})

    def publish(self, name, version, sequence, files, boards=None, micropython=None, extra=None, sign=None, firmware=()):
        """extra: manifest fields to add ("trust" with key names); sign: the signers (fake_server.py); firmware: the
        release's images, [(image bytes, build, chip, micropython)] (docs/firmware.md). Returns {"/path": sha256} of files."""
        from binascii import b2a_base64

        body = {"name": name, "version": version, "sequence": sequence, "extra": extra, "sign": sign}
        body["files"] = dict((p, b2a_base64(b).decode().strip()) for p, b in files.items())
        if firmware:
            body["firmware"] = [{"build": b, "chip": c, "micropython": v, "mpy": 6, "image": b2a_base64(data).decode().strip()} for data, b, c, v in firmware]
        if boards:
            body["boards"] = boards
        if micropython:
            body["micropython"] = micropython
        self.post("/_publish", body)
        return files_hashed(files)

    def keys(self):
        """{name: 64-hex public key} of the keys fake_server.py signs with; "A" is the provisioned one."""
        return self.get("/_keys")

    def releases(self, name=None):
        """{name: {"/path": sha256}} of every release the server knows (or of the one named)."""
        out = {}
        for name, files in self.get("/_releases" + ("?name=" + name if name else "")).items():
            out[name] = dict(("/" + p, h) for p, h in files.items())
        return out

    def log(self):
        return self.get("/_log")

    def quit(self):
        try:
            self.post("/_quit", {})
        except Exception:
            pass


AGENT = ("/boot.py", "/lib/aloft/", "/.aloft/")


def files_hashed(files):
    """{"/path": sha256} of release files {path: bytes}: how a release is checked against the flash."""
    from binascii import hexlify
    from hashlib import sha256

    return dict(("/" + p, hexlify(sha256(b).digest()).decode()) for p, b in files.items())


def released_agent(tmp, version="0.2.0"):
    """The agent as it was released in version (data/agent-<version>.tar.gz: its device/aloft and
    device/boot.py, from git), unpacked under tmp; the folder to give Device(agent_src=...)."""
    sh("%s -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' %s/data/agent-%s.tar.gz %s/%s" % (python(), HERE, version, tmp, version))
    return "%s/%s/device" % (tmp, version)


def checkout_agent(version, edit=None, extra=None, form=None):
    """This checkout's agent as release files ("lib/aloft/<name>" -> bytes) in form (agentpack.FORM unless given),
    reporting version and printing "aloft: agent <version> loaded" when imported; edit: {module file:
    function(bytes) -> bytes} on its sources; extra: {module file: source bytes} to add."""
    import agentpack

    files = {}
    for name, data in agentpack.sources().items():
        if name == "__init__.py":
            i = data.index(b'\nVERSION = "')
            j = data.index(b"\n", i + 1)
            data = data[:i] + b'\nVERSION = "%s"' % version.encode() + data[j:]
            data += b'\nprint("aloft: agent %s loaded")\n' % version.encode()
        if edit and name in edit:
            data = edit[name](data)
        files[name] = data
    files.update(extra or {})
    return dict(("lib/aloft/" + name, data) for name, data in agentpack.built(files, form).items())


_PROVISIONED = {}


def provisioned_agent():
    """{file name: bytes} of this checkout's agent in agentpack.FORM, built once per test script; the files of
    $ALOFT_TEST_AGENT_DIR as they are when that is set."""
    import agentpack

    if not _PROVISIONED:
        folder = os.getenv("ALOFT_TEST_AGENT_DIR")
        if folder:
            _PROVISIONED.update((n, read(folder + "/" + n)) for n in os.listdir(folder) if n.endswith((".py", ".mpy", ".pk")))
        else:
            _PROVISIONED.update(agentpack.built(agentpack.sources()))
    return _PROVISIONED


class Device:
    """A provisioned simulated device: boot.py, the agent, config.json (server, keys, and the
    settings given; a setting of None removes that key), and any extra files, on a LittleFS image of size bytes."""

    @classmethod
    def at(cls, tmp):
        """A handle on tmp/flash.img, provisioned already (load() one)."""
        d = object.__new__(cls)
        d.tmp, d.image = tmp, tmp + "/flash.img"
        return d

    def __init__(self, server, tmp, size=1024 * 1024, files=None, agent_dir="/lib/aloft", agent_src=None, profile=None, app=None, **settings):
        """agent_dir: where the agent goes; elsewhere than /lib/aloft it stands for one frozen into the firmware.
        agent_src: the folder with the agent to provision (aloft/ and boot.py), else this checkout's device/ in the
        form ALOFT_TEST_AGENT_FORM names (agentpack.py; or $ALOFT_TEST_AGENT_DIR's files as they are). profile: a simulated ESP32 board
        (flashtool.PROFILES, docs/firmware.md) instead of a plain LittleFS image, running app (an image's bytes) or
        the default firmware (size is then the profile's)."""
        self.tmp = tmp
        self.image = tmp + "/flash.img"
        src = tmp + "/src"
        tree.rmtree(src)
        write(src + "/boot.py", read((agent_src or DEVICE) + "/boot.py"))
        if agent_src:  # a released agent, as it was
            agent = dict((n, read(agent_src + "/aloft/" + n)) for n in os.listdir(agent_src + "/aloft") if n.endswith((".py", ".mpy")))
        else:
            agent = provisioned_agent()
        for name, data in agent.items():
            write(src + agent_dir + "/" + name, data)
        cfg = {"server": server.url, "id": "dev-1", "token": server.token, "keys": [server.pubkey], "board": "sim"}
        cfg.update({"poll": 300, "timeout": 2, "backoff": 0.05, "confirm_wait": 1})
        cfg.update(settings)
        for key in [k for k, v in cfg.items() if v is None]:  # id=None, token=None: a generic image
            del cfg[key]
        write(src + "/.aloft/config.json", json.dumps(cfg).encode())
        for path, data in (files or {}).items():
            write(src + path, data)
        if profile:
            if app is not None:
                write(tmp + "/app.bin", app)
            flashtool.mkflash(self.image, profile, src, tmp + "/app.bin" if app is not None else None, True)
        else:
            flashtool.mkfs(self.image, size, src, True)
        tree.rmtree(src)

    def boot(self, heap=None, env=""):
        """One boot: (exit code, output). 75: it asked for a reset; 137: it was killed."""
        log = self.tmp + "/run.log"
        # run.py by that name, in its folder, as `aloft sim run` starts it: the heap is the same wherever the checkout is
        code = sh("cd %s/sim && %s%s %s run.py %s > %s 2>&1" % (DEVICE, env, micropython(), "-X heapsize=" + heap if heap else "", self.image, log))
        return code, read(log).decode()

    def run(self, heap=None, env="", boots=8):
        """Boots until the device stops asking for a reset: [(code, output), ...]."""
        out = []
        for _ in range(boots):
            out.append(self.boot(heap, env))
            if out[-1][0] != 75:
                break
        return out

    def save(self, path):
        # a copy that fails (a full disk) is the host's failure, not the device's: said as such
        assert sh("cp %s %s" % (self.image, path)) == 0, "cannot copy %s to %s" % (self.image, path)

    def load(self, path):
        assert sh("cp %s %s" % (path, self.image)) == 0, "cannot copy %s to %s" % (path, self.image)

    def files(self):
        """{"/path": sha256} of every file on the flash."""
        bd, vfs = flashtool.open_image(self.image)
        try:
            return dict((p, flashtool.digest(vfs, p)) for p, _ in flashtool.files(vfs))
        finally:
            bd.close()

    def app(self):
        """{"/path": sha256} of the release's part of the flash: everything but the agent, its state
        and the old and new files it keeps beside a release's files during an update (path#old, path#new)."""
        return dict((p, h) for p, h in self.files().items() if "#" not in p and not [a for a in AGENT if p.startswith(a)])

    def agent(self):
        """{"/lib/aloft/...": sha256}: the agent's files (its install copies, path#old, left out)."""
        return dict((p, h) for p, h in self.files().items() if p.startswith("/lib/aloft/") and "#" not in p)

    def app_and_agent(self):
        """app() and agent(): what a release that carries the agent is checked by."""
        return dict(self.app(), **self.agent())

    def side_files(self):
        """path#old and path#new files: present only while an update is installed or on trial."""
        return sorted(p for p in self.files() if "#" in p)

    def cat(self, path):
        bd, vfs = flashtool.open_image(self.image)
        try:
            with vfs.open(path, "rb") as f:
                return f.read()
        finally:
            bd.close()

    def state(self, name):
        """/.aloft/<name> parsed, None when absent."""
        try:
            return json.loads(self.cat("/.aloft/" + name))
        except OSError:
            return None

    def installed(self):
        """{"path": sha256} of the installed record: its file list (/.aloft/lists/<sha256>), or the
        files of a record an agent before 0.3.0 wrote; None when nothing is installed."""
        rec = self.state("installed.json")
        if rec is None:
            return None
        if "files" in rec:
            return rec["files"]
        if "list" not in rec:
            return {}
        out = {}
        for line in self.cat("/.aloft/lists/" + rec["list"]).decode().splitlines():
            sha, _, path = line.split(" ", 2)
            out[path] = sha
        return out

    def otadata(self):
        """The otadata of a simulated ESP32's flash, read on the host as its bootloader reads it (esp32.py): its two
        entries as (label of the slot it selects, seq, state), the label None when it selects none (seq unset, or its
        CRC torn); and the index of the active one (valid, highest seq), -1 when neither is valid."""
        import espboot
        import esp32
        from espflash import Flash

        bd = Flash(self.image)
        try:
            esp32.flash, esp32.table = bd, espboot._table(bd) or ()
            slots = esp32.slots()
            _, e = esp32.otadata()
            out = [(slots[(x[0] - 1) % len(slots)][0] if x[0] != 0xFFFFFFFF and x[3] == esp32.crc(x[0]) else None, x[0], x[2]) for x in e]
            return out, esp32.active(e)
        finally:
            bd.close()

    def used(self):
        """Bytes of flash in use."""
        bd, vfs = flashtool.open_image(self.image)
        try:
            st = vfs.statvfs("/")
            return (st[2] - st[3]) * st[0]
        finally:
            bd.close()


def booted(out):
    """What the last ESP32 boot in out booted: (slot label, MicroPython version), from the simulator's line
    "sim: booting ota_1: MicroPython 1.26.0, boots"; None when out has none."""
    i = out.rfind("sim: booting ")
    if i < 0:
        return None
    label, _, rest = out[i + 13 :].partition(": MicroPython ")
    return label, rest.split(",")[0].strip()


def codes(boots):
    return [c for c, _ in boots]


def output(boots):
    return "".join(o for _, o in boots)
