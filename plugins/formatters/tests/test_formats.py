"""What the conformance suite does not cover per format: the other formats a formatter
writes (each read back with the library's own reader), options, and refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fmt_testdata import assert_hist_equal, assert_same_model, events, histogram_1d, keras_model

from law_core.errors import FormatterError
from law_core.targets.local import LocalFileTarget

KERAS_WARNING = "ignore:__array__ implementation doesn't accept a copy keyword"


def _frame() -> Any:
    import pandas as pd

    return pd.DataFrame({"run": np.arange(4, dtype=np.int64), "met": [1.5, 2.25, 0.5, 8.0],
                         "dataset": ["data", "tt", "tt", "dy"]})


# numpy


def test_numpy_npz_holds_a_mapping_of_arrays(tmp_path: Path) -> None:
    arrays = {"pt": np.linspace(0, 100, 11), "mask": np.arange(11) % 2 == 0,
              "matrix": np.eye(3, dtype=np.int32)}
    for compressed in (False, True):
        target = LocalFileTarget(str(tmp_path / f"arrays-{compressed}.npz"))
        target.dump(arrays, compressed=compressed)
        with zipfile.ZipFile(target.path) as archive:
            kinds = {info.compress_type for info in archive.infolist()}
        assert kinds == {zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED}
        with np.load(target.path) as native:
            assert sorted(native.files) == sorted(arrays)
            for key, value in arrays.items():
                np.testing.assert_array_equal(native[key], value)
        loaded = target.load()
        assert sorted(loaded) == sorted(arrays)
        np.testing.assert_array_equal(loaded["matrix"], arrays["matrix"])


def test_numpy_text_only_by_name(tmp_path: Path) -> None:
    """.txt is the core's text formatter's; formatter="numpy" writes and reads a table."""
    array = np.arange(12, dtype=np.float64).reshape(3, 4) / 8
    target = LocalFileTarget(str(tmp_path / "table.txt"))
    target.dump(array, formatter="numpy", fmt="%.6f")
    np.testing.assert_array_equal(np.loadtxt(target.path), array)
    np.testing.assert_array_equal(target.load(formatter="numpy"), array)
    assert target.load().splitlines()[0] == "0.000000 0.125000 0.250000 0.375000"  # text


def test_numpy_npy_refuses_a_mapping(tmp_path: Path) -> None:
    target = LocalFileTarget(str(tmp_path / "arrays.npy"))
    with pytest.raises(FormatterError, match="npz"):
        target.dump({"a": np.arange(3)})
    assert not target.exists()


# h5py


def test_h5py_compression_and_attributes(tmp_path: Path) -> None:
    import h5py

    target = LocalFileTarget(str(tmp_path / "data.h5"))
    data = {"pt": np.arange(1000, dtype=np.float64), "n": np.int64(3),
            "names": ["tt", "dy", "wjets"]}
    target.dump(data, compression="gzip", attrs={"campaign": "2018", "lumi": 59.8})
    with h5py.File(target.path) as f:
        assert f["pt"].compression == "gzip"
        assert f["n"].compression is None  # a scalar cannot be compressed
        assert f.attrs["campaign"] == "2018" and f.attrs["lumi"] == 59.8
        assert list(f["names"].asstr()[()]) == data["names"]
    loaded = target.load()
    assert list(loaded["names"]) == data["names"]
    np.testing.assert_array_equal(loaded["pt"], data["pt"])


def test_h5py_refuses_a_bare_array(tmp_path: Path) -> None:
    with pytest.raises(FormatterError, match="mapping"):
        LocalFileTarget(str(tmp_path / "x.h5")).dump(np.arange(3))


# pandas


def _read_natively(path: str) -> Any:
    import pandas as pd

    readers = {
        "csv": pd.read_csv, "tsv": lambda p: pd.read_csv(p, sep="\t"),
        "parquet": pd.read_parquet, "feather": pd.read_feather,
        "h5": lambda p: pd.read_hdf(p, "data"), "hdf5": lambda p: pd.read_hdf(p, "data"),
        "pkl": pd.read_pickle, "pickle": pd.read_pickle,
    }
    return readers[path.rpartition(".")[2]](path)


@pytest.mark.parametrize("ext", ["csv", "tsv", "parquet", "feather", "h5", "hdf5", "pkl",
                                 "pickle"])
def test_pandas_every_format(tmp_path: Path, ext: str) -> None:
    """Each format is written by pandas and read back by pandas' own reader for it."""
    import pandas as pd

    frame = _frame()
    target = LocalFileTarget(str(tmp_path / f"frame.{ext}"))
    target.dump(frame, formatter="pandas")
    pd.testing.assert_frame_equal(_read_natively(target.path), frame)
    pd.testing.assert_frame_equal(target.load(formatter="pandas"), frame)


