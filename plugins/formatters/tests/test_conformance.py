"""The formatter conformance suite, once per formatter, on real data of the right kind,
each file also read back with the library's own reader (``read_back_natively``)."""

from __future__ import annotations

import bz2
import lzma
import re
import threading
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fmt_testdata import (
    assert_hist_equal,
    assert_nested_arrays_equal,
    assert_same_model,
    events,
    histogram_1d,
    histogram_2d,
    keras_model,
)

from law_core.errors import FormatterError
from law_core.testing import FormatterSuite

# structured text


class TestYAMLFormatter(FormatterSuite):
    formatter_name = "yaml"
    extensions = ("yaml", "yml")
    library_module = "yaml"

    def sample(self) -> Any:
        return {"analysis": "ttH", "datasets": ["data_2018", "tt_sl"], "lumi": 59.83,
                "cuts": {"jet_pt": 25, "abs_eta": 2.4}, "blinded": True, "unit": "µm",
                "comment": None}

    def assert_equal(self, loaded: Any, original: Any) -> None:
        assert loaded == original
        assert list(loaded) == list(original), "the key order changed"

    def read_back_natively(self, path: str) -> Any:
        import yaml

        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)

    def unserializable(self) -> Any:
        return {"fine": 1, "not yaml": object()}


# arrays


class TestNumpyFormatter(FormatterSuite):
    """The same array through .npy (as is) and .npz (as NumPy's ``arr_0`` member)."""

    formatter_name = "numpy"
    extensions = ("npy", "npz", "txt")
    library_module = "numpy"

    def sample(self) -> Any:
        return np.arange(24, dtype=np.float64).reshape(4, 6) * 0.25

    def assert_equal(self, loaded: Any, original: Any) -> None:
        if isinstance(loaded, dict):  # from .npz: a single array is stored as arr_0
            assert list(loaded) == ["arr_0"]
            loaded = loaded["arr_0"]
        assert isinstance(loaded, np.ndarray)
        assert loaded.dtype == original.dtype
        np.testing.assert_array_equal(loaded, original)

    def read_back_natively(self, path: str) -> Any:
        return np.load(path)

    def unserializable(self) -> Any:
        return np.array([object(), 1], dtype=object)  # refused: loading it would unpickle


class TestH5pyFormatter(FormatterSuite):
    """A multi-dataset HDF5 file with a group, a 2D dataset, a scalar and a string."""

    formatter_name = "h5py"
    extensions = ("h5", "hdf5")
    library_module = "h5py"

    def sample(self) -> Any:
        rng = np.random.default_rng(3)
        return {
            "jets": {"pt": rng.exponential(50.0, 100).astype(np.float32),
                     "eta": rng.normal(0.0, 1.5, 100), "btag": rng.uniform(size=100) > 0.7},
            "weights": rng.uniform(0.5, 1.5, 100),
            "covariance": np.eye(3, dtype=np.int64),
            "n_events": np.int64(100),
            "process": "ttbar",
        }

    def assert_equal(self, loaded: Any, original: Any) -> None:
        assert_nested_arrays_equal(loaded, original)

    def read_back_natively(self, path: str) -> Any:
        import h5py

        out: dict[str, Any] = {}
        with h5py.File(path, "r") as f:
            names: list[str] = []
            f.visit(names.append)
            assert sorted(names) == ["covariance", "jets", "jets/btag", "jets/eta",
                                     "jets/pt", "n_events", "process", "weights"]
            assert isinstance(f["jets"], h5py.Group)
            for name in names:
                item = f[name]
                if isinstance(item, h5py.Dataset):
                    value = item.asstr()[()] if name == "process" else item[()]
                    parent = out
                    *groups, leaf = name.split("/")
                    for group in groups:
                        parent = parent.setdefault(group, {})
                    parent[leaf] = value
        return out

    def unserializable(self) -> Any:
        return {"fine": np.arange(3), "not an array": object()}


# tables and columnar data


