# Releases shaped like real projects (shapes.py), each through its versions on a simulated device
# against fake_server.py: empty files, eight-level folders, a module replaced by a package and back, a
# file and a folder swapping a name, the same bytes at several paths, binary and incompressible files, a
# file removed and added back, a thousand files. For each: a fresh install, every update (main.py checks
# what it imports), a release of the next version whose main.py raises (rolled back to exactly the one
# before), and power cuts spread over the install boot of each update (every boot after the cut finds
# exactly one version on flash; the device ends on the new one); the thousand-file release's fresh
# install is cut as well.
from harness import run, tempdir, test
import os
from simulated import Device, Server, codes, output
from aloft import tree
import shapes

TMP = tempdir("shapes")
SERVER = Server(TMP, lifetime=1500)
SETTINGS = {"retries": 1, "confirm_wait": 1}
CUTS = int(os.getenv("ALOFT_TEST_SHAPE_CUTS") or 4)  # kill points per update
SEQ = [0]


def publish(name, files):
    SEQ[0] += 1
    return SERVER.publish(name, "%d.0.0" % SEQ[0], SEQ[0], files)


def offer(dev, name):
    SERVER.post("/_ctl", {"device": dev.id, "release": name})


def device(name, size=2 * 1024 * 1024):
    tree.makedirs(TMP + "/" + name)
    dev = Device(SERVER, TMP + "/" + name, size, id=name, **SETTINGS)
    dev.id = name
    return dev


def settled(dev, want):
    # idle on exactly want (the release's files by hash), its record agreeing, nothing left aside
    assert dev.app() == want, (sorted(dev.app()), sorted(want))
    assert dev.installed() == dict((p[1:], h) for p, h in want.items()), dev.installed()
    assert not dev.side_files(), dev.side_files()
    for name in ("journal", "journal.ops", "trial.json"):
        assert dev.state(name) is None, name


def install(dev, name, want, tag):
    offer(dev, name)
    boots = dev.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    assert "app %s ok" % tag in output(boots), output(boots)
    settled(dev, want)


def rollback(dev, name, want):
    offer(dev, name)
    boots = dev.run()
    out = output(boots)
    assert codes(boots) == [75, 75, 0] and "rolling back" in out and "is broken" in out, out
    settled(dev, want)


def cuts(dev, name, before, after, tag):
    # Count the install boot's block writes, then cut it at CUTS points and boot on untouched.
    dev.save(dev.tmp + "/before.img")
    offer(dev, name)
    code, out = dev.boot(env="ALOFT_SIM_CUT_AFTER_WRITES=0 ")
    assert code == 75, out
    writes = int(out.rsplit("sim: ", 1)[1].split()[0])
    for k in range(CUTS):
        n = 1 + (2 * k + 1) * writes // (2 * CUTS)
        dev.load(dev.tmp + "/before.img")
        code, out = dev.boot(env="ALOFT_SIM_CUT_AFTER_WRITES=%d " % n)
        assert code == 137, "no cut at write %d of %d" % (n, writes)
        for _ in range(8):  # right after the cut the flash may hold an install half done: the next boot finishes it
            code, out = dev.boot()
            on = dev.app()
            assert on in (before, after), "cut at %d of %d: a boot left a mix: %s" % (n, writes, sorted(on))
            assert code in (0, 75) and ("Traceback" not in out), out
            if code == 0:
                break
        settled(dev, after)
        assert "app %s ok" % tag in out, out
    return writes


def story(name, versions):
    dev = device("shape-" + name)
    want = []
    for i, files in enumerate(versions):
        want.append(publish("%s-%d" % (name, i + 1), files))
    report = []
    if CUTS and name == "many":  # the thousand files' fresh install cut too: a thousand renames in one journal
        report.append(cuts(dev, "%s-1" % name, dev.app(), want[0], "%s-1" % name))
    else:
        install(dev, "%s-1" % name, want[0], "%s-1" % name)
    for i in range(1, len(versions)):
        bad = publish("%s-%d-bad" % (name, i + 1), shapes.broken(versions[i], "%s %d" % (name, i + 1)))
        dev.save(dev.tmp + "/on.img")
        rollback(dev, "%s-%d-bad" % (name, i + 1), want[i - 1])  # the next version broken: back exactly
        dev.load(dev.tmp + "/on.img")
        if CUTS:
            report.append(cuts(dev, "%s-%d" % (name, i + 1), want[i - 1], want[i], "%s-%d" % (name, i + 1)))
        else:
            install(dev, "%s-%d" % (name, i + 1), want[i], "%s-%d" % (name, i + 1))
    print("     %s: %d versions, %d files at most; block writes of each update's install boot %s" % (name, len(versions), max(len(v) for v in versions), report))


@test
def empty_files():
    story("empty", shapes.empty())


@test
def eight_levels_and_a_128_byte_path():
    story("deep", shapes.deep())


@test
def a_module_replaced_by_a_package_and_back():
    story("package", shapes.package())


@test
def a_file_and_a_folder_swap_a_name_and_back():
    story("swap", shapes.swap())


@test
def the_same_bytes_at_several_paths():
    story("same", shapes.same())


@test
def binary_and_incompressible_files():
    story("binary", shapes.binary())


@test
def a_file_removed_and_added_back():
    story("readd", shapes.readd())


@test
def a_thousand_files():
    story("many", shapes.many())


try:
    run()
finally:
    SERVER.quit()
    tree.rmtree(TMP)
