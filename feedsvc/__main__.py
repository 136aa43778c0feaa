"""``python -m feedsvc COMMAND``: the same as the ``feedsvc`` command."""

from feedsvc.console import main

# Guarded: a spawned process (the render process, the import workers) imports this module again
# as ``__mp_main__``, and must not run the command a second time.
if __name__ == "__main__":
    main(prog_name="feedsvc")
