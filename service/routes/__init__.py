"""The API's routes, one module per noun, each with its ``router``."""
