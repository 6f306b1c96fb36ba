"""Where models compute square roots: composite ops, hand-written formulas, and a tracer."""
