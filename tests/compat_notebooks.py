"""`make compat`: every notebook runs on the newest torch, and prints what it stores.

Not collected by `make test` (the name does not start with ``test_``); `make compat` passes this
file to pytest explicitly, in the environment built from requirements-latest.lock.

Each notebook is executed with the current interpreter (ipykernel's native ``python3`` kernel):
a cell that raises, an assert included, fails. Then every text output is compared with the stored
one, as strict nbval does on the pinned torch, except in cells tagged ``version-dependent``:
those show behaviour that differs between torch releases on purpose, and the chapter says so.
"""

from __future__ import annotations

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient
from test_book_structure import NOTEBOOKS, _rel, text_outputs

ROOT = pathlib.Path(__file__).resolve().parents[1]
TAG = "version-dependent"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=_rel)
def test_notebook_runs_and_prints_what_it_stores(nb_path):
    stored = nbformat.read(nb_path, as_version=4)
    fresh = nbformat.read(nb_path, as_version=4)
    NotebookClient(fresh, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(nb_path.parent)}}).execute()
    diffs = []
    for k, (a, b) in enumerate(zip(stored.cells, fresh.cells)):
        if a.cell_type != "code" or TAG in a.metadata.get("tags", []):
            continue
        if text_outputs(a) != text_outputs(b):
            diffs.append(f"cell {k}:\n--- stored\n{''.join(text_outputs(a))}\n--- now\n{''.join(text_outputs(b))}")
        for o in b.get("outputs", []):
            assert not (o.output_type == "stream" and o.name == "stderr"), f"cell {k} writes to stderr: {o.text[:300]}"
    assert not diffs, "outputs differ on this torch (tag the cell 'version-dependent' only if the chapter explains it):\n" + "\n".join(diffs)
