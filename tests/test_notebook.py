"""The example notebook runs top to bottom (skipped when no Jupyter kernel is installed)."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "backtest_notebook.ipynb"


def _kernel_available(name: str) -> bool:
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        return False
    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return False
    return True


def test_backtest_notebook_executes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Opt in to the platformdirs layout so jupyter_core does not warn about it.
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    if not _kernel_available("python3"):
        pytest.skip("no 'python3' Jupyter kernel installed")

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=180,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "same fills as the cycle engine: True" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)
