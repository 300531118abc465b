"""law-core-glite: run workflow branches on gLite CREAM CEs (``--workflow glite``)."""
