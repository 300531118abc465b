"""Sample data of the right kind for each format, shared by the test modules."""

from __future__ import annotations

from typing import Any

import numpy as np


def events(n: int = 50) -> dict[str, Any]:
    """Columns of a small event sample: flat branches of three dtypes, one jagged one."""
    import awkward as ak

    rng = np.random.default_rng(42)
    counts = rng.integers(0, 4, n)
    return {
        "run": np.arange(n, dtype=np.int32),
        "met": rng.exponential(40.0, n),
        "eta": rng.normal(0.0, 1.5, n).astype(np.float32),
        "jet_pt": ak.unflatten(rng.exponential(50.0, int(counts.sum())), counts),
    }


def histogram_1d() -> Any:
    import hist

    h = hist.Hist.new.Reg(20, 0.0, 200.0, name="met", label="MET [GeV]").Weight()
    rng = np.random.default_rng(7)
    h.fill(met=rng.exponential(40.0, 1000), weight=rng.uniform(0.5, 1.5, 1000))
    return h


def histogram_2d() -> Any:
    import hist

    h = (hist.Hist.new.Reg(10, -2.5, 2.5, name="eta").Var([0, 30, 50, 100, 200], name="pt")
         .Double())
    rng = np.random.default_rng(8)
    h.fill(eta=rng.normal(0, 1, 500), pt=rng.exponential(50.0, 500))
    return h


def assert_hist_equal(loaded: Any, original: Any) -> None:
    """Same binning, contents and (where stored) variances."""
    assert len(loaded.axes) == len(original.axes)
    for a, b in zip(loaded.axes, original.axes):
        np.testing.assert_allclose(a.edges, b.edges)
    np.testing.assert_allclose(loaded.values(flow=False), original.values(flow=False))
    if original.variances() is not None:
        np.testing.assert_allclose(loaded.variances(flow=False), original.variances(flow=False))


def assert_nested_arrays_equal(loaded: Any, original: Any) -> None:
    """Nested dicts of arrays: the same keys, and arrays of the same dtype and values."""
    if isinstance(original, dict):
        assert isinstance(loaded, dict)
        assert sorted(loaded) == sorted(original)
        for key in original:
            assert_nested_arrays_equal(loaded[key], original[key])
    elif isinstance(original, str):
        assert loaded == original
    else:
        original = np.asarray(original)
        loaded = np.asarray(loaded)
        assert loaded.dtype == original.dtype
        np.testing.assert_array_equal(loaded, original)


def keras_model(seed: int = 1) -> Any:
    """A small functional Keras model with non-trivial weights."""
    from law_core_formatters.models import choose_backend

    choose_backend()
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,), name="features")
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", name="scores")(hidden)
    model = keras.Model(inputs, outputs, name="classifier")
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    # one step of training, so that the optimizer has state that is saved too
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 2, 16), 2)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    return model


def assert_same_model(loaded: Any, original: Any) -> None:
    """Same architecture, same weights, same predictions."""
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in original.layers]
    for a, b in zip(loaded.get_weights(), original.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(3, 4)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), original.predict(x, verbose=0))
