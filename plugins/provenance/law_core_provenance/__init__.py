"""law-core-provenance: what made this file? Each successful task records how it was made
(see README.md); ``law-core provenance OUTPUT`` answers, ``--check`` finds stale outputs."""
