# Ed25519 verification: RFC 8032 section 7.1 vectors, and the strictness the agent relies on.
from harness import run, test
from binascii import unhexlify as u
import time
from aloft import ed25519

# (public key, message, signature): RFC 8032 TEST 1, 2, 3 and TEST SHA(abc). The 1023-byte
# message is ours (the RFC's is too long to keep here) with TEST 1024's key, signed by OpenSSL.
MSG_1023 = bytes((i * i + 7 * i + 3) & 255 for i in range(1023))
VECTORS = [
    (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        b"",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        u("72"),
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        u("af82"),
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        u(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        ),
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
    (
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        MSG_1023,
        "68eb411e585acf9be5c85096e9f99e0eb9ceb9a45f8e1e5e29a18bd73d8eaf92bb3f638a0839c5606b4c28a5e36ed816b38f2a7d4df7f6d1511c408a78e4be00",
    ),
]
L = 2**252 + 27742317777372353535851937790883648493
P = 2**255 - 19


def flip(b, i):
    b = bytearray(b)
    b[i] ^= 1
    return bytes(b)


@test
def rfc8032_vectors_verify():
    for pk, msg, sig in VECTORS:
        t = time.ticks_ms()
        assert ed25519.verify(u(pk), msg, u(sig)), pk
        print("     %d-byte message: %d ms" % (len(msg), time.ticks_diff(time.ticks_ms(), t)))


@test
def tampered_message_is_rejected():
    for pk, msg, sig in VECTORS:
        assert not ed25519.verify(u(pk), msg + b"x", u(sig))
        if msg:
            assert not ed25519.verify(u(pk), flip(msg, 0), u(sig))


@test
def tampered_signature_is_rejected():
    pk, msg, sig = VECTORS[2]
    for i in (0, 31, 32, 63):
        assert not ed25519.verify(u(pk), msg, flip(u(sig), i)), i


@test
def other_key_is_rejected():
    assert not ed25519.verify(u(VECTORS[0][0]), VECTORS[1][1], u(VECTORS[1][2]))


@test
def s_at_or_above_l_is_rejected():
    # S + L is the same scalar mod L, so only the range check rejects it (signature malleability).
    pk, msg, sig = VECTORS[2]
    sig = u(sig)
    s = int.from_bytes(sig[32:], "little")
    assert ed25519.verify(u(pk), msg, sig[:32] + s.to_bytes(32, "little"))
    assert not ed25519.verify(u(pk), msg, sig[:32] + (s + L).to_bytes(32, "little"))
    assert not ed25519.verify(u(pk), msg, sig[:32] + L.to_bytes(32, "little"))


@test
def bad_point_encodings_are_rejected():
    pk, msg, sig = VECTORS[2]
    # y = p + 1: a non-canonical encoding of y = 1; y = 2: no x on the curve; y = 1 with x = 0
    # and the sign bit set
    for y in (P + 1, 2, 1 | 1 << 255):
        assert not ed25519.verify(y.to_bytes(32, "little"), msg, u(sig)), y


@test
def wrong_lengths_are_rejected():
    pk, msg, sig = VECTORS[2]
    assert not ed25519.verify(u(pk)[:31], msg, u(sig))
    assert not ed25519.verify(u(pk), msg, u(sig)[:63])
    assert not ed25519.verify(u(pk), msg, u(sig) + b"\0")


@test
def str_message_is_verified_as_utf8():
    pk, msg, sig = VECTORS[1]
    assert ed25519.verify(u(pk), "r", u(sig))  # 0x72


run()
