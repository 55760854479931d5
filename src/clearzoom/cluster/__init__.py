"""Scale-out: the batch command's work on a Ray cluster (``clearzoom upscale --ray``)."""

from .raydata import RaySummary, run_ray_batch

__all__ = ["RaySummary", "run_ray_batch"]
