"""The catalogue's submissions (``answers/catalogue.py``), a module per assignment, and what a
submission is (``submission.py``). Importing this package reads nothing: each module writes its
submissions into source/'s notebooks when it is imported."""
