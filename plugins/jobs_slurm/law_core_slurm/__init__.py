"""law-core-slurm: run workflow branches as Slurm jobs (``--workflow slurm``)."""
