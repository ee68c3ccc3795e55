"""nfs package."""
