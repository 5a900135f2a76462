"""Draw the integration's brand images into custom_components/flatpeak/brand/.

Home Assistant 2026.3+ (and HACS) read them from there: icon, logo and their dark_ variants,
each also @2x, sized by home-assistant/brands' rules (icons 256/512 square; logos landscape with
the shortest side at the preferred maximum, 256/512), transparent and trimmed to the artwork.
The mark is a navy disc with a yellow bolt; the logo sets "Flatpeak" beside it in DejaVu Sans
Bold. Run with a Python that has Pillow (Home Assistant depends on it):
    .venv-3.13/bin/python scripts/brand_images.py
tests/test_repository.py checks the result.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BRAND = Path(__file__).resolve().parent.parent / "custom_components" / "flatpeak" / "brand"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
SUPERSAMPLE = 2048  # drawing height; every output is a whole fraction of it, so edges stay crisp

YELLOW = (255, 214, 0, 255)
# Light backgrounds: the navy disc and navy type. Dark backgrounds: a lighter blue disc, so the
# mark keeps its edge on near-black, and white type.
THEMES = {
    "": {"disc": (24, 40, 72, 255), "text": (24, 40, 72, 255)},
    "dark_": {"disc": (52, 88, 150, 255), "text": (255, 255, 255, 255)},
}
# The bolt, in units of the disc's radius around its centre (x right, y down).
BOLT = (
    (0.183, -0.817),
    (0.267, -0.817),
    (0.075, -0.167),
    (0.433, -0.167),
    (-0.192, 0.817),
    (-0.017, 0.083),
    (-0.383, 0.083),
)
CAP_HEIGHT = 0.5  # of the disc's diameter
GAP = 0.18  # between the disc and the word, of the diameter


def _mark(size: int, disc: tuple[int, ...]) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((0, 0, size - 1, size - 1), fill=disc)
    radius = size / 2
    draw.polygon([(radius + x * radius, radius + y * radius) for x, y in BOLT], fill=YELLOW)
    return image


def _logo(height: int, disc: tuple[int, ...], text: tuple[int, ...]) -> Image.Image:
    """The mark, then the word: its capitals centred on the disc, the 'p' hanging below."""
    probe = ImageFont.truetype(str(FONT), 1000)
    cap_top, cap_bottom = probe.getbbox("F", anchor="ls")[1], 0
    font = ImageFont.truetype(str(FONT), round(1000 * CAP_HEIGHT * height / (cap_bottom - cap_top)))
    baseline = height / 2 + CAP_HEIGHT * height / 2
    left = round(height * (1 + GAP))
    ink = font.getbbox("Flatpeak", anchor="ls")
    image = Image.new("RGBA", (left + ink[2] + 8, height), (0, 0, 0, 0))
    image.alpha_composite(_mark(height, disc))
    ImageDraw.Draw(image).text((left, baseline), "Flatpeak", font=font, fill=text, anchor="ls")
    return image.crop(image.getchannel("A").getbbox())


def _save(image: Image.Image, name: str, size: tuple[int, int]) -> None:
    image.resize(size, Image.Resampling.LANCZOS).save(BRAND / name, optimize=True)


def main() -> None:
    BRAND.mkdir(exist_ok=True)
    for prefix, colors in THEMES.items():
        mark = _mark(SUPERSAMPLE, colors["disc"])
        logo = _logo(SUPERSAMPLE, colors["disc"], colors["text"])
        logo_width = round(logo.width * 256 / logo.height)
        for suffix, scale in (("", 1), ("@2x", 2)):
            _save(mark, f"{prefix}icon{suffix}.png", (256 * scale, 256 * scale))
            _save(logo, f"{prefix}logo{suffix}.png", (logo_width * scale, 256 * scale))
    print(f"brand images written to {BRAND}")


if __name__ == "__main__":
    main()
