"""One router per resource: health, catalogue (therapies, pack), assess, CDS Hooks, demo."""
