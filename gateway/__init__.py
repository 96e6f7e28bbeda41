"""Inter-administration document exchange gateway."""
