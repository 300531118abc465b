"""law-core-htcondor: run workflow branches as HTCondor jobs (``--workflow htcondor``)."""
