"""law-core-singularity: ``sandbox = "apptainer::IMAGE"`` (or ``singularity::IMAGE``) runs a
task's ``run()`` in an Apptainer/Singularity container through spython (imported when a
container is first needed)."""
