"""law-core-report: an analysis as one self-contained HTML page, and the same page live.

:func:`law_core_report.collect.collect` gathers what the page shows as plain data (from
the outputs, the job directories and the recorded run events); :mod:`.render` turns it into
HTML or SVG; :mod:`.dashboard` serves it while runs proceed; :mod:`.events` records the
task and job events of runs (the plugin's hooks).
"""
