"""Attribution: which parts of an image a network's answer rests on, and how far to trust a map.

- :mod:`.methods`: the class activation maps, how each weighs a layer's activation.
- :mod:`.cam`: the one code path that computes them (activation and gradient in one pass).
- :mod:`.pixel`: pixel attributions through captum (Saliency, Integrated Gradients, ...).
- :mod:`.lrp`: layer-wise relevance through the skip connections (zennit), per block.
- :mod:`.agreement`: where different CAM methods give the same map, and why (the gradient).
- Quality checks on a map: :mod:`.faithfulness` (deletion and insertion), :mod:`.road` (ROAD),
  :mod:`.confidence` (average drop and increase in confidence), :mod:`.sanity` (model
  randomisation, Adebayo et al. 2018), :mod:`.cell_field` (what one grid cell sees);
  :mod:`.model_checks` holds the argument checks they share.
"""
