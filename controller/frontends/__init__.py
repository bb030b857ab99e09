"""Front-ends that drive the chair: the handheld remote's menu and the terminal."""
