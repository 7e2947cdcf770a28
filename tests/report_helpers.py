"""Reading back what `loupe report` wrote, as the page's own script does."""

from __future__ import annotations

import json
import re
from pathlib import Path


def report_json(path: Path) -> dict:
    """The data block of a written report (JSON inside <script type="application/json">)."""
    text = path.read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="loupe-data">(.*?)</script>', text, re.S)
    assert block is not None, "no data block in the report"
    return json.loads(block.group(1))
