"""What the app measures on networks: gradient flow, attribution maps and their checks, loss
landscapes, effective receptive fields, lesions, one block's anatomy. Nothing here trains a
network (that is :mod:`resnet_viz.training`) or changes the one it is given."""
