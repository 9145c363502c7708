"""Bulk ids through ctypes, as a Python binding would hand them over: 1M ids from a list of
str added to an sp_dict as an array of pointers (sp_dict_add_all) and packed in one
buffer with offsets (sp_dict_add_packed), each timed from the list to the return of the
call, median of 5 runs. Both dictionaries are checked to hold the same indices.

    /usr/bin/python3 tests/bench/ids_ctypes.py build/src/libsalesplan.so [ids]
"""
import ctypes
import random
import statistics
import sys
import time
from array import array
from itertools import accumulate

lib = ctypes.CDLL(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
P, U32P, U64P = ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_uint64)
lib.sp_ctx_new.argtypes = [ctypes.POINTER(P), P]
lib.sp_dict_new.argtypes = [ctypes.POINTER(P), P]
lib.sp_dict_free.argtypes = [P]
lib.sp_dict_count.argtypes = [P]
lib.sp_dict_count.restype = ctypes.c_size_t
lib.sp_dict_add_all.argtypes = [P, P, P, ctypes.c_size_t, U32P]
lib.sp_dict_add_packed.argtypes = [P, ctypes.c_char_p, ctypes.c_size_t, P, ctypes.c_size_t, U32P]
lib.sp_dict_find_packed.argtypes = [P, ctypes.c_char_p, ctypes.c_size_t, P, ctypes.c_size_t,
                                    U32P, ctypes.POINTER(ctypes.c_size_t)]

ctx = P()
assert lib.sp_ctx_new(ctypes.byref(ctx), None) == 0
rng = random.Random(7)
words = ["东区", "华北", "网格", "shop", "Berlin", "K"]
ids = [f"cust-{k * 7919}-{words[k % len(words)]}" for k in range(n)]
rng.shuffle(ids)


def new_dict():
    d = P()
    assert lib.sp_dict_new(ctypes.byref(d), ctx) == 0
    return d


def pointers(d):
    enc = [s.encode() for s in ids]
    ptrs = (ctypes.c_char_p * n)(*enc)
    lens = (ctypes.c_size_t * n)(*map(len, enc))
    assert lib.sp_dict_add_all(d, ptrs, lens, n, None) == 0


def packed(d):
    data = "".join(ids).encode()
    offsets = array("Q", accumulate(map(len, map(str.encode, ids)), initial=0))
    addr, _ = offsets.buffer_info()
    assert lib.sp_dict_add_packed(d, data, len(data), addr, n, None) == 0
    return data, offsets


def time_it(fn):
    ms = []
    for _ in range(5):
        d = new_dict()
        t0 = time.perf_counter()
        fn(d)
        ms.append((time.perf_counter() - t0) * 1e3)
        lib.sp_dict_free(d)
    return statistics.median(ms)


a, b = new_dict(), new_dict()
pointers(a)
data, offsets = packed(b)
idx = (ctypes.c_uint32 * n)()
missing = ctypes.c_size_t()
assert lib.sp_dict_find_packed(a, data, len(data), offsets.buffer_info()[0], n, idx,
                               ctypes.byref(missing)) == 0
assert missing.value == 0 and list(idx) == list(range(n)), "the two disagree"
lib.sp_dict_free(a)
lib.sp_dict_free(b)
t_ptr, t_packed = time_it(pointers), time_it(packed)
print(f"{n} ids from a list of str, ms (median of 5)")
print(f"{'sp_dict_add_all via ctypes (c_char_p array, lengths)':56} {t_ptr:9.1f}")
print(f"{'sp_dict_add_packed via ctypes (one join, offsets)':56} {t_packed:9.1f}"
      f"  ({t_packed / t_ptr:.2f}x)")
