"""law's formatter contrib packages (``law.contrib.load("numpy")`` -> ``law.numpy``) on
law-core-formatters.

Each package gives law's public names (its ``__all__`` in law 0.1.21); law's formatter
classes are law-core's formatters of the same format, so ``target.dump(obj,
formatter="numpy")`` and ``law.numpy.NumpyFormatter.dump(path, obj)`` run the same code;
law's formatter names that law-core lacks (``"mpl"``, ``"parquet_table"``, ...) are declared
to law-core by law-core-compat; names law-core cannot back are errors naming what to use.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGES = ("numpy", "pandas", "pyarrow", "hdf5", "awkward", "root", "coffea", "matplotlib",
            "keras", "tensorflow")


@pytest.fixture(scope="module")
def law():
    import law

    law.contrib.load(*PACKAGES)
    return law


def test_public_names_are_laws(law, law_bin: Path) -> None:
    """The names of each package are those of law 0.1.21's package."""
    code = textwrap.dedent(f"""
        import json, law
        names = {{}}
        for name in {PACKAGES!r}:
            law.contrib.load(name)
            names[name] = sorted(getattr(law, name).__all__)
        print(json.dumps(names))
    """)
    result = subprocess.run([str(law_bin / "python"), "-c", code], capture_output=True,
                            text=True, check=True, env={"PATH": os.environ["PATH"]})
    laws = json.loads(result.stdout)
    for name in PACKAGES:
        module = getattr(law, name)
        assert sorted(module.__all__) == laws[name], name
        for attr in module.__all__:
            assert getattr(module, attr) is not None