def test_pandas_hdf5_is_pytables(tmp_path: Path) -> None:
    import tables

    target = LocalFileTarget(str(tmp_path / "frame.h5"))
    target.dump(_frame(), formatter="pandas")
    with tables.open_file(target.path) as f:
        assert "/data" in f


def test_pandas_tsv_uses_tabs(tmp_path: Path) -> None:
    target = LocalFileTarget(str(tmp_path / "frame.tsv"))
    target.dump(_frame())
    assert Path(target.path).read_text().splitlines()[0] == "run\tmet\tdataset"


def test_pandas_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(FormatterError, match=r"\.csv"):
        LocalFileTarget(str(tmp_path / "frame.xlsx")).dump(_frame(), formatter="pandas")


# parquet


def test_parquet_writes_frames_mappings_and_awkward_arrays(tmp_path: Path) -> None:
    import awkward as ak
    import pyarrow.parquet as pq

    sources = {"frame": _frame(), "mapping": {"met": [1.5, 2.0], "run": [1, 2]},
               "awkward": ak.Array([{"met": 1.5, "jets": [1.0, 2.0]}, {"met": 2.0, "jets": []}])}
    for name, obj in sources.items():
        target = LocalFileTarget(str(tmp_path / f"{name}.parquet"))
        target.dump(obj, compression="zstd")
        table = pq.read_table(target.path)
        assert pq.ParquetFile(target.path).metadata.row_group(0).column(0).compression == "ZSTD"
        assert table.equals(target.load())
    assert pq.read_table(tmp_path / "frame.parquet").to_pandas().equals(_frame())
    assert ak.to_list(ak.from_arrow(pq.read_table(tmp_path / "awkward.parquet"))) == \
        ak.to_list(sources["awkward"])


def test_parquet_refuses_other_objects(tmp_path: Path) -> None:
    with pytest.raises(FormatterError, match="pyarrow Table"):
        LocalFileTarget(str(tmp_path / "x.parquet")).dump([1, 2, 3])


# awkward


def test_awkward_json_by_name(tmp_path: Path) -> None:
    import awkward as ak

    array = ak.Array([{"run": 1, "jets": [50.5, 30.25]}, {"run": 2, "jets": []}])
    target = LocalFileTarget(str(tmp_path / "events.json"))
    target.dump(array, formatter="awkward")
    with open(target.path) as f:
        assert json.load(f) == ak.to_list(array)
    assert ak.to_list(ak.from_json(Path(target.path))) == ak.to_list(array)
    loaded = target.load(formatter="awkward")
    assert isinstance(loaded, ak.Array) and ak.to_list(loaded) == ak.to_list(array)
    assert target.load() == ak.to_list(array)  # by extension: the core's json formatter


def test_awkward_parquet_read_by_pyarrow(tmp_path: Path) -> None:
    import awkward as ak
    import pyarrow.parquet as pq

    array = ak.zip({"pt": ak.Array([[1.0, 2.0], [], [3.0]]),
                    "eta": ak.Array([[0.1, 0.2], [], [0.3]])})
    target = LocalFileTarget(str(tmp_path / "jets.parquet"))
    target.dump(array, formatter="awkward")
    assert pq.read_table(target.path).num_rows == 3
    assert ak.to_list(target.load(formatter="awkward")) == ak.to_list(array)


# uproot


def test_uproot_rntuple_and_other_libraries(tmp_path: Path) -> None:
    import uproot

    columns = events()
    target = LocalFileTarget(str(tmp_path / "ntuple.root"))
    target.dump({"Events": columns}, tree_format="rntuple")
    with uproot.open(target.path) as f:
        assert f.classnames(cycle=False)["Events"] == "ROOT::RNTuple"
    loaded = target.load(library="np")["Events"]
    np.testing.assert_array_equal(loaded["met"], columns["met"])


