"""One massage session on a connected chair: states, body scan, pause and resume, its trace."""