class TestPandasFormatter(FormatterSuite):
    formatter_name = "pandas"
    extensions = ("csv", "tsv", "parquet", "feather", "h5", "hdf5", "pkl", "pickle")
    library_module = "pandas"

    def sample(self) -> Any:
        import pandas as pd

        return pd.DataFrame({
            "run": np.arange(5, dtype=np.int64),
            "met": [10.5, 20.25, 0.125, 99.0, 3.5],
            "dataset": ["data", "tt", "tt", "dy", "data"],
            "passed": [True, False, True, True, False],
        })

    def assert_equal(self, loaded: Any, original: Any) -> None:
        import pandas as pd

        pd.testing.assert_frame_equal(loaded, original)

    def read_back_natively(self, path: str) -> Any:
        import pandas as pd

        return pd.read_csv(path)

    def unserializable(self) -> Any:
        return {"not": "a DataFrame"}


class TestParquetFormatter(FormatterSuite):
    formatter_name = "parquet"
    extensions = ("parquet",)
    library_module = "pyarrow"

    def sample(self) -> Any:
        import pyarrow as pa

        return pa.table({
            "run": pa.array([1, 2, 3], pa.int32()),
            "met": [10.5, 20.25, 0.125],
            "jet_pt": [[50.0, 30.0], [], [70.5]],
            "dataset": ["data", "tt", "dy"],
        })

    def assert_equal(self, loaded: Any, original: Any) -> None:
        assert loaded.schema.equals(original.schema)
        assert loaded.equals(original)

    def read_back_natively(self, path: str) -> Any:
        import pyarrow.parquet as pq

        parquet_file = pq.ParquetFile(path)
        assert parquet_file.metadata.num_rows == 3
        return parquet_file.read()

    def unserializable(self) -> Any:
        return {"column": [object()]}


class TestAwkwardFormatter(FormatterSuite):
    """.parquet and .json belong to other formatters first: the by-extension round trip
    is skipped by the suite, the explicit one is run (and JSON in test_formats.py)."""

    formatter_name = "awkward"
    extensions = ("parquet", "json")
    library_module = "awkward"

    def sample(self) -> Any:
        import awkward as ak

        return ak.Array([
            {"run": 1, "jets": [{"pt": 50.5, "eta": 0.5}, {"pt": 30.25, "eta": -1.0}]},
            {"run": 2, "jets": []},
            {"run": 3, "jets": [{"pt": 20.0, "eta": 2.0}]},
        ])

    def assert_equal(self, loaded: Any, original: Any) -> None:
        import awkward as ak

        assert str(loaded.type) == str(original.type)
        assert ak.to_list(loaded) == ak.to_list(original)

    def read_back_natively(self, path: str) -> Any:
        import awkward as ak

        return ak.from_parquet(path)

    def unserializable(self) -> Any:
        return object()


# high-energy physics


class TestUprootFormatter(FormatterSuite):
    """A TTree with several branches (three dtypes, one jagged) and histograms, one in a
    subdirectory."""

    formatter_name = "uproot"
    extensions = ("root",)
    library_module = "uproot"

    def sample(self) -> Any:
        return {"Events": events(), "h_met": histogram_1d(), "control/h_eta_pt": histogram_2d()}

    def assert_equal(self, loaded: Any, original: Any) -> None:
        import awkward as ak

        assert sorted(loaded) == sorted(original)
        tree, columns = loaded["Events"], original["Events"]
        # the jagged branch comes with its counter branch, as every ROOT reader expects
        assert sorted(tree.fields) == sorted([*columns, "njet_pt"])
        for name, values in columns.items():
            assert ak.to_list(tree[name]) == ak.to_list(values), name
        assert ak.to_list(tree["njet_pt"]) == ak.to_list(ak.num(columns["jet_pt"]))
        assert str(ak.type(tree["eta"])) == "50 * float32"
        assert str(ak.type(tree["run"])) == "50 * int32"
        assert_hist_equal(loaded["h_met"], original["h_met"])
        assert_hist_equal(loaded["control/h_eta_pt"], original["control/h_eta_pt"])

    def read_back_natively(self, path: str) -> Any:
        import uproot

        with uproot.open(path) as f:
            tree = f["Events"]
            assert tree.classname == "TTree"
            assert tree.num_entries == 50
            assert f["h_met"].classname == "TH1D"
            assert f.classnames(cycle=False)["control"] == "TDirectory"
            return {"Events": tree.arrays(library="ak"), "h_met": f["h_met"].to_hist(),
                    "control/h_eta_pt": f["control/h_eta_pt"].to_hist()}

    def unserializable(self) -> Any:
        return {"Events": {"met": np.arange(3.0)}, "thing": object()}


