"""law-core-toybatch: run workflow branches as toybatch jobs (``--workflow toybatch``)."""
