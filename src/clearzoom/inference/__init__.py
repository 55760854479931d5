"""Inference: the tile planner, the stateless engine, image I/O at the boundary and the API."""
