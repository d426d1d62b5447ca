"""One synthetic EMO-DB-layout corpus per test process, shared by the emotion test files.

Synthesising the 144 utterances costs about 3 CPU-seconds; with ``--dist loadfile`` the files
that land on the same xdist worker now pay it once. The corpus is read-only for the tests
(training writes into its own tmp registry), so sharing it changes nothing they check.
"""

import pytest

from .synthetic_corpus import write_emodb_corpus


@pytest.fixture(scope="session")
def emodb_corpus(tmp_path_factory):
    return write_emodb_corpus(tmp_path_factory.mktemp("emodb"))
