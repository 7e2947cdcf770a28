"""Import a framework for an integration, or explain in one line how to install it."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, integration: str, framework: str, extra: str, hint: str = "") -> ModuleType:
    """Import `module`; if its package is absent, raise one ImportError naming the extra.

    When the package is installed but fails to import (a broken install, a missing
    backend), the original error is kept as the cause so it can be diagnosed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = f"recorder.integrations.{integration} needs {framework}: pip install 'loupe[{extra}]'"
        missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
        if missing and (module == missing or module.startswith(missing + ".")):  # it, or a parent, is absent
            raise ImportError(message + (f" ({hint})" if hint else "")) from None
        raise ImportError(
            f"{message}; {framework} is installed but failed to import: {exc}" + (f" ({hint})" if hint else "")
        ) from exc
