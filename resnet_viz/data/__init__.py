"""Inputs: synthetic shapes, the digits set, decoded images and bundled samples."""
