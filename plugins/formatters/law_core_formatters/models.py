"""Machine-learning models: Keras 3 models."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from typing import Any

from law_core.plugin import Formatter, FormatterError
from law_core_formatters._lazy import require

#: backends tried, in order, when the configured one is not installed; the ``keras`` extra
#: installs JAX, see the package README
FALLBACK_BACKENDS = ("jax", "torch", "tensorflow")

def _keras_json_backend() -> str | None:
    """The backend in keras.json, which Keras writes itself (with its default,
    TensorFlow) the first time it is imported, so it is not necessarily a choice."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as f:
            backend = json.load(f).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    return backend if isinstance(backend, str) and backend else None


def choose_backend() -> str | None:
    """Before Keras is first imported, make sure it gets a backend that is installed.

    ``KERAS_BACKEND`` set by the user is never touched. Otherwise Keras would use the
    backend of keras.json, else TensorFlow; when that one is not installed (Keras would
    fail to import), ``KERAS_BACKEND`` is set to the first installed of JAX, PyTorch,
    TensorFlow. Returns the backend set, None when nothing was changed.
    """
    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return None
    configured = _keras_json_backend() or "tensorflow"
    if importlib.util.find_spec(configured) is not None:  # each backend is its module
        return None
    for backend in FALLBACK_BACKENDS:
        if importlib.util.find_spec(backend) is not None:
            os.environ["KERAS_BACKEND"] = backend
            return backend
    return None


class KerasFormatter(Formatter):
    """Keras 3 models: the ``.keras`` format (a zip of config and weights), and the
    legacy HDF5 format for ``.h5``/``.hdf5`` (which selects ``h5py`` by extension, so
    ``formatter="keras"``). ``load`` passes keyword arguments (``custom_objects``,
    ``compile``) to ``keras.saving.load_model``, ``dump`` to ``model.save``.

    Keras runs on the backend the user configured (``KERAS_BACKEND``, else keras.json);
    when that is not installed, on the first installed of JAX, PyTorch, TensorFlow (see
    :func:`choose_backend`).
    """

    name = "keras"

    _SUFFIXES = (".keras", ".h5", ".hdf5")

    @classmethod
    def _keras(cls, path: str) -> Any:
        if not path.lower().endswith(cls._SUFFIXES):
            raise FormatterError(
                f"Keras reads and writes models only in files ending with "
                f"{', '.join(cls._SUFFIXES)}, not {os.path.basename(path)!r}"
            )
        choose_backend()
        return require("keras", "keras", "keras")

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Any:
        keras = cls._keras(path)
        return keras.saving.load_model(path, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, **kwargs: Any) -> None:
        keras = cls._keras(path)
        if not isinstance(obj, keras.Model):
            raise FormatterError(
                f"the keras formatter writes a keras.Model, not {type(obj).__name__}"
            )
        obj.save(path, **kwargs)
