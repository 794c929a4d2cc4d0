"""The ``tracerisk`` commands, one module per group; flows/cli.py registers them on the command line."""
