"""law's formatter classes on law-core's formatters (law-core-formatters).

In law, a contrib package such as ``law.contrib.numpy`` defines a formatter class
(``NumpyFormatter``, named ``"numpy"``) that targets use by name. Here each of law's
classes is a subclass of the law-core formatter that reads and writes the same format, so
``target.load(formatter="numpy")`` and ``law.numpy.NumpyFormatter.load(path)`` run the same
code. What a law class adds: law's ``accepts(path, mode)`` and the ``perm`` keyword of
``dump`` (the file's mode afterwards). law's names that law-core has no formatter of its own
for (``"mpl"``, ``"parquet_table"``, ``"keras_model"``, ...) are declared to law-core by
:mod:`law.contrib.formatter_plugin`.

law's classes for which law-core has no mechanism (PyROOT, TensorFlow graphs, ...) exist,
so that imports of them keep working, but using one is a FormatterError naming what to use
instead.
"""

from __future__ import annotations

import os
from typing import Any, NoReturn

from law_core.errors import FormatterError

#: the distribution of law-core's formatters
DISTRIBUTION = "law-core-formatters"


def core_formatter(name: str) -> type:
    """The class of law-core's formatter ``name``, or an ImportError (law's error for a
    contrib package whose software is missing) saying what to install."""
    import law_core
    from law.contrib import ContribError

    registry = law_core.get_registry()
    if name not in registry.formatters():
        raise ContribError(f"law's formatters on '{name}' files need law-core's formatter "
                           f"'{name}', which comes with {DISTRIBUTION}; install it with "
                           f"pip install {DISTRIBUTION}")
    return registry.formatter(name).load()


def law_formatter(module: str, class_name: str, law_name: str, core_name: str,
                  suffixes: tuple[str, ...], dump_only: bool = False) -> type:
    """law's formatter class ``class_name`` of ``module`` (law's name ``law_name``), on
    law-core's formatter ``core_name``; ``suffixes`` are the files law's class accepts."""
    base = core_formatter(core_name)

    def accepts(cls: type, path: Any, mode: str) -> bool:
        """Whether law's formatter takes ``path`` (a path or target) for ``mode``
        (``"load"`` or ``"dump"``), as law decides it."""
        if dump_only and mode != "dump":
            return False
        return _path_of(path).endswith(suffixes)

    def dump(cls: type, path: Any, obj: Any, *args: Any, perm: int | None = None,
             **kwargs: Any) -> Any:
        """law-core's ``dump``; ``perm``: the file's permissions afterwards, as in law."""
        local = _path_of(path)
        result = base.dump.__func__(cls, local, obj, *args, **kwargs)
        if perm is not None:
            os.chmod(local, perm)
        return result

    def load(cls: type, path: Any, *args: Any, **kwargs: Any) -> Any:
        return base.load.__func__(cls, _path_of(path), *args, **kwargs)

    return type(class_name, (base,), {
        "__doc__": f"law's {class_name} (formatter name '{law_name}'): law-core's formatter "
                   f"'{core_name}' ({base.__module__}.{base.__name__}), whose docstring "
                   f"describes what it reads and writes.\n\n{base.__doc__ or ''}",
        "__module__": module,
        "name": law_name,
        "law_core_formatter": core_name,
        "accepts": classmethod(accepts),
        "load": classmethod(load),
        "dump": classmethod(dump),
    })


def unsupported_formatter(module: str, class_name: str, law_name: str, instead: str) -> type:
    """law's formatter class ``class_name`` for which law-core has no mechanism: it can be
    imported and named, and each use is a FormatterError naming ``instead``."""
    from law_core import Formatter

    def refuse(cls: type, *args: Any, **kwargs: Any) -> NoReturn:
        raise FormatterError(f"law's {class_name} (formatter '{law_name}') is not supported "
                             f"by law-core-compat: {instead}")

    def accepts(cls: type, path: Any, mode: str) -> bool:
        return False

    return type(class_name, (Formatter,), {
        "__doc__": f"law's {class_name}: not supported by law-core-compat ({instead}).",
        "__module__": module,
        "name": law_name,
        "accepts": classmethod(accepts),
        "load": classmethod(refuse),
        "dump": classmethod(refuse),
    })


def unsupported_function(module: str, name: str, instead: str) -> Any:
    """law's helper ``NAME`` of ``module`` for which law-core has no mechanism: calling it is a
    FormatterError naming ``instead``."""

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        law_name = module.replace(".contrib", "")
        raise FormatterError(f"{law_name}.{name} is not supported by law-core-compat: "
                             f"{instead}")

    refuse.__name__ = refuse.__qualname__ = name
    refuse.__module__ = module
    refuse.__doc__ = f"law's {name}: not supported by law-core-compat ({instead})."
    return refuse


def _path_of(path: Any) -> str:
    """law's formatters take a path or a local target."""
    return str(getattr(path, "path", path))

