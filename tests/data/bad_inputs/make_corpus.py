"""Regenerate the small bad-input files of this folder (``python make_corpus.py``), seeded.

The 90°-rotated ECG and the 20,000 × 20,000 image are written by the tests themselves into a
temporary folder (the first needs a rendered ECG, the second would be too big to keep here).
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent


def main() -> None:
    rng = np.random.default_rng(6)
    (HERE / "empty.png").write_bytes(b"")
    Image.new("RGB", (1650, 1275), "white").save(HERE / "blank_page.png")
    noise = rng.integers(0, 256, size=(300, 400), dtype=np.uint8)
    Image.fromarray(noise).save(HERE / "noise.png")
    picture = Image.new("RGB", (640, 480), (90, 140, 200))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 330, 640, 480), fill=(60, 150, 60))
    draw.ellipse((440, 40, 540, 140), fill=(250, 220, 60))
    draw.polygon([(120, 330), (220, 180), (320, 330)], fill=(120, 90, 60))
    picture.save(HERE / "not_an_ecg.png")
    buf = (HERE / "not_an_ecg.png").read_bytes()
    (HERE / "truncated.png").write_bytes(buf[: len(buf) // 3])
    (HERE / "report.pdf").write_bytes(
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


if __name__ == "__main__":
    main()
