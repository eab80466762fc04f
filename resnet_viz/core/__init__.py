"""The stable core: a ResNet as data (spec, presets, block layout), the module built from it, its
analytic summary and the cut at a layer."""
