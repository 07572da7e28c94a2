"""The `gome` command line: thin click commands over library calls."""
