"""Golden cases for metrics/image_similarity (tests/test_image_similarity.cpp): scikit-image's
peak_signal_noise_ratio and structural_similarity on small grey and colour images.

Each case stores the two images (u8 or float32 values), the options, and skimage's numbers:
  ssim           structural_similarity on float64 copies (or the uint8 arrays): the C++ works in double,
                 compared to 1e-9;
  ssim_f32       the same on the float32 arrays themselves (skimage then works in float32), to 1e-5;
  ssim_masked    skimage's full=True map, cropped by (win - 1) // 2 as skimage crops its mean, averaged
                 over the pixels where the mask is nonzero, then over channels;
  map            for a few cases, the full=True map itself, border included (the cropped mean never
                 sees the padding; the map's border shows scipy's 'reflect' mode);
  psnr           peak_signal_noise_ratio (null when the images are equal: +inf).
Windows: 'uniform7' (the default: 7x7, use_sample_covariance=True), 'gaussian11' (gaussian_weights=True,
sigma=1.5, use_sample_covariance=False), and a 5x5 uniform one.
Run: /work/venv/bin/python tests/golden/make_image_similarity.py
"""
import json
import os

import numpy as np
import skimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

HERE = os.path.dirname(os.path.abspath(__file__))

WINDOWS = {
    "uniform7": dict(),
    "uniform5": dict(win_size=5),
    "gaussian11": dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False),
}


FULL_MAPS = ("grey_gaussian11", "rgb_uniform7", "grey_u8_uniform7")


def pad_of(window):
    return {"uniform7": 3, "uniform5": 2, "gaussian11": 5}[window]


def masked_mean(full_map, mask, pad):
    h, w = mask.shape
    inner = np.zeros_like(mask, dtype=bool)
    inner[pad:h - pad, pad:w - pad] = True
    keep = inner & (mask != 0)
    if not keep.any():
        return None
    if full_map.ndim == 2:
        return float(full_map[keep].mean())
    return float(np.mean([full_map[..., c][keep].mean() for c in range(full_map.shape[-1])]))


def smooth(rng, shape):
    """A blurred random image in [0, 1] (structure for SSIM to see)."""
    from scipy.ndimage import gaussian_filter
    x = gaussian_filter(rng.random(shape), sigma=(1.5, 1.5) + (0,) * (len(shape) - 2))
    x = (x - x.min()) / (x.max() - x.min())
    return x


def main():
    rng = np.random.default_rng(2004)
    cases = []

    def add(name, a, b, window, data_range, mask=None, psnr_range="same"):
        a, b = np.asarray(a), np.asarray(b)
        channel_axis = -1 if a.ndim == 3 else None
        kw = dict(WINDOWS[window], channel_axis=channel_axis)
        if data_range is not None:
            kw["data_range"] = data_range
        as64 = (lambda x: x) if a.dtype == np.uint8 else (lambda x: x.astype(np.float64))
        mssim, full = structural_similarity(as64(a), as64(b), full=True, **kw)
        rec = {"name": name, "dtype": "u8" if a.dtype == np.uint8 else "f32", "shape": list(a.shape),
               "a": a.ravel().tolist(), "b": b.ravel().tolist(), "window": window, "data_range": data_range,
               "ssim": float(mssim)}
        if name in FULL_MAPS:  # the whole map: its border rows depend on the 'reflect' padding
            rec["map"] = (full if full.ndim == 3 else full[..., None]).ravel().tolist()
        if a.dtype != np.uint8:
            rec["ssim_f32"] = float(structural_similarity(a, b, **kw))
        if mask is not None:
            rec["mask"] = np.asarray(mask, np.uint8).ravel().tolist()
            rec["ssim_masked"] = masked_mean(full, np.asarray(mask), pad_of(window))
        pr = data_range if psnr_range == "same" else psnr_range
        p = peak_signal_noise_ratio(as64(a), as64(b), data_range=pr)
        rec["psnr_data_range"] = pr
        rec["psnr"] = None if np.isinf(p) else float(p)
        cases.append(rec)

    f32 = lambda x: np.clip(x, 0, 1).astype(np.float32)
    grey = smooth(rng, (16, 19))
    grey_noisy = f32(grey + 0.08 * rng.standard_normal(grey.shape))
    rgb = smooth(rng, (14, 15, 3))
    rgb_noisy = f32(rgb + 0.1 * rng.standard_normal(rgb.shape))
    mask_grey = rng.random((16, 19)) < 0.4
    mask_rgb = rng.random((14, 15)) < 0.5
    for window in WINDOWS:
        add(f"grey_{window}", f32(grey), grey_noisy, window, 1.0, mask_grey)
        add(f"rgb_{window}", f32(rgb), rgb_noisy, window, 1.0, mask_rgb)
    # data_range 2, skimage's PSNR default range (None: 1 for a non-negative float reference)
    add("grey_range2", f32(grey), f32(0.7 * grey), "gaussian11", 2.0, psnr_range=None)
    # uint8: data_range from the dtype (255) for both
    g8 = (grey * 255).round().astype(np.uint8)
    n8 = np.clip(g8.astype(int) + rng.integers(-20, 21, g8.shape), 0, 255).astype(np.uint8)
    add("grey_u8_uniform7", g8, n8, "uniform7", None, mask_grey)
    add("grey_u8_gaussian11", g8, n8, "gaussian11", None, mask_grey)
    c8 = (rgb * 255).round().astype(np.uint8)
    cn8 = np.clip(c8.astype(int) + rng.integers(-30, 31, c8.shape), 0, 255).astype(np.uint8)
    add("rgb_u8_gaussian11", c8, cn8, "gaussian11", None, mask_rgb)
    # the smallest image the window allows (one pixel left after the crop), a constant image, equal images
    small = smooth(rng, (11, 11))
    add("smallest_gaussian11", f32(small), f32(small[::-1]), "gaussian11", 1.0)
    add("smallest_uniform7", f32(small[:7, :7]), f32(small[:7, :7].T), "uniform7", 1.0)
    add("constant", np.full((9, 9), 0.5, np.float32), f32(small[:9, :9]), "uniform7", 1.0)
    add("equal", f32(grey), f32(grey), "uniform7", 1.0)
    # a mask only on the border: nothing left after the crop
    border = np.zeros((16, 19), bool)
    border[:2] = True
    add("mask_on_border", f32(grey), grey_noisy, "uniform7", 1.0, border)
    # a mask of every pixel: the same as the unmasked mean
    add("mask_all", f32(rgb), rgb_noisy, "gaussian11", 1.0, np.ones((14, 15), bool))
    # PSNR's default range for a reference with negative values: 2 (skimage's float range [-1, 1])
    neg = f32(grey) * 2 - 1
    add("signed_psnr_default", neg, np.clip(neg + 0.05, -1, 1).astype(np.float32), "uniform7", 2.0,
        psnr_range=None)

    path = os.path.join(HERE, "image_similarity.json")
    with open(path, "w") as f:
        json.dump({"skimage": skimage.__version__, "numpy": np.__version__, "cases": cases}, f)
    print("wrote", path, len(cases), "cases,", os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
