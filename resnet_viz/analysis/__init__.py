"""What the app measures on built networks: gradient flow, Grad-CAM, degradation curves, lesion
studies."""
