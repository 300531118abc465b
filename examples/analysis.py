"""The example analysis: 26 branches each write one letter, a merge, and a summary.

Run it from this directory (its law.cfg sets the output store and the task index):

    law-core run analysis.Summary
    law-core run analysis.Summary --print-status -1

Nothing here names where it runs, where outputs live or which software it needs: the
config decides. ``[workflow] CreateChars = slurm`` sends the letters to Slurm,
``[target] store = root://host//path`` puts every output on XRootD, and
``[sandbox] Summary = docker::image`` runs the summary in a container.
"""

import hashlib

import luigi

import law_core as law


class CreateChars(law.LocalWorkflow):
    """One branch per letter of the alphabet; each writes its letter as JSON."""

    def create_branch_map(self):
        return {i: 97 + i for i in range(26)}

    def output(self):
        return self.target(f"output_{self.branch}.json")

    def run(self):
        num = self.branch_data
        self.output().dump({"num": num, "char": chr(num)}, indent=2)


class CreateAlphabet(law.Task):
    """Merges the letters of all branches into one line of text."""

    def requires(self):
        return CreateChars.req(self)

    def output(self):
        return self.target("alphabet.txt")

    def run(self):
        collection = self.input()["collection"]
        chars = [collection[b].load()["char"] for b in sorted(collection.keys())]
        self.output().dump("".join(chars) + "\n")


class Summary(law.SandboxTask):
    """Counts the letters and records a checksum of the alphabet (in the sandbox that
    ``[sandbox] Summary`` names, if any)."""

    uppercase = luigi.BoolParameter(default=False, description="write the alphabet in "
                                    "upper case")

    def requires(self):
        return CreateAlphabet.req(self)

    def output(self):
        return self.target("summary_upper.json" if self.uppercase else "summary.json")

    def run(self):
        alphabet = self.input().load().strip()
        if self.uppercase:
            alphabet = alphabet.upper()
        self.output().dump({
            "letters": len(alphabet),
            "alphabet": alphabet,
            "sha256": hashlib.sha256(alphabet.encode()).hexdigest(),
        }, indent=2)
