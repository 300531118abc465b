"""law-core-arc: run workflow branches as jobs on a NorduGrid ARC CE (``--workflow arc``)."""
