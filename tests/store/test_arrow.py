"""store/arrow.py: Arrow arrays built from buffers are the arrays pyarrow's conversion builds,
without its import of pandas."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from jpegaudit.store.arrow import string_array

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@given(st.lists(st.one_of(st.none(), TEXT, st.sampled_from(["n01", "n02", ""])), max_size=60))
def test_string_array_is_the_array_pa_array_builds(values):
    got = string_array(values)
    got.validate(full=True)
    assert got.type == pa.string() and got.equals(pa.array(values, pa.string()))
    assert got.null_count == values.count(None)


def test_string_array_takes_any_sequence():
    assert string_array(("a", None, "a")).to_pylist() == ["a", None, "a"]


def test_string_array_does_not_make_pyarrow_import_pandas():
    code = textwrap.dedent(
        """
        import sys
        from jpegaudit.store.arrow import string_array
        string_array(["n01", None, "n01"])
        print("pandas" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False"]
