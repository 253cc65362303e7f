"""The safetensors format's constants, shared by its reader and its writer (and light: file-kind
detection imports this on every read)."""

from __future__ import annotations

DTYPES = {
    "float64": "F64",
    "float32": "F32",
    "float16": "F16",
    "int64": "I64",
    "int32": "I32",
    "int16": "I16",
    "int8": "I8",
    "uint64": "U64",
    "uint32": "U32",
    "uint16": "U16",
    "uint8": "U8",
    "bool": "BOOL",
}
"""NumPy dtype names and their safetensors codes (bfloat16 is ``BF16``)."""

HEADER_LIMIT = 100_000_000
"""The largest header the ``safetensors`` library reads."""
