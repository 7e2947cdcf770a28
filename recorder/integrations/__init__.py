"""Framework integrations: PyTorch Lightning, Hugging Face Trainer, Keras; distributed runs.

    from recorder.integrations.lightning import Logger        # pip install 'loupe[lightning]'
    from recorder.integrations.transformers import Callback   # pip install 'loupe[transformers]'
    from recorder.integrations.keras import Callback          # pip install 'loupe[keras]'

Each submodule imports its framework when it is imported itself, never before: this
package imports nothing (`import recorder` and `recorder.integrations` stay free of
torch, lightning, transformers and keras). A framework that is not installed raises one
ImportError that names the extra to install. See docs/integrations.md.
"""

__all__ = ["distributed", "keras", "lightning", "transformers"]


def __getattr__(name: str):
    # `recorder.integrations.lightning.Logger` works without importing the submodule first;
    # the framework is imported only then.
    if name in __all__:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
