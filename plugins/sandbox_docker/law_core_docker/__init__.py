"""law-core-docker: ``sandbox = "docker::IMAGE"`` runs a task's ``run()`` in a Docker
container (the docker SDK is imported when a container is first needed)."""