def test_uproot_trees_from_dataframes_and_numpy_histograms(tmp_path: Path) -> None:
    import uproot

    counts, edges = np.array([1.0, 5.0, 2.0]), np.array([0.0, 10.0, 20.0, 30.0])
    target = LocalFileTarget(str(tmp_path / "mixed.root"))
    target.dump({"frame": _frame().drop(columns="dataset"), "h": (counts, edges)})
    with uproot.open(target.path) as f:
        assert f["frame"].classname == "TTree"
        assert f["frame"].keys() == ["index", "run", "met"]  # uproot keeps the index
    loaded = target.load(library="pd", histograms="numpy")
    assert loaded["frame"]["met"].tolist() == [1.5, 2.25, 0.5, 8.0]
    np.testing.assert_array_equal(loaded["h"][0], counts)
    np.testing.assert_array_equal(loaded["h"][1], edges)
    only = target.load(keys=["h"])
    assert list(only) == ["h"]
    with pytest.raises(FormatterError, match="no object"):
        target.load(keys=["missing"])


def test_uproot_refuses_a_bare_tree(tmp_path: Path) -> None:
    with pytest.raises(FormatterError, match="mapping of object names"):
        LocalFileTarget(str(tmp_path / "x.root")).dump(histogram_1d())


# matplotlib


def test_matplotlib_pyplot_figure_axes_and_close(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    ax.hist([1, 2, 2, 3])
    target = LocalFileTarget(str(tmp_path / "plot.png"))
    target.dump(ax, close=True)  # an Axes saves its figure
    with Image.open(target.path) as image:
        assert image.format == "PNG" and image.size == (100, 50)
    assert not plt.fignum_exists(fig.number)
    with pytest.raises(FormatterError, match="only writes figures"):
        target.load()


# keras


@pytest.mark.filterwarnings(KERAS_WARNING)
def test_keras_legacy_h5_by_name(tmp_path: Path) -> None:
    import h5py

    model = keras_model()  # picks the backend before Keras is imported
    import keras

    target = LocalFileTarget(str(tmp_path / "model.h5"))
    target.dump(model, formatter="keras")
    with h5py.File(target.path) as f:
        assert "model_config" in f.attrs  # the legacy Keras HDF5 layout
    assert_same_model(keras.saving.load_model(target.path), model)
    assert_same_model(target.load(formatter="keras"), model)
    assert "model_weights" in target.load()  # by extension: plain HDF5 through h5py


def test_keras_refuses_other_extensions(tmp_path: Path) -> None:
    with pytest.raises(FormatterError, match=r"\.keras"):
        LocalFileTarget(str(tmp_path / "model.bin")).dump(object(), formatter="keras")


def _backend_in_subprocess(tmp_path: Path, env_backend: str | None,
                           keras_json: str | None) -> str:
    home = tmp_path / "keras-home"
    home.mkdir(parents=True)
    if keras_json is not None:
        (home / "keras.json").write_text(json.dumps({"backend": keras_json}))
    script = textwrap.dedent("""
        import os
        from law_core_formatters.models import KerasFormatter
        KerasFormatter._keras("model.keras")
        import keras
        print(keras.backend.backend())
    """)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(home)
    if env_backend:
        env["KERAS_BACKEND"] = env_backend
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[-1]


def test_keras_backend_choice(tmp_path: Path) -> None:
    """No TensorFlow here: without a usable configured backend, JAX is chosen; a
    configured one that is installed is kept."""
    assert _backend_in_subprocess(tmp_path / "a", None, None) == "jax"
    assert _backend_in_subprocess(tmp_path / "b", None, "tensorflow") == "jax"  # not installed
    assert _backend_in_subprocess(tmp_path / "c", None, "numpy") == "numpy"
    assert _backend_in_subprocess(tmp_path / "d", "numpy", "jax") == "numpy"


# coffea


def test_coffea_file_is_read_by_plain_coffea_and_without_compression(tmp_path: Path) -> None:
    import coffea.util
    from coffea import processor

    output = {"h": histogram_1d(), "sumw": processor.value_accumulator(float, 2.0)}
    target = LocalFileTarget(str(tmp_path / "output.coffea"))
    target.dump(output, compression=None)
    loaded = coffea.util.load(target.path, compression=None)
    assert_hist_equal(loaded["h"], output["h"])
    assert target.load(compression=None)["sumw"].value == 2.0
