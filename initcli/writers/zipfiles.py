"""Zip members with fixed metadata, so the same content always gives the same bytes."""

from __future__ import annotations

import zipfile

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
"""The timestamp of every member: the earliest a zip can record."""


def member(name: str, *, compress: bool = False) -> zipfile.ZipInfo:
    """A member header: fixed time, mode 0644, Unix origin; stored unless ``compress``."""
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    info.create_system = 3
    return info
