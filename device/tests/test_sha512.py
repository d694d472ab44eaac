# SHA-512 against FIPS 180-4 / NIST example vectors, including multi-block and split updates.
from harness import run, test
from binascii import hexlify
from aloft.sha512 import sha512

ABC = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
VECTORS = [
    (b"", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
    (b"abc", ABC),
    (
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445",
    ),
    (  # 112 bytes: the length field no longer fits the first block
        b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
        "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
    ),
    (
        b"a" * 1000,
        "67ba5535a46e3f86dbfbed8cbbaf0125c76ed549ff8b0b9e03e0c88cf90fa634fa7b12b47d77b694de488ace8d9a65967dc96df599727d3292a8d9d447709c97",
    ),
]


def hexdigest(h):
    return hexlify(h.digest()).decode()


@test
def known_vectors():
    for msg, want in VECTORS:
        assert hexdigest(sha512(msg)) == want, msg[:20]


@test
def updates_in_pieces_equal_one_update():
    for msg, want in VECTORS:
        for step in (1, 7, 127, 128, 129):
            h = sha512()
            for i in range(0, len(msg), step):
                h.update(msg[i : i + step])
            assert hexdigest(h) == want, (msg[:20], step)


@test
def digest_does_not_finish_the_hash():
    h = sha512(b"ab")
    h.digest()
    h.update(b"c")
    assert hexdigest(h) == ABC


@test
def str_hashes_as_utf8():
    assert sha512("h\u00e9").digest() == sha512(b"h\xc3\xa9").digest()


run()
