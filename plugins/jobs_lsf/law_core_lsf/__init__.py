"""law-core-lsf: run workflow branches as LSF jobs (``--workflow lsf``)."""
