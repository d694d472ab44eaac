# The server's certificate checked against config.json's "ca" (docs/protocol.md, "Device
# configuration") on simulated devices against fake_server.py serving HTTPS on 127.0.0.1 with a
# certificate (IP subjectAltName) from a CA of its own.
from harness import run, tempdir, test
from aloft import tree
from simulated import Device, Server, codes, output

TMP = tempdir("tls")
SERVER = Server(TMP, tls=True)
R1 = SERVER.releases()["r1"]


def device(tag, **settings):
    tree.makedirs(TMP + "/" + tag)
    return Device(SERVER, TMP + "/" + tag, **settings)


def checkins(dev_id):
    return [c for c in SERVER.log()["checkins"] if c["id"] == dev_id]


@test
def with_the_right_ca_the_device_checks_in_and_updates():
    assert SERVER.url.startswith("https://127.0.0.1:")
    dev = device("right", ca=SERVER.ca, id="tls-right")
    SERVER.offer("r1")
    boots = dev.run(heap="56K")  # verifying a certificate chain (mbedTLS) costs RAM: 52K at least here, 44K without TLS
    assert codes(boots) == [75, 75, 0], output(boots)
    assert dev.app() == R1 and dev.state("installed.json")["sequence"] == 1
    assert checkins("tls-right"), SERVER.log()["checkins"]


@test
def with_another_ca_the_check_in_fails_before_the_token_is_sent_and_nothing_changes():
    dev = device("other", ca=SERVER.other_ca, id="tls-other")
    before = dev.files()
    code, out = dev.boot()
    assert code == 2 and "sim: last check result: error" in out, out
    assert "certificate" in out and "config.json's ca" in out, out
    assert dev.files() == before
    assert not checkins("tls-other")


@test
def a_generic_image_enrolls_over_verified_tls_only():
    dev = device("enroll-bad", ca=SERVER.other_ca, id=None, token=None, enroll=SERVER.enroll)
    code, out = dev.boot(env="ALOFT_SIM_UNIQUE_ID=mp-tls1 ")
    assert code == 2 and "certificate" in out, out
    assert not [e for e in SERVER.log()["enrollments"] if e["id"] == "mp-tls1"]  # the secret never left
    dev = device("enroll-ok", ca=SERVER.ca, id=None, token=None, enroll=SERVER.enroll)
    SERVER.offer(None)
    code, out = dev.boot(env="ALOFT_SIM_UNIQUE_ID=mp-tls2 ")
    assert code == 0 and "enrolled as mp-tls2" in out, out


@test
def without_ca_tls_is_not_verified():
    dev = device("none", id="tls-none")
    SERVER.offer(None)
    code, out = dev.boot()
    assert code == 0, out
    assert checkins("tls-none")


@test
def a_ca_that_is_not_pem_is_an_error():
    dev = device("notpem", ca="not a certificate", id="tls-notpem")
    code, out = dev.boot()
    assert code == 2 and "config.json's ca is not a PEM certificate" in out, out
    assert not checkins("tls-notpem")


try:
    run()
finally:
    SERVER.quit()
    tree.rmtree(TMP)
