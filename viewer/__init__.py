"""Loupe viewer: query layer, CLI and terminal dashboard."""
