"""Q4_K and Q6_K quantisation in numpy, for the tools that write GGUF files.

gguf-py (PyPI gguf) dequantises every ggml type but quantises only the 32-element ones (Q8_0,
Q4_0, Q4_1, Q5_0, Q5_1) and BF16; the K-quants that most hub GGUFs use (a "Q4_K_M" file is mostly
Q4_K with Q6_K for the output and some v/down projections) are written here, in ggml's block
formats (ggml-common.h), with the same simple scale choice as the engine's reference quantiser
(libgem/src/engine/weight_types.cc, QuantQ4K / QuantQ6K):

  Q4_K (256 elements, 144 bytes): f16 d, f16 dmin, 12 bytes of packed 6-bit scales and mins for
      8 sub-blocks of 32, 128 bytes of nibbles; value = (d * sc) * q - dmin * mn.
  Q6_K (256 elements, 210 bytes): 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8
      scales (one per 16 elements), f16 d; value = (d * sc) * (q - 32).

The files this writes are read back by gguf-py's dequantisation (and by transformers' GGUF loader
and the engine), which is what the tests compare against; the quantiser only has to produce valid
blocks of reasonable accuracy, not llama.cpp's exact bytes.
"""
import numpy as np


def _f16(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16)


def _round_away(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def quantize_q4_k(rows):
    """rows: float32 array [n, k], k % 256 == 0 -> uint8 array [n, k // 256 * 144]."""
    n, k = rows.shape
    x = rows.astype(np.float32).reshape(-1, 8, 32)  # blocks x sub-blocks x elements
    mn = np.minimum(x.min(axis=2), 0.0)
    mx = x.max(axis=2)
    scale = (mx - mn) / 15.0
    negmin = -mn
    d = _f16(scale.max(axis=1) / 63.0).astype(np.float32)
    dmin = _f16(negmin.max(axis=1) / 63.0).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        ls = np.where(d[:, None] > 0, np.ceil(scale / d[:, None]), 0).clip(0, 63).astype(np.uint8)
        lm = np.where(dmin[:, None] > 0, _round_away(negmin / dmin[:, None]), 0).clip(0, 63)
    lm = lm.astype(np.uint8)
    ds = d[:, None] * ls.astype(np.float32)
    ms = dmin[:, None] * lm.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(ds[:, :, None] > 0, _round_away((x + ms[:, :, None]) / ds[:, :, None]), 0)
    q = q.clip(0, 15).astype(np.uint8).reshape(-1, 4, 2, 32)  # chunks of 64: low, high
    qs = (q[:, :, 0, :] | (q[:, :, 1, :] << 4)).reshape(-1, 128)
    sc = np.zeros((x.shape[0], 12), dtype=np.uint8)
    sc[:, 0:4] = ls[:, 0:4]
    sc[:, 4:8] = lm[:, 0:4]
    sc[:, 8:12] = (ls[:, 4:8] & 0xF) | ((lm[:, 4:8] & 0xF) << 4)
    sc[:, 0:4] |= (ls[:, 4:8] >> 4) << 6
    sc[:, 4:8] |= (lm[:, 4:8] >> 4) << 6
    blocks = np.concatenate([_f16(d)[:, None].view(np.uint8), _f16(dmin)[:, None].view(np.uint8),
                             sc, qs], axis=1)
    return blocks.reshape(n, -1)


def quantize_q6_k(rows):
    """rows: float32 array [n, k], k % 256 == 0 -> uint8 array [n, k // 256 * 210]."""
    n, k = rows.shape
    x = rows.astype(np.float32).reshape(-1, 16, 16)  # blocks x groups x elements
    imax = np.abs(x).argmax(axis=2)
    vmax = np.take_along_axis(x, imax[:, :, None], axis=2)[:, :, 0]
    scales = vmax / -32.0
    jmax = np.abs(scales).argmax(axis=1)
    max_scale = np.take_along_axis(scales, jmax[:, None], axis=1)[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        iscale = np.where(max_scale != 0, -128.0 / max_scale, 0.0).astype(np.float32)
        d = _f16(np.where(iscale != 0, 1.0 / iscale, 0.0)).astype(np.float32)
    sc = np.minimum(127, _round_away(iscale[:, None] * scales)).astype(np.int8)
    ds = d[:, None] * sc.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(ds[:, :, None] != 0, _round_away(x / ds[:, :, None]), 0)
    L = (q.clip(-32, 31) + 32).astype(np.uint8).reshape(-1, 2, 4, 32)  # halves x runs x 32
    ql = np.concatenate([L[:, :, 0] & 0xF | ((L[:, :, 2] & 0xF) << 4),
                         L[:, :, 1] & 0xF | ((L[:, :, 3] & 0xF) << 4)], axis=2).reshape(-1, 128)
    qh = ((L[:, :, 0] >> 4) | ((L[:, :, 1] >> 4) << 2) | ((L[:, :, 2] >> 4) << 4) |
          ((L[:, :, 3] >> 4) << 6)).reshape(-1, 64)
    blocks = np.concatenate([ql, qh, sc.view(np.uint8), _f16(d)[:, None].view(np.uint8)], axis=1)
    return blocks.reshape(n, -1)
