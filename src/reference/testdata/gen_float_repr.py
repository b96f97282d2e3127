"""Writes float_repr.txt: `<f64 bits in hex> <repr(x)>` per line, from CPython (3.11.7 used).

Run: python3.11 gen_float_repr.py > float_repr.txt
"""
import random
import struct

rng = random.Random(20231114)
values = []
while len(values) < 1000:
    x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
    if x == x and x not in (float("inf"), float("-inf")):
        values.append(x)
for _ in range(1000):
    # Magnitudes around the positional/exponential switch and common short decimals.
    exp = rng.randint(-8, 20)
    digits = rng.randint(1, 17)
    x = round(rng.uniform(-1, 1), digits) * 10.0**exp
    values.append(x)
for x in values:
    print("%016x %r" % (struct.unpack("<Q", struct.pack("<d", x))[0], x))