def test_numpy_files_are_byte_identical_to_laws(law, law_bin: Path, tmp_path: Path) -> None:
    """``target.dump(arr, formatter="numpy")`` writes the file law 0.1.21 writes."""
    import numpy as np

    script = textwrap.dedent("""
        import sys
        import numpy as np
        import law
        law.contrib.load("numpy")
        out = sys.argv[1]
        arr = np.arange(12, dtype="float64").reshape(3, 4)
        law.LocalFileTarget(out + "/a.npy").dump(arr, formatter="numpy")
        law.LocalFileTarget(out + "/a.txt").dump(arr, formatter="numpy")
        law.numpy.NumpyFormatter.dump(out + "/direct.npy", arr)
    """)
    # not a directory "law" in the working directory: it would shadow the package
    for side, python in (("reference", law_bin / "python"), ("compat", Path(sys.executable))):
        (tmp_path / side).mkdir()
        result = subprocess.run([str(python), "-c", script, str(tmp_path / side)],
                                capture_output=True, text=True, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    for name in ("a.npy", "a.txt", "direct.npy"):
        assert (tmp_path / "compat" / name).read_bytes() == \
            (tmp_path / "reference" / name).read_bytes(), name
    loaded = law.LocalFileTarget(str(tmp_path / "reference" / "a.npy")).load(formatter="numpy")
    assert np.array_equal(loaded, np.arange(12.0).reshape(3, 4))
    text = law.numpy.NumpyFormatter.load(str(tmp_path / "reference" / "a.txt"))
    assert np.array_equal(text, loaded)


def test_law_classes_are_law_cores_formatters(law) -> None:
    import law_core

    registry = law_core.get_registry()
    pairs = {
        law.numpy.NumpyFormatter: "numpy", law.pandas.DataFrameFormatter: "pandas",
        law.pyarrow.ParquetFormatter: "parquet", law.pyarrow.ParquetTableFormatter: "parquet",
        law.hdf5.H5pyFormatter: "h5py", law.awkward.AwkwardFormatter: "awkward",
        law.root.UprootFormatter: "uproot", law.coffea.CoffeaFormatter: "coffea",
        law.matplotlib.MatplotlibFormatter: "matplotlib",
        law.keras.KerasModelFormatter: "keras", law.tensorflow.TFKerasModelFormatter: "keras",
    }
    for cls, core_name in pairs.items():
        assert issubclass(cls, registry.formatter(core_name).load()), cls
    # law's names of them
    assert law.matplotlib.MatplotlibFormatter.name == "mpl"
    assert law.pyarrow.ParquetTableFormatter.name == "parquet_table"
    assert law.tensorflow.TFKerasModelFormatter.name == "tf_keras_model"
    # law's accepts(path, mode)
    assert law.numpy.NumpyFormatter.accepts("x.npz", "load")
    assert not law.numpy.NumpyFormatter.accepts("x.root", "load")
    assert law.matplotlib.MatplotlibFormatter.accepts("plot.pdf", "dump")
    assert not law.matplotlib.MatplotlibFormatter.accepts("plot.pdf", "load")


def test_law_names_through_targets(law, tmp_path: Path) -> None:
    """law's formatter names work on law's targets and on law-core's."""
    import matplotlib
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    import law_core

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    plot = law.LocalFileTarget(str(tmp_path / "plot.pdf"))
    plot.dump(fig, formatter="mpl")
    assert plot.path and Path(plot.path).read_bytes().startswith(b"%PDF")
    core_plot = law_core.LocalFileTarget(str(tmp_path / "plot.png"))
    core_plot.dump(fig, formatter="mpl")
    assert Path(core_plot.path).read_bytes().startswith(b"\x89PNG")

    table = law.LocalFileTarget(str(tmp_path / "t.parquet"))
    table.dump(pa.table({"a": [1, 2, 3]}), formatter="parquet_table")
    assert table.load(formatter="parquet_table").column("a").to_pylist() == [1, 2, 3]
    assert table.load(formatter="parquet").num_rows == 3

    frame = law.LocalFileTarget(str(tmp_path / "f.csv"))
    frame.dump(pd.DataFrame({"x": [1.5, 2.5]}), formatter="pandas")
    assert frame.load(formatter="pandas")["x"].tolist() == [1.5, 2.5]

    arrays = law.LocalFileTarget(str(tmp_path / "a.npz"))
    arrays.dump({"a": np.arange(3)}, formatter="numpy")
    assert arrays.load(formatter="numpy")["a"].tolist() == [0, 1, 2]


def test_direct_use_of_law_classes(law, tmp_path: Path) -> None:
    """law's classes take paths or targets, and ``perm``, as law's do."""
    import numpy as np

    path = tmp_path / "direct.npy"
    law.numpy.NumpyFormatter.dump(str(path), np.arange(3), perm=0o640)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    target = law.LocalFileTarget(str(path))
    assert law.numpy.NumpyFormatter.load(target).tolist() == [0, 1, 2]

    h5 = tmp_path / "d.h5"
    law.hdf5.H5pyFormatter.dump(str(h5), {"x": np.arange(4), "g": {"y": np.ones(2)}})
    loaded = law.hdf5.H5pyFormatter.load(str(h5))
    assert loaded["x"].tolist() == [0, 1, 2, 3] and loaded["g"]["y"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("name, instead", [
    ("root", "uproot"), ("root_numpy", "library='np'"), ("root_pandas", "library='pd'"),
    ("tf_graph", "tf.io.write_graph"), ("tf_saved_model", "tf.saved_model.save"),
    ("keras_weights", "save_weights"), ("tf_keras_weights", "save_weights"),
])
def test_names_law_core_cannot_back_are_errors(law, tmp_path: Path, name: str,
                                               instead: str) -> None:
    from law_core.errors import FormatterError

    target = law.LocalFileTarget(str(tmp_path / "out.bin"))
    with pytest.raises(FormatterError, match="not supported by law-core-compat") as err:
        target.dump(object(), formatter=name)
    assert instead in str(err.value)
    assert not target.exists()


def test_helpers_law_core_cannot_back_are_errors(law) -> None:
    from law_core.errors import FormatterError

    with pytest.raises(FormatterError, match="law.root.import_ROOT .*uproot"):
        law.root.import_ROOT()
    with pytest.raises(FormatterError, match="law.root.hadd_task .*hadd"):
        law.root.hadd_task(None, [], None)
    with pytest.raises(FormatterError, match="law.pyarrow.merge_parquet_files .*concat_tables"):
        law.pyarrow.merge_parquet_files([], "x.parquet")
    with pytest.raises(FormatterError, match="ROOTFormatter"):
        law.root.ROOTFormatter.load("x.root")


def test_awkward_from_parquet(law, tmp_path: Path) -> None:
    import awkward as ak

    path = str(tmp_path / "a.parquet")
    law.awkward.AwkwardFormatter.dump(path, ak.Array([{"x": [1, 2]}, {"x": []}]))
    assert law.awkward.from_parquet(path, use_threads=True).tolist() == \
        [{"x": [1, 2]}, {"x": []}]


def test_contrib_module_needs_loading(tmp_path: Path) -> None:
    """``law.numpy`` before ``law.contrib.load("numpy")`` says to load it, as before."""
    code = "import law\ntry:\n    law.numpy\nexcept AttributeError as e:\n    print(e)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, check=True).stdout
    assert "law.contrib.load('numpy')" in out
