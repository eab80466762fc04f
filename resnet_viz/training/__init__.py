"""Training: the loop every run shares (deterministic setting, schedule, one epoch) and the
Grad-CAM page's demo model. The shipped experiments that use it: :mod:`resnet_viz.experiments`."""
