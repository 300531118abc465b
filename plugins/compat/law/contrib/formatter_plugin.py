"""law-core-compat as a law-core plugin: law's formatter names that law-core does not have.

law's names that equal law-core's (``numpy``, ``pandas``, ``parquet``, ``h5py``,
``awkward``, ``uproot``, ``coffea``) are law-core-formatters' own formatters. The others are
declared here, without extensions (a file's extension never selects them), so that
``target.load(formatter="parquet_table")`` and ``target.dump(fig, formatter="mpl")`` work on
any target, law's or law-core's; law's names without a law-core mechanism are formatters
whose use is an error naming what to use instead. Importing this module is cheap: the
classes are referenced, not imported.
"""

from __future__ import annotations

from law_core.plugin import FormatterRecord, hookimpl

#: law's formatter name -> (module:class of law-core-compat, what it is)
LAW_NAMES: dict[str, tuple[str, str]] = {
    "mpl": ("matplotlib:MatplotlibFormatter", "law's name of the matplotlib formatter"),
    "parquet_table": ("pyarrow:ParquetTableFormatter", "law's name of the parquet formatter"),
    "keras_model": ("keras:KerasModelFormatter", "law's name of the keras formatter"),
    "tf_keras": ("keras:TFKerasModelFormatter", "law's name of the keras formatter"),
    "tf_keras_model": ("tensorflow:TFKerasModelFormatter",
                       "law's name of the keras formatter"),
    "keras_weights": ("keras:KerasWeightsFormatter", "law's Keras weights (not supported)"),
    "tf_keras_weights": ("tensorflow:TFKerasWeightsFormatter",
                         "law's Keras weights (not supported)"),
    "tf_graph": ("tensorflow:TFGraphFormatter", "law's TensorFlow graphs (not supported)"),
    "tf_saved_model": ("tensorflow:TFSavedModelFormatter",
                       "law's TensorFlow SavedModels (not supported)"),
    "root": ("root:ROOTFormatter", "law's PyROOT files (not supported: use uproot)"),
    "root_numpy": ("root:ROOTNumpyFormatter", "law's root_numpy (not supported: use uproot)"),
    "root_pandas": ("root:ROOTPandasFormatter",
                    "law's root_pandas (not supported: use uproot)"),
}


@hookimpl
def law_core_formatters() -> list[FormatterRecord]:
    return [FormatterRecord(name, f"law.contrib.{ref}", description)
            for name, (ref, description) in LAW_NAMES.items()]
