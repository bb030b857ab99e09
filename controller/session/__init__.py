"""One massage session on a connected chair: its states, the body scan, pause and resume, its trace."""
