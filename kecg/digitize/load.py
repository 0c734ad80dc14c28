"""Reading ECG images safely: any common format, refusing bad files with a clear reason.

The header is checked before decoding (``PIL`` reads only the size), so an absurdly large file is
refused without allocating it, and a truncated file fails on decode instead of yielding a
half-grey picture.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

Image.MAX_IMAGE_PIXELS = None  # the size check below replaces PIL's own bomb warning


class ImageError(ValueError):
    """An image that cannot be digitized; the message is the reason shown to the user."""


def read_image(path: str | Path, *, max_megapixels: float = 100.0) -> np.ndarray:
    """Decode ``path`` to an RGB ``uint8`` array (H, W, 3), or raise :class:`ImageError`.

    Colour, grey, palette and 1-bit images are all converted to RGB; 16-bit images are scaled to
    8 bits. Size limits are checked from the header, before any pixel is decoded.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageError("no such file")
    if path.stat().st_size == 0:
        raise ImageError("empty file (0 bytes)")
    try:
        with Image.open(path) as im:
            width_px, height_px = im.size
            if width_px * height_px > max_megapixels * 1e6:
                raise ImageError(
                    f"image too large: {width_px}x{height_px} px is over {max_megapixels:g} Mpx"
                )
            if min(width_px, height_px) < 64:
                raise ImageError(f"image too small: {width_px}x{height_px} px")
            im.load()
            rgb = _to_rgb(im)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("not an image file (unknown format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"cannot decode image (truncated or corrupt): {exc}") from None
    return rgb


def _to_rgb(im: Image.Image) -> np.ndarray:
    """Any PIL mode as RGB uint8; 16/32-bit grey is rescaled by its own range."""
    if im.mode in {"I;16", "I;16B", "I;16L", "I", "F"}:
        grey = np.asarray(im, dtype=np.float64)
        lo, hi = float(grey.min()), float(grey.max())
        grey8 = np.zeros(grey.shape, np.uint8) if hi <= lo else (grey - lo) / (hi - lo) * 255
        return np.repeat(np.asarray(grey8, np.uint8)[:, :, None], 3, axis=2)
    return np.asarray(im if im.mode == "RGB" else im.convert("RGB"), dtype=np.uint8)
