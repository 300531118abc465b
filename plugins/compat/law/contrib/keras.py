"""``law.keras`` (after ``law.contrib.load("keras")``): law's Keras model formatters on
law-core's ``keras`` formatter (law-core-formatters, Keras 3)."""

from __future__ import annotations

from law.contrib._formatters import law_formatter, unsupported_formatter

__all__ = ["KerasModelFormatter", "KerasWeightsFormatter", "TFKerasModelFormatter"]

#: whole models in ``.keras`` files, or legacy HDF5 (``.h5``); law's ``.json``/``.yaml``
#: architecture files are not among law-core's formats
KerasModelFormatter = law_formatter(__name__, "KerasModelFormatter", "keras_model", "keras",
                                    (".hdf5", ".h5", ".keras"))
#: law's deprecated "tf_keras": Keras 3 on the TensorFlow backend is tf.keras
TFKerasModelFormatter = law_formatter(__name__, "TFKerasModelFormatter", "tf_keras", "keras",
                                      ())
KerasWeightsFormatter = unsupported_formatter(
    __name__, "KerasWeightsFormatter", "keras_weights",
    "law-core saves whole models (formatter='keras'); for weights alone call "
    "model.save_weights(target.path) / model.load_weights(target.path) (Keras 3 wants a "
    "'.weights.h5' file)")
