"""Golden .npy files for io/npy (tests/test_npy.cpp), written by numpy itself.

tests/golden/npy/: one file per dtype (<f4 <f8 <i4 <i8 |u1 |b1 <f2), a 0-d, an empty and a 1-D array,
a version 2.0 file, and the malformed ones the reader must refuse (Fortran order, big-endian,
truncated data, trailing bytes, bad magic, bad header, unsupported dtype). Values are small integer
formulas (i * 0.5 - 3 etc.) the test repeats, so the files need no JSON beside them.
Run: /work/venv/bin/python tests/golden/make_npy.py
"""
import os

import numpy as np
from numpy.lib import format as npformat

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npy")


def values(n):
    return np.arange(n) * 0.5 - 3.0


def main():
    os.makedirs(OUT, exist_ok=True)
    save = lambda name, a: np.save(os.path.join(OUT, name), a)
    save("f4_2x3.npy", values(6).reshape(2, 3).astype("<f4"))
    save("f8_2x3x2.npy", values(12).reshape(2, 3, 2).astype("<f8"))
    save("i4_5.npy", (np.arange(5) * 7 - 10).astype("<i4"))
    save("i8_3x2.npy", (np.arange(6) * 1000000007 - 3).astype("<i8").reshape(3, 2))
    save("u1_4.npy", np.array([0, 1, 128, 255], dtype="|u1"))
    save("b1_3.npy", np.array([True, False, True]))
    save("f2_4.npy", values(4).astype("<f2"))
    save("f8_scalar.npy", np.array(2.5))
    save("f4_empty.npy", np.zeros((0, 3), dtype="<f4"))
    # a version 2.0 header (numpy writes 1.0 unless asked)
    with open(os.path.join(OUT, "f4_v2.npy"), "wb") as f:
        npformat.write_array(f, values(6).reshape(3, 2).astype("<f4"), version=(2, 0))
    # malformed
    save("bad_fortran.npy", np.asfortranarray(values(6).reshape(2, 3)))
    save("bad_bigendian.npy", values(3).astype(">f4"))
    save("bad_complex.npy", np.zeros(2, dtype="<c8"))
    good = open(os.path.join(OUT, "f4_2x3.npy"), "rb").read()
    open(os.path.join(OUT, "bad_truncated.npy"), "wb").write(good[:-5])
    open(os.path.join(OUT, "bad_trailing.npy"), "wb").write(good + b"\0\0\0\0")
    open(os.path.join(OUT, "bad_magic.npy"), "wb").write(b"\x93NUMPX" + good[6:])
    header_start = 10
    bad = bytearray(good)
    bad[header_start:header_start + 9] = b"{'descx':"
    open(os.path.join(OUT, "bad_header.npy"), "wb").write(bytes(bad))
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
