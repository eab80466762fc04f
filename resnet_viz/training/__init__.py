"""Training loops and the command-line tools that train the shipped models."""
