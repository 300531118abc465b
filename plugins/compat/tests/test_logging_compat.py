"""law.cfg's ``[logging]`` under ``law run``, compared with law 0.1.21: each option sets the
level of the logger it names, luigi's (``luigi-interface``) included, and ``law`` is at
WARNING unless the section says otherwise. People turn luigi's messages on this way to see
what the scheduler does, and turn their own ``law.*`` loggers up or down."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from law_reference import COMPAT_BIN, _run_example

TASKS = '''
    import logging

    import law


    class Chatty(law.Task):
        def output(self):
            return law.LocalFileTarget("$ANA/data/chatty.txt")

        def run(self):
            logging.getLogger("law.chatty").info("law info line")
            logging.getLogger("law.chatty").warning("law warning line")
            self.output().dump("chatty", formatter="text")
'''

#: ([logging] lines, what the output shows, what it does not)
CASES = [
    (["luigi-interface = INFO"],
     ["Informed scheduler that task", "Running Worker with 1 processes", "law warning line"],
     ["Asking scheduler for work", "law info line"]),  # luigi's DEBUG, law's INFO
    (["law = INFO", "luigi-interface = WARNING"],
     ["law info line", "law warning line"],
     ["Informed scheduler that task"]),
    ([],  # law's default: law = WARNING
     ["law warning line"],
     ["law info line"]),
]


@pytest.mark.parametrize("lines,shown,hidden", CASES,
                         ids=["luigi-info", "law-info", "default"])
def test_logging_section_sets_levels_as_in_law(lines: list[str], shown: list[str],
                                               hidden: list[str], law_bin: Path,
                                               tmp_path: Path) -> None:
    source = tmp_path / "source" / "logging"
    source.mkdir(parents=True)
    (source / "tasks.py").write_text(textwrap.dedent(TASKS))
    (source / "law.cfg").write_text("[modules]\ntasks\n\n[logging]\n" + "\n".join(lines)
                                    + "\n")
    command = [["law", "run", "tasks.Chatty", "--local-scheduler"]]
    for name, bin_dir in (("law", law_bin), ("compat", COMPAT_BIN)):
        results, example = _run_example(source, tmp_path / name, bin_dir, {"ANA": "."},
                                         command)
        _, code, output = results[0]
        assert code == 0, (name, output)
        assert (example / "data" / "chatty.txt").read_text() == "chatty"
        for text in shown:
            assert text in output, (name, text, output)
        for text in hidden:
            assert text not in output, (name, text, output)
