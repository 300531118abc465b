"""``law.tensorflow`` (after ``law.contrib.load("tensorflow")``): law's TensorFlow
formatters. Keras models go through law-core's ``keras`` formatter (law-core-formatters);
law-core has no formatter for TensorFlow graphs or SavedModels."""

from __future__ import annotations

from law.contrib._formatters import law_formatter, unsupported_formatter

__all__ = ["TFGraphFormatter", "TFSavedModelFormatter", "TFKerasModelFormatter",
           "TFKerasWeightsFormatter"]

#: Keras models (``.keras``, legacy ``.h5``) through Keras 3, whose TensorFlow backend is
#: tf.keras
TFKerasModelFormatter = law_formatter(__name__, "TFKerasModelFormatter", "tf_keras_model",
                                      "keras", (".hdf5", ".h5", ".keras"))
TFGraphFormatter = unsupported_formatter(
    __name__, "TFGraphFormatter", "tf_graph",
    "law-core has no TensorFlow graph formatter; write the graph with "
    "tf.io.write_graph(graph, target.dirname, target.basename) and read it with "
    "tf.io.gfile, or save the Keras model with formatter='keras'")
TFSavedModelFormatter = unsupported_formatter(
    __name__, "TFSavedModelFormatter", "tf_saved_model",
    "law-core has no SavedModel formatter; call tf.saved_model.save(model, target.path) "
    "and tf.saved_model.load(target.path) on a local directory target, or save the Keras "
    "model with formatter='keras'")
TFKerasWeightsFormatter = unsupported_formatter(
    __name__, "TFKerasWeightsFormatter", "tf_keras_weights",
    "law-core saves whole models (formatter='keras'); for weights alone call "
    "model.save_weights(target.path) / model.load_weights(target.path)")
