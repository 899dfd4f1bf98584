"""Values as the report's JSON holds them (a module of its own: the summary's writers and the
provenance section both use it, and the summary's writers render that section)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def jsonable(value):
    """A copy of `value` that the json module writes as strict JSON: numpy scalars and arrays
    become Python numbers and lists, NaN and infinities become null, paths become strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
