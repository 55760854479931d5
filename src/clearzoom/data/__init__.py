"""Data: MATLAB-style resizing and replayable degradations."""
