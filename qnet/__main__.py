"""``python -m qnet``: the same command line as the ``qnet`` script."""

from qnet.cli import main

if __name__ == "__main__":
    main()
