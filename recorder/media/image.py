"""recorder.Image: numpy arrays, torch tensors, PIL images, matplotlib figures, files.

The constructor runs on the training thread and only takes a private snapshot (a
uint8 copy of an array, a copy of a PIL image, a figure rendered to PNG bytes); PNG
encoding and writing happen on the media worker thread (store.py).
"""

from __future__ import annotations

import io
import os
import types
from pathlib import Path
from typing import Any

from recorder.media.png import encode_png, png_size
from recorder.warn import warn_once

# File types copied as they are when an Image is made from a path.
FILE_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"}
_MODES_BY_CHANNELS = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


class Image:
    """An image logged with `run.log({"key": Image(...)})` or in a list, or a Table cell."""

    _loupe_media = True
    kind = "image"

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: Any = None,
        grouping: Any = None,
        classes: Any = None,
        boxes: Any = None,
        masks: Any = None,
        file_type: str | None = None,
        normalize: bool = True,
    ) -> None:
        self.caption = None if caption is None else str(caption)
        self.mode = mode
        self.width = 0
        self.height = 0
        self.format = "png"
        self._array: Any = None  # uint8 (H, W) or (H, W, C)
        self._pil: Any = None
        self._png: bytes | None = None  # encoded file bytes (PNG, or a copied file's own format)
        if boxes is not None or masks is not None:
            warn_once("image:overlays", "Image(): boxes and masks are not stored by Loupe yet; the plain image is kept")
        d = data_or_path
        if isinstance(d, Image):
            self.__dict__.update({k: v for k, v in d.__dict__.items() if k != "caption"})
            if caption is None:
                self.caption = d.caption
        elif isinstance(d, (str, os.PathLike)):
            self._from_path(Path(d))
        elif _is_figure(d):
            self._from_figure(d)
        elif type(d).__module__.startswith("PIL."):
            self._from_pil(d)
        else:
            self._from_array(d, normalize)

    # -- snapshots (training thread) -------------------------------------------------
    def _from_path(self, path: Path) -> None:
        if not path.is_file():
            raise ValueError(f"Image(): {str(path)!r} is not a file")
        suffix = path.suffix.lower()
        if suffix not in FILE_TYPES:
            raise ValueError(f"Image(): {path.suffix!r} files are not supported (use one of {sorted(FILE_TYPES)})")
        # Read now: scripts often delete or overwrite the file right after logging it.
        self._png = path.read_bytes()
        self.format = "jpg" if suffix == ".jpeg" else suffix[1:]
        size = png_size(self._png[:24])
        if size is None:
            try:
                from PIL import Image as PILImage

                with PILImage.open(io.BytesIO(self._png)) as im:  # parses the header only
                    size = im.size
            except Exception:
                size = (0, 0)
        self.width, self.height = size

    def _from_figure(self, fig: Any) -> None:
        if isinstance(fig, types.ModuleType):  # `Image(plt)` means the current figure
            fig = fig.gcf()
        elif not hasattr(fig, "savefig") and hasattr(fig, "figure"):  # an Axes
            fig = fig.figure
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        self._png = buf.getvalue()
        self.width, self.height = png_size(self._png[:24]) or (0, 0)

    def _from_pil(self, im: Any) -> None:
        if self.mode:
            im = im.convert(self.mode)
        elif im.mode not in ("L", "LA", "RGB", "RGBA"):
            im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
        else:
            im = im.copy()
        self._pil = im
        self.width, self.height = im.size

    def _from_array(self, data: Any, normalize: bool) -> None:
        import numpy as np

        is_tensor = hasattr(data, "detach") and hasattr(data, "cpu")
        if is_tensor:
            data = data.detach().cpu()
            if str(getattr(data, "dtype", "")) == "torch.bfloat16":
                data = data.float()
            data = data.numpy()
        a = np.asarray(data)
        if a.ndim == 4 and a.shape[0] == 1:
            a = a[0]
        if a.ndim == 3 and a.shape[-1] not in (1, 2, 3, 4) and a.shape[0] in (1, 2, 3, 4):
            a = np.moveaxis(a, 0, -1)  # CHW, as torch and many pipelines produce
        elif is_tensor and a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[-1] not in (3, 4):
            a = np.moveaxis(a, 0, -1)
        if a.ndim == 3 and a.shape[-1] == 1:
            a = a[:, :, 0]
        if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (2, 3, 4)) or 0 in a.shape:
            raise ValueError(
                f"Image(): an array of shape {a.shape} is not an image (use HW, HWC or CHW with 1-4 channels)"
            )
        self._array = to_uint8(a, normalize)
        self.height, self.width = self._array.shape[:2]

    # -- encoding (worker thread) ----------------------------------------------------
    @property
    def nbytes(self) -> int:
        if self._array is not None:
            return int(self._array.nbytes)
        if self._png is not None:
            return len(self._png)
        if self._pil is not None:
            return self.width * self.height * 4
        return 0

    def encoded(self) -> tuple[bytes, str]:
        """(file bytes, extension without dot)."""
        if self._png is not None:
            return self._png, self.format
        pil = _pil_module()
        if self._pil is not None:
            return _pil_png(self._pil), "png"
        a = self._array
        natural = _MODES_BY_CHANNELS[1 if a.ndim == 2 else a.shape[2]]
        if pil is not None:
            im = pil.fromarray(a, natural) if natural != "LA" else pil.fromarray(a)
            if self.mode and self.mode != natural:
                im = im.convert(self.mode)
            return _pil_png(im), "png"
        if self.mode and self.mode != natural:
            warn_once("image:mode", f"Image(mode={self.mode!r}) needs Pillow; the image is stored as {natural}")
        return encode_png(a), "png"

    def __repr__(self) -> str:
        return f"<Image {self.width}x{self.height} caption={self.caption!r}>"


def to_uint8(a: Any, normalize: bool = True) -> Any:
    """A private uint8 copy: floats in [0, 1] are scaled by 255, other ranges stretched."""
    import numpy as np

    if a.dtype == np.uint8:
        return np.array(a, copy=True, order="C")
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.integer):
        return np.clip(a, 0, 255).astype(np.uint8)
    f = np.nan_to_num(a.astype(np.float32, copy=False), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = (float(f.min()), float(f.max())) if f.size else (0.0, 0.0)
    if not normalize or (lo >= 0.0 and hi > 1.0 and hi <= 255.0):
        out = f
    elif lo >= 0.0 and hi <= 1.0:
        out = f * 255.0
    else:
        out = (f - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(f)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _is_figure(d: Any) -> bool:
    if isinstance(d, types.ModuleType):
        return d.__name__.startswith("matplotlib") and hasattr(d, "gcf")
    return type(d).__module__.startswith("matplotlib") and (hasattr(d, "savefig") or hasattr(d, "figure"))


def _pil_module() -> Any:
    try:
        from PIL import Image as PILImage
    except Exception:
        return None
    return PILImage


def _pil_png(im: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()
