"""The shipped experiments: each trains networks once and ships the result, so a page opens at once.

One module per experiment holds all of it: the frozen recipe (data, depths, epochs, seeds, kernel
settings), the path of the shipped asset, the loader the pages read it with, and ``main()``, the
console script that trains it again and writes the asset. The measurements an experiment makes
live in :mod:`resnet_viz.analysis` (which never imports training); the loop and the demo model in
:mod:`resnet_viz.training`.

- :mod:`.degradation`: plain and residual CIFAR networks trained side by side on the digits.
- :mod:`.lesion`: the trained ResNet-26 and plain-26 whose blocks the lesion page removes.
- :mod:`.landscape`: the loss landscapes of the degradation experiment's four networks.
"""