class TestCoffeaFormatter(FormatterSuite):
    """An output as a coffea processor returns it: a dict of histograms and of coffea's
    accumulators of every kind."""

    formatter_name = "coffea"
    extensions = ("coffea",)
    library_module = "coffea"

    def sample(self) -> Any:
        from coffea import processor

        cutflow = processor.defaultdict_accumulator(int)
        cutflow["all"] += 1000
        cutflow["trigger"] += 640
        return {
            "h_met": histogram_1d(),
            "cutflow": cutflow,
            "sumw": processor.value_accumulator(float, 12.5),
            "met": processor.column_accumulator(np.array([10.5, 20.25, 3.0])),
            "datasets": processor.set_accumulator({"tt", "dy"}),
            "files": processor.list_accumulator(["a.root", "b.root"]),
            "per_dataset": processor.dict_accumulator({
                "tt": processor.value_accumulator(int, 3)}),
        }

    def assert_equal(self, loaded: Any, original: Any) -> None:
        from coffea import processor

        assert sorted(loaded) == sorted(original)
        for key in original:
            assert type(loaded[key]) is type(original[key]), key
        assert dict(loaded["cutflow"]) == dict(original["cutflow"])
        assert loaded["sumw"].value == original["sumw"].value
        np.testing.assert_array_equal(loaded["met"].value, original["met"].value)
        assert loaded["datasets"] == original["datasets"]
        assert loaded["files"] == original["files"]
        assert loaded["per_dataset"]["tt"].value == 3
        assert_hist_equal(loaded["h_met"], original["h_met"])
        # still accumulators: they add up as coffea adds the outputs of chunks
        total = processor.accumulate([loaded, original])
        assert total["sumw"].value == 25.0
        assert total["cutflow"]["all"] == 2000
        assert len(total["met"].value) == 6
        assert total["h_met"].sum().value == pytest.approx(2 * original["h_met"].sum().value)

    def read_back_natively(self, path: str) -> Any:
        import coffea.util

        with open(path, "rb") as f:
            assert f.read(4) == b"\x04\x22\x4d\x18", "not an LZ4 frame"
        return coffea.util.load(path)

    def unserializable(self) -> Any:
        return {"sumw": 1.0, "a lock": threading.Lock()}


# plots


def _figure_size(fig: Any, unit: str) -> tuple[float, float]:
    width, height = fig.get_size_inches()
    scale = fig.dpi if unit == "px" else 72.0  # points
    return round(width * scale), round(height * scale)


