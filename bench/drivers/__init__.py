"""What the tests and the benchmarks both drive: a real Streamlit server and headless Chromium
(:mod:`.browser`), many simulated students at once (:mod:`.load`) and long runs of Grad-CAM calls
(:mod:`.soak`). The tests run them briefly; the benchmarks at full size."""
