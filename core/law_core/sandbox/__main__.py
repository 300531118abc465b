"""Inside the sandbox: ``python -m law_core.sandbox MODULE.CLASS PARAMS`` builds the task and
calls its ``run()`` (dependencies were resolved outside), after checking that it resolves
the outputs the submitting side expects."""

from __future__ import annotations

import logging
import os
import sys
import traceback

from law_core.errors import LawCoreError


def main(argv: list[str]) -> int:
    """Run the task ``argv`` names; 0 on success. The error it failed with is relayed to
    the submitting side, which names it in its own failure."""
    from law_core.arguments import apply_task_sections, build_task
    from law_core.index import find_task_class
    from law_core.sandbox.base import SANDBOX_ENV
    from law_core.sandbox.exchange import check_outputs_inside, install_callbacks, relay
    from law_core.sandbox.task import enter_sandbox

    if not argv:
        print("usage: python -m law_core.sandbox MODULE.CLASS [PARAMS]", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        cls = find_task_class(argv[0])
        apply_task_sections()  # [Family] values: the requirements it builds must match
        task = build_task(cls, argv[1:])
        enter_sandbox(task, os.environ.get(SANDBOX_ENV, ""))
        install_callbacks(task)
        check_outputs_inside(task)
        task.run()
    except LawCoreError as err:
        print(f"law-core: error: {err}", file=sys.stderr)
        relay("error", str(err))
        return 1
    except Exception as err:
        traceback.print_exc()
        relay("error", f"{type(err).__name__}: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
