"""flush package."""
