"""The chair service core: the connected board with the safety layer around it."""
