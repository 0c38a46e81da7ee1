"""Private image sources: the mirror mapping and ECR pull-through cache rules."""
