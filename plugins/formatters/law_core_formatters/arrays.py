"""Arrays: NumPy's own files and HDF5 through h5py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from law_core.plugin import Formatter, FormatterError
from law_core_formatters._lazy import require


def _suffix(path: str) -> str:
    return path.rsplit("/", 1)[-1].rpartition(".")[2].lower()


class NumpyFormatter(Formatter):
    """NumPy arrays; the file's extension picks NumPy's format.

    - ``.npy``: one array (``np.save``/``np.load``); object arrays are refused unless
      ``allow_pickle=True`` is passed, as loading them runs code;
    - ``.npz``: a mapping of name to array (``np.savez``, ``compressed=True`` for
      ``np.savez_compressed``); a single array is stored as ``arr_0``, NumPy's name for
      it; ``load`` always returns a dict, read completely (the file may be a temporary
      local copy of a remote one);
    - anything else (``.txt``, ``.csv``, ``.dat``, ``.txt.gz``): text via
      ``np.savetxt``/``np.loadtxt``. ``.txt`` is declared with a priority below the
      core's ``text`` formatter, so a ``.txt`` file is text unless ``formatter="numpy"``.
    """

    name = "numpy"

    @staticmethod
    def _np() -> Any:
        return require("numpy", "numpy", "numpy")

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Any:
        np = cls._np()
        suffix = _suffix(path)
        if suffix == "npy":
            return np.load(path, **kwargs)
        if suffix == "npz":
            with np.load(path, **kwargs) as archive:
                return {key: archive[key] for key in archive.files}
        return np.loadtxt(path, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, compressed: bool = False, **kwargs: Any) -> None:
        np = cls._np()
        suffix = _suffix(path)
        if suffix == "npy":
            if isinstance(obj, Mapping):
                raise FormatterError(
                    f"a .npy file holds one array, not a {type(obj).__name__}; "
                    f"write a mapping of arrays to a .npz file"
                )
            kwargs.setdefault("allow_pickle", False)
            with open(path, "wb") as f:
                np.save(f, np.asanyarray(obj), **kwargs)
        elif suffix == "npz":
            arrays = dict(obj) if isinstance(obj, Mapping) else {"arr_0": obj}
            save = np.savez_compressed if compressed else np.savez
            with open(path, "wb") as f:
                save(f, **arrays, **kwargs)
        else:
            np.savetxt(path, obj, **kwargs)


class H5pyFormatter(Formatter):
    """HDF5 files as nested mappings: a mapping becomes a group, anything else a dataset.

    ``load`` returns nested dicts of NumPy arrays (strings decoded to ``str``), read
    completely, so the result outlives the file. ``dump`` passes keyword arguments such
    as ``compression="gzip"`` to every ``create_dataset``; ``attrs`` (a mapping) is set
    on the root group.
    """

    name = "h5py"

    @staticmethod
    def _h5py() -> Any:
        return require("h5py", "h5py", "h5py")

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> dict[str, Any]:
        h5py = cls._h5py()

        def read(group: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key, item in group.items():
                if isinstance(item, h5py.Group):
                    out[key] = read(item)
                elif h5py.check_string_dtype(item.dtype) is not None:
                    out[key] = item.asstr()[()]
                else:
                    out[key] = item[()]
            return out

        with h5py.File(path, "r", **kwargs) as f:
            return read(f)

    @classmethod
    def dump(cls, path: str, obj: Any, attrs: Mapping[str, Any] | None = None,
             **kwargs: Any) -> None:
        h5py = cls._h5py()
        if not isinstance(obj, Mapping):
            raise FormatterError(
                f"the h5py formatter writes a mapping of names to arrays (nested mappings "
                f"become groups), not a {type(obj).__name__}"
            )

        np = require("numpy", "h5py", "h5py")

        def write(group: Any, mapping: Mapping[str, Any]) -> None:
            for key, value in mapping.items():
                if isinstance(value, Mapping):
                    write(group.create_group(str(key)), value)
                    continue
                data = np.asarray(value)
                if data.dtype.kind == "U":  # HDF5 has no fixed-width unicode: UTF-8 strings
                    data = data.astype(h5py.string_dtype())
                # scalars cannot be chunked, so filters like compression apply to arrays only
                group.create_dataset(str(key), data=data, **(kwargs if data.ndim else {}))

        with h5py.File(path, "w") as f:
            f.attrs.update(dict(attrs or {}))
            write(f, obj)
