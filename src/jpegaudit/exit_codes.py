"""Exit codes of every command, as one contract (as pytest and ruff do it): 0 the job is done
and nothing is wrong, 1 the check found a broken rule, 2 the command could not run (bad
options, missing path, unusable store, failed scan, internal error), 130 interrupted."""

EXIT_PASS = 0
EXIT_VIOLATION = 1
EXIT_CANNOT_RUN = 2
EXIT_INTERRUPTED = 130
