"""A slow, independent pure-Python model of the stream contract (docs/stream-contract.md).

Written from the Philox paper and the contract text, not from the kernels:
tests compare the kernels with it.
"""

M = 0xFFFFFFFF
PHILOX_M = (0xD2511F53, 0xCD9E8D57)
PHILOX_W = (0x9E3779B9, 0xBB67AE85)


def philox4x32(ctr, key, rounds=10):
    c = list(ctr)
    k = list(key)
    for r in range(rounds):
        if r:
            k = [(k[0] + PHILOX_W[0]) & M, (k[1] + PHILOX_W[1]) & M]
        p0 = PHILOX_M[0] * c[0]
        p1 = PHILOX_M[1] * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k[0], p1 & M, (p0 >> 32) ^ c[3] ^ k[1], p0 & M]
    return c


def word(seed, g, stream=0):
    """The 32-bit word of element g."""
    b = g // 4
    ctr = (b & M, b >> 32, stream & M, (stream >> 32) & M)
    return philox4x32(ctr, (seed & M, seed >> 32))[g % 4]


def word64(seed, g, stream=0):
    return (word(seed, g, stream) << 32) | word(seed, g, stream ^ (1 << 63))


def uniform32(seed, g, stream=0):
    """float32 uniform in [0, 1) as an exact Python float."""
    return (word(seed, g, stream) >> 8) * 2.0**-24


def uniform64(seed, g, stream=0):
    return (word64(seed, g, stream) >> 11) * 2.0**-53


def normal_tail_prob32(seed, g, stream=0):
    """(sign, q) of the float32 normal: q = (2 * (w & 0x7fffffff) + 1) * 2**-33 before rounding."""
    w = word(seed, g, stream)
    return w >> 31, (2 * (w & 0x7FFFFFFF) + 1) * 2.0**-33
