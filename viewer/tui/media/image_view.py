"""Images as terminal cells: two pixel rows per '▀' (fg the upper pixel, bg the lower)."""

from __future__ import annotations

from rich.color import Color
from rich.style import Style
from rich.text import Text

from viewer.data import media_index
from viewer.data.sanitize import sanitize

HALF = "▀"


def half_block_text(width: int, height: int, rgb: bytes) -> Text:
    """RGB pixels as terminal cells: each '▀' shows two pixel rows (fg upper, bg lower)."""
    text = Text(no_wrap=True, overflow="crop")
    styles: dict[tuple, Style] = {}

    def px(x: int, y: int) -> tuple[int, int, int]:
        i = (y * width + x) * 3
        return rgb[i], rgb[i + 1], rgb[i + 2]

    for y in range(0, height, 2):
        if y:
            text.append("\n")
        for x in range(width):
            top = px(x, y)
            bottom = px(x, y + 1) if y + 1 < height else None
            key = (top, bottom)
            style = styles.get(key)
            if style is None:
                style = Style(
                    color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom) if bottom is not None else None
                )
                styles[key] = style
            text.append(HALF, style)
    return text


def image_text(item: media_index.ImageItem, width: int, height: int) -> Text:
    """The image in half-blocks fitted to width x height cells, or a plain line saying why not."""
    if item.path is None:
        return Text("this image's path leaves the run directory; not shown", style="dim")
    if not item.exists:
        return Text(sanitize(f"image file missing: {item.path}"), style="dim")
    try:
        w, h, data = media_index.load_image_rgb(item.path, (width, height * 2), upscale=True)
    except ImportError:
        return Text(
            sanitize(
                f"image: {item.path}\n{item.width}×{item.height}px (install Pillow to see images here)",
                keep_newlines=True,
            )
        )
    except Exception as exc:
        return Text(sanitize(f"cannot decode {item.path}: {exc}"), style="dim")
    return half_block_text(w, h, data)
