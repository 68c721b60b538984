"""How the notebooks show numbers and warnings: rounded, counts as integers, one line per warning.

:func:`rounded` is for display only (the last line of a cell); summaries and tests keep the full
values. :func:`plain_warnings` prints a warning as ``Category: message``, without the file path and
source line of the package's code that issued it.
"""
from __future__ import annotations

import math
import os
import re
import warnings

__all__ = ["rounded", "plain_warnings", "PLAIN_WARNINGS_ENV"]

#: Environment variable set by :func:`plain_warnings`: an edgefm process that starts with it set
#: (a Dask worker or process pool started by a notebook's sweep) prints its warnings the same way.
PLAIN_WARNINGS_ENV = "EDGEFM_PLAIN_WARNINGS"

#: Names of quantities that stay floats even when every value is whole (a ratio of 1.0 is not a count).
FRACTIONAL = re.compile(r"ratio|share|frac|rel|gap|prob|eps|theta|load|factor|rate|mean|p95|p99|median|latency"
                        r"|_ms|seconds|_s$|util", re.IGNORECASE)


def _whole(x: float) -> bool:
    return math.isfinite(x) and float(x).is_integer() and abs(x) < 2 ** 53


def _value(x, digits: int, name: str = ""):
    import numpy as np

    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (float, np.floating)):
        return x
    x = float(x)
    if _whole(x) and not FRACTIONAL.search(str(name)):
        return int(x)
    return round(x, digits) if math.isfinite(x) else x


def _frame(df, digits: int):
    import numpy as np
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        s = out[col]
        name = str(col) if not isinstance(col, tuple) else " ".join(map(str, col))
        if pd.api.types.is_bool_dtype(s):
            continue
        if pd.api.types.is_float_dtype(s):
            r = s.round(digits)
            v = r.to_numpy(dtype=float)
            fin = v[np.isfinite(v)]
            if len(fin) and np.all(np.mod(fin, 1) == 0) and np.all(np.abs(fin) < 2 ** 53) \
                    and not FRACTIONAL.search(name) and np.isfinite(v[~np.isnan(v)]).all():
                out[col] = r.astype("Int64")  # whole after rounding, a count or an amount: NaN shows as <NA>
            else:
                out[col] = r
        elif s.dtype == object:
            out[col] = [_value(x, digits, name) for x in s]
    return out


def rounded(obj, digits: int = 3):
    """``obj`` for display: floats rounded to ``digits`` decimals, whole-valued counts as integers.

    Parameters
    ----------
    obj : DataFrame, Series, dict, list or number
        A table (each float column whose values are all whole once rounded becomes an integer column,
        unless its name says it is a fraction, a time or a rate, see :data:`FRACTIONAL`); a dict or list (nested
        values rounded the same way, a whole float under a count-like key shown as an int); or a number.
    digits : int
        Decimals kept.

    Returns
    -------
    same type as ``obj``
        A rounded copy.
    """
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        return _frame(obj, digits)
    if isinstance(obj, pd.Series):
        return _frame(obj.to_frame(), digits).iloc[:, 0]
    if isinstance(obj, dict):
        return {k: (rounded(v, digits) if isinstance(v, (dict, list, tuple)) else _value(v, digits, k))
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(rounded(v, digits) if isinstance(v, (dict, list, tuple)) else _value(v, digits)
                         for v in obj)
    return _value(obj, digits)


def _plain(message, category, filename, lineno, line=None) -> str:
    return f"{category.__name__}: {message}\n"


def plain_warnings() -> None:
    """Print every warning as one line ``Category: message``, without the file path and source line.

    Each warning is still shown (the filters are unchanged, so each distinct message once per place
    by default); only its format changes. Applies to this process and, through
    :data:`PLAIN_WARNINGS_ENV`, to the processes it starts afterwards (the Dask workers and process
    pools of sweeps: :mod:`edgefm.errors` applies it when imported there). Every notebook's setup
    calls it through :func:`edgefm.plots.use_style`, so a notebook page never shows the install path
    of the package.
    """
    warnings.formatwarning = _plain
    os.environ[PLAIN_WARNINGS_ENV] = "1"