class TestMatplotlibFormatter(FormatterSuite):
    """A figure with an axis, checked in each format with the format's own reader:
    PNG by matplotlib's image reader, PDF by its header and page box, SVG as XML."""

    formatter_name = "matplotlib"
    extensions = ("pdf", "png", "svg")
    library_module = "matplotlib"

    def sample(self) -> Any:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(4, 3), dpi=100)
        ax = fig.add_subplot()
        ax.plot([0, 1, 2, 3], [0, 1, 4, 9], label="x²")
        ax.set_xlabel("x")
        ax.legend()
        return fig

    def assert_equal(self, loaded: Any, original: Any) -> None:
        # ``loaded`` is what read_back_natively saw in the file: (format, size, non-blank)
        fmt, size, drawn = loaded
        assert size == _figure_size(original, "px" if fmt == "png" else "pt")
        assert drawn, f"the {fmt} file shows no axis"

    def read_back_natively(self, path: str) -> Any:
        data = Path(path).read_bytes()
        if path.endswith(".png"):
            import matplotlib.image

            assert data[:8] == b"\x89PNG\r\n\x1a\n"
            pixels = matplotlib.image.imread(path)
            return "png", (pixels.shape[1], pixels.shape[0]), float(pixels[..., :3].std()) > 0
        if path.endswith(".pdf"):
            assert data[:5] == b"%PDF-" and data.rstrip().endswith(b"%%EOF")
            box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
            assert box, "the PDF has no page box"
            size = (round(float(box.group(1))), round(float(box.group(2))))
            return "pdf", size, b"/Font" in data  # axis labels and ticks need a font
        root = ET.fromstring(data)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        size = tuple(round(float(root.get(k).removesuffix("pt"))) for k in ("width", "height"))
        axes = root.findall(".//{http://www.w3.org/2000/svg}g[@id='axes_1']")
        return "svg", size, bool(axes)

    def unserializable(self) -> Any:
        return np.zeros((3, 3))  # an image array, not a figure

    def test_round_trip_by_name(self) -> None:
        """Write-only: the figure is written, and reading it is a clear FormatterError."""
        target = self._target(f"by-name/{self._first_name()}")
        original = self._sample()
        self._dump(target, original)
        self.assert_equal(self.read_back_natively(target.path), original)
        with pytest.raises(FormatterError, match="only writes figures"):
            self._load(target)

    def test_round_trip_by_extension(self) -> None:
        """Write-only: each extension writes its own format (checked natively)."""
        original = self._sample()
        for ext in self._selecting_extensions():
            target = self._target(f"by-extension/sample.{ext}")
            self._dump(target, original, by_name=False)
            loaded = self.read_back_natively(target.path)
            assert loaded[0] == ext
            self.assert_equal(loaded, original)


# models


# Keras' own variables against NumPy 2.4: a library-internal deprecation, not ours
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
class TestKerasFormatter(FormatterSuite):
    formatter_name = "keras"
    extensions = ("keras", "h5")
    library_module = "keras"

    def sample(self) -> Any:
        return keras_model()

    def assert_equal(self, loaded: Any, original: Any) -> None:
        assert_same_model(loaded, original)

    def read_back_natively(self, path: str) -> Any:
        import keras

        with zipfile.ZipFile(path) as archive:  # the .keras format: a zip of these
            assert {"config.json", "metadata.json", "model.weights.h5"} <= set(
                archive.namelist())
        return keras.saving.load_model(path)

    def unserializable(self) -> Any:
        return {"weights": np.zeros(3)}


# compressed blobs


class TestBz2Formatter(FormatterSuite):
    formatter_name = "bz2"
    extensions = ("bz2",)
    library_module = None  # zipfile imports bz2, and importlib.metadata zipfile, at discovery

    def sample(self) -> bytes:
        return b"event,met\n" + b"".join(b"%d,%d.5\n" % (i, i % 97) for i in range(2000))

    def read_back_natively(self, path: str) -> bytes:
        with bz2.open(path, "rb") as f:
            return f.read()

    def unserializable(self) -> Any:
        return {"not": "bytes"}


class TestXzFormatter(FormatterSuite):
    formatter_name = "xz"
    extensions = ("xz", "lzma")
    library_module = None  # zipfile imports lzma, and importlib.metadata zipfile, at discovery

    def sample(self) -> bytes:
        return b"event,met\n" + b"".join(b"%d,%d.5\n" % (i, i % 97) for i in range(2000))

    def read_back_natively(self, path: str) -> bytes:
        # the container the extension promises, not autodetection
        fmt = lzma.FORMAT_ALONE if path.endswith(".lzma") else lzma.FORMAT_XZ
        with lzma.open(path, "rb", format=fmt) as f:
            return f.read()

    def unserializable(self) -> Any:
        return 12345

    def test_every_container_is_real(self) -> None:
        for ext in self.extensions:
            target = self._target(f"container/blob.{ext}")
            target.dump(self._sample())
            assert self.read_back_natively(target.path) == self._sample()
